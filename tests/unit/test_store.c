#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "core/err.h"
#include "monitor/metric.h"
#include "monitor/store.h"

/* ---- fixture: a fresh directory per test ---------------------------------- */

struct fx {
    char dir[64];
    char db[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/pk_test_store_XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->db, sizeof(f->db), "%s/history.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[sizeof(f->dir) + sizeof(de->d_name) + 1];
        snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

#define NCPU 3

/* A sample: node_load1, node_cpu_seconds_total{cpu="0".."2",mode="idle"},
 * and perfkit_test_nan (always NaN); values derived from v. */
static void fill(struct metric_set *set, int64_t ts, double v)
{
    struct pk_err e;
    metric_set_clear(set);
    set->ts_ms = ts;
    assert_int_equal(metric_add1(set, "node_load1", "load", METRIC_GAUGE, v, &e), 0);
    uint32_t fam;
    assert_int_equal(metric_family_begin(set, "node_cpu_seconds_total", "cpu", METRIC_COUNTER, &fam, &e), 0);
    for (int c = 0; c < NCPU; c++) {
        char cpu[8];
        snprintf(cpu, sizeof(cpu), "%d", c);
        struct metric_label l[2] = { { "mode", "idle" }, { "cpu", cpu } };
        assert_int_equal(metric_add(set, fam, l, 2, v * 10 + c, &e), 0);
    }
    assert_int_equal(metric_add1(set, "perfkit_test_nan", "nan", METRIC_GAUGE, NAN, &e), 0);
}

static const char *K_LOAD = "node_load1";
static const char *K_CPU1 = "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"}";

static struct store *open_store(const char *path, const struct store_opts *o)
{
    struct store *s = NULL;
    struct pk_err e = { 0 };
    int rc = store_open(path, o, &s, &e);
    if (rc != 0) {
        char buf[800];
        fprintf(stderr, "store_open: %s\n", pk_err_str(&e, buf, sizeof(buf)));
    }
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

static void append_ok(struct store *s, struct metric_set *set)
{
    struct pk_err e = { 0 };
    int rc = store_append(s, set, NULL, NULL, &e);
    if (rc != 0) {
        char buf[800];
        fprintf(stderr, "store_append: %s\n", pk_err_str(&e, buf, sizeof(buf)));
    }
    assert_int_equal(rc, 0);
}

/* A value of a one-row query on the file, through a connection of its own. */
static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    assert_int_equal(rc, SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, msg);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

/* The raw samples of series 1 in the file: those in its chunks (10 bytes
 * each after the format byte) and the frames (each holds every series). */
#define SAMPLES_OF_SERIES_1                                                                    \
    "SELECT (SELECT coalesce(sum((length(data) - 1) / 10), 0) FROM chunks WHERE series = 1) +" \
    " (SELECT count(*) FROM frames)"

static uint64_t rng_state = 88172645463325252ULL;
static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_append_read_back(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->db, NULL);
    struct metric_set set;
    metric_set_init(&set);
    const double vals[] = { 0.5, 1.25, -3.0, 1e300, 0.1 };
    for (int i = 0; i < 5; i++) {
        fill(&set, 1700000000000LL + i * 1000, vals[i]);
        append_ok(s, &set);
    }
    struct store_point *p = NULL;
    size_t n = 0;
    struct pk_err e;
    struct store_history_info info = { 0 };
    assert_int_equal(store_history(s, K_LOAD, 1700000000000LL, 1700000004000LL, 1000, 100, &p, &n, &info, &e),
                     0);
    assert_int_equal(info.source, STORE_SOURCE_RAW);
    assert_int_equal(info.step_ms, 1000);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(p[i].ts, 1700000000000LL + i * 1000);
        assert_true(p[i].min == vals[i] && p[i].avg == vals[i] && p[i].max == vals[i]);
        assert_int_equal(p[i].count, 1);
    }
    free(p);
    /* a labelled series, by its canonical key (labels sorted) */
    assert_int_equal(store_history(s, K_CPU1, 1700000000000LL, 1700000004000LL, 1000, 100, &p, &n, NULL, &e),
                     0);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++)
        assert_true(p[i].avg == vals[i] * 10 + 1);
    free(p);
    /* NaN values are not stored: the series was never created */
    assert_int_equal(store_history(s, "perfkit_test_nan", 0, 1700000004000LL, 0, 100, &p, &n, NULL, &e),
                     -ENOENT);
    assert_null(p);
    assert_non_null(strstr(e.what, "no such series"));
    /* a sub-range */
    assert_int_equal(store_history(s, K_LOAD, 1700000001000LL, 1700000002500LL, 1, 10000, &p, &n, NULL, &e),
                     0);
    assert_int_equal(n, 2);
    assert_true(p[0].avg == 1.25 && p[1].avg == -3.0);
    free(p);
    assert_int_equal(store_errors(s), 0);
    /* write-ahead logging */
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    assert_int_equal(access(wal, F_OK), 0);
    metric_set_destroy(&set);
    store_close(s);
}

static bool only_load(const struct metric_series *m, void *arg)
{
    (void)arg;
    return m->nlabels == 0;
}

