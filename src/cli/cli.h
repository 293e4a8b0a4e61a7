/*
 * ccpulse command line: the subcommands of the `ccpulse` binary.
 *
 * src/cli/main.c holds only main() and the table of subcommands; each
 * subcommand lives in its own file of the library (replay.c, convert.c, ...)
 * so that tests can call it in-process. A subcommand gets argv with its own
 * name in argv[0] and returns the process exit code:
 *   0 success; 1 the run failed on its input or output (unreadable event,
 *   unopenable file, write error); 2 usage or configuration error.
 * Diagnostics go through ccp_log() with the command's name as component;
 * help text (asked for, or after a usage error) is plain output.
 *
 * Options are tables: a subcommand describes its options in a
 * ccp_cli_spec_t (name, value placeholder, parse function and where it
 * stores, help text); ccp_cli_parse() reads argv with it and
 * ccp_cli_usage() writes the help from it, so main() of a command only
 * says what the command does. Every command that reads a configuration
 * loads it with ccp_cli_load_config().
 *
 * Adding a subcommand: write `int ccp_cli_<name>(int argc, char **argv)` and
 * its `const ccp_cli_spec_t ccp_cli_<name>_spec` in src/cli/<name>.c,
 * declare them here and add one row to the table in main.c.
 *
 * Threads: main thread only.
 */
#ifndef CCP_CLI_H
#define CCP_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "ccpulse/buf.h"
#include "ccpulse/config.h"
#include "ccpulse/event.h"
#include "ccpulse/version.h" /* CCP_VERSION_STRING, generated from CMakeLists.txt */

/** Exit codes of every subcommand. */
enum { CCP_EXIT_OK = 0, CCP_EXIT_INPUT = 1, CCP_EXIT_USAGE = 2 };

/** ccp_cli_parse() result meaning "the arguments are fine: run the command". */
#define CCP_CLI_RUN (-1)

struct ccp_cli_opt;
/**
 * Converts one option value and stores it at target (an option without a
 * value gets value NULL). Returns 0, or -1 with what was expected in err
 * ("expected a positive duration (e.g. 5m)"); the parser names the option.
 */
typedef int (*ccp_cli_parse_fn)(const struct ccp_cli_opt *o, const char *value, void *target,
                                char *err, size_t errlen);

/** One row of a subcommand's option table. */
typedef struct ccp_cli_opt {
  const char *name;       /**< "--every"; `--every V` and `--every=V` are accepted */
  const char *arg;        /**< placeholder of the value in the help ("DURATION"); NULL: a flag */
  ccp_cli_parse_fn parse; /**< converts and stores the value (NULL with key) */
  size_t off;             /**< where parse stores: offset in the command's argument struct */
  const char *key;        /**< if set, the option means `--set key=VALUE` at its place */
  int64_t lo, hi;         /**< bounds for ccp_cli_int */
  int repeat;             /**< may be given several times (help shows "...") */
  const char *help;       /**< help text; '\n' starts an indented line */
} ccp_cli_opt_t;

/** Everything `ccpulse <name> --help` shows and the parser checks. */
typedef struct ccp_cli_spec {
  const char *name;    /**< the word after `ccpulse` */
  const char *summary; /**< one line for `ccpulse --help` */
  const char *about;   /**< paragraph after the usage line */
  const ccp_cli_opt_t *opts;
  size_t nopts;
  const char *operands;           /**< operands in the usage line ("FILE...", "IN OUT"), or NULL */
  const char *operand_help;       /**< first row of the option list ("FILE  what it is"), or NULL */
  int min_operands;               /**< fewer: usage error with missing */
  int max_operands;               /**< more: usage error; -1 = no limit */
  const char *missing;            /**< message when operands are missing ("no input file") */
  const char *const *config_sets; /**< "key=value" of this command, applied before --set */
  const char *epilog;             /**< closing paragraph (exit status) */
} ccp_cli_spec_t;

/**
 * What every subcommand's arguments share; the first member of each
 * command's argument struct, so that the shared rows (CCP_CLI_CONFIG_OPTS,
 * CCP_CLI_KAFKA_OPTS) can address it at offset 0.
 */
typedef struct ccp_cli_args {
  const ccp_cli_spec_t *spec;
  const char *config_file; /**< --config, or NULL */
  char **sets;             /**< "key=value" of --set and of key options, in order (owned) */
  const char **set_from;   /**< per set: the option that gave it ("--brokers"); NULL = --set */
  int nsets, sets_cap;
  char **operands; /**< non-option arguments (point into argv) */
  int noperands;
} ccp_cli_args_t;

/** The rows of --config FILE and --set key=value, shared by every command
 * that loads a configuration. */
