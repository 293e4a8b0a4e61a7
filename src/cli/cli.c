/*
 * Helpers shared by the subcommands: configuration in the documented order
 * and `--name VALUE` / `--name=VALUE` option parsing. Main thread only.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccpulse/tz.h"

int ccp_cli_load_config(ccp_config_t *cfg, const char *file, char **sets, int nsets) {
  char err[CCP_ERRBUF_SIZE];
  ccp_config_init(cfg);
  if (file && ccp_config_load_file(cfg, file, err, sizeof err) != 0)
    goto fail;
  if (ccp_config_load_env(cfg, err, sizeof err) != 0)
    goto fail;
  for (int i = 0; i < nsets; i++) {
    const char *eq = strchr(sets[i], '=');
    if (!eq || eq == sets[i]) {
      snprintf(err, sizeof err, "--set '%s': expected key=value", sets[i]);
      goto fail;
    }
    char *key = ccp_strndup(sets[i], (size_t)(eq - sets[i]));
    int rc = ccp_config_set(cfg, key, eq + 1, "--set", err, sizeof err);
    ccp_free(key);
    if (rc != 0)
      goto fail;
  }
  if (ccp_config_finish(cfg, err, sizeof err) != 0)
    goto fail;
  if (ccp_tz_use(cfg->timezone, err, sizeof err) != 0) /* before any thread starts */
    goto fail;
  return 0;

fail:
  fprintf(stderr, "ccpulse: %s\n", err);
  ccp_config_release(cfg);
  return CCP_EXIT_USAGE;
}

int ccp_cli_config_opt(int argc, char **argv, int *i, const char **config_file, char **sets,
                       int *nsets) {
  const char *v;
  int m;
  if ((m = ccp_cli_opt(argc, argv, i, "--config", &v)) != 0) {
    if (m > 0)
      *config_file = v;
    return m;
  }
  if ((m = ccp_cli_opt(argc, argv, i, "--set", &v)) != 0) {
    if (m > 0)
      sets[(*nsets)++] = (char *)v;
    return m;
  }
  return 0;
}

int ccp_cli_opt(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0)
    return 0;
  if (a[n] == '=') {
    *value = a + n + 1;
    return 1;
  }
  if (a[n] != 0)
    return 0;
  if (*i + 1 >= argc) {
    fprintf(stderr, "ccpulse %s: option %s needs a value\n", argv[0], name);
    return -1;
  }
  *value = argv[++*i];
  return 1;
}

void ccp_cli_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  ccp_cli_delivery_t *st = opaque;
  (void)rk;
  if (m->err) {
    if (st->failed++ == 0)
      snprintf(st->first_error, sizeof st->first_error, "%s", rd_kafka_err2str(m->err));
  } else {
    st->delivered++;
  }
}

rd_kafka_resp_err_t ccp_cli_produce_record(rd_kafka_t *rk, const char *topic, ccp_str_t key,
                                           const void *val, size_t len) {
  for (;;) {
    rd_kafka_resp_err_t e =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY((void *)key.ptr, key.len),
                          RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return e;
    rd_kafka_poll(rk, 10); /* local queue full: let deliveries drain */
  }
}
