/* perfkit - one binary, one subcommand per tool. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "perfkit.h"

static const struct cli_command commands[] = {
    { "bench", "benchmark commands: statistics, comparisons, baselines, CI gate", cmd_bench, cmd_bench_help },
    { "doctor", "tuning checks and bottleneck diagnosis, each finding with its fix", cmd_doctor,
      cmd_doctor_help },
    { "load", "HTTP load: closed and open model, corrected latencies, thresholds", cmd_load, cmd_load_help },
    { "monitor", "host agent: Prometheus metrics, alerts, history, dashboard", cmd_monitor,
      cmd_monitor_help },
    { "help", "show help for a command", NULL, NULL },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *fp)
{
    fprintf(fp,
            "perfkit %s - measure and improve the performance of services on Linux\n"
            "\n"
            "Usage: perfkit <command> [options] [arguments]\n"
            "       perfkit help <command>\n"
            "       perfkit --version\n"
            "\n"
            "Commands:\n",
            pk_version());
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n"
                "Exit status: 0 success, 1 runtime failure, 2 usage error,\n"
                "             3 a gate failed (bench: a regression; doctor: warnings;\n"
                "             load: a threshold),\n"
                "             4 doctor: a critical finding; load: no request succeeded,\n"
                "             5 doctor: incomplete,\n"
                "             130 interrupted.\n"
                "Docs: docs/<command>.md, man perfkit-<command>.\n");
}

static const struct cli_command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (commands[i].run && strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("perfkit %s\n", pk_version());
        return EXIT_OK;
    }
    if (!strcmp(cmd, "help")) {
        if (argc < 3) {
            usage(stdout);
            return EXIT_OK;
        }
        const struct cli_command *c = find(argv[2]);
        if (!c) {
            fprintf(stderr, "perfkit: help: unknown command '%s'\n", argv[2]);
            return EXIT_USAGE;
        }
        c->help();
        return EXIT_OK;
    }
    const struct cli_command *c = find(cmd);
    if (!c) {
        fprintf(stderr, "perfkit: unknown command '%s' (see 'perfkit --help')\n", cmd);
        return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
