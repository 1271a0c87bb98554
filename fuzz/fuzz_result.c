/*
 * fuzz_result - perfkit load's JSON result reader (result_parse_json) on
 * arbitrary bytes.
 *
 * The first byte picks how the rest is used, so that the fuzzer gets past
 * the JSON syntax and the required keys to the checks behind them:
 *   0: the bytes as the document;
 *   1: a valid document (docs/load-json.md's example) with one of its
 *      values, picked by the next byte, replaced by the bytes as JSON text;
 *   2: the example with latency_us.hist = base64 of the bytes;
 *   3: the example with series[0].hist = base64 of a compressed histogram
 *      of the result layout whose counts are the bytes;
 *   4: the bytes as an HdrHistogram interval log, merged
 *      (result_merge_hdrlog, through a file) into an empty result and into
 *      the example.
 * Besides memory errors it checks the contracts: a refusal is PK_EPARSE or
 * -ENOMEM with the error filled; whatever is accepted writes back, reads
 * back to the same counts and histograms, renders to the same text again,
 * and merges (into an empty result: the same totals; twice: double them);
 * the streamed reader of `perfkit load merge` (result_merge_json_file)
 * accepts and refuses the same documents as the whole-document reader.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "core/base64.h"
#include "core/err.h"
#include "core/hdrlog.h"
#include "load/result.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

/* tests/fixtures/load-result/example.json, compact. */
static const char example[] =
    "{\"perfkit_load\":1,\"model\":\"open\",\"start_time\":\"2026-11-24T04:30:00.123Z\",\"start_ms\":1795"
    "494600123,\"duration_s\":3.0,\"warmup_s\":1.0,\"threads\":2,\"connections\":8,\"pipeline\":1,\"sour"
    "ces\":1,\"urls\":[\"http://127.0.0.1:8080/\"],\"requests\":5,\"rps\":1.6666666666666667,\"error_ra"
    "te\":0.42857142857142855,\"errors\":{\"total\":3,\"status\":1,\"transport\":2,\"connect\":{\"ECONNRE"
    "FUSED\":1},\"tls\":{},\"write\":{},\"read\":{},\"timeout\":{\"timeout\":1},\"parse\":{}},\"unfinished\""
    ":1,\"bytes\":{\"in\":1250,\"out\":390},\"connects\":8,\"status_codes\":{\"200\":4,\"404\":1},\"latency_"
    "us\":{\"count\":5,\"mean\":946.0,\"stddev\":144.58215657542254,\"min\":780,\"p50\":910,\"p75\":990,\"p"
    "90\":1200,\"p99\":1200,\"p999\":1200,\"p9999\":1200,\"max\":1200,\"clamped\":0,\"hist\":\"HISTFAAAAC54"
    "2pNpmSzMwMDAxwABzFCaEURcm7yEwf4DRGA6D1MnI1Mp01xGpoXMTACrHweD\"},\"latency_uncorrected_us\":"
    "{\"count\":5,\"mean\":906.0,\"stddev\":144.58215657542254,\"min\":740,\"p50\":870,\"p75\":950,\"p90\":"
    "1160,\"p99\":1160,\"p999\":1160,\"p9999\":1160,\"max\":1160,\"clamped\":0,\"hist\":\"HISTFAAAAC542pNp"
    "mSzMwMDAxwABzFCaEURcm7yEwf4DROA4N1MnI1Mp01xGpoXMTACtsgey\"},\"connect_us\":{\"count\":8,\"mean"
    "\":103.75,\"stddev\":15.155444566227676,\"min\":95,\"p50\":95,\"p75\":95,\"p90\":130,\"p99\":130,\"p99"
    "9\":130,\"p9999\":130,\"max\":130,\"clamped\":0,\"hist\":\"HISTFAAAACV42pNpmSzMwMDAygABzFCaEURcm7y"
    "Ewf4DRGAvI48zCwBsngWd\"},\"rate\":{\"target\":2.0,\"achieved\":2.0,\"sends\":6,\"late_sends\":0,\"la"
    "teness_max_us\":180},\"thresholds\":[{\"threshold\":\"p99<1ms\",\"metric\":\"p99\",\"op\":\"<\","
    "\"value\""
    ":0.0012,\"limit\":0.001,\"unit\":\"s\",\"pass\":false},{\"threshold\":\"error_rate<1%\",\"metric\":\"er"
    "ror_rate\",\"op\":\"<\",\"value\":0.42857142857142855,\"limit\":0.01,\"unit\":\"fraction\",\"pass\":fal"
    "se}],\"self_check\":{\"generator_cpu\":0.02,\"warnings\":[\"no response completed in second 2\"]"
    "},\"host_metrics\":true,\"series\":[{\"t\":0,\"requests\":3,\"errors\":1,\"bytes_in\":750,\"bytes_out"
    "\":234,\"p50_us\":910,\"p99_us\":1200,\"max_us\":1200,\"hist\":\"HISTFAAAACh42pNpmSzMwMDAwQABzFCaE"
    "URcm7yEwf4DRGAxL1Mp00EWJgCAdwZ/\",\"cpu_pct\":7.5,\"mem_used_pct\":41.5,\"net_rx_bytes_per_s\":"
    "1250.0,\"net_tx_bytes_per_s\":390.0},{\"t\":1,\"requests\":2,\"errors\":2,\"bytes_in\":500,\"bytes_"
    "out\":156,\"p50_us\":780,\"p99_us\":990,\"max_us\":990,\"hist\":\"HISTFAAAACZ42pNpmSzMwMDAxgABzFCa"
    "EURcm7yEwf4DRGA6D9NCZiYAcqcF2A==\",\"cpu_pct\":8.5,\"mem_used_pct\":41.5,\"net_rx_bytes_per_s\""
    ":2500.0,\"net_tx_bytes_per_s\":780.0},{\"t\":2,\"requests\":0,\"errors\":0,\"bytes_in\":0,\"bytes_o"
    "ut\":0,\"p50_us\":0,\"p99_us\":0,\"max_us\":0,\"hist\":null,\"cpu_pct\":null,\"mem_used_pct\":null,\"n"
    "et_rx_bytes_per_s\":null,\"net_tx_bytes_per_s\":null}]}";