static void test_want_filter_and_keys(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->db, NULL);
    struct metric_set set;
    metric_set_init(&set);
    struct pk_err e;
    char **keys;
    size_t nk;
    int64_t ts;
    assert_int_equal(store_latest_ts(s, NULL, &ts, &e), -ENOENT);
    fill(&set, 5000, 1);
    assert_int_equal(store_append(s, &set, only_load, NULL, &e), 0);
    assert_int_equal(store_keys(s, NULL, 0, &keys, &nk, &e), 0);
    assert_int_equal(nk, 1);
    assert_string_equal(keys[0], "node_load1");
    store_keys_free(keys, nk);
    fill(&set, 6000, 2);
    append_ok(s, &set);
    assert_int_equal(store_keys(s, "", 0, &keys, &nk, &e), 0);
    assert_int_equal(nk, 1 + NCPU);
    assert_string_equal(keys[0], "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}");
    assert_string_equal(keys[3], "node_load1");
    store_keys_free(keys, nk);
    assert_int_equal(store_keys(s, "node_cpu_seconds_total{", 2, &keys, &nk, &e), 0);
    assert_int_equal(nk, 2);
    assert_string_equal(keys[1], K_CPU1);
    store_keys_free(keys, nk);
    assert_int_equal(store_keys(s, "zzz", 0, &keys, &nk, &e), 0);
    assert_int_equal(nk, 0);
    store_keys_free(keys, nk);
    assert_int_equal(store_latest_ts(s, NULL, &ts, &e), 0);
    assert_int_equal(ts, 6000);
    assert_int_equal(store_latest_ts(s, K_LOAD, &ts, &e), 0);
    assert_int_equal(ts, 6000);
    assert_int_equal(store_latest_ts(s, "nope", &ts, &e), -ENOENT);
    metric_set_destroy(&set);
    store_close(s);
}

/* min/avg/max per bucket, computed here from the values appended. */
static void test_downsampling(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->db, NULL);
    struct metric_set set;
    metric_set_init(&set);
    enum { N = 3600 };
    static double v[N];
    const int64_t t0 = 1700000000000LL;
    for (int i = 0; i < N; i++) {
        v[i] = rnd() * 100 - 50;
        fill(&set, t0 + i * 1000, v[i]);
        append_ok(s, &set);
    }
    const int64_t from = t0 + 123456, to = t0 + 2345678, step = 7000;
    struct store_point *p;
    size_t n;
    struct pk_err e;
    struct store_history_info info = { 0 };
    assert_int_equal(store_history(s, K_LOAD, from, to, step, 1000, &p, &n, &info, &e), 0);
    assert_int_equal(info.source, STORE_SOURCE_RAW);
    assert_int_equal(info.step_ms, step);
    assert_int_equal(info.from_ms, from);
    size_t k = 0;
    for (int64_t b = from; b <= to; b += step) {
        double mn = INFINITY, mx = -INFINITY, sum = 0;
        uint64_t cnt = 0;
        for (int i = 0; i < N; i++) {
            int64_t t = t0 + i * 1000;
            if (t >= b && t < b + step && t <= to) {
                mn = fmin(mn, v[i]);
                mx = fmax(mx, v[i]);
                sum += v[i];
                cnt++;
            }
        }
        if (!cnt)
            continue;
        assert_true(k < n);
        assert_int_equal(p[k].ts, b);
        assert_int_equal(p[k].count, cnt);
        assert_true(p[k].min == mn);
        assert_true(p[k].max == mx);
        assert_true(fabs(p[k].avg - sum / (double)cnt) < 1e-9);
        k++;
    }
    assert_int_equal(k, n);
    free(p);

    /* a step giving too many buckets is raised to a multiple of itself */
    assert_int_equal(store_history(s, K_LOAD, t0, t0 + 3599000, 1000, 100, &p, &n, &info, &e), 0);
    assert_true(n <= 100);
    assert_int_equal(info.step_ms % 1000, 0);
    assert_int_equal(info.step_ms, 36000);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += p[i].count;
    assert_int_equal(total, N);
    free(p);
    /* automatic step: a round one within max_points */
    info.want = STORE_SOURCE_AUTO;
    assert_int_equal(store_history(s, K_LOAD, t0, t0 + 599999, 0, 100, &p, &n, &info, &e), 0);
    assert_int_equal(info.step_ms, 10000);
    assert_int_equal(info.source, STORE_SOURCE_RAW);
    assert_int_equal(n, 60);
    free(p);
    /* one point for the whole range */
    assert_int_equal(store_history(s, K_LOAD, t0, t0 + (N - 1) * 1000, 0, 1, &p, &n, &info, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].count, N);
    free(p);
    /* an empty range */
    assert_int_equal(store_history(s, K_LOAD, t0 - 100000, t0 - 1, 0, 10, &p, &n, NULL, &e), 0);
    assert_int_equal(n, 0);
    assert_null(p);
    metric_set_destroy(&set);
    store_close(s);
}

