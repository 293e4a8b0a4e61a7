/*
 * Helpers shared by the subcommands: configuration in the documented order
 * and `--name VALUE` / `--name=VALUE` option parsing. Main thread only.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

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
