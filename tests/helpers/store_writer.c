/*
 * pk_store_writer - the history store under kill -9 (tests/integration/
 * test_store_crash.sh).
 *
 *   pk_store_writer write DB NSERIES [RETENTION_RAW_S]
 *       Appends samples i = n+1, n+2, ... (n: the newest already stored) as
 *       fast as it can, each at ts = i * 1000 ms with the value i in every one
 *       of NSERIES series, and after each commit writes "i\n" to stdout with
 *       one write(2), so the last line is the newest sample known committed.
 *   pk_store_writer check DB NSERIES LAST [RETENTION_RAW_S]
 *       Checks the file after a kill: PRAGMA integrity_check is "ok"; every
 *       frame is a whole sample; every series holds the same gap-free run of
 *       samples with the right values, across its chunks and the frames
 *       (from sample 1, or from where pruning stopped); the newest is LAST or
 *       LAST + 1 (nothing committed was lost, at most the sample in flight);
 *       every finished minute is in chunks, with a rollup per series that
 *       agrees with the samples. Prints "ok N" (N: the newest sample) or what
 *       is wrong.
 *
 *   pk_store_writer diskfull DB BALLAST NSERIES
 *       On a small file system that DB and the file BALLAST fill: appends
 *       until the disk is full, checks that each further append fails with
 *       -ENOSPC and is counted, removes BALLAST (space returns), and checks
 *       that appends succeed again with no gap. Prints "ok N ..." (N: the
 *       newest sample) or "FAIL ...".
 *
 * For bench/store_history.sh:
 *   pk_store_writer fill DB NSERIES SECONDS
 *       A day (or SECONDS) of 1 s samples of NSERIES series through
 *       store_append: half gauges with fractional values (a random walk),
 *       half integral counters, at ts = T0 + i s + 0..3 ms of jitter.
 *       Prints the time per append (median, p99, mean) and the bytes of each
 *       table (SQLite's dbstat) and of the file, per series.
 *   pk_store_writer history DB KEY SECONDS POINTS REPEAT
 *       store_history over the first SECONDS of the fill at POINTS points,
 *       REPEAT times for each source (auto, raw, rollup). Prints the median,
 *       min and max in ms.
 *
 * Exit status: 0 ok, 1 a check failed or the store failed, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "monitor/metric.h"
#include "monitor/pack.h"
#include "monitor/store.h"

static int usage(void)
{
    fprintf(stderr, "usage: pk_store_writer write DB NSERIES [RETENTION_RAW_S]\n"
                    "       pk_store_writer check DB NSERIES LAST [RETENTION_RAW_S]\n"
                    "       pk_store_writer diskfull DB BALLAST NSERIES\n"
                    "       pk_store_writer fill DB NSERIES SECONDS\n"
                    "       pk_store_writer history DB KEY SECONDS POINTS REPEAT\n");
    return 2;
}

static int num(const char *s, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno || end == s || *end ? -1 : 0;
}

static int do_write(const char *db, long long nseries, long long retention_s)
{
    struct store_opts o;
    store_opts_init(&o);
    if (retention_s > 0)
        o.retention_raw_ms = retention_s * 1000;
    struct store *s;
    struct pk_err e = { 0 };
    char buf[800];
    if (store_open(db, &o, &s, &e) < 0) {
        fprintf(stderr, "pk_store_writer: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        return 1;
    }
    int64_t latest = 0;
    int rc = store_latest_ts(s, NULL, &latest, &e);
    if (rc < 0 && rc != -ENOENT) {
        fprintf(stderr, "pk_store_writer: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        return 1;
    }
    struct metric_set set;
    metric_set_init(&set);
    uint32_t fam;
    for (long long i = latest / 1000 + 1;; i++) {
        metric_set_clear(&set);
        set.ts_ms = i * 1000;
        if (metric_family_begin(&set, "perfkit_crash_test", "test", METRIC_GAUGE, &fam, &e) < 0)
            return 1;
        for (long long j = 0; j < nseries; j++) {
            char v[24];
            snprintf(v, sizeof(v), "%lld", j);
            struct metric_label l = { "n", v };
            if (metric_add(&set, fam, &l, 1, (double)i, &e) < 0)
                return 1;
        }
        if (store_append(s, &set, NULL, NULL, &e) < 0) {
            fprintf(stderr, "pk_store_writer: %s\n", pk_err_str(&e, buf, sizeof(buf)));
            return 1;
        }
        int len = snprintf(buf, sizeof(buf), "%lld\n", i);
        if (write(1, buf, (size_t)len) != len)
            return 1;
    }
}

static long long q1(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

#define FAIL(...)                     \
    do {                              \
        printf("FAIL: " __VA_ARGS__); \
        printf("\n");                 \
        free(ser);                    \
        sqlite3_finalize(st);         \
        sqlite3_close(db);            \
        return 1;                     \
    } while (0)

/* What the check gathers about one series from the file. */
struct seen {
    long long lo, hi, n; /* oldest and newest sample, samples */
};

