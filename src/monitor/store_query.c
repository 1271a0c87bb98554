/*
 * store_query - the read side of the history store: history in buckets (raw
 * samples, or one-minute rollups plus the raw tail), the series' keys, and
 * the newest sample, each on a pooled read connection (a reader's lock held
 * for the query).
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/err.h"
#include "monitor/store_impl.h"

/* The last time in a chunk row (id, data); false if it holds none or is malformed. */
static bool chunk_last_ts(sqlite3_stmt *st, int64_t *ts)
{
    const void *b = sqlite3_column_blob(st, 1);
    size_t n, len = (size_t)sqlite3_column_bytes(st, 1);
    if (pack_chunk_check(b, len, &n) != 0 || n == 0)
        return false;
    *ts = pack_chunk_get(b, n - 1, sqlite3_column_int64(st, 0) & MINUTE_MAX).ts;
    return true;
}

/*
 * The newest sample of a version 2 file: the newest frame, since the append
 * that ends a minute writes the frame of the next one. Without frames (a
 * file the agent never appended to after a conversion of an empty minute),
 * the newest chunk of any series: one seek per series.
 */
static int newest_v2(sqlite3 *db, int64_t *ts, bool *null)
{
    sqlite3_stmt *st;
    *null = true;
    int rc = sqlite3_prepare_v2(db, "SELECT max(ts) FROM frames", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *ts = sqlite3_column_int64(st, 0);
        *null = false;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return rc;
    if (!*null)
        return SQLITE_OK;
    rc = sqlite3_prepare_v2(db,
                            "SELECT c.id, c.data FROM series s JOIN chunks c ON c.id = (SELECT max(id) FROM"
                            " chunks WHERE id >= s.id << 32 AND id < (s.id + 1) << 32)",
                            -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t t;
        if (chunk_last_ts(st, &t) && (*null || t > *ts)) {
            *ts = t;
            *null = false;
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_OK ? SQLITE_OK : rc;
}

/* The newest sample of the file, of either version. */
int store_newest_sample(sqlite3 *db, int version, int64_t *ts, bool *null)
{
    if (version >= 2)
        return newest_v2(db, ts, null);
    sqlite3_stmt *st;
    *null = true;
    int rc = sqlite3_prepare_v2(db, STORE_LATEST_ALL_V1_SQL, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *ts = sqlite3_column_int64(st, 0);
        *null = false;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- reading ------------------------------------------------------------- */

/* A free read connection (or the next one to be free), locked; opened
 * again if a reopen of the store left it closed. */
static int reader_get(struct store *s, struct reader **out, struct pk_err *e)
{
    PK_ASSERT(s->nr > 0); /* store_open opens at least one reader */
    unsigned start = __atomic_fetch_add(&s->rr, 1, __ATOMIC_RELAXED);
    struct reader *r = NULL;
    for (unsigned i = 0; i < s->nr && !r; i++) {
        r = &s->r[(start + i) % s->nr];
        if (pthread_mutex_trylock(&r->mu) != 0)
            r = NULL;
    }
    if (!r) {
        r = &s->r[start % s->nr];
        pthread_mutex_lock(&r->mu);
    }
    int ret;
    if (!r->db && (ret = store_reader_open(s, r, e)) < 0) {
        pthread_mutex_unlock(&r->mu);
        return ret;
    }
    *out = r;
    return 0;
}

static void reader_put(struct reader *r)
{
    pthread_mutex_unlock(&r->mu);
}

static int lookup_id(struct store *s, struct reader *r, const char *key, int64_t *id, struct pk_err *e)
{
    PK_ASSERT(pthread_mutex_trylock(&r->mu) == EBUSY); /* reader_get's lock */
    sqlite3_bind_text(r->id, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(r->id);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(r->id, 0);
    sqlite3_reset(r->id);
    sqlite3_clear_bindings(r->id);
    if (rc == SQLITE_DONE)
        return err_set(e, -ENOENT, key, "no such series in the history", "%s has no series by that key",
                       s->path);
    if (rc != SQLITE_ROW)
        return store_sql_err(e, r->db, rc, s->path, "cannot read the history");
    return 0;
}

/* One value of a statement's single-row answer; *null when NULL. */
static int query_int64(sqlite3_stmt *st, int64_t *v, bool *null)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *null = sqlite3_column_type(st, 0) == SQLITE_NULL;
        *v = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW ? SQLITE_OK : rc == SQLITE_DONE ? SQLITE_DONE : rc;
}

/* Buckets filled in time order, emitted when the next one starts. */
struct bucketer {
    int64_t from, step;
    int64_t b;
    double min, max, sum;
    uint64_t n;
    struct store_point *pts;
    size_t npts, cap;
};

static int bucketer_emit(struct bucketer *k)
{
    if (!k->n)
        return 0;
    PK_ASSERT(k->npts <= k->cap);
    if (k->npts == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 256;
        struct store_point *np = realloc(k->pts, ncap * sizeof(*np));
        if (!np)
            return -ENOMEM;
        k->pts = np;
        k->cap = ncap;
    }
    k->pts[k->npts++] = (struct store_point){ .ts = k->from + k->b * k->step,
                                              .min = k->min,
                                              .avg = k->sum / (double)k->n,
                                              .max = k->max,
                                              .count = k->n };
    k->n = 0;
    return 0;
}

static inline int bucketer_add(struct bucketer *k, int64_t ts, double min, double max, double sum, uint64_t n)
{
    int64_t b = (ts - k->from) / k->step;
    /* the scans feed samples in time order, none before from */
    PK_ASSERT(b >= 0 && (!k->n || b >= k->b));
    if (b != k->b || !k->n) {
        if (k->n && bucketer_emit(k) < 0)
            return -ENOMEM;
        k->b = b;
        k->min = min;
        k->max = max;
        k->sum = sum;
        k->n = n;
        return 0;
    }
    if (min < k->min)
        k->min = min;
    if (max > k->max)
        k->max = max;
    k->sum += sum;
    k->n += n;
    return 0;
}

/* Version 1 (a read-only file not converted yet): one row per sample. */
static int scan_raw_v1(struct store *s, struct reader *r, int64_t id, int64_t from, int64_t to,
                       struct bucketer *k, struct pk_err *e)
{
    sqlite3_stmt *st = r->raw_v1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        double v = sqlite3_column_double(st, 1);
        if (bucketer_add(k, sqlite3_column_int64(st, 0), v, v, v, 1) < 0) {
            ret = err_errno(e, -ENOMEM, s->path, "cannot read the history");
            break;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!ret && rc != SQLITE_DONE)
        ret = store_sql_err(e, r->db, rc, s->path, "cannot read the history");
    return ret;
}

/* The samples of one series in [from, to] from its chunks, one at a time in time order. */
struct chunk_cursor {
    sqlite3_stmt *st;
    int64_t from, to;
    const void *blob; /* the current row's chunk (valid until the next step) */
    int64_t minute;
    size_t n, i;
    int rc; /* SQLITE_ROW while there may be more, else how it ended */
};

static bool chunk_next(struct chunk_cursor *c, struct pack_point *out)
{
    for (;;) {
        while (c->i < c->n) {
            struct pack_point p = pack_chunk_get(c->blob, c->i++, c->minute);
            if (p.ts > c->to) {
                c->n = c->i = 0;
                c->rc = SQLITE_DONE;
                return false;
            }
            if (p.ts >= c->from) {
                *out = p;
                return true;
            }
        }
        if (c->rc != SQLITE_ROW || (c->rc = sqlite3_step(c->st)) != SQLITE_ROW)
            return false;
        const void *b = sqlite3_column_blob(c->st, 1);
        size_t n;
        if (pack_chunk_check(b, (size_t)sqlite3_column_bytes(c->st, 1), &n) != 0)
            continue; /* a damaged chunk: that minute is missing, the others are read */
        c->blob = b;
        c->n = n;
        c->i = 0;
        c->minute = sqlite3_column_int64(c->st, 0) & MINUTE_MAX;
    }
}

/* The samples of one series in [from, to] from the frames (the current minute). */
struct frame_cursor {
    sqlite3_stmt *st;
    uint32_t id;
    int rc;
};

static bool frame_next(struct frame_cursor *c, struct pack_point *out)
{
    while (c->rc == SQLITE_ROW && (c->rc = sqlite3_step(c->st)) == SQLITE_ROW) {
        double v;
        if (pack_frame_find(sqlite3_column_blob(c->st, 1), (size_t)sqlite3_column_bytes(c->st, 1), c->id,
                            &v)) {
            *out = (struct pack_point){ sqlite3_column_int64(c->st, 0), v };
            return true;
        }
    }
    return false;
}

/*
 * The raw samples of series id in [from, to], in time order, into k: the
 * chunks of the finished minutes, then the frames of the current one. Both
 * come in time order and are merged (frames older than a chunk exist only
 * when the clock went back); at a time in both, the frame is the newer write.
 */
static int scan_raw(struct store *s, struct reader *r, int64_t id, int64_t from, int64_t to,
                    struct bucketer *k, struct pk_err *e)
{
    PK_ASSERT(pthread_mutex_trylock(&r->mu) == EBUSY);
    if (r->version < 2)
        return scan_raw_v1(s, r, id, from, to, k, e);
    int64_t m0 = floor_div(from, STORE_ROLLUP_MS), m1 = floor_div(to, STORE_ROLLUP_MS);
    m0 = m0 < 0 ? 0 : m0 > MINUTE_MAX ? MINUTE_MAX : m0;
    m1 = m1 < 0 ? 0 : m1 > MINUTE_MAX ? MINUTE_MAX : m1;
    sqlite3_bind_int64(r->chunks, 1, chunk_id(id, m0));
    sqlite3_bind_int64(r->chunks, 2, chunk_id(id, m1));
    sqlite3_bind_int64(r->frames, 1, from);
    sqlite3_bind_int64(r->frames, 2, to);
    struct chunk_cursor cc = { .st = r->chunks, .from = from, .to = to, .rc = SQLITE_ROW };
    struct frame_cursor fc = { .st = r->frames, .id = (uint32_t)id, .rc = SQLITE_ROW };
    struct pack_point a, b;
    bool ha = chunk_next(&cc, &a), hb = frame_next(&fc, &b);
    int ret = 0;
    while ((ha || hb) && ret == 0) {
        struct pack_point p;
        if (hb && (!ha || b.ts <= a.ts)) {
            if (ha && a.ts == b.ts)
                ha = chunk_next(&cc, &a);
            p = b;
            hb = frame_next(&fc, &b);
        } else {
            p = a;
            ha = chunk_next(&cc, &a);
        }
        if (bucketer_add(k, p.ts, p.v, p.v, p.v, 1) < 0)
            ret = err_errno(e, -ENOMEM, s->path, "cannot read the history");
    }
    int rc = cc.rc != SQLITE_ROW && cc.rc != SQLITE_DONE   ? cc.rc
             : fc.rc != SQLITE_ROW && fc.rc != SQLITE_DONE ? fc.rc
                                                           : SQLITE_OK;
    sqlite3_reset(r->chunks);
    sqlite3_reset(r->frames);
    if (!ret && rc != SQLITE_OK)
        ret = store_sql_err(e, r->db, rc, s->path, "cannot read the history");
    return ret;
}

/* The time of the newest sample of series id; *null when it has none. */
static int latest_of(struct reader *r, int64_t id, int64_t *ts, bool *null)
{
    *null = true;
    int rc;
    if (r->version < 2) {
        sqlite3_bind_int64(r->latest_one_v1, 1, id);
        rc = query_int64(r->latest_one_v1, ts, null);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    /* the frames (the current minute, some tens of rows), newest first */
    while ((rc = sqlite3_step(r->frames_desc)) == SQLITE_ROW) {
        double v;
        if (pack_frame_find(sqlite3_column_blob(r->frames_desc, 1),
                            (size_t)sqlite3_column_bytes(r->frames_desc, 1), (uint32_t)id, &v)) {
            *ts = sqlite3_column_int64(r->frames_desc, 0);
            *null = false;
            break;
        }
    }
    sqlite3_reset(r->frames_desc);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return rc;
    /* and its newest chunk, newer than the frames only if the clock went back */
    sqlite3_bind_int64(r->chunk_last, 1, chunk_id(id, 0));
    sqlite3_bind_int64(r->chunk_last, 2, chunk_id(id, MINUTE_MAX));
    rc = sqlite3_step(r->chunk_last);
    int64_t t;
    if (rc == SQLITE_ROW && chunk_last_ts(r->chunk_last, &t) && (*null || t > *ts)) {
        *ts = t;
        *null = false;
    }
    sqlite3_reset(r->chunk_last);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int scan_rollups(struct store *s, struct reader *r, int64_t id, int64_t from_min, int64_t to_min,
                        struct bucketer *k, struct pk_err *e)
{
    sqlite3_stmt *st = r->roll;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, from_min);
    sqlite3_bind_int64(st, 3, to_min);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 4);
        if (n <= 0)
            continue;
        if (bucketer_add(k, sqlite3_column_int64(st, 0) * STORE_ROLLUP_MS, sqlite3_column_double(st, 1),
                         sqlite3_column_double(st, 3), sqlite3_column_double(st, 2) * (double)n,
                         (uint64_t)n) < 0) {
            ret = err_errno(e, -ENOMEM, s->path, "cannot read the history");
            break;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!ret && rc != SQLITE_DONE)
        ret = store_sql_err(e, r->db, rc, s->path, "cannot read the history");
    return ret;
}

/* Round steps for automatic choice; past a day, whole days. */
static int64_t round_step(int64_t min_step)
{
    static const int64_t nice[] = {
        1,      2,      5,       10,      20,      50,       100,      200,      500,
        1000,   2000,   5000,    10000,   15000,   30000,    60000,    120000,   300000,
        600000, 900000, 1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000,
    };
    for (size_t i = 0; i < sizeof(nice) / sizeof(nice[0]); i++)
        if (nice[i] >= min_step)
            return nice[i];
    int64_t day = 86400000;
    return (min_step / day + (min_step % day != 0)) * day;
}

/* The step to use: at least `want` (0: automatic), a multiple of `unit`,
 * and giving at most max_points buckets over [from, to]. */
static int64_t pick_step(int64_t from, int64_t to, int64_t want, size_t max_points, int64_t unit)
{
    uint64_t span = (uint64_t)to - (uint64_t)from;
    uint64_t need = span / max_points + 1; /* floor(span / step) + 1 <= max_points */
    if (need > (uint64_t)INT64_MAX)
        need = (uint64_t)INT64_MAX;
    int64_t step;
    if (want == 0) {
        step = round_step((int64_t)need > unit ? (int64_t)need : unit);
    } else {
        step = want;
        if (step % unit)
            step = (step / unit + 1) * unit;
        if ((uint64_t)step < need)
            step *= (int64_t)((need + (uint64_t)step - 1) / (uint64_t)step);
    }
    if (step % unit)
        step = (step / unit + 1) * unit;
    return step;
}

int store_history(struct store *s, const char *key, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                  size_t max_points, struct store_point **out, size_t *n, struct store_history_info *info,
                  struct pk_err *e)
{
    if (!s || !out || !n)
        return err_set(e, -EINVAL, "store_history", "invalid argument", "store or output is NULL");
    *out = NULL;
    *n = 0;
    if (!key || !*key)
        return err_set(e, -EINVAL, "metric", "invalid history query", "no series key given");
    if (from_ms < 0)
        return err_set(e, -EINVAL, "from", "invalid history query", "from (%lld) is before the epoch",
                       (long long)from_ms);
    if (from_ms > to_ms)
        return err_set(e, -EINVAL, "from", "invalid history query", "from (%lld) is after to (%lld)",
                       (long long)from_ms, (long long)to_ms);
    if (step_ms < 0)
        return err_set(e, -EINVAL, "step", "invalid history query", "step (%lld) is negative",
                       (long long)step_ms);
    if (max_points == 0)
        return err_set(e, -EINVAL, "points", "invalid history query", "at most 0 points asked for");
    if (to_ms > TS_MAX)
        to_ms = TS_MAX;
    if (from_ms > to_ms)
        from_ms = to_ms;
    enum store_source want = info ? info->want : STORE_SOURCE_AUTO;
    if (want != STORE_SOURCE_AUTO && want != STORE_SOURCE_RAW && want != STORE_SOURCE_ROLLUP)
        return err_set(e, -EINVAL, "source", "invalid history query", "unknown source %d", (int)want);

    struct reader *r;
    int ret;
    int64_t id;
    struct bucketer k = { 0 };
    if ((ret = reader_get(s, &r, e)) < 0)
        return ret;
    if ((ret = lookup_id(s, r, key, &id, e)) < 0)
        goto out;

    enum store_source src = want;
    if (src == STORE_SOURCE_AUTO) {
        int64_t latest = 0;
        bool null = true;
        int rc = latest_of(r, id, &latest, &null);
        if (rc != SQLITE_OK) {
            ret = store_sql_err(e, r->db, rc, s->path, "cannot read the history");
            goto out;
        }
        bool in_raw = null || from_ms >= latest - s->o.retention_raw_ms;
        int64_t raw_step = pick_step(from_ms, to_ms, step_ms, max_points, 1);
        src = in_raw && raw_step < STORE_ROLLUP_MS ? STORE_SOURCE_RAW : STORE_SOURCE_ROLLUP;
    }

    if (src == STORE_SOURCE_RAW) {
        k.from = from_ms;
        k.step = pick_step(from_ms, to_ms, step_ms, max_points, 1);
        ret = scan_raw(s, r, id, from_ms, to_ms, &k, e);
    } else {
        /* Whole minutes, so that each rollup falls in one bucket. */
        k.from = floor_div(from_ms, STORE_ROLLUP_MS) * STORE_ROLLUP_MS;
        k.step = pick_step(k.from, to_ms, step_ms, max_points, STORE_ROLLUP_MS);
        int64_t last_min = 0;
        bool null = true;
        sqlite3_bind_int64(r->roll_last, 1, id);
        int rc = query_int64(r->roll_last, &last_min, &null);
        if (rc != SQLITE_OK && rc != SQLITE_DONE) {
            ret = store_sql_err(e, r->db, rc, s->path, "cannot read the history");
            goto out;
        }
        int64_t tail = k.from; /* raw samples from here: minutes not rolled up yet */
        if (!null) {
            ret = scan_rollups(s, r, id, k.from / STORE_ROLLUP_MS, floor_div(to_ms, STORE_ROLLUP_MS), &k, e);
            if (ret < 0)
                goto out;
            if ((last_min + 1) * STORE_ROLLUP_MS > tail)
                tail = (last_min + 1) * STORE_ROLLUP_MS;
        }
        if (tail <= to_ms)
            ret = scan_raw(s, r, id, tail, to_ms, &k, e);
    }
    if (ret < 0)
        goto out;
    if (bucketer_emit(&k) < 0) {
        ret = err_errno(e, -ENOMEM, s->path, "cannot read the history");
        goto out;
    }
    if (info) {
        info->source = src;
        info->from_ms = k.from;
        info->step_ms = k.step;
    }
    *out = k.pts;
    *n = k.npts;
    k.pts = NULL;
out:
    reader_put(r);
    free(k.pts);
    return ret;
}

const char *store_source_name(enum store_source src)
{
    switch (src) {
    case STORE_SOURCE_RAW: return "raw";
    case STORE_SOURCE_ROLLUP: return "rollup";
    default: return "auto";
    }
}

void store_keys_free(char **keys, size_t n)
{
    if (!keys)
        return;
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

int store_keys(struct store *s, const char *prefix, size_t max, char ***out, size_t *n, struct pk_err *e)
{
    if (!s || !out || !n)
        return err_set(e, -EINVAL, "store_keys", "invalid argument", "store or output is NULL");
    *out = NULL;
    *n = 0;
    if (!prefix)
        prefix = "";
    size_t plen = strlen(prefix);
    struct reader *r;
    char **keys = NULL;
    size_t nk = 0, cap = 0;
    int ret, rc = SQLITE_DONE;
    if ((ret = reader_get(s, &r, e)) < 0)
        return ret;
    sqlite3_bind_text(r->keys, 1, prefix, (int)plen, SQLITE_STATIC);
    while ((max == 0 || nk < max) && (rc = sqlite3_step(r->keys)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(r->keys, 0);
        if (!k || strncmp(k, prefix, plen) != 0) {
            rc = SQLITE_DONE; /* sorted: past the keys with this prefix */
            break;
        }
        if (nk == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nkeys = realloc(keys, ncap * sizeof(*nkeys));
            if (!nkeys) {
                ret = err_errno(e, -ENOMEM, s->path, "cannot list the series of the history");
                break;
            }
            keys = nkeys;
            cap = ncap;
        }
        if (!(keys[nk] = strdup(k))) {
            ret = err_errno(e, -ENOMEM, s->path, "cannot list the series of the history");
            break;
        }
        nk++;
    }
    if (!ret && max && nk >= max)
        rc = SQLITE_DONE;
    sqlite3_reset(r->keys);
    sqlite3_clear_bindings(r->keys);
    if (!ret && rc != SQLITE_DONE)
        ret = store_sql_err(e, r->db, rc, s->path, "cannot list the series of the history");
    reader_put(r);
    if (ret < 0) {
        store_keys_free(keys, nk);
        return ret;
    }
    *out = keys;
    *n = nk;
    return 0;
}

int store_latest_ts(struct store *s, const char *key, int64_t *ts_ms, struct pk_err *e)
{
    if (!s || !ts_ms)
        return err_set(e, -EINVAL, "store_latest_ts", "invalid argument", "store or output is NULL");
    struct reader *r;
    int ret;
    int64_t id = 0, v = 0;
    if ((ret = reader_get(s, &r, e)) < 0)
        return ret;
    bool null = true;
    int rc;
    if (key) {
        if ((ret = lookup_id(s, r, key, &id, e)) < 0)
            goto out;
        rc = latest_of(r, id, &v, &null);
    } else {
        rc = store_newest_sample(r->db, r->version, &v, &null);
    }
    if (rc != SQLITE_OK) {
        ret = store_sql_err(e, r->db, rc, s->path, "cannot read the history");
        goto out;
    }
    if (null) {
        ret = err_set(e, -ENOENT, key ? key : s->path, "no sample in the history", "nothing stored yet");
        goto out;
    }
    *ts_ms = v;
out:
    reader_put(r);
    return ret;
}
