/*
 * store_write - appends to the history store: one frame row per sample; when
 * a minute ends, its frames regrouped into one chunk and one rollup per
 * series; pruning past retention in bounded batches; the writer's cache of
 * series ids. Runs under the writer's lock (s->w.mu).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/err.h"
#include "monitor/metric.h"
#include "monitor/store_impl.h"

/* ---- series key -> id, open addressing ----------------------------------- */

static uint64_t key_hash(const char *k, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void store_idmap_clear(struct idmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slot[i].key);
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}

static struct idslot *idmap_find(const struct idmap *m, const char *key, size_t len, uint64_t h)
{
    if (!m->cap)
        return NULL;
    /* a power of two, never full: the probe below ends at an empty slot */
    PK_ASSERT((m->cap & (m->cap - 1)) == 0 && m->n < m->cap);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct idslot *sl = &m->slot[i];
        if (!sl->key)
            return sl;
        if (sl->hash == h && !strncmp(sl->key, key, len) && sl->key[len] == '\0')
            return sl;
    }
}

static int idmap_grow(struct idmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct idslot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slot[i].key)
            continue;
        size_t j = m->slot[i].hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slot[i];
    }
    free(m->slot);
    m->slot = ns;
    m->cap = ncap;
    return 0;
}

static int idmap_put(struct idmap *m, const char *key, size_t len, int64_t id)
{
    if ((m->n + 1) * 10 > m->cap * 7 && idmap_grow(m) < 0)
        return -ENOMEM;
    uint64_t h = key_hash(key, len);
    struct idslot *sl = idmap_find(m, key, len, h);
    if (sl->key) {
        sl->id = id;
        return 0;
    }
    sl->key = strndup(key, len);
    if (!sl->key)
        return -ENOMEM;
    sl->hash = h;
    sl->id = id;
    m->n++;
    return 0;
}

