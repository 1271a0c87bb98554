/*
 * fuzz_accept - the Accept-header negotiation of /metrics on arbitrary
 * header text: it never reads past the text and always picks one of the two
 * formats.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/expo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    enum expo_format f = expo_negotiate(s);
    if (f != EXPO_TEXT && f != EXPO_OPENMETRICS)
        abort();
    free(s);
    return 0;
}
