#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

/* The help hint names the subcommand ("load" for "load merge"). */
static void hint(const char *cmd)
{
    size_t n = strcspn(cmd, " ");
    fprintf(stderr, "(see 'perfkit help %.*s')\n", (int)n, cmd);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "perfkit %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    hint(cmd);
    return EXIT_USAGE;
}

int cli_usage_err(const char *cmd, const struct pk_err *e)
{
    char buf[1024];
    fprintf(stderr, "perfkit %s: %s\n", cmd, pk_err_str(e, buf, sizeof(buf)));
    hint(cmd);
    return EXIT_USAGE;
}
