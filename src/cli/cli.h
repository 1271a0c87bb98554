/*
 * cli - what the subcommands share: exit codes and the command table.
 * Exit codes (documented in docs/ and `perfkit help`):
 *   0 success, 1 runtime failure, 2 usage error, 3 a gate failed
 *   (bench: a regression against the baseline; doctor: warnings;
 *   load: a threshold),
 *   4 doctor: a critical finding; load: no request succeeded
 *   (cmd_load.c), 5 doctor: a run that read too little (cmd_doctor.c),
 *   130 interrupted (SIGINT).
 */
#ifndef PK_CLI_CLI_H
#define PK_CLI_CLI_H

enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1,
    EXIT_USAGE = 2,
    EXIT_REGRESSION = 3,
    EXIT_DOCTOR_WARN = 3, /* doctor: warnings, nothing critical */
    EXIT_THRESHOLD = 3,   /* load: a --threshold failed */
    EXIT_DOCTOR_CRIT = 4, /* doctor: a critical finding or bottleneck */
    EXIT_INTERRUPTED = 130,
};

struct pk_err;

/*
 * A usage error of subcommand cmd ("bench", "load merge"): prints
 * "perfkit CMD: MESSAGE" and a pointer to its help on stderr, and returns
 * EXIT_USAGE for the caller to return.
 */
__attribute__((format(printf, 2, 3))) int cli_usage(const char *cmd, const char *fmt, ...);
/* The same with the message of a failed parse. */
int cli_usage_err(const char *cmd, const struct pk_err *e);

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*help)(void);
};

int cmd_bench(int argc, char **argv);
void cmd_bench_help(void);
int cmd_doctor(int argc, char **argv);
void cmd_doctor_help(void);
int cmd_monitor(int argc, char **argv);
void cmd_monitor_help(void);
int cmd_load(int argc, char **argv);
void cmd_load_help(void);

#endif