static void test_rollup_minutes(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->db, NULL);
    struct metric_set set;
    metric_set_init(&set);
    const int64_t m0 = 28333333LL * 60000; /* a minute boundary */
    /* minute m0: 0, 10, ..., 50 s; then 60 s (the next minute) */
    for (int i = 0; i < 6; i++) {
        fill(&set, m0 + i * 10000, i + 1);
        append_ok(s, &set);
    }
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM rollups"), 0);
    fill(&set, m0 + 60000, 100);
    append_ok(s, &set);
    /* one rollup per series for the finished minute only */
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM rollups"), 1 + NCPU);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT r.minute FROM rollups r JOIN series s ON s.id = r.series WHERE s.key = 'node_load1'");
    assert_int_equal(sql_int(f->db, sql), m0 / 60000);
    snprintf(sql, sizeof(sql),
             "SELECT r.min * 1000000 + r.max * 1000 + r.n FROM rollups r JOIN series s ON s.id = r.series"
             " WHERE s.key = 'node_load1'");
    assert_int_equal(sql_int(f->db, sql), 1 * 1000000 + 6 * 1000 + 6);
    snprintf(
        sql, sizeof(sql),
        "SELECT r.avg * 1000 FROM rollups r JOIN series s ON s.id = r.series WHERE s.key = 'node_load1'");
    assert_int_equal(sql_int(f->db, sql), 3500);

    /* the rollup path: the rolled-up minute and the raw tail of the current one */
    fill(&set, m0 + 61000, 200);
    append_ok(s, &set);
    struct store_point *p;
    size_t n;
    struct pk_err e;
    struct store_history_info info = { .want = STORE_SOURCE_ROLLUP };
    assert_int_equal(store_history(s, K_LOAD, m0 + 5000, m0 + 119999, 0, 100, &p, &n, &info, &e), 0);
    assert_int_equal(info.source, STORE_SOURCE_ROLLUP);
    assert_int_equal(info.from_ms, m0);
    assert_int_equal(info.step_ms, 60000);
    assert_int_equal(n, 2);
    assert_int_equal(p[0].ts, m0);
    assert_true(p[0].min == 1 && p[0].max == 6 && p[0].avg == 3.5 && p[0].count == 6);
    assert_int_equal(p[1].ts, m0 + 60000);
    assert_true(p[1].min == 100 && p[1].max == 200 && p[1].avg == 150 && p[1].count == 2);
    free(p);
    /* a step over a minute picks the rollups by itself; two minutes merge */
    info.want = STORE_SOURCE_AUTO;
    assert_int_equal(store_history(s, K_LOAD, m0, m0 + 119999, 120000, 100, &p, &n, &info, &e), 0);
    assert_int_equal(info.source, STORE_SOURCE_ROLLUP);
    assert_int_equal(n, 1);
    assert_true(p[0].min == 1 && p[0].max == 200 && p[0].count == 8);
    assert_true(fabs(p[0].avg - (21.0 + 300.0) / 8) < 1e-12);
    free(p);
    /* a step under a minute within raw retention reads raw samples */
    assert_int_equal(store_history(s, K_LOAD, m0, m0 + 119999, 30000, 100, &p, &n, &info, &e), 0);
    assert_int_equal(info.source, STORE_SOURCE_RAW);
    assert_int_equal(n, 3);
    free(p);
    /* a forced rollup step is whole minutes */
    info.want = STORE_SOURCE_ROLLUP;
    assert_int_equal(store_history(s, K_LOAD, m0, m0 + 119999, 90000, 100, &p, &n, &info, &e), 0);
    assert_int_equal(info.step_ms, 120000);
    free(p);

    /* a sample exactly on the boundary belongs to the new minute; a jump of
     * several minutes rolls up the last minute with data */
    fill(&set, m0 + 5 * 60000, 7);
    append_ok(s, &set);
    snprintf(sql, sizeof(sql),
             "SELECT r.n * 1000 + r.min FROM rollups r JOIN series s ON s.id = r.series"
             " WHERE s.key = 'node_load1' AND r.minute = %lld",
             (long long)(m0 / 60000 + 1));
    assert_int_equal(sql_int(f->db, sql), 2 * 1000 + 100);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM rollups"), 2 * (1 + NCPU));
    metric_set_destroy(&set);
    store_close(s);
}

static void test_auto_source_past_raw_retention(void **state)
{
    struct fx *f = *state;
    struct store_opts o;
    store_opts_init(&o);
    o.retention_raw_ms = 10 * 60000;
    struct store *s = open_store(f->db, &o);
    struct metric_set set;
    metric_set_init(&set);
    const int64_t t0 = 1000LL * 60000;
    for (int i = 0; i < 30 * 6; i++) { /* 30 minutes, every 10 s */
        fill(&set, t0 + i * 10000, i);
        append_ok(s, &set);
    }
    struct store_point *p;
    size_t n;
    struct pk_err e;
    struct store_history_info info = { 0 };
    /* the last 5 minutes at 10 s steps: raw */
    int64_t last = t0 + (30 * 6 - 1) * 10000;
    assert_int_equal(store_history(s, K_LOAD, last - 300000, last, 0, 100, &p, &n, &info, &e), 0);
    assert_int_equal(info.source, STORE_SOURCE_RAW);
    free(p);
    /* 30 minutes: older than raw retention, from rollups (raw was pruned) */
    info.want = STORE_SOURCE_AUTO;
    assert_int_equal(store_history(s, K_LOAD, t0, last, 0, 1000, &p, &n, &info, &e), 0);
    assert_int_equal(info.source, STORE_SOURCE_ROLLUP);
    assert_int_equal(info.step_ms, 60000);
    assert_int_equal(n, 30);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(p[i].ts, t0 + (int64_t)i * 60000);
        assert_int_equal(p[i].count, 6);
        assert_true(p[i].min == (double)(i * 6) && p[i].max == (double)(i * 6 + 5));
    }
    free(p);
    metric_set_destroy(&set);
    store_close(s);
}

static void test_retention_pruning(void **state)
{
    struct fx *f = *state;
    struct store_opts o;
    store_opts_init(&o);
    o.retention_raw_ms = 5 * 60000;
    o.retention_ms = 20 * 60000;
    struct store *s = open_store(f->db, &o);
    struct metric_set set;
    metric_set_init(&set);
    const int64_t t0 = 1000LL * 60000;
    int64_t t = t0;
    for (; t < t0 + 40 * 60000; t += 1000) {
        fill(&set, t, 1);
        append_ok(s, &set);
    }
    t -= 1000;
    /* raw: within retention, by whole minutes, plus at most the minute since the last pass */
    int64_t oldest = sql_int(f->db, "SELECT min(minute) FROM chunks") * 60000;
    assert_true(oldest >= t - o.retention_raw_ms - 2 * 60000);
    assert_true(oldest <= t - o.retention_raw_ms);
    int64_t oldest_min = sql_int(f->db, "SELECT min(minute) FROM rollups");
    assert_true(oldest_min * 60000 >= t - o.retention_ms - 2 * 60000);
    assert_true(oldest_min * 60000 <= t - o.retention_ms + 60000);
    store_close(s);

    /* A backlog is pruned in bounded batches: 10 minutes (chunks) per series per pass. */
    o.retention_raw_ms = 48LL * 3600 * 1000;
    o.retention_ms = 0;
    s = open_store(f->db, &o);
    int64_t before = sql_int(f->db, SAMPLES_OF_SERIES_1);
    t += 1000;
    for (int i = 0; i < 2000; i++, t += 1000) {
        fill(&set, t, 1);
        append_ok(s, &set);
    }
    store_close(s);
    assert_int_equal(sql_int(f->db, SAMPLES_OF_SERIES_1), before + 2000);
    int64_t full = sql_int(f->db, "SELECT count(*) FROM chunks WHERE series = 1");
    o.retention_raw_ms = 2 * 60000;
    s = open_store(f->db, &o);
    t = ((t / 60000) + 1) * 60000; /* next minute: its frames become a chunk, then one pass */
    fill(&set, t, 1);
    append_ok(s, &set);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM chunks WHERE series = 1"), full + 1 - 10);
    /* the next passes (once a minute) catch up */
    for (int i = 0; i < 10; i++) {
        t += 60000;
        fill(&set, t, 1);
        append_ok(s, &set);
    }
    assert_true(sql_int(f->db, "SELECT min(minute) FROM chunks") * 60000 >= t - 3 * 60000);
    metric_set_destroy(&set);
    store_close(s);
}