#define MARK "\"@@fuzz@@\""

static void check_failure(int rc, const struct pk_err *e)
{
    CHECK(rc == PK_EPARSE || rc == -ENOMEM);
    CHECK(e->code == rc);
    CHECK(e->what[0] != '\0');
}

static void check_same_hist(const struct hist *a, const struct hist *b)
{
    CHECK(hist_same_layout(a, b));
    CHECK(hist_total(a) == hist_total(b));
    CHECK(a->clamped == b->clamped);
    CHECK(memcmp(a->counts, b->counts, (size_t)a->counts_len * sizeof(*a->counts)) == 0);
}

static void check_same(const struct load_result *a, const struct load_result *b)
{
    CHECK(a->open_model == b->open_model && a->sources == b->sources);
    CHECK(a->start_ms == b->start_ms && a->nurls == b->nurls);
    CHECK(a->requests == b->requests && a->errors == b->errors);
    CHECK(a->bytes_in == b->bytes_in && a->bytes_out == b->bytes_out);
    CHECK(memcmp(a->status, b->status, sizeof(a->status)) == 0);
    CHECK(a->nerrs == b->nerrs);
    CHECK(result_transport_errors(a) == result_transport_errors(b));
    check_same_hist(&a->latency, &b->latency);
    check_same_hist(&a->latency_uncorrected, &b->latency_uncorrected);
    check_same_hist(&a->connect, &b->connect);
    CHECK(a->nseries == b->nseries);
    for (size_t i = 0; i < a->nseries; i++) {
        const struct result_second *x = &a->series[i], *y = &b->series[i];
        CHECK(x->requests == y->requests && x->p99_us == y->p99_us && x->max_us == y->max_us);
        CHECK(x->hist_z_len == y->hist_z_len);
        CHECK(!x->hist_z == !y->hist_z);
        if (x->hist_z)
            CHECK(memcmp(x->hist_z, y->hist_z, x->hist_z_len) == 0);
    }
}

