/*
 * http1_parse - feeds recorded responses through the load generator's
 * HTTP/1.1 parser (src/load/http1.c) many times, for
 * bench/http1_callgrind.sh, which counts the instructions of http1_parse()
 * and http1_finish() under callgrind and divides them by the responses
 * this program reports.
 *
 * usage: http1_parse [-p PIECE] [-H MASK] ITERATIONS FILE
 *   FILE is one stream of responses (a .bin file of tests/fixtures/http1), parsed
 *   ITERATIONS times from a reset parser, whole (one call per response, as
 *   when a read brings it all) or in reads of PIECE bytes; MASK: bit k set
 *   when the k-th response answers HEAD. Prints "responses N": the
 *   responses of all iterations. Exits 1 on a parse error, so a figure
 *   never comes from a stream that stopped half way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load/http1.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    fclose(f);
    *len = n;
    return b;
}

/* One pass over the stream; the number of responses, -1 on an error. */
static long pass(struct http1_parser *p, const char *b, size_t len, size_t piece, unsigned mask)
{
    long nresp = 0;
    http1_reset(p);
    for (size_t pos = 0; pos < len;) {
        size_t n = len - pos < piece ? len - pos : piece;
        size_t at = 0;
        while (at < n) {
            struct http1_response r;
            size_t used = 0;
            unsigned flags = nresp < 32 && (mask >> nresp & 1) ? HTTP1_HEAD : 0;
            int rc = http1_parse(p, b + pos + at, n - at, flags, &used, &r);
            if (rc < 0)
                return -1;
            at += used;
            if (rc == 1)
                nresp++;
            else
                break;
        }
        pos += n;
    }
    struct http1_response r;
    int rc = http1_finish(p, &r);
    if (rc < 0)
        return -1;
    return nresp + rc;
}

int main(int argc, char **argv)
{
    size_t piece = SIZE_MAX;
    unsigned mask = 0;
    int opt;
    while ((opt = getopt(argc, argv, "p:H:")) != -1) {
        if (opt == 'p')
            piece = strtoul(optarg, NULL, 10);
        else if (opt == 'H')
            mask = (unsigned)strtoul(optarg, NULL, 0);
        else
            return 2;
    }
    if (argc - optind != 2 || piece == 0) {
        fprintf(stderr, "usage: http1_parse [-p PIECE] [-H MASK] ITERATIONS FILE\n");
        return 2;
    }
    long iters = strtol(argv[optind], NULL, 10);
    size_t len;
    char *b = slurp(argv[optind + 1], &len);
    if (!b || len == 0) {
        fprintf(stderr, "http1_parse: cannot read %s\n", argv[optind + 1]);
        return 1;
    }
    struct http1_parser p;
    http1_init(&p, NULL);
    long total = 0;
    for (long i = 0; i < iters; i++) {
        long n = pass(&p, b, len, piece, mask);
        if (n < 0) {
            fprintf(stderr, "http1_parse: %s: %s at byte %llu\n", argv[optind + 1],
                    http1_error_name(http1_error(&p)), (unsigned long long)http1_error_offset(&p));
            free(b);
            return 1;
        }
        total += n;
    }
    printf("responses %ld\n", total);
    free(b);
    return 0;
}