static void test_reopen_keeps_data(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->db, NULL);
    struct metric_set set;
    metric_set_init(&set);
    const int64_t m0 = 30000000LL * 60000;
    for (int i = 0; i < 3; i++) {
        fill(&set, m0 + i * 1000, i);
        append_ok(s, &set);
    }
    store_close(s);
    s = open_store(f->db, NULL);
    struct store_point *p;
    size_t n;
    struct pk_err e;
    assert_int_equal(store_history(s, K_LOAD, m0, m0 + 2000, 1000, 10, &p, &n, NULL, &e), 0);
    assert_int_equal(n, 3);
    assert_true(p[2].avg == 2);
    free(p);
    /* the newest sample's minute is known after reopening: it is rolled up */
    fill(&set, m0 + 60000, 9);
    append_ok(s, &set);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM rollups"), 1 + NCPU);
    /* series ids survive: no duplicate series */
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM series"), 1 + NCPU);
    int64_t ts;
    assert_int_equal(store_latest_ts(s, NULL, &ts, &e), 0);
    assert_int_equal(ts, m0 + 60000);
    metric_set_destroy(&set);
    store_close(s);
    /* the WAL is folded into the file on close */
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    assert_int_equal(access(wal, F_OK), -1);
}

static void test_schema_version(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->db, NULL);
    store_close(s);
    assert_int_equal(sql_int(f->db, "SELECT value FROM meta WHERE key = 'schema_version'"),
                     STORE_SCHEMA_VERSION);
    sql_exec(f->db, "UPDATE meta SET value = 99 WHERE key = 'schema_version'");
    struct pk_err e = { 0 };
    assert_int_equal(store_open(f->db, NULL, &s, &e), PK_ENOTSUP);
    assert_null(s);
    assert_string_equal(e.on, f->db);
    assert_non_null(strstr(e.why, "99"));
    char buf[800];
    assert_non_null(strstr(pk_err_str(&e, buf, sizeof(buf)), f->db));

    /* somebody else's database */
    char other[160];
    snprintf(other, sizeof(other), "%s/other.db", f->dir);
    sql_exec(other, "CREATE TABLE t(x)");
    assert_int_equal(store_open(other, NULL, &s, &e), PK_EPARSE);
    assert_string_equal(e.on, other);
    /* not a database at all */
    snprintf(other, sizeof(other), "%s/text.db", f->dir);
    FILE *fp = fopen(other, "w");
    assert_non_null(fp);
    for (int i = 0; i < 100; i++)
        fputs("this is not an SQLite database, only text\n", fp);
    fclose(fp);
    assert_int_equal(store_open(other, NULL, &s, &e), -EBADMSG);
    assert_string_equal(e.on, other);
    /* a directory that does not exist */
    snprintf(other, sizeof(other), "%s/no/such/dir.db", f->dir);
    assert_true(store_open(other, NULL, &s, &e) < 0);
    assert_string_equal(e.on, other);
    /* bad options */
    struct store_opts o;
    store_opts_init(&o);
    o.retention_raw_ms = 1000;
    assert_int_equal(store_open(f->db, &o, &s, &e), -EINVAL);
    o.retention_raw_ms = -1;
    assert_int_equal(store_open(f->db, &o, &s, &e), -EINVAL);
}

static void test_history_validation(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->db, NULL);
    struct metric_set set;
    metric_set_init(&set);
    fill(&set, 1000, 1);
    append_ok(s, &set);
    struct store_point *p = (void *)1;
    size_t n = 7;
    struct pk_err e = { 0 };
    assert_int_equal(store_history(s, K_LOAD, 2000, 1000, 0, 10, &p, &n, NULL, &e), -EINVAL);
    assert_null(p);
    assert_int_equal(n, 0);
    assert_non_null(strstr(e.why, "after"));
    assert_int_equal(store_history(s, K_LOAD, 0, 1000, -5, 10, &p, &n, NULL, &e), -EINVAL);
    assert_string_equal(e.on, "step");
    assert_int_equal(store_history(s, K_LOAD, 0, 1000, 0, 0, &p, &n, NULL, &e), -EINVAL);
    assert_string_equal(e.on, "points");
    assert_int_equal(store_history(s, K_LOAD, -1, 1000, 0, 10, &p, &n, NULL, &e), -EINVAL);
    assert_int_equal(store_history(s, NULL, 0, 1000, 0, 10, &p, &n, NULL, &e), -EINVAL);
    assert_int_equal(store_history(s, "", 0, 1000, 0, 10, &p, &n, NULL, &e), -EINVAL);
    struct store_history_info info = { .want = 42 };
    assert_int_equal(store_history(s, K_LOAD, 0, 1000, 0, 10, &p, &n, &info, &e), -EINVAL);
    assert_int_equal(store_history(s, "nope", 0, 1000, 0, 10, &p, &n, NULL, &e), -ENOENT);
    /* extremes do not overflow */
    assert_int_equal(store_history(s, K_LOAD, 0, INT64_MAX, 0, 1, &p, &n, NULL, &e), 0);
    assert_int_equal(n, 1);
    free(p);
    assert_int_equal(store_history(s, K_LOAD, 0, INT64_MAX, 1, SIZE_MAX, &p, &n, NULL, &e), 0);
    assert_int_equal(n, 1);
    free(p);
    assert_string_equal(store_source_name(STORE_SOURCE_RAW), "raw");
    assert_string_equal(store_source_name(STORE_SOURCE_ROLLUP), "rollup");
    metric_set_destroy(&set);
    store_close(s);
}

