/*
 * Fuzz target: the configuration parser (src/config/config.c) as a user
 * reaches it: the input is (1) a config file (`--config`, read by
 * ccp_config_load_file through a memfd) and (2) a list of `--set key=value`
 * flags, one per line; each is followed by ccp_config_finish(), and an
 * accepted configuration has its alert rules parsed (ccp_rules_parse, as
 * `ccpulse run` does at start-up).
 *
 * Checked besides memory safety and leaks: every refusal comes with a
 * message; a refused --set leaves the configuration byte for byte as it was
 * (the contract of ccp_config_set).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "ccpulse/alerts.h"
#include "ccpulse/config.h"
#include "fuzz.h"

/* finish(), then the rules of an accepted configuration. */
static void finish(ccp_config_t *cfg) {
  char err[CCP_ERRBUF_SIZE] = "";
  if (ccp_config_finish(cfg, err, sizeof err) != 0) {
    FZ_CHECK(err[0] != 0);
    return;
  }
  for (int ch = 0; ch < CCP_CH__COUNT; ch++)
    FZ_CHECK(ccp_config_sla_ms(cfg, "billing", 7, ch) > 0);
  ccp_rules_t *rules = ccp_rules_parse(cfg->alerts_rules, cfg, err, sizeof err);
  FZ_CHECK(rules || err[0]);
  ccp_rules_free(rules);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fd = -1;
  if (fd < 0)
    FZ_CHECK((fd = memfd_create("fuzz_config", 0)) >= 0);
  FZ_CHECK(ftruncate(fd, 0) == 0);
  FZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
  char path[64], err[CCP_ERRBUF_SIZE];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

  /* 1. as a config file */
  ccp_config_t cfg;
  ccp_config_init(&cfg);
  err[0] = 0;
  if (ccp_config_load_file(&cfg, path, err, sizeof err) == 0)
    finish(&cfg);
  else
    FZ_CHECK(err[0] != 0);
  ccp_config_release(&cfg);

  /* 2. as --set flags, one a line (those without '=' are refused by the CLI) */
  char *text = malloc(size + 1);
  FZ_CHECK(text != NULL);
  memcpy(text, data, size);
  text[size] = 0;
  ccp_config_init(&cfg);
  ccp_config_t *before = malloc(sizeof cfg);
  FZ_CHECK(before != NULL);
  for (char *line = text, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = 0;
    char *eq = strchr(line, '=');
    if (!eq)
      continue;
    *eq = 0;
    memcpy(before, &cfg, sizeof cfg);
    err[0] = 0;
    if (ccp_config_set(&cfg, line, eq + 1, "--set", err, sizeof err) != 0) {
      FZ_CHECK(err[0] != 0);
      FZ_CHECK(memcmp(before, &cfg, sizeof cfg) == 0);
    }
  }
  finish(&cfg);
  ccp_config_release(&cfg);
  free(before);
  free(text);
  return 0;
}