int store_load_ids(struct store *s, struct pk_err *e)
{
    struct writer *w = &s->w;
    store_idmap_clear(&w->ids);
    int rc;
    while ((rc = sqlite3_step(w->series_all)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(w->series_all, 1);
        int n = sqlite3_column_bytes(w->series_all, 1);
        if (k && idmap_put(&w->ids, k, (size_t)n, sqlite3_column_int64(w->series_all, 0)) < 0) {
            sqlite3_reset(w->series_all);
            store_idmap_clear(&w->ids);
            return err_errno(e, -ENOMEM, s->path, "cannot load the series of the history database");
        }
    }
    sqlite3_reset(w->series_all);
    if (rc != SQLITE_DONE) {
        store_idmap_clear(&w->ids);
        return store_sql_err(e, w->db, rc, s->path, "cannot load the series of the history database");
    }
    w->ids_valid = true;
    return 0;
}

/* ---- writing ------------------------------------------------------------- */

/* The id of a series, from the cache or made in the current transaction. */
static int series_id(struct store *s, const char *key, size_t len, int64_t *id, struct pk_err *e)
{
    struct writer *w = &s->w;
    uint64_t h = key_hash(key, len);
    struct idslot *sl = idmap_find(&w->ids, key, len, h);
    if (sl && sl->key) {
        *id = sl->id;
        return 0;
    }
    sqlite3_bind_text(w->series_ins, 1, key, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(w->series_ins);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(w->series_ins, 0);
    int rc2 = rc == SQLITE_ROW ? sqlite3_step(w->series_ins) : rc;
    sqlite3_reset(w->series_ins);
    sqlite3_clear_bindings(w->series_ins);
    if (rc != SQLITE_ROW || (rc2 != SQLITE_DONE && rc2 != SQLITE_ROW))
        return store_sql_err(e, w->db, rc != SQLITE_ROW ? rc : rc2, s->path,
                             "cannot add a series to the history");
    if (idmap_put(&w->ids, key, len, *id) < 0)
        return err_errno(e, -ENOMEM, s->path, "cannot add a series to the history");
    return 0;
}

static int key_of(struct store *s, const struct metric_set *set, const struct metric_series *m, size_t *len,
                  struct pk_err *e)
{
    struct writer *w = &s->w;
    for (;;) {
        size_t n = metric_key(set, m, w->keybuf, w->keycap);
        if (w->keycap && n < w->keycap) {
            *len = n;
            return 0;
        }
        size_t ncap = n + 64 > 256 ? n + 64 : 256;
        char *nb = realloc(w->keybuf, ncap);
        if (!nb)
            return err_errno(e, -ENOMEM, s->path, "cannot store the sample");
        w->keybuf = nb;
        w->keycap = ncap;
    }
}

/* Room for n entries in the append's scratch. */
static int reserve_vals(struct writer *w, size_t n)
{
    if (n <= w->capvals)
        return 0;
    size_t cap = w->capvals ? w->capvals : 64;
    while (cap < n)
        cap *= 2;
    struct pack_value *v = realloc(w->vals, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    w->vals = v;
    w->capvals = cap;
    return 0;
}

static int reserve_blob(struct writer *w, size_t n)
{
    if (n <= w->capblob)
        return 0;
    size_t cap = w->capblob ? w->capblob : 1024;
    while (cap < n)
        cap *= 2;
    unsigned char *b = realloc(w->blob, cap);
    if (!b)
        return -ENOMEM;
    w->blob = b;
    w->capblob = cap;
    return 0;
}

static int cmp_value_id(const void *a, const void *b)
{
    const struct pack_value *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* By series, then time. */
static int cmp_series_time(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

/* Growable list of the samples of the minutes being closed. */
struct samples {
    struct sample *v;
    size_t n, cap;
};

static int samples_add(struct samples *l, uint32_t id, int64_t ts, double v)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        struct sample *nv = realloc(l->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = (struct sample){ id, ts, v };
    return 0;
}

/*
 * One series' samples of one minute, seq[0..n) by time, merged with the
 * chunk already stored for that minute (there is one only when time went
 * back: a later sample replaces one at the same time), stored as its chunk,
 * and rolled up.
 */
static int close_series_minute(struct store *s, const struct sample *seq, size_t n, struct pk_err *e)
{
    struct writer *w = &s->w;
    PK_ASSERT(n > 0);
    uint32_t id = seq[0].id;
    int64_t minute = floor_div(seq[0].ts, STORE_ROLLUP_MS);
    PK_ASSERT(seq[n - 1].id == id && floor_div(seq[n - 1].ts, STORE_ROLLUP_MS) == minute);
    int64_t cid = chunk_id(id, minute);
    sqlite3_bind_int64(w->chunk_get, 1, cid);
    int rc = sqlite3_step(w->chunk_get);
    const void *old = NULL;
    size_t nold = 0;
    if (rc == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(w->chunk_get, 0);
        if (pack_chunk_check(b, (size_t)sqlite3_column_bytes(w->chunk_get, 0), &nold) == 0)
            old = b;
        else
            nold = 0; /* a damaged chunk is replaced by what the frames hold */
    } else if (rc != SQLITE_DONE) {
        sqlite3_reset(w->chunk_get);
        return store_sql_err(e, w->db, rc, s->path, "cannot store the raw samples of a minute");
    }
    struct pack_point *pts = malloc((n + nold) * sizeof(*pts));
    if (!pts) {
        sqlite3_reset(w->chunk_get);
        return err_errno(e, -ENOMEM, s->path, "cannot store the raw samples of a minute");
    }
    size_t k = 0, i = 0, j = 0;
    while (i < n || j < nold) {
        struct pack_point o = j < nold ? pack_chunk_get(old, j, minute) : (struct pack_point){ 0, 0 };
        if (j >= nold || (i < n && seq[i].ts <= o.ts)) {
            if (j < nold && seq[i].ts == o.ts)
                j++; /* the newer write wins */
            pts[k++] = (struct pack_point){ seq[i].ts, seq[i].v };
            i++;
        } else {
            pts[k++] = o;
            j++;
        }
    }
    sqlite3_reset(w->chunk_get);
    PK_ASSERT(k >= n && k <= n + nold);
    size_t len = pack_chunk_size(k);
    int ret = reserve_blob(w, len);
    if (ret < 0 || pack_chunk(pts, k, minute, w->blob) < 0) {
        free(pts);
        return err_errno(e, ret < 0 ? ret : -EINVAL, s->path, "cannot store the raw samples of a minute");
    }
    /* summed in time order, as SQLite's avg() over the old table did */
    double mn = pts[0].v, mx = pts[0].v, sum = 0;
    for (size_t x = 0; x < k; x++) {
        mn = pts[x].v < mn ? pts[x].v : mn;
        mx = pts[x].v > mx ? pts[x].v : mx;
        sum += pts[x].v;
    }
    free(pts);
    sqlite3_bind_int64(w->chunk_put, 1, cid);
    sqlite3_bind_blob(w->chunk_put, 2, w->blob, (int)len, SQLITE_STATIC);
    if ((rc = store_run(w->chunk_put)) != SQLITE_OK)
        return store_sql_err(e, w->db, rc, s->path, "cannot store the raw samples of a minute");
    sqlite3_bind_int64(w->rollup_put, 1, id);
    sqlite3_bind_int64(w->rollup_put, 2, minute);
    sqlite3_bind_double(w->rollup_put, 3, mn);
    sqlite3_bind_double(w->rollup_put, 4, sum / (double)k);
    sqlite3_bind_double(w->rollup_put, 5, mx);
    sqlite3_bind_int64(w->rollup_put, 6, (int64_t)k);
    if ((rc = store_run(w->rollup_put)) != SQLITE_OK)
        return store_sql_err(e, w->db, rc, s->path, "cannot store the rollups of a minute");
    return 0;
}

/*
 * Ends the minutes of the frames outside minute keep (the new sample's):
 * normally the previous minute. Its frames become a chunk and a rollup per
 * series, and are deleted.
 */
static int close_minutes(struct store *s, int64_t keep, struct pk_err *e)
{
    struct writer *w = &s->w;
    struct samples l = { 0 };
    int ret = 0, rc;
    sqlite3_bind_int64(w->frames_old, 1, keep * STORE_ROLLUP_MS);
    sqlite3_bind_int64(w->frames_old, 2, (keep + 1) * STORE_ROLLUP_MS);
    while ((rc = sqlite3_step(w->frames_old)) == SQLITE_ROW) {
        int64_t ts = sqlite3_column_int64(w->frames_old, 0);
        const void *b = sqlite3_column_blob(w->frames_old, 1);
        size_t n;
        if (pack_frame_check(b, (size_t)sqlite3_column_bytes(w->frames_old, 1), &n) != 0)
            continue; /* a damaged frame: its sample is lost, the others are kept */
        for (size_t i = 0; i < n && ret == 0; i++) {
            struct pack_value v = pack_frame_get(b, i);
            ret = samples_add(&l, v.id, ts, v.v);
        }
        if (ret < 0)
            break;
    }
    sqlite3_reset(w->frames_old);
    if (ret < 0) {
        ret = err_errno(e, ret, s->path, "cannot store the rollups of a minute");
        goto out;
    }
    if (rc != SQLITE_DONE) {
        ret = store_sql_err(e, w->db, rc, s->path, "cannot store the rollups of a minute");
        goto out;
    }
    /* by series, then time: each run of one series and minute is in time order */
    if (l.n > 1)
        qsort(l.v, l.n, sizeof(*l.v), cmp_series_time);
    for (size_t i = 0; i < l.n && ret == 0;) {
        size_t j = i + 1;
        int64_t minute = floor_div(l.v[i].ts, STORE_ROLLUP_MS);
        while (j < l.n && l.v[j].id == l.v[i].id && floor_div(l.v[j].ts, STORE_ROLLUP_MS) == minute)
            j++;
        ret = close_series_minute(s, &l.v[i], j - i, e);
        i = j;
    }
    if (ret < 0)
        goto out;
    sqlite3_bind_int64(w->frames_del, 1, keep * STORE_ROLLUP_MS);
    sqlite3_bind_int64(w->frames_del, 2, (keep + 1) * STORE_ROLLUP_MS);
    if ((rc = store_run(w->frames_del)) != SQLITE_OK)
        ret = store_sql_err(e, w->db, rc, s->path, "cannot store the rollups of a minute");
out:
    free(l.v);
    return ret;
}

static int prune(struct store *s, int64_t ts, struct pk_err *e)
{
    struct writer *w = &s->w;
    /* a minute's chunk goes once all of it is past raw retention */
    int64_t raw_cut = floor_div(ts - s->o.retention_raw_ms, STORE_ROLLUP_MS);
    int64_t roll_cut = floor_div(ts - s->o.retention_ms, STORE_ROLLUP_MS);
    if (raw_cut < 0)
        raw_cut = 0;
    if (raw_cut > MINUTE_MAX)
        raw_cut = MINUTE_MAX;
    for (size_t i = 0; i < w->ids.cap; i++) {
        if (!w->ids.slot[i].key)
            continue;
        int64_t id = w->ids.slot[i].id;
        sqlite3_bind_int64(w->prune_raw, 1, chunk_id(id, 0));
        sqlite3_bind_int64(w->prune_raw, 2, chunk_id(id, raw_cut));
        sqlite3_bind_int(w->prune_raw, 3, PRUNE_BATCH);
        int rc = store_run(w->prune_raw);
        if (rc != SQLITE_OK)
            return store_sql_err(e, w->db, rc, s->path, "cannot prune old samples");
        sqlite3_bind_int64(w->prune_roll, 1, id);
        sqlite3_bind_int64(w->prune_roll, 2, roll_cut);
        sqlite3_bind_int(w->prune_roll, 3, PRUNE_BATCH_ROLLUPS);
        rc = store_run(w->prune_roll);
        if (rc != SQLITE_OK)
            return store_sql_err(e, w->db, rc, s->path, "cannot prune old rollups");
    }
    return 0;
}

/* Closes every connection and opens them again. All of them: SQLite shares
 * a file's shared-memory index among the connections of a process, and it
 * stays read-only while a connection that opened it read-only is open. */
static int reopen_all(struct store *s, struct pk_err *e)
{
    for (unsigned i = 0; i < s->nr; i++) {
        pthread_mutex_lock(&s->r[i].mu);
        store_reader_close(&s->r[i]);
    }
    store_writer_close(&s->w);
    int ret = store_writer_open(s, e);
    for (unsigned i = 0; i < s->nr; i++) {
        if (ret == 0)
            store_reader_open(s, &s->r[i], NULL); /* or again when next used */
        pthread_mutex_unlock(&s->r[i].mu);
    }
    return ret;
}

/*
 * The sample's frame in w->vals[0..*n): (series id, value) of the wanted,
 * non-NaN series, by id, one value per id. Inside the append's transaction:
 * a series seen for the first time is added to the series table.
 */
static int frame_values(struct store *s, const struct metric_set *set,
                        bool (*want)(const struct metric_series *, void *), void *arg, size_t *nout,
                        struct pk_err *e)
{
    struct writer *w = &s->w;
    size_t n = 0;
    int ret;
    for (size_t i = 0; i < set->nseries; i++) {
        const struct metric_series *m = &set->series[i];
        if (isnan(m->value) || (want && !want(m, arg)))
            continue;
        size_t len = 0;
        int64_t id = 0;
        if ((ret = key_of(s, set, m, &len, e)) < 0 || (ret = series_id(s, w->keybuf, len, &id, e)) < 0)
            return ret;
        /* frames hold u32 ids and chunk rows series << 32: a file past 2^31 series is not ours */
        if (id <= 0 || id > INT32_MAX)
            return err_set(e, -EOVERFLOW, s->path, "cannot store the sample", "series id %lld out of range",
                           (long long)id);
        PK_ASSERT(n < w->capvals);
        w->vals[n++] = (struct pack_value){ (uint32_t)id, m->value };
    }
    /* ids follow the order series were first seen, so the set's order is mostly sorted already */
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = w->vals[i - 1].id < w->vals[i].id;
    if (!sorted)
        qsort(w->vals, n, sizeof(*w->vals), cmp_value_id);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) /* a series twice in a set (a caller's bug): one of its values */
        if (k == 0 || w->vals[i].id != w->vals[k - 1].id)
            w->vals[k++] = w->vals[i];
    *nout = k;
    return 0;
}

/* A sample at a time already stored (the clock went back) replaces its
 * series' values there and keeps the others': the stored frame at ts merged
 * into w->vals[0..*n). */
static int merge_stored_frame(struct store *s, int64_t ts, size_t *n, struct pk_err *e)
{
    struct writer *w = &s->w;
    sqlite3_bind_int64(w->frame_get, 1, ts);
    int rc = sqlite3_step(w->frame_get);
    size_t nold, k = *n;
    const void *b = rc == SQLITE_ROW ? sqlite3_column_blob(w->frame_get, 0) : NULL;
    if (b && pack_frame_check(b, (size_t)sqlite3_column_bytes(w->frame_get, 0), &nold) == 0) {
        int ret = reserve_vals(w, *n + nold);
        if (ret < 0) {
            sqlite3_reset(w->frame_get);
            return err_errno(e, ret, s->path, "cannot store the sample");
        }
        for (size_t i = 0; i < nold; i++) {
            struct pack_value v = pack_frame_get(b, i);
            if (*n == 0 || !bsearch(&v, w->vals, *n, sizeof(*w->vals), cmp_value_id))
                w->vals[k++] = v;
        }
        *n = k;
        qsort(w->vals, *n, sizeof(*w->vals), cmp_value_id);
    }
    sqlite3_reset(w->frame_get);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_err(e, w->db, rc, s->path, "cannot store the sample");
    return 0;
}

/* w->vals[0..n) as the frame row of time ts. */
static int write_frame(struct store *s, int64_t ts, size_t n, struct pk_err *e)
{
    struct writer *w = &s->w;
    size_t len = pack_frame_size(n);
    int ret = reserve_blob(w, len);
    if (ret < 0)
        return err_errno(e, ret, s->path, "cannot store the sample");
    pack_frame(w->vals, n, w->blob);
    sqlite3_bind_int64(w->frame_ins, 1, ts);
    sqlite3_bind_blob(w->frame_ins, 2, w->blob, (int)len, SQLITE_STATIC);
    int rc = store_run(w->frame_ins);
    if (rc != SQLITE_OK)
        return store_sql_err(e, w->db, rc, s->path, "cannot store the sample");
    return 0;
}

static int append_locked(struct store *s, const struct metric_set *set,
                         bool (*want)(const struct metric_series *, void *), void *arg, struct pk_err *e)
{
    struct writer *w = &s->w;
    int ret, rc;
    PK_ASSERT(pthread_mutex_trylock(&w->mu) == EBUSY);
    if (!w->db || w->ro) {
        /* Opened read-only (or a reopen failed): try again, so writing
         * resumes once the file or its file system is writable. */
        if ((ret = reopen_all(s, e)) < 0)
            return ret;
        if (w->ro)
            return err_set(e, -EROFS, s->path, "cannot store the sample",
                           "the database is read-only (file permissions or a read-only file system)");
    }
    if (!w->ids_valid && (ret = store_load_ids(s, e)) < 0)
        return ret;

    int64_t ts = set->ts_ms;
    if (ts < 0 || ts > TS_MAX)
        return err_set(e, -EINVAL, s->path, "cannot store the sample", "its time (%lld ms) is out of range",
                       (long long)ts);
    if ((ret = reserve_vals(w, set->nseries)) < 0)
        return err_errno(e, ret, s->path, "cannot store the sample");
    rc = store_run(w->begin);
    if (rc != SQLITE_OK)
        return store_sql_err(e, w->db, rc, s->path, "cannot store the sample");
    size_t n = 0;
    if ((ret = frame_values(s, set, want, arg, &n, e)) < 0)
        goto rollback;

    bool pruned = false;
    int64_t minute = floor_div(ts, STORE_ROLLUP_MS);
    if (w->have_last && floor_div(w->last_ts, STORE_ROLLUP_MS) != minute) {
        if ((ret = close_minutes(s, minute, e)) < 0)
            goto rollback;
        if (!w->have_prune || ts - w->last_prune_ts >= STORE_ROLLUP_MS || ts < w->last_prune_ts) {
            if ((ret = prune(s, ts, e)) < 0)
                goto rollback;
            pruned = true;
        }
    }
    if (w->have_last && ts <= w->max_ts && (ret = merge_stored_frame(s, ts, &n, e)) < 0)
        goto rollback;
    if (n > 0 && (ret = write_frame(s, ts, n, e)) < 0)
        goto rollback;
    rc = store_run(w->commit);
    if (rc != SQLITE_OK) {
        ret = store_sql_err(e, w->db, rc, s->path, "cannot store the sample");
        goto rollback;
    }
    if (pruned) {
        w->last_prune_ts = ts;
        w->have_prune = true;
    }
    /* a sample without stored values leaves no frame: it is not the newest sample */
    if (n > 0) {
        w->last_ts = ts;
        w->max_ts = w->have_last && w->max_ts > ts ? w->max_ts : ts;
        w->have_last = true;
    }
    return 0;

rollback:
    /* SQLite may have rolled back by itself (on a full disk, an I/O error). */
    if (!sqlite3_get_autocommit(w->db))
        store_run(w->rollback);
    /* Series added in this transaction are gone with it. */
    w->ids_valid = false;
    return ret;
}

int store_append(struct store *s, const struct metric_set *set,
                 bool (*want)(const struct metric_series *, void *), void *arg, struct pk_err *e)
{
    if (!s || !set)
        return err_set(e, -EINVAL, "store_append", "invalid argument", "store or set is NULL");
    struct pk_err tmp;
    if (!e)
        e = &tmp;
    pthread_mutex_lock(&s->w.mu);
    int ret = append_locked(s, set, want, arg, e);
    pthread_mutex_unlock(&s->w.mu);
    if (ret < 0) {
        __atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&s->errmu);
        pk_err_str(e, s->lasterr, sizeof(s->lasterr));
        pthread_mutex_unlock(&s->errmu);
    }
    return ret;
}