static int see(struct seen *ser, long long nseries, long long id, long long ts)
{
    if (id < 1 || id > nseries)
        return -1;
    struct seen *x = &ser[id - 1];
    if (x->n == 0 || ts < x->lo)
        x->lo = ts;
    if (x->n == 0 || ts > x->hi)
        x->hi = ts;
    x->n++;
    return 0;
}

static int do_check(const char *path, long long nseries, long long last, long long retention_s)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    struct seen *ser = NULL;
    if (last == 0 && access(path, F_OK) != 0) {
        printf("ok 0 (killed before the file was made)\n");
        return 0;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        printf("FAIL: cannot open %s: %s\n", path, sqlite3_errmsg(db));
        return 1;
    }
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        FAIL("integrity_check: %s", sqlite3_errmsg(db));
    char res[256];
    snprintf(res, sizeof(res), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    st = NULL;
    if (strcmp(res, "ok") != 0)
        FAIL("integrity_check: %s", res);

    if (last == 0 && q1(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'frames'") != 1) {
        sqlite3_close(db);
        printf("ok 0 (killed before the schema was made)\n");
        return 0;
    }
    if (last == 0 && q1(db, "SELECT (SELECT count(*) FROM frames) + (SELECT count(*) FROM chunks)") == 0) {
        sqlite3_close(db);
        printf("ok 0 (killed before the first sample)\n");
        return 0;
    }
    long long nser = q1(db, "SELECT count(*) FROM series");
    if (nser != nseries)
        FAIL("%lld series, wanted %lld", nser, nseries);
    ser = calloc((size_t)nseries, sizeof(*ser));
    if (!ser)
        FAIL("out of memory");
    /* the frames (the newest minute): whole samples, the right values */
    if (sqlite3_prepare_v2(db, "SELECT ts, data FROM frames ORDER BY ts", -1, &st, NULL) != SQLITE_OK)
        FAIL("%s", sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        long long ts = sqlite3_column_int64(st, 0);
        const void *b = sqlite3_column_blob(st, 1);
        size_t n;
        if (pack_frame_check(b, (size_t)sqlite3_column_bytes(st, 1), &n) != 0 || (long long)n != nseries)
            FAIL("the frame at %lld is damaged or not a whole sample", ts);
        for (size_t i = 0; i < n; i++) {
            struct pack_value v = pack_frame_get(b, i);
            if (see(ser, nseries, v.id, ts) < 0 || v.v != (double)(ts / 1000) || ts % 1000 != 0)
                FAIL("wrong value in the frame at %lld", ts);
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    /* the chunks (finished minutes): the right values, and rollups that agree with them */
    sqlite3_stmt *roll = NULL;
    if (sqlite3_prepare_v2(db, "SELECT n, min, max FROM rollups WHERE series = ?1 AND minute = ?2", -1, &roll,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT id, data FROM chunks ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(roll);
        FAIL("%s", sqlite3_errmsg(db));
    }
    long long bad_rollups = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        long long cid = sqlite3_column_int64(st, 0), id = cid >> 32, minute = cid & 0xffffffffLL;
        const void *b = sqlite3_column_blob(st, 1);
        size_t n;
        if (pack_chunk_check(b, (size_t)sqlite3_column_bytes(st, 1), &n) != 0 || n == 0) {
            sqlite3_finalize(roll);
            FAIL("the chunk of series %lld, minute %lld is damaged", id, minute);
        }
        double mn = 0, mx = 0;
        for (size_t i = 0; i < n; i++) {
            struct pack_point p = pack_chunk_get(b, i, minute);
            if (see(ser, nseries, id, p.ts) < 0 || p.v != (double)(p.ts / 1000) || p.ts % 1000 != 0) {
                sqlite3_finalize(roll);
                FAIL("wrong value in the chunk of series %lld, minute %lld", id, minute);
            }
            mn = i == 0 || p.v < mn ? p.v : mn;
            mx = i == 0 || p.v > mx ? p.v : mx;
        }
        sqlite3_bind_int64(roll, 1, id);
        sqlite3_bind_int64(roll, 2, minute);
        if (sqlite3_step(roll) != SQLITE_ROW || sqlite3_column_int64(roll, 0) != (long long)n ||
            sqlite3_column_double(roll, 1) != mn || sqlite3_column_double(roll, 2) != mx)
            bad_rollups++;
        sqlite3_reset(roll);
    }
    sqlite3_finalize(roll);
    sqlite3_finalize(st);
    st = NULL;
    if (bad_rollups)
        FAIL("%lld minutes whose rollup is missing or disagrees with the samples", bad_rollups);
    /* every series the same gap-free run */
    long long lo = ser[0].lo, hi = ser[0].hi;
    for (long long j = 0; j < nseries; j++) {
        if (ser[j].n == 0 || ser[j].lo != lo || ser[j].hi != hi)
            FAIL("series %lld covers %lld..%lld, series 1 %lld..%lld", j + 1, ser[j].lo, ser[j].hi, lo, hi);
        if (ser[j].n != (hi - lo) / 1000 + 1)
            FAIL("series %lld has gaps: %lld samples from %lld to %lld", j + 1, ser[j].n, lo, hi);
    }
    if (retention_s <= 0 && lo != 1000)
        FAIL("samples start at %lld, not at 1000", lo);
    if (retention_s > 0 && hi - lo > (retention_s + 3 * 60) * 1000) /* whole minutes, pruned once a minute */
        FAIL("samples from %lld to %lld: not pruned to %lld s", lo, hi, retention_s);
    long long newest = hi / 1000;
    if (newest < last)
        FAIL("newest sample %lld, but %lld was committed", newest, last);
    if (newest > last + 1)
        FAIL("newest sample %lld, past the one in flight (%lld)", newest, last + 1);
    /* every minute before the newest one is in chunks (and so rolled up above) */
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM frames WHERE ts < %lld", hi / 60000 * 60000);
    if (q1(db, sql) != 0)
        FAIL("frames of a finished minute were not moved to chunks");
    free(ser);
    sqlite3_close(db);
    printf("ok %lld\n", newest);
    return 0;
}

static int fill_one(struct metric_set *set, long long i, long long nseries, struct pk_err *e)
{
    uint32_t fam;
    metric_set_clear(set);
    set->ts_ms = i * 1000;
    if (metric_family_begin(set, "perfkit_crash_test", "test", METRIC_GAUGE, &fam, e) < 0)
        return -1;
    for (long long j = 0; j < nseries; j++) {
        char v[24];
        snprintf(v, sizeof(v), "%lld", j);
        struct metric_label l = { "n", v };
        if (metric_add(set, fam, &l, 1, (double)i, e) < 0)
            return -1;
    }
    return 0;
}

static int do_diskfull(const char *path, const char *ballast, long long nseries)
{
    struct store *s;
    struct pk_err e = { 0 };
    char buf[800];
    if (store_open(path, NULL, &s, &e) < 0) {
        printf("FAIL: open: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        return 1;
    }
    struct metric_set set;
    metric_set_init(&set);
    long long i = 1;
    int rc = 0;
    for (; i < 100000000; i++) {
        if (fill_one(&set, i, nseries, &e) < 0)
            return 1;
        if ((rc = store_append(s, &set, NULL, NULL, &e)) < 0)
            break;
    }
    if (rc != -ENOSPC) {
        printf("FAIL: append %lld: %d, wanted -ENOSPC: %s\n", i, rc, pk_err_str(&e, buf, sizeof(buf)));
        return 1;
    }
    long long full_at = i;
    for (int k = 0; k < 5; k++) {
        if ((rc = store_append(s, &set, NULL, NULL, &e)) != -ENOSPC) {
            printf("FAIL: retry %d on a full disk: %d\n", k, rc);
            return 1;
        }
    }
    if (store_errors(s) != 6) {
        printf("FAIL: %llu errors counted, wanted 6\n", (unsigned long long)store_errors(s));
        return 1;
    }
    store_last_error(s, buf, sizeof(buf));
    if (unlink(ballast) != 0) {
        printf("FAIL: cannot remove %s\n", ballast);
        return 1;
    }
    for (long long k = 0; k < 200; k++, i++) {
        if (fill_one(&set, i, nseries, &e) < 0)
            return 1;
        if ((rc = store_append(s, &set, NULL, NULL, &e)) < 0) {
            printf("FAIL: append %lld after space returned: %s\n", i, pk_err_str(&e, buf, sizeof(buf)));
            return 1;
        }
    }
    store_close(s);
    metric_set_destroy(&set);
    printf(
        "ok %lld: full after %lld samples (\"%s\"), 6 errors counted, 200 more stored once space returned\n",
        i - 1, full_at - 1, buf);
    return 0;
}

#define FILL_T0 1700000000000LL /* 2023-11-14T22:13:20Z */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int do_fill(const char *path, long long nseries, long long seconds)
{
    struct store *s;
    struct pk_err e = { 0 };
    char buf[800];
    if (store_open(path, NULL, &s, &e) < 0) {
        fprintf(stderr, "pk_store_writer: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        return 1;
    }
    double *val = calloc((size_t)nseries, sizeof(*val));
    double *took = calloc((size_t)seconds, sizeof(*took));
    if (!val || !took)
        return 1;
    for (long long j = 0; j < nseries; j++)
        val[j] = j % 2 ? 50 : 1e9;
    struct metric_set set;
    metric_set_init(&set);
    uint32_t gauge, counter;
    double total = 0;
    for (long long i = 0; i < seconds; i++) {
        metric_set_clear(&set);
        set.ts_ms = FILL_T0 + i * 1000 + (int64_t)(rnd() * 4);
        if (metric_family_begin(&set, "perfkit_bench_gauge", "g", METRIC_GAUGE, &gauge, &e) < 0 ||
            metric_family_begin(&set, "perfkit_bench_counter_total", "c", METRIC_COUNTER, &counter, &e) < 0)
            return 1;
        for (long long j = 0; j < nseries; j++) {
            char v[24];
            snprintf(v, sizeof(v), "%lld", j / 2);
            struct metric_label l = { "n", v };
            if (j % 2) {
                val[j] += rnd() * 2 - 1; /* e.g. a utilisation in % */
                if (val[j] < 0)
                    val[j] = 0;
            } else {
                val[j] += (double)(long long)(rnd() * 100000); /* e.g. bytes */
            }
            if (metric_add(&set, j % 2 ? gauge : counter, &l, 1, val[j], &e) < 0)
                return 1;
        }
        double t0 = now_ms();
        if (store_append(s, &set, NULL, NULL, &e) < 0) {
            fprintf(stderr, "pk_store_writer: %s\n", pk_err_str(&e, buf, sizeof(buf)));
            return 1;
        }
        took[i] = now_ms() - t0;
        total += took[i];
    }
    store_close(s);
    metric_set_destroy(&set);
    qsort(took, (size_t)seconds, sizeof(*took), cmp_double);
    printf("appends %lld of %lld series: median %.3f ms, p99 %.3f ms, max %.3f ms, mean %.3f ms\n", seconds,
           nseries, took[seconds / 2], took[seconds * 99 / 100], took[seconds - 1], total / (double)seconds);

    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return 1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT name, sum(pgsize), count(*) FROM dbstat GROUP BY name ORDER BY 2 DESC",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            printf("table %-28s %12lld bytes %8lld pages  %10.0f bytes per series\n",
                   (const char *)sqlite3_column_text(st, 0), (long long)sqlite3_column_int64(st, 1),
                   (long long)sqlite3_column_int64(st, 2),
                   (double)sqlite3_column_int64(st, 1) / (double)nseries);
        sqlite3_finalize(st);
    }
    long long pages = q1(db, "PRAGMA page_count"), psize = q1(db, "PRAGMA page_size");
    long long rows = q1(db, "SELECT (SELECT coalesce(sum((length(data) - 1) / 10), 0) FROM chunks) +"
                            " (SELECT coalesce(sum((length(data) - 1) / 12), 0) FROM frames)"),
              rrows = q1(db, "SELECT count(*) FROM rollups");
    printf("file %lld bytes (%lld pages of %lld), %lld samples, %lld rollups: %.0f bytes per series,"
           " %.1f bytes per sample\n",
           pages * psize, pages, psize, rows, rrows, (double)(pages * psize) / (double)nseries,
           (double)(pages * psize) / (double)rows);
    sqlite3_close(db);
    free(val);
    free(took);
    return 0;
}

static void report(const char *what, double *t, int n, size_t points, const char *extra)
{
    qsort(t, (size_t)n, sizeof(*t), cmp_double);
    printf("%-34s median %7.3f ms  min %7.3f  max %7.3f  (%d runs, %zu points%s)\n", what, t[n / 2], t[0],
           t[n - 1], n, points, extra);
}

static int do_history(const char *path, const char *key, long long seconds, long long points, int repeat)
{
    struct store *s;
    struct pk_err e = { 0 };
    char buf[800];
    if (store_open(path, NULL, &s, &e) < 0) {
        fprintf(stderr, "pk_store_writer: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        return 1;
    }
    double *t = calloc((size_t)repeat, sizeof(*t));
    if (!t)
        return 1;
    int64_t from = FILL_T0, to = FILL_T0 + seconds * 1000 - 1;
    static const enum store_source src[] = { STORE_SOURCE_AUTO, STORE_SOURCE_RAW, STORE_SOURCE_ROLLUP };
    for (size_t k = 0; k < 3; k++) {
        size_t n = 0;
        struct store_history_info info = { .want = src[k] };
        for (int r = 0; r < repeat; r++) {
            struct store_point *p;
            double t0 = now_ms();
            if (store_history(s, key, from, to, 0, (size_t)points, &p, &n, &info, &e) < 0) {
                fprintf(stderr, "pk_store_writer: %s\n", pk_err_str(&e, buf, sizeof(buf)));
                return 1;
            }
            t[r] = now_ms() - t0;
            free(p);
        }
        char what[64], extra[96];
        snprintf(what, sizeof(what), "store_history source=%s", store_source_name(src[k]));
        snprintf(extra, sizeof(extra), ", used %s, step %lld ms", store_source_name(info.source),
                 (long long)info.step_ms);
        report(what, t, repeat, n, extra);
    }
    store_close(s);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    long long nseries, last, ret = 0;
    if (argc >= 4 && !strcmp(argv[1], "write")) {
        if (num(argv[3], &nseries) < 0 || nseries < 1 || (argc == 5 && num(argv[4], &ret) < 0) || argc > 5)
            return usage();
        return do_write(argv[2], nseries, ret);
    }
    if (argc >= 5 && !strcmp(argv[1], "check")) {
        if (num(argv[3], &nseries) < 0 || num(argv[4], &last) < 0 || (argc == 6 && num(argv[5], &ret) < 0) ||
            argc > 6)
            return usage();
        return do_check(argv[2], nseries, last, ret);
    }
    if (argc == 5 && !strcmp(argv[1], "diskfull")) {
        if (num(argv[4], &nseries) < 0 || nseries < 1)
            return usage();
        return do_diskfull(argv[2], argv[3], nseries);
    }
    long long seconds, points, repeat;
    if (argc == 5 && !strcmp(argv[1], "fill")) {
        if (num(argv[3], &nseries) < 0 || nseries < 1 || num(argv[4], &seconds) < 0 || seconds < 1)
            return usage();
        return do_fill(argv[2], nseries, seconds);
    }
    if (argc == 7 && !strcmp(argv[1], "history")) {
        if (num(argv[4], &seconds) < 0 || seconds < 1 || num(argv[5], &points) < 0 || points < 1 ||
            num(argv[6], &repeat) < 0 || repeat < 1 || repeat > 100000)
            return usage();
        return do_history(argv[2], argv[3], seconds, points, (int)repeat);
    }
    return usage();
}