/* Every stored ts has every series: a sample is all or nothing. A frame holds
 * 12 bytes per series after its format byte, and every series' chunk of a
 * minute holds as many samples (10 bytes each). */
static void check_whole_samples(const char *db)
{
    assert_int_equal(sql_int(db, "SELECT count(*) FROM frames WHERE length(data) != 1 + 12 * (SELECT count(*)"
                                 " FROM series)"),
                     0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM (SELECT minute, count(*) c, min(length(data)) a,"
                                 " max(length(data)) b FROM chunks GROUP BY minute"
                                 " HAVING c != (SELECT count(*) FROM series) OR a != b)"),
                     0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"),
                     0);
}

/* SQLITE_FULL through max_page_count: the code path of a full disk. */
static void test_full_database(void **state)
{
    struct fx *f = *state;
    struct store_opts o;
    store_opts_init(&o);
    o.max_bytes = 64 * 1024;
    struct store *s = open_store(f->db, &o);
    struct metric_set set;
    metric_set_init(&set);
    struct pk_err e = { 0 };
    int64_t t = 1000LL * 60000;
    int rc = 0, ok = 0;
    for (int i = 0; i < 100000 && rc == 0; i++, t += 1000) {
        fill(&set, t, i);
        rc = store_append(s, &set, NULL, NULL, &e);
        ok += rc == 0;
    }
    assert_int_equal(rc, -ENOSPC);
    assert_true(ok > 10);
    assert_int_equal(store_errors(s), 1);
    char buf[1024];
    store_last_error(s, buf, sizeof(buf));
    assert_non_null(strstr(buf, "full"));
    assert_non_null(strstr(buf, f->db));
    /* still full: each try fails cleanly and is counted */
    t -= 1000;
    for (int i = 0; i < 3; i++) {
        fill(&set, t, ok); /* the very sample that did not fit */
        assert_int_equal(store_append(s, &set, NULL, NULL, &e), -ENOSPC);
    }
    assert_int_equal(store_errors(s), 4);
    /* readers go on */
    struct store_point *p;
    size_t n;
    assert_int_equal(store_history(s, K_LOAD, 0, t, 0, 1, &p, &n, NULL, &e), 0);
    assert_int_equal(p[0].count, (uint64_t)ok);
    free(p);
    /* space returns: writing resumes by itself */
    assert_int_equal(store_set_max_bytes(s, 0, &e), 0);
    for (int i = 0; i < 200; i++, t += 1000) {
        fill(&set, t, i);
        append_ok(s, &set);
    }
    assert_int_equal(store_errors(s), 4);
    metric_set_destroy(&set);
    store_close(s);
    assert_int_equal(sql_int(f->db, SAMPLES_OF_SERIES_1), ok + 200);
    check_whole_samples(f->db);
}

/* A file the store may not write: opened for reading, appends fail with
 * -EROFS, and succeed once the file is writable again. Permissions do not
 * bind root, so as root the scenario runs in a child as nobody. */
