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
    assert_int_equal(parse("2", 1, &v), PK_EPARSE);   /* a digit above a small max */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uint_bounds),
        cmocka_unit_test(decimal),
        cmocka_unit_test(kept_procfs),
        cmocka_unit_test(kept_regular),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