static void check_accepted(struct load_result *r)
{
    struct pk_err e;
    pk_err_clear(&e);
    char *text;
    int rc = result_json_text(r, NULL, 0, NULL, 0, &text, &e);
    if (rc == -ENOMEM)
        return;
    CHECK(rc == 0); /* what was read can be written */
    struct load_result b;
    rc = result_parse_json(text, strlen(text), "again", &b, &e);
    if (rc == 0) {
        check_same(r, &b);
        char *again;
        if (result_json_text(&b, NULL, 0, NULL, 0, &again, &e) == 0) {
            CHECK(strcmp(text, again) == 0);
            free(again);
        }
    } else {
        CHECK(rc == -ENOMEM);
    }
    result_destroy(&b);
    free(text);

    struct load_result m;
    if (result_init(&m, &e) == 0) {
        rc = result_merge(&m, r, &e);
        if (rc == 0) {
            CHECK(m.requests == r->requests && m.nseries == r->nseries);
            CHECK(hist_total(&m.latency) == hist_total(&r->latency));
            rc = result_merge(&m, r, &e);
            if (rc == 0) {
                CHECK(m.requests == 2 * r->requests);
                CHECK(hist_total(&m.latency) == 2 * hist_total(&r->latency));
                CHECK(m.nseries == r->nseries);
            } else {
                CHECK(rc == -EOVERFLOW || rc == -ENOMEM);
            }
        } else {
            CHECK(rc == -ENOMEM);
        }
    }
    result_destroy(&m);
}

/* The text through a file, streamed (result_merge_json_file, what
 * `perfkit load merge` reads with) into an empty result: it accepts what
 * the whole-document reader accepts (rc_whole 0), to the same counts and
 * histograms, and refuses what it refuses. */
static void stream(const char *text, size_t len, int rc_whole, const struct load_result *whole)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof(path), "/tmp/fuzz_result.%ld.json", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    bool written = fwrite(text, 1, len, f) == len;
    if (fclose(f) != 0 || !written)
        return;
    struct load_result m;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = result_init(&m, &e);
    if (rc == 0)
        rc = result_merge_json_file(&m, path, &e);
    if (rc == -ENOMEM || rc_whole == -ENOMEM) {
        result_destroy(&m);
        unlink(path);
        return;
    }
    CHECK((rc == 0) == (rc_whole == 0));
    if (rc == 0) {
        CHECK(m.requests == whole->requests && m.nseries == whole->nseries && m.errors == whole->errors);
        CHECK(hist_total(&m.latency) == hist_total(&whole->latency));
        CHECK(m.ngroups == whole->ngroups && m.nstages == whole->nstages);
        for (size_t i = 0; i < m.nseries; i++)
            CHECK(m.series[i].requests == whole->series[i].requests &&
                  m.series[i].p99_us == whole->series[i].p99_us);
    } else {
        check_failure(rc, &e);
    }
    result_destroy(&m);
    unlink(path);
}

static void parse(const char *text, size_t len)
{
    struct load_result r;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = result_parse_json(text, len, "fuzz.json", &r, &e);
    if (rc == 0)
        check_accepted(&r);
    else
        check_failure(rc, &e);
    stream(text, len, rc, &r);
    result_destroy(&r);
}

/* The example with `text` in place of the marker. */
static void splice(const char *doc, const char *text, size_t n)
{
    const char *at = strstr(doc, MARK);
    if (!at)
        return;
    size_t head = (size_t)(at - doc), tail = strlen(at + strlen(MARK));
    char *s = malloc(head + n + tail + 1);
    if (!s)
        return;
    memcpy(s, doc, head);
    memcpy(s + head, text, n);
    memcpy(s + head + n, at + strlen(MARK), tail + 1);
    parse(s, head + n + tail);
    free(s);
}

/* Every leaf of the document, depth first; the k-th (mod their number)
 * becomes the marker. Returns whether it was replaced. */
static bool mark_leaf(json_t *v, size_t *k, size_t *seen)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *x;
        json_object_foreach(v, key, x)
        {
            if (!json_is_object(x) && !json_is_array(x)) {
                if ((*seen)++ == *k) {
                    json_object_set_new(v, key, json_string("@@fuzz@@"));
                    return true;
                }
            } else if (mark_leaf(x, k, seen)) {
                return true;
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);
            if (!json_is_object(x) && !json_is_array(x)) {
                if ((*seen)++ == *k) {
                    json_array_set_new(v, i, json_string("@@fuzz@@"));
                    return true;
                }
            } else if (mark_leaf(x, k, seen)) {
                return true;
            }
        }
    }
    return false;
}

