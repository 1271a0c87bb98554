/*
 * fuzz_sysctl - every pure parser of sys/sysctl.c on the same bytes, in a
 * buffer of exactly the input's size so ASan catches a read past len; and
 * the name-to-path mapping on the bytes as a C string.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sys/sysctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    char s[16];
    if (sysctl_parse_string(buf, size, s, sizeof(s)) == 0 && strlen(s) >= sizeof(s))
        abort();

    int64_t i64;
    uint64_t u64;
    sysctl_parse_int(buf, size, &i64);
    sysctl_parse_uint(buf, size, &u64);

    int64_t vals[3];
    size_t n = 99;
    int r = sysctl_parse_ints(buf, size, vals, 3, &n);
    if ((r == 0 && (n == 0 || n > 3)) || (r == -E2BIG && n != 3))
        abort();

    struct sysctl_choice c;
    if (sysctl_parse_choice(buf, size, &c) == 0) {
        bool found = false;
        if (c.nchoices == 0 || c.nchoices > SYSCTL_MAX_CHOICES || c.selected[0] == '\0')
            abort();
        for (size_t i = 0; i < c.nchoices; i++) {
            if (strlen(c.choices[i]) == 0 || strlen(c.choices[i]) >= SYSCTL_CHOICE_MAX)
                abort();
            found |= strcmp(c.choices[i], c.selected) == 0;
        }
        if (!found)
            abort();
    }

    struct sysctl_file_nr f;
    sysctl_parse_file_nr(buf, size, &f);

    /* As a name: a path that never climbs out of sys/. */
    char *name = malloc(size + 1);
    if (name) {
        memcpy(name, data, size);
        name[size] = '\0';
        char path[SYSCTL_NAME_MAX + 8];
        if (sysctl_path(name, path, sizeof(path)) == 0) {
            if (strncmp(path, "sys/", 4) != 0 || strstr(path, "/../") || strstr(path, "//") ||
                strstr(path, "/./") || (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0))
                abort();
        }
        free(name);
    }
    free(buf);
    return 0;
}