static int readonly_scenario(const char *dir)
{
#define CHECK(c)                                                                       \
    do {                                                                               \
        if (!(c)) {                                                                    \
            fprintf(stderr, "readonly scenario: %s:%d: %s\n", __FILE__, __LINE__, #c); \
            return __LINE__;                                                           \
        }                                                                              \
    } while (0)
    char db[160];
    snprintf(db, sizeof(db), "%s/ro.db", dir);
    struct store *s = NULL;
    struct pk_err e = { 0 };
    struct metric_set set;
    metric_set_init(&set);
    CHECK(store_open(db, NULL, &s, &e) == 0);
    int64_t t = 2000LL * 60000;
    for (int i = 0; i < 5; i++, t += 1000) {
        fill(&set, t, i);
        CHECK(store_append(s, &set, NULL, NULL, &e) == 0);
    }
    store_close(s);
    CHECK(chmod(db, 0444) == 0);
    CHECK(store_open(db, NULL, &s, &e) == 0);
    struct store_point *p = NULL;
    size_t n = 0;
    CHECK(store_history(s, K_LOAD, 0, t, 0, 10, &p, &n, NULL, &e) == 0);
    CHECK(n == 1 && p[0].count == 5);
    free(p);
    fill(&set, t, 5);
    int rc = store_append(s, &set, NULL, NULL, &e);
    if (rc != -EROFS) {
        char buf[800];
        fprintf(stderr, "append on a read-only file: %d %s\n", rc, pk_err_str(&e, buf, sizeof(buf)));
    }
    CHECK(rc == -EROFS);
    CHECK(store_errors(s) == 1);
    char buf[800];
    CHECK(strstr(store_last_error(s, buf, sizeof(buf)), "read-only") != NULL);
    CHECK(store_append(s, &set, NULL, NULL, &e) == -EROFS);
    CHECK(store_errors(s) == 2);
    CHECK(chmod(db, 0644) == 0);
    rc = store_append(s, &set, NULL, NULL, &e);
    if (rc != 0)
        fprintf(stderr, "append after chmod: %d %s\n", rc, pk_err_str(&e, buf, sizeof(buf)));
    CHECK(rc == 0);
    CHECK(store_errors(s) == 2);
    CHECK(store_history(s, K_LOAD, 0, t, 0, 10, &p, &n, NULL, &e) == 0);
    CHECK(n == 1 && p[0].count == 6);
    free(p);
    store_close(s);

    /* Closed cleanly (no -wal, no -shm) in a directory that is read-only
     * too, so SQLite cannot create them: still opened, served, counted. */
    char sub[200], db2[240], side[260];
    snprintf(sub, sizeof(sub), "%s/rodir", dir);
    snprintf(db2, sizeof(db2), "%s/ro.db", sub);
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(rename(db, db2) == 0);
    CHECK(store_open(db2, NULL, &s, &e) == 0);
    store_close(s);
    snprintf(side, sizeof(side), "%s-wal", db2);
    CHECK(access(side, F_OK) != 0);
    snprintf(side, sizeof(side), "%s-shm", db2);
    CHECK(access(side, F_OK) != 0);
    CHECK(chmod(db2, 0444) == 0 && chmod(sub, 0555) == 0);
    rc = store_open(db2, NULL, &s, &e);
    if (rc != 0)
        fprintf(stderr, "open in a read-only directory: %d %s\n", rc, pk_err_str(&e, buf, sizeof(buf)));
    CHECK(rc == 0);
    CHECK(store_history(s, K_LOAD, 0, t, 0, 10, &p, &n, NULL, &e) == 0);
    CHECK(n == 1 && p[0].count == 6);
    free(p);
    fill(&set, t + 1000, 6);
    CHECK(store_append(s, &set, NULL, NULL, &e) == -EROFS);
    CHECK(store_errors(s) == 1);
    CHECK(chmod(sub, 0755) == 0 && chmod(db2, 0644) == 0);
    rc = store_append(s, &set, NULL, NULL, &e);
    if (rc != 0)
        fprintf(stderr, "append once the directory is writable: %d %s\n", rc,
                pk_err_str(&e, buf, sizeof(buf)));
    CHECK(rc == 0);
    CHECK(store_history(s, K_LOAD, 0, t + 1000, 0, 10, &p, &n, NULL, &e) == 0);
    CHECK(n == 1 && p[0].count == 7);
    free(p);
    store_close(s);
    metric_set_destroy(&set);
    return 0;
#undef CHECK
}

static void test_read_only_database(void **state)
{
    struct fx *f = *state;
    if (geteuid() != 0) {
        assert_int_equal(readonly_scenario(f->dir), 0);
        return;
    }
    assert_int_equal(chmod(f->dir, 0777), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(200);
        _exit(readonly_scenario(f->dir) ? 1 : 0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- version 1 files -------------------------------------------------------- */

/*
 * A file as version 1 wrote it (one row per series and sample): series 1
 * node_load1 = 1..6 and series 2 (K_CPU1) = 10..60 at m0 + 0, 10, ..., 50 s,
 * rolled up; then 101..103 and 1010..1030 at m0 + 60, 70, 80 s (the newest
 * minute, not rolled up yet).
 */
static void make_v1(const char *path, int64_t m0)
{
    char sql[2048];
    snprintf(
        sql, sizeof(sql),
        "PRAGMA page_size = 1024; PRAGMA journal_mode = WAL;"
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
        "CREATE TABLE series(id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL);"
        "CREATE TABLE samples(series INTEGER, ts INTEGER, value REAL, PRIMARY KEY(series, ts)) WITHOUT ROWID;"
        "CREATE TABLE rollups(series INTEGER, minute INTEGER, min REAL, avg REAL, max REAL, n INTEGER,"
        " PRIMARY KEY(series, minute)) WITHOUT ROWID;"
        "INSERT INTO meta VALUES('application', 'perfkit monitor'), ('schema_version', 1);"
        "INSERT INTO series VALUES(1, 'node_load1'), (2, '%s');"
        "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 5)"
        " INSERT INTO samples SELECT 1, %lld + n * 10000, n + 1.0 FROM i"
        " UNION ALL SELECT 2, %lld + n * 10000, (n + 1) * 10.0 FROM i;"
        "WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 2)"
        " INSERT INTO samples SELECT 1, %lld + 60000 + n * 10000, 101.0 + n FROM i"
        " UNION ALL SELECT 2, %lld + 60000 + n * 10000, 1010.0 + n * 10 FROM i;"
        "INSERT INTO rollups VALUES(1, %lld, 1, 3.5, 6, 6), (2, %lld, 10, 35, 60, 6);",
        K_CPU1, (long long)m0, (long long)m0, (long long)m0, (long long)m0, (long long)(m0 / 60000),
        (long long)(m0 / 60000));
    sql_exec(path, sql);
}

/* What make_v1 wrote, read back through the store (latest: the newest sample
 * since): 0 or the line that disagrees. */
static int v1_data_readable(struct store *s, int64_t m0, int64_t latest)
{
    struct store_point *p = NULL;
    size_t n = 0;
    struct pk_err e;
    struct store_history_info info = { .want = STORE_SOURCE_RAW };
    if (store_history(s, K_LOAD, m0, m0 + 119999, 10000, 100, &p, &n, &info, &e) != 0 || n != 9)
        return __LINE__;
    for (size_t i = 0; i < 9; i++) {
        double want = i < 6 ? (double)i + 1 : 101.0 + (double)(i - 6);
        int64_t ts = m0 + (int64_t)i * 10000;
        if (p[i].ts != ts || p[i].avg != want || p[i].count != 1) {
            free(p);
            return __LINE__;
        }
    }
    free(p);
    info.want = STORE_SOURCE_ROLLUP;
    if (store_history(s, K_CPU1, m0, m0 + 119999, 60000, 100, &p, &n, &info, &e) != 0 || n != 2 ||
        p[0].min != 10 || p[0].max != 60 || p[0].avg != 35 || p[0].count != 6 || p[1].count != 3 ||
        p[1].max != 1030) {
        free(p);
        return __LINE__;
    }
    free(p);
    int64_t ts;
    if (store_latest_ts(s, K_LOAD, &ts, &e) != 0 || ts != latest)
        return __LINE__;
    if (store_latest_ts(s, NULL, &ts, &e) != 0 || ts != latest)
        return __LINE__;
    return 0;
}

/* A version 1 file is converted when it is opened for writing; its history reads the same. */
static void test_upgrade_v1(void **state)
{
    struct fx *f = *state;
    const int64_t m0 = 29000000LL * 60000;
    make_v1(f->db, m0);
    struct store *s = open_store(f->db, NULL);
    assert_int_equal(sql_int(f->db, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE name = 'samples'"), 0);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM chunks WHERE minute = 29000000"), 2);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM frames"), 3);
    assert_int_equal(v1_data_readable(s, m0, m0 + 80000), 0);
    /* appending goes on where version 1 stopped: the next minute rolls up the converted one */
    struct metric_set set;
    metric_set_init(&set);
    fill(&set, m0 + 120000, 7);
    append_ok(s, &set);
    assert_int_equal(
        sql_int(f->db, "SELECT n * 1000 + min FROM rollups WHERE series = 1 AND minute = 29000001"),
        3 * 1000 + 101);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM series"), 1 + NCPU);
    store_close(s);
    s = open_store(f->db, NULL);
    assert_int_equal(v1_data_readable(s, m0, m0 + 120000), 0);
    metric_set_destroy(&set);
    store_close(s);
}

/* A read-only version 1 file is read as it is, and converted once it can be written. */
static int v1_readonly_scenario(const char *dir)
{
    char db[160];
    snprintf(db, sizeof(db), "%s/v1.db", dir);
    const int64_t m0 = 29000000LL * 60000;
    make_v1(db, m0);
    if (chmod(db, 0444) != 0)
        return __LINE__;
    struct store *s = NULL;
    struct pk_err e = { 0 };
    if (store_open(db, NULL, &s, &e) != 0) {
        char buf[800];
        fprintf(stderr, "store_open: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        return __LINE__;
    }
    int line = v1_data_readable(s, m0, m0 + 80000);
    if (line)
        return line;
    struct metric_set set;
    metric_set_init(&set);
    fill(&set, m0 + 120000, 7);
    if (store_append(s, &set, NULL, NULL, &e) != -EROFS)
        return __LINE__;
    if (chmod(db, 0644) != 0)
        return __LINE__;
    if (store_append(s, &set, NULL, NULL, &e) != 0)
        return __LINE__;
    if ((line = v1_data_readable(s, m0, m0 + 120000)) != 0)
        return line;
    store_close(s);
    metric_set_destroy(&set);
    return 0;
}

static void test_upgrade_v1_read_only(void **state)
{
    struct fx *f = *state;
    if (geteuid() != 0) {
        assert_int_equal(v1_readonly_scenario(f->dir), 0);
        return;
    }
    assert_int_equal(chmod(f->dir, 0777), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(200);
        int line = v1_readonly_scenario(f->dir);
        if (line)
            fprintf(stderr, "v1 read-only scenario failed at line %d\n", line);
        _exit(line ? 1 : 0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- a VFS whose writes fail on demand: I/O errors ------------------------ */

static volatile int fail_io;
static sqlite3_vfs *real_vfs;

struct ffile {
    sqlite3_file base;
    sqlite3_file *real;
};

#define REAL(f) (((struct ffile *)(f))->real)
static int f_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    return fail_io ? SQLITE_IOERR_WRITE : REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 sz)
{
    return fail_io ? SQLITE_IOERR_TRUNCATE : REAL(f)->pMethods->xTruncate(REAL(f), sz);
}
static int f_sync(sqlite3_file *f, int fl)
{
    return fail_io ? SQLITE_IOERR_FSYNC : REAL(f)->pMethods->xSync(REAL(f), fl);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *sz)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), sz);
}
static int f_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int f_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int f_reserved(sqlite3_file *f, int *r)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r);
}
static int f_fcntl(sqlite3_file *f, int op, void *a)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, a);
}
static int f_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int f_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int f_shmlock(sqlite3_file *f, int o, int n, int fl)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl);
}
static void f_shmbarrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int f_shmunmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods faulty_io = {
    3,         f_close,      f_read,     f_write, f_truncate, f_sync,    f_size,
    f_lock,    f_unlock,     f_reserved, f_fcntl, f_sector,   f_devchar, f_shmmap,
    f_shmlock, f_shmbarrier, f_shmunmap, f_fetch, f_unfetch,
};

