/* cgroup - the systemd service of a process (see cgroup.h). */
#include "sys/cgroup.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "sys/sysfile.h"

/* A byte systemd allows in a unit name (unit_name_is_valid: letters, digits, ":-_.\\" and '@'). */
static bool unit_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || sysfile_is_digit(c) || c == ':' || c == '_' ||
           c == '.' || c == '@' || c == '-' || c == '\\';
}

#define SYSTEMD_V1 "name=systemd" /* the controllers field of systemd's v1 hierarchy */

static int bad(struct pk_err *e, size_t line, const char *what, const char *why)
{
    char on[32];
    snprintf(on, sizeof(on), "cgroup:%zu", line);
    return err_set(e, PK_EPARSE, on, what, "%s", why);
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The unit of one cgroup path [p, end), as cgroup.h says; unit "" for none. */
static int unit_of_path(const char *p, const char *end, size_t line, char *unit, struct pk_err *e)
{
    unit[0] = '\0';
    while (p < end) {
        while (p < end && *p == '/')
            p++;
        const char *s = p;
        while (p < end && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n <= strlen(".service") || !ends_with(s, n, ".service"))
            continue;
        if (n >= 5 && memcmp(s, "user@", 5) == 0)
            return 0; /* a user manager's units are not system services */
        if (n >= CGROUP_UNIT_LEN)
            return bad(e, line, "invalid unit", "a name longer than systemd allows");
        for (size_t i = 0; i < n; i++)
            if (!unit_char(s[i]))
                return bad(e, line, "invalid unit", "a byte systemd never puts in a unit name");
        memcpy(unit, s, n);
        unit[n] = '\0';
        return 0;
    }
    return 0;
}

int cgroup_parse_unit(const char *buf, size_t len, char unit[CGROUP_UNIT_LEN], struct pk_err *e)
{
    /* [0]: the unified hierarchy's path, [1]: v1's name=systemd path; the first to name a unit wins */
    const char *path[2] = { NULL, NULL }, *path_end[2] = { NULL, NULL };
    size_t path_line[2] = { 0, 0 };
    struct sysfile_lines it;
    const char *s, *eol;
    unit[0] = '\0';
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &s, &eol)) {
        if (s == eol)
            continue;
        const char *c1 = memchr(s, ':', (size_t)(eol - s));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
        if (!c2)
            return bad(e, it.no, "malformed line", "not ID:CONTROLLERS:PATH");
        int k = -1;
        if (c1 - s == 1 && s[0] == '0' && c2 == c1 + 1)
            k = 0;
        else if ((size_t)(c2 - c1 - 1) == strlen(SYSTEMD_V1) &&
                 !memcmp(c1 + 1, SYSTEMD_V1, strlen(SYSTEMD_V1)))
            k = 1;
        if (k >= 0 && !path[k]) {
            path[k] = c2 + 1;
            path_end[k] = eol;
            path_line[k] = it.no;
        }
    }
    for (int k = 0; k < 2 && !unit[0]; k++) {
        int rc = path[k] ? unit_of_path(path[k], path_end[k], path_line[k], unit, e) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_file(const char *buf, size_t len, void *arg, struct pk_err *e)
{
    return cgroup_parse_unit(buf, len, arg, e);
}

int cgroup_read_unit(const char *procfs, int pid, char unit[CGROUP_UNIT_LEN], struct pk_err *e)
{
    char rel[32];
    unit[0] = '\0';
    snprintf(rel, sizeof(rel), "%d/cgroup", pid);
    return sysfile_parse_file(procfs, rel, CGROUP_FILE_CAP, 0, parse_file, unit, e);
}