#define CCP_CLI_CONFIG_OPTS                                                                        \
  {"--config",                                                                                     \
   "FILE",                                                                                         \
   ccp_cli_str,                                                                                    \
   offsetof(ccp_cli_args_t, config_file),                                                          \
   NULL,                                                                                           \
   0,                                                                                              \
   0,                                                                                              \
   0,                                                                                              \
   "configuration file (key = value lines; kafka.<property>\n"                                     \
   "keys go to librdkafka)"},                                                                      \
  {                                                                                                \
    "--set", "key=value", ccp_cli_set, 0, NULL, 0, 0, 1,                                           \
        "set one configuration key (repeatable; wins over the file\n"                              \
        "and the CCPULSE_* environment)"                                                           \
  }

/** The rows of --brokers and --topic: short for --set kafka.brokers / kafka.topic. */
#define CCP_CLI_KAFKA_OPTS                                                                         \
  {"--brokers",                                                                                    \
   "LIST",                                                                                         \
   NULL,                                                                                           \
   0,                                                                                              \
   "kafka.brokers",                                                                                \
   0,                                                                                              \
   0,                                                                                              \
   0,                                                                                              \
   "bootstrap servers (config kafka.brokers)"},                                                    \
  {                                                                                                \
    "--topic", "TOPIC", NULL, 0, "kafka.topic", 0, 0, 0,                                           \
        "topic of ticket events (config kafka.topic)"                                              \
  }

/**
 * Parses argv (argv[0] is the command name) against spec into args, the
 * command's argument struct whose first member is a ccp_cli_args_t; the
 * caller zeroes it and sets the defaults first. `-h`/`--help` prints the
 * help; `--` ends the options; `-` is an operand. Returns CCP_CLI_RUN, or
 * the exit code to return at once: CCP_EXIT_OK after --help, CCP_EXIT_USAGE
 * after logging what was wrong and printing "Try 'ccpulse NAME --help'.".
 * Release args with ccp_cli_args_release() in either case.
 */
int ccp_cli_parse(const ccp_cli_spec_t *spec, int argc, char **argv, void *args);
/** Frees what ccp_cli_parse() allocated in a (not a itself). */
void ccp_cli_args_release(ccp_cli_args_t *a);
/** Appends a copy of "key=value" to a's configuration settings (after those given so far). */
void ccp_cli_args_add_set(ccp_cli_args_t *a, const char *key, const char *value);
/** Writes the help of spec (usage line, about, options, epilog) to out. */
void ccp_cli_usage(const ccp_cli_spec_t *spec, FILE *out);

/** Stores the value as a const char * (into argv). */
int ccp_cli_str(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen);
/** Stores 1 in an int (an option without a value). */
int ccp_cli_flag(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen);
/** Appends key=value to the ccp_cli_args_t at target (--set). */
int ccp_cli_set(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen);
/** Stores a non-negative decimal number as a uint64_t. */
int ccp_cli_u64(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen);
/** Stores an int64_t in o->lo..o->hi. */
int ccp_cli_int(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen);
/** Stores a fraction 0..1 as a double, 0 as -1 ("none" for the generator). */
int ccp_cli_frac(const ccp_cli_opt_t *o, const char *value, void *target, char *err, size_t errlen);
/** Stores a positive duration ("30s", "5m") in milliseconds as an int64_t. */
int ccp_cli_duration(const ccp_cli_opt_t *o, const char *value, void *target, char *err,
                     size_t errlen);
/** Stores a Confluent schema id 0..4294967295 as an int64_t (-1 = none). */
int ccp_cli_schema_id(const ccp_cli_opt_t *o, const char *value, void *target, char *err,
                      size_t errlen);

/** `ccpulse replay`: events from files through one engine -> snapshots. */
int ccp_cli_replay(int argc, char **argv);
/** Options and help of `ccpulse replay`. */
extern const ccp_cli_spec_t ccp_cli_replay_spec;

/** `ccpulse convert`: JSON Lines or Avro in -> Avro container (v1) out. */
int ccp_cli_convert(int argc, char **argv);
/** Options and help of `ccpulse convert`. */
extern const ccp_cli_spec_t ccp_cli_convert_spec;

/** `ccpulse produce`: event files -> Avro records on a Kafka topic. */
int ccp_cli_produce(int argc, char **argv);
/** Options and help of `ccpulse produce`. */
extern const ccp_cli_spec_t ccp_cli_produce_spec;

/** `ccpulse run`: the live pipeline, Kafka -> engines -> Redis (docs/live.md). */
int ccp_cli_run(int argc, char **argv);
/** Options and help of `ccpulse run`. */
extern const ccp_cli_spec_t ccp_cli_run_spec;

