/*
 * test_base64 - RFC 4648's test vectors both ways, and the decoder's
 * refusals (length, alphabet, padding only at the end).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/base64.h"
#include "perfkit.h"

static void rfc4648_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *plain, *coded;
    } v[] = {
        { "", "" },
        { "f", "Zg==" },
        { "fo", "Zm8=" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" },
        { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = strlen(v[i].plain);
        char out[16];
        assert_int_equal(base64_encoded_len(n), strlen(v[i].coded));
        assert_int_equal(base64_encode((const uint8_t *)v[i].plain, n, out), strlen(v[i].coded));
        assert_string_equal(out, v[i].coded);
        uint8_t *back;
        size_t len;
        assert_int_equal(base64_decode(v[i].coded, strlen(v[i].coded), &back, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, v[i].plain, n);
        free(back);
    }
    /* Every byte value, and the two characters past the letters and digits. */
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char text[400];
    size_t tn = base64_encode(all, sizeof(all), text);
    assert_non_null(strchr(text, '+'));
    assert_non_null(strchr(text, '/'));
    uint8_t *back;
    size_t len;
    assert_int_equal(base64_decode(text, tn, &back, &len), 0);
    assert_int_equal(len, 256);
    assert_memory_equal(back, all, 256);
    free(back);
}

static void decoder_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = { "Zg=",    "Zg",   "Z===", "=Zg=",     "Zg=a",
                                       "Zm9v\n", "Zm-v", "Zm_v", "Zg==Zg==", "Zm 9" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *out = (uint8_t *)"untouched";
        size_t len = 7;
        if (base64_decode(bad[i], strlen(bad[i]), &out, &len) != PK_EPARSE)
            fail_msg("'%s' accepted", bad[i]);
        assert_string_equal((const char *)out, "untouched");
        assert_int_equal(len, 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4648_vectors),
        cmocka_unit_test(decoder_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