static int f_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags, int *out)
{
    (void)v;
    struct ffile *ff = (struct ffile *)f;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out);
    ff->base.pMethods = rc == SQLITE_OK && ff->real->pMethods ? &faulty_io : NULL;
    return rc;
}

static sqlite3_vfs faulty_vfs;

static void register_faulty_vfs(void)
{
    if (real_vfs)
        return;
    real_vfs = sqlite3_vfs_find(NULL);
    assert_non_null(real_vfs);
    faulty_vfs = *real_vfs;
    faulty_vfs.zName = "pk_faulty";
    faulty_vfs.szOsFile = (int)sizeof(struct ffile) + real_vfs->szOsFile;
    faulty_vfs.xOpen = f_open;
    faulty_vfs.pNext = NULL;
    assert_int_equal(sqlite3_vfs_register(&faulty_vfs, 0), SQLITE_OK);
}

static void test_io_errors(void **state)
{
    struct fx *f = *state;
    register_faulty_vfs();
    struct store_opts o;
    store_opts_init(&o);
    o.vfs = "pk_faulty";
    struct store *s = open_store(f->db, &o);
    struct metric_set set;
    metric_set_init(&set);
    struct pk_err e = { 0 };
    int64_t t = 3000LL * 60000;
    int ok = 0;
    for (int i = 0; i < 150; i++, t += 1000) {
        fill(&set, t, i);
        append_ok(s, &set);
        ok++;
    }
    fail_io = 1;
    for (int i = 0; i < 100; i++, t += 1000) { /* across a minute boundary too */
        fill(&set, t, i);
        assert_int_equal(store_append(s, &set, NULL, NULL, &e), -EIO);
    }
    assert_int_equal(store_errors(s), 100);
    char buf[800];
    assert_non_null(strstr(store_last_error(s, buf, sizeof(buf)), "I/O"));
    fail_io = 0;
    for (int i = 0; i < 100; i++, t += 1000) {
        fill(&set, t, i);
        append_ok(s, &set);
        ok++;
    }
    assert_int_equal(store_errors(s), 100);
    struct store_point *p;
    size_t n;
    assert_int_equal(store_history(s, K_LOAD, 0, t, 0, 1, &p, &n, NULL, &e), 0);
    assert_int_equal(p[0].count, (uint64_t)ok);
    free(p);
    metric_set_destroy(&set);
    store_close(s);
    check_whole_samples(f->db);
}

