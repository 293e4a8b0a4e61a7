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

#include <librdkafka/rdkafka.h>

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

/** `ccpulse produce`: event files -> Avro records on a Kafka topic. */
int ccp_cli_produce(int argc, char **argv);
/** Help text of `ccpulse produce`. */
void ccp_cli_produce_usage(FILE *out);

/** `ccpulse run`: the live pipeline, Kafka -> engines -> Redis (docs/live.md). */
int ccp_cli_run(int argc, char **argv);
/** Help text of `ccpulse run`. */
void ccp_cli_run_usage(FILE *out);

/** `ccpulse gen`: the workload generator (src/gen) -> Kafka topic or Avro file. */
int ccp_cli_gen(int argc, char **argv);
/** Help text of `ccpulse gen`. */
void ccp_cli_gen_usage(FILE *out);

/** `ccpulse demo`: mock cluster + generator + pipeline + Redis, one command. */
int ccp_cli_demo(int argc, char **argv);
/** Help text of `ccpulse demo`. */
void ccp_cli_demo_usage(FILE *out);

struct ccp_consumer;
/** Options of ccp_cli_live() (zero = defaults). */
typedef struct ccp_cli_live_opts {
  const char *brokers; /**< overrides cfg kafka.brokers (mock cluster) */
  int summary;         /**< print a one-line live summary per second to stdout */
  /** called on the main thread once the consumer exists, before it runs */
  void (*started)(void *opaque, struct ccp_consumer *c);
  void *opaque; /**< passed to started */
} ccp_cli_live_opts_t;

/**
 * Runs the live pipeline with a finished configuration until SIGINT/SIGTERM
 * (or ccp_consumer_stop); returns an exit code. Main thread.
 */
int ccp_cli_live(const ccp_config_t *cfg, const ccp_cli_live_opts_t *opts);

/**
 * Builds a finished configuration in the documented order: defaults, then
 * the file (if not NULL), then CCPULSE_* variables, then each "key=value" of
 * sets, then ccp_config_finish(); then makes its `timezone` the process time
 * zone (ccp_tz_use: before any thread). Returns 0, or CCP_EXIT_USAGE after printing
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
/**
 * The options every subcommand shares: `--config FILE` (stored in
 * *config_file) and `--set key=value` (appended to sets). Returns 1 when
 * argv[*i] was one of them, 0 when not, -1 on a missing value (printed).
 */
int ccp_cli_config_opt(int argc, char **argv, int *i, const char **config_file, char **sets,
                       int *nsets);

/** Delivery outcome of a producer (gen, produce); the producer's opaque. */
typedef struct ccp_cli_delivery {
  long delivered;
  long failed;
  char first_error[256];
} ccp_cli_delivery_t;

/** Delivery report callback counting into the ccp_cli_delivery_t opaque
 * (runs inside rd_kafka_poll/flush on the producing thread). */
void ccp_cli_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/**
 * Produces one record keyed by key (copied), waiting for room while the
 * local queue is full. Returns 0 or librdkafka's error.
 */
rd_kafka_resp_err_t ccp_cli_produce_record(rd_kafka_t *rk, const char *topic, ccp_str_t key,
                                           const void *val, size_t len);

#endif
