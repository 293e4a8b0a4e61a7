/*
 * The `ccpulse` binary: main() and the table of subcommands. Everything else
 * is in the library (the subcommands are src/cli/<name>.c, see cli.h). To add
 * a subcommand, add one row to `commands`.
 */
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "ccpulse/config.h"
#include "ccpulse/libversions.h"
#include "cli.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const ccp_cli_spec_t help_spec = {
    .name = "help",
    .summary = "show help for ccpulse, a command, or 'config'",
    .about = "Shows the commands, a command's options, or (config) the configuration keys.",
    .operands = "[command | config]",
    .max_operands = 1,
};

static const ccp_cli_spec_t version_spec = {
    .name = "version",
    .summary = "print the version",
    .about = "Prints the version of ccpulse, then one line per library: librdkafka\n"
             "(with its built-in features: ssl, sasl_scram...: what\n"
             "kafka.security.protocol and kafka.sasl.mechanisms can use) and jansson\n"
             "as loaded at run time, hiredis (no TLS: docs/operations.md) and Avro C\n"
             "as built against (\"(built with)\"; they report no version at run time).",
};

/* One row per subcommand: its options and help, and what runs it. */
static const struct {
  const ccp_cli_spec_t *spec;
  int (*run)(int argc, char **argv); /* argv[0] is the name */
} commands[] = {
    {&ccp_cli_replay_spec, ccp_cli_replay},
    {&ccp_cli_convert_spec, ccp_cli_convert},
    {&ccp_cli_produce_spec, ccp_cli_produce},
    {&ccp_cli_run_spec, ccp_cli_run},
    {&ccp_cli_gen_spec, ccp_cli_gen},
    {&ccp_cli_demo_spec, ccp_cli_demo},
    {&ccp_cli_wall_spec, ccp_cli_wall},
    {&help_spec, cmd_help},
    {&version_spec, cmd_version},
};

static int find(const char *name) {
  for (size_t i = 0; i < CCP_ARRAY_LEN(commands); i++)
    if (strcmp(commands[i].spec->name, name) == 0)
      return (int)i;
  return -1;
}

static void usage(FILE *out) {
  fputs("usage: ccpulse <command> [options] [args]\n\n"
        "ccpulse computes contact-center KPIs from a stream of ticket events.\n\n"
        "Commands:\n",
        out);
  for (size_t i = 0; i < CCP_ARRAY_LEN(commands); i++)
    fprintf(out, "  %-10s %s\n", commands[i].spec->name, commands[i].spec->summary);
  fputs("\n'ccpulse help <command>' or 'ccpulse <command> --help' shows a command's\n"
        "options; 'ccpulse help config' lists the configuration keys.\n",
        out);
}

static int unknown_command(const char *name) {
  fprintf(stderr, "ccpulse: unknown command '%s'\nTry 'ccpulse --help'.\n", name);
  return CCP_EXIT_USAGE;
}

static int cmd_help(int argc, char **argv) {
  ccp_cli_args_t a = {0};
  int rc = ccp_cli_parse(&help_spec, argc, argv, &a);
  if (rc != CCP_CLI_RUN)
    goto done;
  rc = CCP_EXIT_OK;
  if (a.noperands == 0) {
    usage(stdout);
  } else if (strcmp(a.operands[0], "config") == 0) {
    fputs("Configuration keys (file 'key = value', environment CCPULSE_KEY with '.'\n"
          "as '_', or --set key=value; later sources win):\n\n",
          stdout);
    ccp_config_write_help(stdout);
  } else if (find(a.operands[0]) >= 0) {
    ccp_cli_usage(commands[find(a.operands[0])].spec, stdout);
  } else {
    rc = unknown_command(a.operands[0]);
  }
done:
  ccp_cli_args_release(&a);
  return rc;
}

static int cmd_version(int argc, char **argv) {
  ccp_cli_args_t a = {0};
  int rc = ccp_cli_parse(&version_spec, argc, argv, &a);
  if (rc == CCP_CLI_RUN) {
    printf("ccpulse %s\n", CCP_VERSION_STRING);
    ccp_libversion_t v[8];
    size_t n = ccp_libversions(v, CCP_ARRAY_LEN(v));
    char features[512] = "?";
    size_t flen = sizeof features;
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (rd_kafka_conf_get(kc, "builtin.features", features, &flen) != RD_KAFKA_CONF_OK)
      snprintf(features, sizeof features, "?");
    rd_kafka_conf_destroy(kc);
    for (size_t i = 0; i < n && i < CCP_ARRAY_LEN(v); i++) {
      printf("%s %s%s", v[i].name, v[i].version, v[i].built ? " (built with)" : "");
      if (strcmp(v[i].name, "librdkafka") == 0)
        printf(" (builtin.features %s)", features);
      else if (strcmp(v[i].name, "hiredis") == 0)
        printf(" (no TLS)");
      putchar('\n');
    }
    rc = CCP_EXIT_OK;
  }
  ccp_cli_args_release(&a);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return CCP_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
    name = "help";
  if (strcmp(name, "--version") == 0)
    name = "version";
  int c = find(name);
  if (c < 0)
    return unknown_command(argv[1]);
  return commands[c].run(argc - 1, argv + 1);
}
