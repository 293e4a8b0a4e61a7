/*
 * ccpulse — whole-file reading: a file or the rest of an open stream into one
 * NUL-terminated heap buffer (schemas, Avro containers, test fixtures).
 *
 * Threads: any thread; the returned buffer belongs to the caller, who frees
 * it with ccp_free().
 */
#ifndef CCPULSE_FILE_H
#define CCPULSE_FILE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Reads the file at path whole. Returns the bytes followed by a NUL (not
 * counted in *len; len may be NULL), or NULL with "cannot open 'PATH': why"
 * or "cannot read 'PATH': why" in errbuf.
 */
char *ccp_file_read(const char *path, size_t *len, char *errbuf, size_t errlen);

/**
 * Reads f to its end after the n bytes of head already taken from it (head
 * may be NULL when n is 0); f stays open. Returns head and the rest followed
 * by a NUL (*len excludes it), or NULL on a read error with errno set.
 */
char *ccp_file_read_stream(FILE *f, const void *head, size_t n, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
