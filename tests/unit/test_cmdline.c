#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/cmdline.h"

static void split_expect(const char *cmd, const char *const *want, size_t n)
{
    char **argv;
    size_t argc;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(cmdline_split(cmd, &argv, &argc, &e), 0);
    assert_int_equal(argc, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(argv[i], want[i]);
    assert_null(argv[n]);
    free(argv);
}

static void splits_words_and_quotes(void **state)
{
    (void)state;
    split_expect("sleep 0.1", (const char *[]){ "sleep", "0.1" }, 2);
    split_expect("  grep  -c\t'a b'  file ", (const char *[]){ "grep", "-c", "a b", "file" }, 4);
    split_expect("echo \"say \\\"hi\\\" \\$x\"", (const char *[]){ "echo", "say \"hi\" $x" }, 2);
    split_expect("echo a\\ b 'it'\"'\"'s'", (const char *[]){ "echo", "a b", "it's" }, 3);
    split_expect("printf ''", (const char *[]){ "printf", "" }, 2);
    split_expect("echo \"a\\nb\"", (const char *[]){ "echo", "a\\nb" }, 2);
}

static void split_errors_name_the_problem(void **state)
{
    (void)state;
    char **argv = NULL;
    struct pk_err e;
    char buf[512];
    pk_err_clear(&e);
    assert_int_equal(cmdline_split("echo 'oops", &argv, NULL, &e), PK_EPARSE);
    assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), "unterminated single quote"));
    assert_non_null(strstr(buf, "column 6"));
    assert_int_equal(cmdline_split("echo \"x", &argv, NULL, &e), PK_EPARSE);
    assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), "unterminated double quote"));
    assert_int_equal(cmdline_split("echo x\\", &argv, NULL, &e), PK_EPARSE);
    assert_int_equal(cmdline_split("   ", &argv, NULL, &e), -EINVAL);
    assert_null(argv);
}

static void knows_when_a_shell_is_needed(void **state)
{
    (void)state;
    assert_false(cmdline_needs_shell("sleep 0.1"));
    assert_false(cmdline_needs_shell("grep -c 'a b' /etc/passwd"));
    assert_false(cmdline_needs_shell("./build/perfkit --version"));
    const char *shelly[] = { "a | b", "a && b", "a; b", "a > f", "echo $HOME", "ls *.c", "x=1 cmd", "cd /tmp",
                             "echo `date`", "(a)", "echo ~", "export A", "for i in 1; do :; done", "a\nb",
                             "# comment",
                             /* builtins without an executable: not "command not found" */
                             ":", "command -v ls", "type ls", "hash", "getopts ab x", "times",
                             "shopt -s nullglob", "pushd /tmp", "declare -i x" };
    for (size_t i = 0; i < sizeof(shelly) / sizeof(shelly[0]); i++)
        assert_true(cmdline_needs_shell(shelly[i]));
}

static void substitutes_parameters(void **state)
{
    (void)state;
    const char *names[] = { "n", "size" };
    const char *values[] = { "3", "64KiB" };
    char *s = cmdline_substitute("run {n} {size} {n}{n} {other} {", names, values, 2);
    assert_string_equal(s, "run 3 64KiB 33 {other} {");
    free(s);
    s = cmdline_substitute("", names, values, 2);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_words_and_quotes),
        cmocka_unit_test(split_errors_name_the_problem),
        cmocka_unit_test(knows_when_a_shell_is_needed),
        cmocka_unit_test(substitutes_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
