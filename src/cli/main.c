/*
 * The `ccpulse` binary: main() and the table of subcommands. Everything else
 * is in the library (the subcommands are src/cli/<name>.c, see cli.h). To add
 * a subcommand, add one row to `commands`.
 */
#include <stdio.h>
#include <string.h>

#include "ccpulse/config.h"
#include "cli.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static void help_usage(FILE *out);
static void version_usage(FILE *out);

static const ccp_cli_cmd_t commands[] = {
    {"replay", ccp_cli_replay, ccp_cli_replay_usage,
     "replay event files through the KPI engine and print snapshots"},
    {"convert", ccp_cli_convert, ccp_cli_convert_usage,
     "convert JSON Lines or Avro events to an Avro container file (v1 schema)"},
    {"produce", ccp_cli_produce, ccp_cli_produce_usage,
     "produce event files to a Kafka topic as Avro records keyed by ticket_id"},
    {"run", ccp_cli_run, ccp_cli_run_usage,
     "consume events from Kafka and publish live KPIs and alerts to Redis"},
    {"gen", ccp_cli_gen, ccp_cli_gen_usage,
     "generate a realistic workload into a Kafka topic (at a rate) or an Avro file"},
    {"demo", ccp_cli_demo, ccp_cli_demo_usage,
     "live demo: mock Kafka, event generator, pipeline and Redis in one command"},
    {"help", cmd_help, help_usage, "show help for ccpulse, a command, or 'config'"},
    {"version", cmd_version, version_usage, "print the version"},
};

static const ccp_cli_cmd_t *find(const char *name) {
  for (size_t i = 0; i < CCP_ARRAY_LEN(commands); i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

static void usage(FILE *out) {
  fputs("usage: ccpulse <command> [options] [args]\n\n"
        "ccpulse computes contact-center KPIs from a stream of ticket events.\n\n"
        "Commands:\n",
        out);
  for (size_t i = 0; i < CCP_ARRAY_LEN(commands); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fputs("\n'ccpulse help <command>' or 'ccpulse <command> --help' shows a command's\n"
        "options; 'ccpulse help config' lists the configuration keys.\n",
        out);
}

static void help_usage(FILE *out) { fputs("usage: ccpulse help [command | config]\n", out); }
static void version_usage(FILE *out) { fputs("usage: ccpulse version\n", out); }

static int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    usage(stdout);
    return CCP_EXIT_OK;
  }
  if (strcmp(argv[1], "config") == 0) {
    fputs("Configuration keys (file 'key = value', environment CCPULSE_KEY with '.'\n"
          "as '_', or --set key=value; later sources win):\n\n",
          stdout);
    ccp_config_write_help(stdout);
    return CCP_EXIT_OK;
  }
  const ccp_cli_cmd_t *c = find(argv[1]);
  if (!c) {
    fprintf(stderr, "ccpulse: unknown command '%s'\nTry 'ccpulse --help'.\n", argv[1]);
    return CCP_EXIT_USAGE;
  }
  c->usage(stdout);
  return CCP_EXIT_OK;
}

static int cmd_version(int argc, char **argv) {
  printf("ccpulse %s\n", CCP_VERSION_STRING);
  return CCP_EXIT_OK;
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
  const ccp_cli_cmd_t *c = find(name);
  if (!c) {
    fprintf(stderr, "ccpulse: unknown command '%s'\nTry 'ccpulse --help'.\n", argv[1]);
    return CCP_EXIT_USAGE;
  }
  return c->run(argc - 1, argv + 1);
}
