/*
 * cmdline - turn a command string into an argv without a shell, and decide
 * whether a command needs one.
 *
 * Splitting follows the shell's word rules for quoting only: single quotes
 * keep everything literally, double quotes keep everything but \" \\ \$ \`,
 * a backslash outside quotes escapes the next character. No expansion of
 * any kind happens. An unterminated quote is PK_EPARSE naming the column.
 */
#ifndef PK_BENCH_CMDLINE_H
#define PK_BENCH_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "perfkit.h"

#define CMDLINE_MAX_LEN (1u << 20)

/* *argv is one allocation (pointers then strings), NULL-terminated; free(*argv). */
int cmdline_split(const char *cmd, char ***argv, size_t *argc, struct pk_err *e);
/* True when cmd uses anything only a shell gives: pipes, redirections, lists,
 * expansions, globs, variables, assignments, subshells, builtins, comments. */
bool cmdline_needs_shell(const char *cmd);
/* Replaces each {name} by its value; unknown {x} stays. Caller frees. */
char *cmdline_substitute(const char *cmd, const char *const *names, const char *const *values, size_t n);

#endif
