/*
 * ccpulse command line: the subcommands of the `ccpulse` binary.
 *
 * src/cli/main.c holds only main() and the table of subcommands; each
 * subcommand lives in its own file of the library (replay.c, convert.c, ...)
 * so that tests can call it in-process. A subcommand gets argv with its own
 * name in argv[0] and returns the process exit code:
 *   0 success; 1 the run failed on its input or output (unreadable event,
 *   unopenable file, write error); 2 usage or configuration error.
 * Messages go to stderr as "ccpulse: <problem>".
 *
 * Adding a subcommand: write `int ccp_cli_<name>(int argc, char **argv)` and
 * `void ccp_cli_<name>_usage(FILE *out)` in src/cli/<name>.c, declare them
 * here and add one row to the table in main.c.
 *
 * Threads: main thread only.
 */
#ifndef CCP_CLI_H
#define CCP_CLI_H

#include <stdio.h>

#include "ccpulse/config.h"

/** Version printed by `ccpulse version` (keep in step with CMakeLists.txt). */
#define CCP_VERSION_STRING "0.1.0"

/** Exit codes of every subcommand. */
enum { CCP_EXIT_OK = 0, CCP_EXIT_INPUT = 1, CCP_EXIT_USAGE = 2 };

/** One row of the subcommand table. */
typedef struct ccp_cli_cmd {
  const char *name;                  /**< word after `ccpulse` */
  int (*run)(int argc, char **argv); /**< argv[0] is the name */
  void (*usage)(FILE *out);          /**< full help of the command */
  const char *summary;               /**< one line for `ccpulse --help` */
} ccp_cli_cmd_t;

/** `ccpulse replay`: events from files through one engine -> snapshots. */
int ccp_cli_replay(int argc, char **argv);
/** Help text of `ccpulse replay`. */
void ccp_cli_replay_usage(FILE *out);

/** `ccpulse convert`: JSON Lines or Avro in -> Avro container (v1) out. */
int ccp_cli_convert(int argc, char **argv);
/** Help text of `ccpulse convert`. */
void ccp_cli_convert_usage(FILE *out);

/**
 * Builds a finished configuration in the documented order: defaults, then
 * the file (if not NULL), then CCPULSE_* variables, then each "key=value" of
 * sets, then ccp_config_finish(). Returns 0, or CCP_EXIT_USAGE after printing
 * "ccpulse: <message naming the key>" to stderr (cfg is then released).
 */
int ccp_cli_load_config(ccp_config_t *cfg, const char *file, char **sets, int nsets);

/**
 * Option parsing shared by the subcommands: if argv[*i] is `--name VALUE` or
 * `--name=VALUE`, stores VALUE, advances *i past it and returns 1; returns 0
 * when argv[*i] is another argument, and -1 (after a message) when the value
 * is missing.
 */
int ccp_cli_opt(int argc, char **argv, int *i, const char *name, const char **value);

#endif