static char *example_with_mark(size_t k)
{
    json_t *doc = json_loads(example, 0, NULL);
    if (!doc)
        return NULL;
    size_t seen = 0;
    if (!mark_leaf(doc, &k, &seen)) {
        /* k past the number of leaves: wrap around. */
        k %= seen ? seen : 1;
        seen = 0;
        mark_leaf(doc, &k, &seen);
    }
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return s;
}

static char *example_with_hist(const char *obj, size_t index, const uint8_t *z, size_t n)
{
    json_t *doc = json_loads(example, 0, NULL);
    if (!doc)
        return NULL;
    json_t *o = json_object_get(doc, obj);
    if (json_is_array(o))
        o = json_array_get(o, index);
    char *b64 = malloc(base64_encoded_len(n) + 1);
    char *s = NULL;
    if (b64 && o) {
        base64_encode(z, n, b64);
        json_object_set_new(o, "hist", json_string(b64));
        s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    free(b64);
    json_decref(doc);
    return s;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* A compressed histogram of the result layout around the bytes as counts. */
static void series_counts(const uint8_t *p, size_t n)
{
    uint8_t *raw = malloc(40 + n);
    uLongf zl = compressBound((uLong)(40 + n));
    uint8_t *z = malloc(8 + zl);
    if (raw && z) {
        put32(raw, HDRLOG_V2_COOKIE);
        put32(raw + 4, (uint32_t)n);
        put32(raw + 8, 0);
        put32(raw + 12, RESULT_HIST_SIGFIGS);
        put64(raw + 16, RESULT_HIST_LOWEST);
        put64(raw + 24, (uint64_t)RESULT_HIST_HIGHEST);
        put64(raw + 32, UINT64_C(0x3ff0000000000000));
        memcpy(raw + 40, p, n);
        if (compress2(z + 8, &zl, raw, (uLong)(40 + n), 1) == Z_OK) {
            put32(z, HDRLOG_V2_COMPRESSED_COOKIE);
            put32(z + 4, (uint32_t)zl);
            char *doc = example_with_hist("series", 0, z, 8 + zl);
            if (doc)
                parse(doc, strlen(doc));
            free(doc);
        }
    }
    free(raw);
    free(z);
}

static void merge_log(const uint8_t *p, size_t n)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof(path), "/tmp/fuzz_result.%ld.hlog", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    bool written = fwrite(p, 1, n, f) == n;
    if (fclose(f) != 0 || !written)
        return;
    struct load_result r;
    struct pk_err e;
    for (int into = 0; into < 2; into++) {
        pk_err_clear(&e);
        int rc = into ? result_parse_json(example, strlen(example), "example", &r, &e) : result_init(&r, &e);
        if (rc == 0) {
            uint64_t before = r.requests;
            pk_err_clear(&e);
            rc = result_merge_hdrlog(&r, path, &e);
            if (rc == 0) {
                CHECK(r.requests >= before);
                CHECK((int64_t)r.requests == hist_total(&r.latency));
                CHECK(r.nseries <= RESULT_SERIES_MAX);
                uint64_t in_series = 0;
                for (size_t i = 0; i < r.nseries; i++)
                    in_series += r.series[i].requests;
                CHECK(in_series <= r.requests);
                check_accepted(&r);
            } else {
                CHECK(e.code == rc && e.what[0] != '\0');
            }
        }
        result_destroy(&r);
    }
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: parse((const char *)p, n); break;
    case 1: {
        if (n == 0)
            break;
        char *doc = example_with_mark(p[0]);
        if (doc)
            splice(doc, (const char *)p + 1, n - 1);
        free(doc);
        break;
    }
    case 2: {
        char *doc = example_with_hist("latency_us", 0, p, n);
        if (doc)
            parse(doc, strlen(doc));
        free(doc);
        break;
    }
    case 3: series_counts(p, n); break;
    default: merge_log(p, n); break;
    }
    return 0;
}