/* Readers query while the writer appends; each sees whole samples. */
struct rd_arg {
    struct store *s;
    volatile int stop;
    int bad, queries;
};

static void *reader_thread(void *p)
{
    struct rd_arg *a = p;
    while (!a->stop) {
        struct store_point *pts;
        size_t n;
        struct pk_err e;
        int rc = store_history(a->s, K_LOAD, 0, INT64_MAX / 2, 0, 10, &pts, &n, NULL, &e);
        if (rc == -ENOENT)
            continue;
        if (rc != 0) {
            a->bad++;
            continue;
        }
        free(pts);
        char **keys;
        size_t nk;
        if (store_keys(a->s, "node_", 0, &keys, &nk, &e) != 0)
            a->bad++;
        else
            store_keys_free(keys, nk);
        int64_t ts;
        rc = store_latest_ts(a->s, NULL, &ts, &e);
        if (rc != 0 && rc != -ENOENT)
            a->bad++;
        __atomic_fetch_add(&a->queries, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static bool every_reader_queried(struct rd_arg *a, int n)
{
    for (int i = 0; i < n; i++)
        if (__atomic_load_n(&a[i].queries, __ATOMIC_RELAXED) == 0)
            return false;
    return true;
}

/* store_check_path: what store_open would find, without opening or writing anything. */
static void check_path(const char *path, int want_rc, const char *want_why)
{
    struct pk_err e;
    pk_err_clear(&e);
    int rc = store_check_path(path, &e);
    if (rc != want_rc)
        fail_msg("%s: %d (%s), wanted %d", path, rc, e.why, want_rc);
    if (want_why) {
        assert_string_equal(e.on, "--db");
        assert_string_equal(e.what, "unusable history database");
        assert_string_equal(e.why, want_why);
    }
}

static void test_check_path(void **state)
{
    struct fx *f = *state;
    char p[256], why[1024];
    check_path(f->db, 0, NULL); /* to be created, in a writable directory */
    assert_int_not_equal(access(f->db, F_OK), 0);

    snprintf(why, sizeof(why), "'%s' is a directory (give a file in it)", f->dir);
    check_path(f->dir, -EISDIR, why);
    snprintf(p, sizeof(p), "%s/no-such-dir/m.db", f->dir);
    snprintf(why, sizeof(why), "cannot create '%s': directory '%s/no-such-dir': No such file or directory", p,
             f->dir);
    check_path(p, -ENOENT, why);
    snprintf(p, sizeof(p), "%s/plain", f->dir);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("not a database, but some text\n", fp);
    fclose(fp);
    snprintf(why, sizeof(why), "'%s' is not an SQLite database", p);
    check_path(p, -EBADMSG, why);
    char below[300];
    snprintf(below, sizeof(below), "%s/m.db", p);
    snprintf(why, sizeof(why), "cannot create '%s': '%s' is not a directory", below, p);
    check_path(below, -ENOTDIR, why);
    snprintf(p, sizeof(p), "%s/fifo", f->dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    snprintf(why, sizeof(why), "'%s' is not a regular file", p);
    check_path(p, -EINVAL, why);
    check_path("", -EINVAL, "the path is empty");

    snprintf(p, sizeof(p), "%s/empty.db", f->dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    fclose(fp);
    check_path(p, 0, NULL); /* SQLite makes an empty file a new database */

    /* a real store passes */
    struct store *s = NULL;
    struct pk_err e;
    assert_int_equal(store_open(f->db, NULL, &s, &e), 0);
    store_close(s);
    check_path(f->db, 0, NULL);

    /* a directory that cannot take a new file (root may write anywhere) */
    if (geteuid() != 0) {
        char ro[128];
        snprintf(ro, sizeof(ro), "%s/ro", f->dir);
        assert_int_equal(mkdir(ro, 0555), 0);
        snprintf(p, sizeof(p), "%s/m.db", ro);
        snprintf(why, sizeof(why), "cannot create '%s' in directory '%s': Permission denied", p, ro);
        check_path(p, -EACCES, why);
        rmdir(ro);
    }
}

static void test_concurrent_readers(void **state)
{
    struct fx *f = *state;
    struct store *s = open_store(f->db, NULL);
    struct rd_arg a[3] = { { .s = s }, { .s = s }, { .s = s } };
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &a[i]), 0);
    struct metric_set set;
    metric_set_init(&set);
    int64_t t = 4000LL * 60000;
    /* 1500 samples, and on a busy machine more until every reader has had
     * its turn while the writer writes (bounded: 100,000 samples). */
    for (int i = 0; i < 1500 || (i < 100000 && !every_reader_queried(a, 3)); i++, t += 1000) {
        fill(&set, t, i);
        append_ok(s, &set);
    }
    for (int i = 0; i < 3; i++) {
        a[i].stop = 1;
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].bad, 0);
        assert_true(a[i].queries > 0);
    }
    metric_set_destroy(&set);
    store_close(s);
    check_whole_samples(f->db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_want_filter_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_downsampling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollup_minutes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_source_past_raw_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_pruning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_v1_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
