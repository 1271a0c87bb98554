#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/err.h"
#include "sys/sysfile.h"

static int parse(const char *s, uint64_t max, uint64_t *v)
{
    const char *p = s;
    return sysfile_parse_uint(&p, s + strlen(s), max, v);
}

static void uint_bounds(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(parse("1", 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(parse("2", 1, &v), PK_EPARSE); /* a digit above a small max */
    assert_int_equal(parse("9", 8, &v), PK_EPARSE);
    assert_int_equal(parse("10", 9, &v), PK_EPARSE);
    assert_int_equal(parse("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse("18446744073709551616", UINT64_MAX, &v), PK_EPARSE);
    assert_int_equal(parse("255", 255, &v), 0);
    assert_int_equal(parse("256", 255, &v), PK_EPARSE);
    assert_int_equal(parse("", 10, &v), PK_EPARSE);
    assert_int_equal(parse("x1", 10, &v), PK_EPARSE);
}

static void decimal(void **state)
{
    (void)state;
    double d;
    const char *s = "2596.122 rest";
    const char *p = s;
    assert_int_equal(sysfile_parse_decimal(&p, s + strlen(s), &d), 0);
    assert_true(d == 2596.122);
    assert_string_equal(p, " rest");
    s = ".";
    p = s;
    assert_int_equal(sysfile_parse_decimal(&p, s + 1, &d), PK_EPARSE);
}

/* A first field of file-nr (allocated file handles) as a number. */
static unsigned long long allocated(const char *buf, size_t len)
{
    const char *p = buf;
    uint64_t v = 0;
    assert_int_equal(sysfile_parse_uint(&p, buf + len, UINT64_MAX, &v), 0);
    return (unsigned long long)v;
}

/* A kept procfs file is read afresh each time, through the same descriptor. */
static void kept_procfs(void **state)
{
    (void)state;
    assert_true(sysfile_is_procfs("/proc"));
    assert_false(sysfile_is_procfs("/tmp"));
    assert_false(sysfile_is_procfs(NULL));
    struct sysfile_kept k;
    sysfile_kept_init(&k);
    const char *buf;
    size_t len;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(sysfile_kept_read(&k, "/proc", "sys/fs/file-nr", 4096, &buf, &len, &e), 0);
    assert_true(k.fd >= 0);
    int fd = k.fd;
    unsigned long long before = allocated(buf, len);
    int extra[200];
    for (int i = 0; i < 200; i++)
        extra[i] = open("/dev/null", O_RDONLY);
    assert_int_equal(sysfile_kept_read(&k, "/proc", "sys/fs/file-nr", 4096, &buf, &len, &e), 0);
    assert_int_equal(k.fd, fd);
    assert_true(allocated(buf, len) >= before + 150); /* other processes open and close too */
    assert_int_equal(buf[len], '\0');
    for (int i = 0; i < 200; i++)
        close(extra[i]);
    /* a larger file than the first buffer, whole, and the cap keeps whole lines */
    struct sysfile_kept m;
    sysfile_kept_init(&m);
    assert_int_equal(sysfile_kept_read(&m, "/proc", "self/maps", 1 << 20, &buf, &len, &e), 0);
    assert_true(len > 0 && buf[len - 1] == '\n');
    assert_int_equal(sysfile_kept_read(&m, "/proc", "self/maps", 100, &buf, &len, &e), 0);
    assert_true(len <= 100 && (len == 0 || buf[len - 1] == '\n'));
    sysfile_kept_destroy(&m);
    /* errors name the path */
    struct sysfile_kept x;
    sysfile_kept_init(&x);
    assert_int_equal(sysfile_kept_read(&x, "/proc", "no/such/file", 4096, &buf, &len, &e), -ENOENT);
    assert_string_equal(e.on, "/proc/no/such/file");
    assert_int_equal(x.fd, -1);
    sysfile_kept_destroy(&x);
    sysfile_kept_destroy(&k);
    assert_int_equal(k.fd, -1);
}

/* Any other file is opened on each read: a file replaced by rename is seen at once. */
static void kept_regular(void **state)
{
    (void)state;
    char dir[] = "/tmp/pk_sysfile_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], tmp[64];
    snprintf(path, sizeof(path), "%s/f", dir);
    snprintf(tmp, sizeof(tmp), "%s/f.new", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("one\n", f);
    fclose(f);
    struct sysfile_kept k;
    sysfile_kept_init(&k);
    const char *buf;
    size_t len;
    struct pk_err e;
    assert_int_equal(sysfile_kept_read(&k, dir, "f", 4096, &buf, &len, &e), 0);
    assert_int_equal(k.fd, -1);
    assert_string_equal(buf, "one\n");
    f = fopen(tmp, "w");
    assert_non_null(f);
    fputs("two\n", f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
    assert_int_equal(sysfile_kept_read(&k, dir, "f", 4096, &buf, &len, &e), 0);
    assert_string_equal(buf, "two\n");
    sysfile_kept_destroy(&k);
    unlink(path);
    rmdir(dir);
}

/* Lines with their numbers: a last line without '\n' counts, nothing after a final '\n' does. */
static void lines(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *joined; /* the lines seen, each followed by '|' */
        size_t n;
    } cases[] = {
        { "", "", 0 },
        { "\n", "|", 1 },
        { "a", "a|", 1 },
        { "a\n", "a|", 1 },
        { "a\nb", "a|b|", 2 },
        { "a\n\nb\n", "a||b|", 3 },
        { "a\r\n b \n", "a\r| b |", 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sysfile_lines it;
        const char *s, *eol;
        char joined[64] = "";
        size_t len = strlen(cases[i].in), n = 0;
        sysfile_lines_init(&it, cases[i].in, len);
        while (sysfile_lines_next(&it, &s, &eol)) {
            n++;
            assert_int_equal(it.no, n);
            assert_true(s >= cases[i].in && eol <= cases[i].in + len && s <= eol);
            strncat(joined, s, (size_t)(eol - s));
            strcat(joined, "|");
        }
        assert_false(sysfile_lines_next(&it, &s, &eol));
        assert_int_equal(n, cases[i].n);
        assert_string_equal(joined, cases[i].joined);
        assert_true(sysfile_count_lines(cases[i].in, len) >= n);
    }
    assert_int_equal(sysfile_count_lines("a\nb\n", 4), 3);
    /* a buffer that is not NUL-terminated is read up to its length only */
    char raw[3] = { 'x', '\n', 'y' };
    struct sysfile_lines it;
    const char *s, *eol;
    sysfile_lines_init(&it, raw, 2);
    assert_true(sysfile_lines_next(&it, &s, &eol));
    assert_int_equal(eol - s, 1);
    assert_false(sysfile_lines_next(&it, &s, &eol));
}

static void name_err(void **state)
{
    (void)state;
    struct pk_err e;
    memset(&e, 0, sizeof(e));
    snprintf(e.on, sizeof(e.on), "tcp:7");
    sysfile_name_err(&e, "/fix/proc", "net/tcp6");
    assert_string_equal(e.on, "/fix/proc/net/tcp6:7");
    snprintf(e.on, sizeof(e.on), "stat");
    sysfile_name_err(&e, "/proc", "stat");
    assert_string_equal(e.on, "/proc/stat");
    sysfile_name_err(NULL, "/proc", "stat"); /* no error wanted: nothing to name */
}

/* A parser of "<n> lines": rejects a line "bad" as "f:<line>". */
static int count_parser(const char *buf, size_t len, void *arg, struct pk_err *e)
{
    size_t *count = arg;
    struct sysfile_lines it;
    const char *s, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &s, &eol)) {
        if (eol - s == 3 && memcmp(s, "bad", 3) == 0) {
            char on[32];
            snprintf(on, sizeof(on), "f:%zu", it.no);
            return err_set(e, PK_EPARSE, on, "malformed line", NULL);
        }
        (*count)++;
    }
    return 0;
}

static void parse_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/pk_sysfile_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char good[64], bad[64], big[64];
    snprintf(good, sizeof(good), "%s/good", dir);
    snprintf(bad, sizeof(bad), "%s/bad", dir);
    snprintf(big, sizeof(big), "%s/big", dir);
    FILE *f = fopen(good, "w");
    assert_non_null(f);
    fputs("one\ntwo\n", f);
    fclose(f);
    f = fopen(bad, "w");
    assert_non_null(f);
    fputs("one\nbad\n", f);
    fclose(f);
    f = fopen(big, "w");
    assert_non_null(f);
    fputs("aaaa\nbbbb\ncccc\n", f);
    fclose(f);

    struct pk_err e;
    memset(&e, 0, sizeof(e));
    size_t n = 0;
    assert_int_equal(sysfile_parse_file(dir, "good", 4096, 0, count_parser, &n, &e), 0);
    assert_int_equal(n, 2);

    /* the parser's "f:2" names the file that was read */
    n = 0;
    assert_int_equal(sysfile_parse_file(dir, "bad", 4096, 0, count_parser, &n, &e), PK_EPARSE);
    char want[128];
    snprintf(want, sizeof(want), "%s/bad:2", dir);
    assert_string_equal(e.on, want);

    /* a read error names the path; optional files that are missing are 1, e untouched */
    assert_int_equal(sysfile_parse_file(dir, "none", 4096, 0, count_parser, &n, &e), -ENOENT);
    snprintf(want, sizeof(want), "%s/none", dir);
    assert_string_equal(e.on, want);
    memset(&e, 0, sizeof(e));
    assert_int_equal(sysfile_parse_file(dir, "none", 4096, SYSFILE_OPTIONAL, count_parser, &n, &e), 1);
    assert_string_equal(e.on, "");
    assert_int_equal(sysfile_parse_file(dir, "good/x", 4096, SYSFILE_OPTIONAL, count_parser, &n, &e), 1);
    assert_int_equal(sysfile_parse_file(NULL, "good", 4096, 0, count_parser, &n, &e), -EINVAL);

    /* past the cap: whole lines only, or -EFBIG with SYSFILE_EXACT */
    n = 0;
    assert_int_equal(sysfile_parse_file(dir, "big", 12, 0, count_parser, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sysfile_parse_file(dir, "big", 12, SYSFILE_EXACT, count_parser, &n, &e), -EFBIG);
    n = 0;
    assert_int_equal(sysfile_parse_file(dir, "big", 15, SYSFILE_EXACT, count_parser, &n, &e), 0);
    assert_int_equal(n, 3);

    unlink(good);
    unlink(bad);
    unlink(big);
    rmdir(dir);
}

/* fd 0 open, so that a destroy that closed a zeroed struct's fd 0 would show. */
static void stdin_open(void)
{
    if (fcntl(STDIN_FILENO, F_GETFD) < 0)
        assert_int_equal(open("/dev/null", O_RDONLY), STDIN_FILENO);
}

static void kept_destroy_zeroed(void **state)
{
    (void)state;
    stdin_open();
    struct sysfile_kept k;
    memset(&k, 0, sizeof(k));
    sysfile_kept_destroy(&k);
    sysfile_kept_destroy(&k);
    assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uint_bounds), cmocka_unit_test(decimal),
        cmocka_unit_test(kept_procfs), cmocka_unit_test(kept_regular),
        cmocka_unit_test(lines),       cmocka_unit_test(name_err),
        cmocka_unit_test(parse_file),  cmocka_unit_test(kept_destroy_zeroed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
