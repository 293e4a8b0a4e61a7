/*
 * `ccpulse wall`: serves the wall page (docs/wall.md) alone, from what any
 * `ccpulse run` writes to Redis: no Kafka, no engine. The HTTP server and
 * the Redis reader are src/wall/wall.c; this file parses the options, prints
 * the page's address and waits for SIGINT/SIGTERM.
 *
 * Threads: main thread (signals); the server's and the reader's threads
 * block every signal.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ccpulse/clock.h"
#include "ccpulse/log.h"
#include "ccpulse/wall.h"
#include "cli.h"

/* Arguments of `ccpulse wall`. */
typedef struct wall_args {
  ccp_cli_args_t base; /* first: --config, --set and the key options */
  const char *listen;  /* --listen */
  int64_t agents;      /* --agents */
} wall_args_t;

static const ccp_cli_opt_t wall_opts[] = {
    {"--redis", "URL", .key = "redis",
     .help = "Redis server that `ccpulse run` writes to (config redis)"},
    {"--prefix", "P", .key = "redis.prefix", .help = "key prefix (config redis.prefix)"},
    {"--listen", "HOST:PORT", ccp_cli_str, offsetof(wall_args_t, listen),
     .help = "where to serve the page (default 127.0.0.1:9464; port 0 = any)"},
    {"--agents", "N", ccp_cli_int, offsetof(wall_args_t, agents), .lo = 1, .hi = 1000,
     .help = "rows of the agents table (default 10)"},
    CCP_CLI_CONFIG_OPTS,
};

const ccp_cli_spec_t ccp_cli_wall_spec = {
    .name = "wall",
    .summary = "serve the live KPI wall (a web page) from Redis",
    .about = "Serves the wall, a live KPI page for browsers, at http://HOST:PORT/wall/: it\n"
             "follows the tiles, snapshot stream and alerts stream that `ccpulse run` writes\n"
             "to Redis and pushes them to the page as Server-Sent Events. Needs no Kafka and\n"
             "keeps serving while Redis or the processors restart. See docs/wall.md.",
    .opts = wall_opts,
    .nopts = CCP_ARRAY_LEN(wall_opts),
    .epilog = "Exit status: 0 after SIGINT/SIGTERM, 1 when the address cannot be served,\n"
              "2 usage or configuration error.",
};

static atomic_int g_stop;

static void on_signal(int sig) { atomic_store(&g_stop, 1); }

int ccp_cli_wall(int argc, char **argv) {
  wall_args_t args = {.listen = "127.0.0.1:9464", .agents = CCP_WALL_AGENTS_DEFAULT};
  ccp_config_t cfg;
  int have_cfg = 0;
  char err[CCP_ERRBUF_SIZE], url[300];
  ccp_http_t *h = NULL;
  ccp_wall_t *w = NULL;

  int rc = ccp_cli_parse(&ccp_cli_wall_spec, argc, argv, &args);
  if (rc != CCP_CLI_RUN)
    goto done;
  if ((rc = ccp_cli_load_config(&cfg, &args.base)) != 0)
    goto done;
  have_cfg = 1;
  rc = CCP_EXIT_USAGE;
  if (ccp_http_listen_check(args.listen, err, sizeof err) != 0) {
    ccp_log(CCP_LOG_ERROR, "wall", "option '--listen': %s", err);
    goto done;
  }
  ccp_wall_opts_t wo = {
      .redis_url = cfg.redis_url, .prefix = cfg.redis_prefix, .agents = (int)args.agents};
  if (ccp_wall_serve(args.listen, &wo, &h, &w, err, sizeof err) != 0) {
    ccp_log(CCP_LOG_ERROR, "wall", "%s", err);
    rc = CCP_EXIT_INPUT;
    goto done;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  printf("wall: %s\n", ccp_wall_url(args.listen, ccp_http_port(h), url, sizeof url));
  fflush(stdout);
  while (!atomic_load(&g_stop))
    ccp_clock_sleep_ms(100);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  rc = CCP_EXIT_OK;

done:
  ccp_wall_serve_end(h, w);
  if (have_cfg)
    ccp_config_release(&cfg);
  ccp_cli_args_release(&args.base);
  return rc;
}
