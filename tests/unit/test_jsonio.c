#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/files.h"
#include "core/jsonio.h"

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/pk_test_jsonio_XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/data.json", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static const char *msg(const struct pk_err *e)
{
    static char buf[700];
    return pk_err_str(e, buf, sizeof(buf));
}

static void write_text(const char *path, const char *text)
{
    struct pk_err e;
    assert_int_equal(files_write_atomic(path, text, strlen(text), &e), 0);
}

static void round_trip(void **state)
{
    struct fixture *f = *state;
    struct pk_err e;
    pk_err_clear(&e);
    json_t *root = json_object();
    /* Not in alphabetical order: the file keeps insertion order. */
    json_object_set_new(root, "zeta", json_integer(1));
    json_object_set_new(root, "alpha", json_pack("[ii]", 1, 2));
    json_object_set_new(root, "tenth", jsonio_real(0.1));
    json_object_set_new(root, "third", jsonio_real(1.0 / 3.0));
    json_object_set_new(root, "name", json_string("caf\xc3\xa9 \"q\""));
    json_object_set_new(root, "empty", json_object());
    assert_int_equal(jsonio_write_atomic(f->path, root, &e), 0);

    char *text;
    size_t len;
    assert_int_equal(files_read_all(f->path, 1 << 20, &text, &len, &e), 0);
    assert_string_equal(text, "{\n"
                              "  \"zeta\": 1,\n"
                              "  \"alpha\": [\n"
                              "    1,\n"
                              "    2\n"
                              "  ],\n"
                              "  \"tenth\": 0.10000000000000001,\n"
                              "  \"third\": 0.33333333333333331,\n"
                              "  \"name\": \"caf\xc3\xa9 \\\"q\\\"\",\n"
                              "  \"empty\": {}\n"
                              "}\n");
    free(text);

    json_t *back = NULL;
    assert_int_equal(jsonio_load(f->path, &back, &e), 0);
    assert_true(json_equal(root, back));
    /* 17 significant digits give back the very same doubles. */
    assert_true(json_real_value(json_object_get(back, "tenth")) == 0.1);
    assert_true(json_real_value(json_object_get(back, "third")) == 1.0 / 3.0);
    const char *key;
    json_t *val;
    const char *order[] = { "zeta", "alpha", "tenth", "third", "name", "empty" };
    size_t i = 0;
    json_object_foreach(back, key, val)
    {
        (void)val;
        assert_string_equal(key, order[i++]);
    }
    json_decref(back);

    char *s = jsonio_dumps(root);
    assert_non_null(s);
    assert_int_equal(s[strlen(s) - 1], '\n');
    free(s);
    json_decref(root);

    /* Any value renders, not only containers. */
    json_t *num = json_integer(42);
    s = jsonio_dumps(num);
    assert_string_equal(s, "42\n");
    free(s);
    json_decref(num);
    assert_null(jsonio_dumps(NULL));
    assert_int_equal(jsonio_write_atomic(f->path, NULL, &e), -EINVAL);
}

static void parse_errors_point_at_file_line_column(void **state)
{
    struct fixture *f = *state;
    struct pk_err e;
    char want[512];
    write_text(f->path, "{\n  \"a\": 1,\n  \"b\": ]\n}\n");
    json_t *root = (json_t *)0x1;
    pk_err_clear(&e);
    assert_int_equal(jsonio_load(f->path, &root, &e), PK_EPARSE);
    assert_ptr_equal(root, (json_t *)0x1);
    snprintf(want, sizeof(want), "%s:3:8", f->path);
    assert_string_equal(e.on, want);
    assert_string_equal(e.what, "unexpected token near ']'");
    snprintf(want, sizeof(want), "%s:3:8: unexpected token near ']'", f->path);
    assert_string_equal(msg(&e), want);

    pk_err_clear(&e);
    const char *dup = "{\"a\": 1, \"a\": 2}";
    assert_int_equal(jsonio_parse(dup, strlen(dup), "base.json", &root, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "base.json:1:12: duplicate object key near '\"a\"'");

    pk_err_clear(&e);
    const char *trailing = "{}\n\n  x";
    assert_int_equal(jsonio_parse(trailing, strlen(trailing), NULL, &root, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "<input>:3:3: end of file expected near 'x'");

    pk_err_clear(&e);
    assert_int_equal(jsonio_parse("", 0, "empty.json", &root, &e), PK_EPARSE);
    assert_string_equal(e.on, "empty.json:1:1");

    /* The bad token is quoted by jansson; a control byte in it is escaped. */
    pk_err_clear(&e);
    const char *esc = "[\x1b[31m]";
    assert_int_equal(jsonio_parse(esc, strlen(esc), "t.json", &root, &e), PK_EPARSE);
    assert_string_equal(msg(&e), "t.json:1:2: invalid token near '\\x1b'");

    /* The length is honoured: text past len is not parsed. */
    const char *part = "[1, 2] garbage";
    assert_int_equal(jsonio_parse(part, 6, "p", &root, &e), 0);
    assert_int_equal(json_array_size(root), 2);
    json_decref(root);

    pk_err_clear(&e);
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/missing.json", f->dir);
    assert_int_equal(jsonio_load(missing, &root, &e), -ENOENT);
    assert_string_equal(e.on, missing);
}

static void load_is_capped(void **state)
{
    struct fixture *f = *state;
    struct pk_err e;
    /* Sparse: one byte past the cap costs no disk space. */
    int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)JSONIO_MAX_BYTES + 1), 0);
    close(fd);
    json_t *root = NULL;
    pk_err_clear(&e);
    assert_int_equal(jsonio_load(f->path, &root, &e), -EFBIG);
    assert_null(root);
    char want[512];
    snprintf(want, sizeof(want), "%s: file too large: more than the limit of %u bytes", f->path,
             JSONIO_MAX_BYTES);
    assert_string_equal(msg(&e), want);
}

static void non_finite_reals_are_null(void **state)
{
    (void)state;
    json_t *v = jsonio_real(NAN);
    assert_true(json_is_null(v));
    json_decref(v);
    v = jsonio_real(INFINITY);
    assert_true(json_is_null(v));
    json_decref(v);
    v = jsonio_real(-INFINITY);
    assert_true(json_is_null(v));
    json_decref(v);
    v = jsonio_real(-2.5);
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == -2.5);
    json_decref(v);

    json_t *root = json_pack("{s:o, s:o}", "mean", jsonio_real(NAN), "max", jsonio_real(1.5));
    char *s = jsonio_dumps(root);
    assert_string_equal(s, "{\n  \"mean\": null,\n  \"max\": 1.5\n}\n");
    free(s);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(parse_errors_point_at_file_line_column, setup, teardown),
        cmocka_unit_test_setup_teardown(load_is_capped, setup, teardown),
        cmocka_unit_test(non_finite_reals_are_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
