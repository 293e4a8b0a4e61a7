/*
 * The wall's page files (web/wall.html, web/wall.css, web/wall.js), embedded
 * in the binary at build time: cmake/embed_assets.cmake writes them as byte
 * arrays into build/generated/wall_assets.c. Read-only, any thread.
 */
#ifndef CCP_WALL_ASSETS_H
#define CCP_WALL_ASSETS_H

#include <stddef.h>

/** One embedded file. */
typedef struct ccp__wall_asset {
  const char *name;          /**< file name in web/ ("wall.js") */
  const unsigned char *data; /**< its bytes (not NUL-terminated) */
  size_t len;                /**< their number */
} ccp__wall_asset_t;

/** The embedded files. */
extern const ccp__wall_asset_t ccp__wall_assets[];
/** Their number. */
extern const int ccp__wall_nassets;

#endif
