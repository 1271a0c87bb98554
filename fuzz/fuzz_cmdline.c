/* libFuzzer target: command-line splitting, the shell test and substitution. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char **argv;
    size_t argc;
    struct pk_err e;
    if (cmdline_split(s, &argv, &argc, &e) == 0) {
        for (size_t i = 0; i < argc; i++)
            (void)strlen(argv[i]);
        if (argv[argc] != NULL)
            abort();
        free(argv);
    }
    (void)cmdline_needs_shell(s);
    const char *names[] = { "a", "" };
    const char *values[] = { "{a}", "x" };
    char *t = cmdline_substitute(s, names, values, 2);
    free(t);
    free(s);
    return 0;
}
