#include "bench/cmdline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/*
 * Two passes over the same state machine: the first counts words and bytes,
 * the second writes them into one allocation, so the result is freed at once.
 */
static int split_pass(const char *s, size_t len, char **argv, char *strings, size_t *nwords, size_t *nbytes,
                      struct pk_err *e)
{
    size_t w = 0, b = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(s[i]))
            i++;
        if (i >= len)
            break;
        if (argv)
            argv[w] = strings + b;
        while (i < len && !is_space(s[i])) {
            char c = s[i];
            if (c == '\'') {
                size_t start = i++;
                while (i < len && s[i] != '\'') {
                    if (strings)
                        strings[b] = s[i];
                    b++, i++;
                }
                if (i >= len)
                    return err_set(e, PK_EPARSE, NULL, "unterminated single quote",
                                   "opened at column %zu of '%s'", start + 1, s);
                i++;
            } else if (c == '"') {
                size_t start = i++;
                while (i < len && s[i] != '"') {
                    if (s[i] == '\\' && i + 1 < len && strchr("\"\\$`", s[i + 1]))
                        i++;
                    if (strings)
                        strings[b] = s[i];
                    b++, i++;
                }
                if (i >= len)
                    return err_set(e, PK_EPARSE, NULL, "unterminated double quote",
                                   "opened at column %zu of '%s'", start + 1, s);
                i++;
            } else if (c == '\\') {
                if (i + 1 >= len)
                    return err_set(e, PK_EPARSE, NULL, "trailing backslash", "in '%s'", s);
                if (s[i + 1] == '\n') { /* line continuation */
                    i += 2;
                    continue;
                }
                if (strings)
                    strings[b] = s[i + 1];
                b++;
                i += 2;
            } else {
                if (strings)
                    strings[b] = c;
                b++, i++;
            }
        }
        if (strings)
            strings[b] = '\0';
        b++;
        w++;
    }
    if (argv)
        argv[w] = NULL;
    *nwords = w;
    *nbytes = b;
    return 0;
}

int cmdline_split(const char *cmd, char ***argvp, size_t *argcp, struct pk_err *e)
{
    size_t len = strnlen(cmd, CMDLINE_MAX_LEN + 1);
    if (len > CMDLINE_MAX_LEN)
        return err_set(e, -E2BIG, NULL, "command too long", "over %u bytes", CMDLINE_MAX_LEN);
    size_t nw, nb;
    int rc = split_pass(cmd, len, NULL, NULL, &nw, &nb, e);
    if (rc)
        return rc;
    if (nw == 0)
        return err_set(e, -EINVAL, NULL, "empty command", NULL);
    size_t ptrs = (nw + 1) * sizeof(char *);
    char **argv = malloc(ptrs + nb);
    if (!argv)
        return err_errno(e, -ENOMEM, NULL, "cannot split command");
    split_pass(cmd, len, argv, (char *)argv + ptrs, &nw, &nb, NULL);
    *argvp = argv;
    if (argcp)
        *argcp = nw;
    return 0;
}

/* Words that only mean something inside a shell (builtins without an
 * executable of the same name, POSIX's and bash's, and reserved words). */
static const char *const shell_words[] = {
    "alias",    "bg",       "break",   "case",    "cd",      "continue", "do",        "done",    "elif",
    "else",     "esac",     "eval",    "exec",    "exit",    "export",   "fg",        "fi",      "for",
    "function", "if",       "jobs",    "local",   "read",    "readonly", "return",    "select",  "set",
    "shift",    "source",   "then",    "time",    "trap",    "ulimit",   "umask",     "unalias", "unset",
    "until",    "wait",     "while",   ".",       "!",       "{",        "}",         "[[",      "]]",
    ":",        "command",  "type",    "hash",    "getopts", "times",    "bind",      "builtin", "caller",
    "compgen",  "complete", "compopt", "coproc",  "declare", "dirs",     "disown",    "enable",  "help",
    "history",  "let",      "logout",  "mapfile", "popd",    "pushd",    "readarray", "shopt",   "suspend",
    "typeset",
};

bool cmdline_needs_shell(const char *cmd)
{
    for (const char *p = cmd; *p; p++) {
        /* Quotes alone do not need a shell, but their content may (e.g. "$HOME"):
         * look at every byte, quoted or not, and be conservative. */
        if (strchr("|&;<>()$`*?[]#~=%\n{}!", *p))
            return true;
    }
    const char *p = cmd;
    while (is_space(*p))
        p++;
    size_t n = strcspn(p, " \t\n");
    for (size_t i = 0; i < sizeof(shell_words) / sizeof(shell_words[0]); i++)
        if (strlen(shell_words[i]) == n && strncmp(p, shell_words[i], n) == 0)
            return true;
    return false;
}

char *cmdline_substitute(const char *cmd, const char *const *names, const char *const *values, size_t n)
{
    size_t cap = strlen(cmd) + 1, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = cmd; *p;) {
        const char *rep = NULL;
        size_t skip = 0;
        if (*p == '{') {
            for (size_t i = 0; i < n; i++) {
                size_t nl = strlen(names[i]);
                if (strncmp(p + 1, names[i], nl) == 0 && p[1 + nl] == '}') {
                    rep = values[i];
                    skip = nl + 2;
                    break;
                }
            }
        }
        const char *src = rep ? rep : p;
        size_t sl = rep ? strlen(rep) : 1;
        if (len + sl + 1 > cap) {
            while (len + sl + 1 > cap)
                cap *= 2;
            char *t = realloc(out, cap);
            if (!t) {
                free(out);
                return NULL;
            }
            out = t;
        }
        memcpy(out + len, src, sl);
        len += sl;
        p += rep ? skip : 1;
    }
    out[len] = '\0';
    return out;
}