/** `ccpulse gen`: the workload generator (src/gen) -> Kafka topic or Avro file. */
int ccp_cli_gen(int argc, char **argv);
/** Options and help of `ccpulse gen`. */
extern const ccp_cli_spec_t ccp_cli_gen_spec;

/** `ccpulse demo`: mock cluster + generator + pipeline + Redis, one command. */
int ccp_cli_demo(int argc, char **argv);
/** Options and help of `ccpulse demo`. */
extern const ccp_cli_spec_t ccp_cli_demo_spec;

/** `ccpulse wall`: the live KPI page, served from Redis (docs/wall.md). */
int ccp_cli_wall(int argc, char **argv);
/** Options and help of `ccpulse wall`. */
extern const ccp_cli_spec_t ccp_cli_wall_spec;

struct ccp_consumer;
/** Options of ccp_cli_live() (zero = defaults). */
typedef struct ccp_cli_live_opts {
  const char *brokers; /**< overrides cfg kafka.brokers (mock cluster) */
  int summary;         /**< print a one-line live summary per second to stdout */
  /** called on the main thread once the consumer exists, before it runs */
  void (*started)(void *opaque, struct ccp_consumer *c);
  void *opaque; /**< passed to started */
  /** demo: when http.listen's port is taken, serve on a free port instead of stopping */
  int http_any_port;
  /** out: the wall's URL (http.listen, docs/wall.md), filled before started is called;
   *  "" when there is no HTTP server */
  char *wall_url;
  size_t wall_url_len;
} ccp_cli_live_opts_t;

/**
 * Before a live pipeline starts (run, demo): logs the start-up line
 * (ccp_cli_log_startup) and checks Redis access (ccp_redis_check_access).
 * Returns CCP_EXIT_OK, also when Redis cannot be reached yet (a warning:
 * the publisher retries), or CCP_EXIT_USAGE after logging why Redis refused
 * (credentials, permissions). Main thread.
 */
int ccp_cli_live_begin(const ccp_config_t *cfg, const char *component);

/**
 * Runs the live pipeline with a finished configuration until SIGINT/SIGTERM
 * (or ccp_consumer_stop); returns an exit code. Main thread.
 */
int ccp_cli_live(const ccp_config_t *cfg, const ccp_cli_live_opts_t *opts);

/**
 * The one way a subcommand loads its configuration, in the documented order:
 * defaults, the --config file, CCPULSE_* variables, the command's own
 * settings (spec->config_sets), each --set (and key option) in order, then
 * ccp_config_finish(); then applies the log settings and makes `timezone` the
 * process time zone (ccp_tz_use: before any thread starts). Returns 0, or CCP_EXIT_USAGE after
 * logging the message naming the key (cfg is then released).
 */
int ccp_cli_load_config(ccp_config_t *cfg, const ccp_cli_args_t *a);

/**
 * Logs the start-up line of a long-running command (INFO, never
 * rate-limited): the version of ccpulse and of librdkafka, Avro C, hiredis
 * and jansson, and the effective configuration with its secrets masked
 * (ccp_config_describe).
 */
void ccp_cli_log_startup(const ccp_config_t *cfg, const char *component);

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
 * Creates the Kafka producer of gen and produce from cfg: the ndefaults
 * {property, value} pairs are set unless cfg sets the same kafka.* key, and
 * delivery reports count into st (which must outlive the producer). Returns
 * NULL after logging the reason as component. Main thread.
 */
rd_kafka_t *ccp_cli_producer_new(const ccp_config_t *cfg, const char *const (*defaults)[2],
                                 size_t ndefaults, ccp_cli_delivery_t *st, const char *component);

/**
 * Flushes rk for at most timeout_ms, then returns 0 when st counts no failed
 * delivery of the `sent` events, or -1 after logging what was not delivered
 * to topic as component. The producing thread.
 */
int ccp_cli_producer_flush(rd_kafka_t *rk, const char *topic, const ccp_cli_delivery_t *st,
                           unsigned long long sent, int timeout_ms, const char *component);

/**
 * Encodes ev as Avro binary (v1), Confluent-framed with schema_id when it is
 * >= 0, into scratch and produces it keyed by ticket_id, waiting for room
 * while the local queue is full. Returns 0, or -1 with "cannot be encoded"
 * or "cannot produce to 'TOPIC': why" in err. The producing thread.
 */
int ccp_cli_produce_event(rd_kafka_t *rk, const char *topic, const ccp_event_t *ev,
                          int64_t schema_id, ccp_buf_t *scratch, char *err, size_t errlen);

#endif
