/*
 * text - small helpers for bytes that may be untrusted: UTF-8 validation
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), hex
 * digits, HTTP token characters, and bounded appends into a fixed buffer.
 */
#ifndef PK_CORE_TEXT_H
#define PK_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at p (at most n >= 1 bytes; any ASCII
 * byte is one), 0 if p does not start one. */
size_t text_utf8_seq(const unsigned char *p, size_t n);
/* True when all n bytes of s are valid UTF-8. */
bool text_utf8_valid(const char *s, size_t n);
/* RFC 9110's tchar: a byte of a token (a method, a header field's name). */
bool text_is_tchar(char ch);
/* The value of a hex digit, -1 for any other byte. */
int text_hexval(unsigned char c);
/* vsnprintf at buf + off (nothing written once off >= cap); returns off plus
 * the length the text has, so a caller sees truncation as a result >= cap. */
size_t text_append(char *buf, size_t cap, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
