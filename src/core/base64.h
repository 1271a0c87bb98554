/*
 * base64 - RFC 4648 base64 with padding, the alphabet with '+' and '/'.
 * What HdrHistogram's interval logs and perfkit load's JSON use to carry
 * compressed histograms as text.
 *
 * Contract: the encoder writes into the caller's buffer; the decoder is for
 * untrusted text: strict (a multiple of 4 characters from the alphabet, '='
 * only as the last one or two), allocates the output (caller frees) and
 * returns PK_EPARSE for anything else, -ENOMEM. It does not cap the length:
 * callers check the text's length against their own limit first. No state;
 * thread-safe.
 */
#ifndef PK_CORE_BASE64_H
#define PK_CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode() writes for n bytes, the NUL excluded. */
size_t base64_encoded_len(size_t n);
/* Encodes n bytes into out, which holds base64_encoded_len(n) + 1 bytes;
 * NUL-terminated. Returns the length written (without the NUL). */
size_t base64_encode(const uint8_t *p, size_t n, char *out);
/* Decodes n characters of s (need not be NUL-terminated) into a malloc'd
 * buffer of *out_len bytes (at least 1 byte is allocated, so an empty input
 * gives a freeable buffer of length 0). 0, PK_EPARSE, -ENOMEM; *out is
 * written only on success. */
int base64_decode(const char *s, size_t n, uint8_t **out, size_t *out_len);

#endif
