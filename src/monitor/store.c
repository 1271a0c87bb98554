#include "monitor/store.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "monitor/metric.h"
#include "monitor/pack.h"

/*
 * Minutes of raw samples (chunks) deleted per series in one pruning pass
 * (once a minute): ten times what a minute adds, so a backlog (after a
 * retention was shortened) is worked off at 10x while no single commit
 * grows long.
 */
#define PRUNE_BATCH 10
/* Rollups deleted per series in one pass (a minute adds one). */
#define PRUNE_BATCH_ROLLUPS 600
#define READERS_DEFAULT 2u
#define READERS_MAX 16u
#define BUSY_DEFAULT_MS 1000
/* Page caches in KiB. The writer touches the newest frame page, and once a
 * minute one chunk and one rollup page per series; readers scan ranges once
 * and rely on the OS page cache; so small caches cost little and keep the
 * agent's resident memory flat (SQLite fills a cache before it reuses it). */
#define WRITER_CACHE_KIB 256
#define READER_CACHE_KIB 256
#define WAL_SIZE_LIMIT (16 * 1024 * 1024)
/* The log is synced when it is checkpointed: at this many pages, about a
 * minute of samples of 40 series (3 pages per sample, some 150 when a minute
 * ends), which bounds what a power loss can take (SQLite's default, 1000
 * pages, would be three minutes). */
#define WAL_CHECKPOINT_PAGES 300
#define PAGE_SIZE_STR "1024"
/* Times past 2^53 ms (the year 287,396) are not stored, and a query's end
 * is clamped to it, so step arithmetic never overflows. */
#define TS_MAX (1LL << 53)
/* A chunk's row id: series << 32 | minute (minutes since the epoch fit 32 bits until the year 10136). */
#define CHUNK_SHIFT 32
#define MINUTE_MAX 0xffffffffLL

/* ---- series key -> id, open addressing ----------------------------------- */

struct idslot {
    uint64_t hash;
    char *key;             /* NULL: empty slot */
    int64_t id;
};

struct idmap {
    struct idslot *slot;
    size_t cap, n;         /* cap a power of two */
};

static uint64_t key_hash(const char *k, size_t len)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void idmap_clear(struct idmap *m)
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

/* ---- the store ----------------------------------------------------------- */

struct writer {
    pthread_mutex_t mu;
    sqlite3 *db;
    bool ro;                       /* opened read-only: appends retry opening */
    bool ro_at_open;               /* SQLite opened the file read-only (writer_open_once) */
    int version;                   /* schema version of the file (1 only while read-only) */
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *series_ins, *series_all, *frame_ins, *frame_get, *frames_old, *frames_del;
    sqlite3_stmt *chunk_get, *chunk_put, *rollup_put, *prune_raw, *prune_roll;
    struct idmap ids;
    bool ids_valid;                /* false after a rollback: reloaded before use */
    int64_t last_ts;               /* the newest committed sample */
    int64_t max_ts;                /* the latest time committed (last_ts unless time went back) */
    bool have_last;
    int64_t last_prune_ts;
    bool have_prune;
    int default_max_pages;
    char *keybuf;
    size_t keycap;
    /* scratch of an append, kept between them */
    struct pack_value *vals;
    size_t capvals;
    unsigned char *blob;
    size_t capblob;
};

struct reader {
    pthread_mutex_t mu;
    sqlite3 *db;
    int version;                   /* 1: a file left in the old layout (read-only) */
    sqlite3_stmt *id, *chunks, *frames, *frames_desc, *chunk_last, *roll, *roll_last, *keys, *latest_all;
    sqlite3_stmt *raw_v1, *latest_one_v1;
};

struct store {
    char *path;
    struct store_opts o;
    struct writer w;
    struct reader *r;
    unsigned nr;
    unsigned rr;                   /* round robin over readers (atomic) */
    bool immutable;                /* opened as file:PATH?immutable=1 (see open_conn) */
    uint64_t errors;               /* atomic */
    pthread_mutex_t errmu;
    char lasterr[sizeof(((struct pk_err *)0)->what) + sizeof(((struct pk_err *)0)->on) +
                 sizeof(((struct pk_err *)0)->why) + 8];
};

/*
 * Version 2. A sample is one row of frames until its minute ends; then the
 * minute's frames become one chunk per series (and one rollup per series)
 * in the same transaction. So a commit writes the newest page of frames,
 * not the newest page of every series, and a series' raw history is one row
 * per minute, clustered by series (id = series << 32 | minute) for range
 * scans. Layout and reasons: docs/monitor-store.md.
 */
static const char SCHEMA_TABLES_SQL[] =
    "CREATE TABLE frames(ts INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE chunks(id INTEGER PRIMARY KEY, data BLOB NOT NULL,"
    " series INTEGER GENERATED ALWAYS AS (id >> 32) VIRTUAL,"
    " minute INTEGER GENERATED ALWAYS AS (id & 4294967295) VIRTUAL);";

static const char SCHEMA_SQL[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE series(id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL);"
    "CREATE TABLE rollups(series INTEGER, minute INTEGER, min REAL, avg REAL, max REAL, n INTEGER,"
    " PRIMARY KEY(series, minute)) WITHOUT ROWID;"
    "INSERT INTO meta(key, value) VALUES('application', 'perfkit monitor');";

/* Version 1's newest sample: one seek per series of its (series, ts) primary key. */
static const char LATEST_ALL_V1_SQL[] =
    "SELECT max((SELECT max(ts) FROM samples WHERE series = s.id)) FROM series s";

static int64_t chunk_id(int64_t series, int64_t minute)
{
    return (int64_t)((uint64_t)series << CHUNK_SHIFT) | minute;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int sqlite_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EBADMSG;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_RANGE:
    case SQLITE_MISUSE:
        return -EINVAL;
    case SQLITE_IOERR:
        return rc == SQLITE_IOERR_NOMEM ? -ENOMEM : -EIO;
    default:
        return -EIO;
    }
}

/* A failed SQLite call on db as a pk_err: SQLite's message, with the system
 * error where SQLite had one (a full disk, a permission). */
static int sql_err(struct pk_err *e, sqlite3 *db, int rc, const char *on, const char *what)
{
    int code = sqlite_code(rc);
    if (code == 0)
        code = -EIO;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int sys = db ? sqlite3_system_errno(db) : 0;
    if (sys && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN ||
                (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_READONLY)) {
        if ((rc & 0xff) == SQLITE_CANTOPEN)
            code = -sys;
        return err_set(e, code, on, what, "%s (%s)", msg, strerror(sys));
    }
    return err_set(e, code, on, what, "%s", msg);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *on, struct pk_err *e)
{
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc != SQLITE_OK)
        return sql_err(e, db, rc, on, "cannot prepare a statement of the history store");
    return 0;
}

/* Steps a statement that returns no row (or ignores it), and resets it. */
static int run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int exec(sqlite3 *db, const char *sql, const char *on, const char *what, struct pk_err *e)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sql_err(e, db, rc, on, what);
    return 0;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && out)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int set_max_pages(struct store *s, int64_t max_bytes, struct pk_err *e)
{
    int page = 4096;
    int rc = pragma_int(s->w.db, "PRAGMA page_size", &page);
    if (rc != SQLITE_OK)
        return sql_err(e, s->w.db, rc, s->path, "cannot read the page size");
    int64_t pages = max_bytes > 0 ? max_bytes / (page > 0 ? page : 4096) : s->w.default_max_pages;
    if (pages < 1)
        pages = 1;
    if (pages > 2147483647)
        pages = 2147483647;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages);
    rc = pragma_int(s->w.db, sql, NULL);
    if (rc != SQLITE_OK)
        return sql_err(e, s->w.db, rc, s->path, "cannot set the size limit");
    return 0;
}

/* ---- version 1 -> 2 ------------------------------------------------------ */

/* One sample of one series: the unit the minute's frames are regrouped in. */
struct sample {
    uint32_t id;
    int64_t ts;
    double v;
};

/* By time, then series. */
static int cmp_time_series(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
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

/* Growable scratch for the migration. */
struct mig {
    struct pack_point *pts;
    size_t npts, cappts;
    struct sample *tail;
    size_t ntail, captail;
    unsigned char *blob;
    size_t capblob;
};

static int mig_blob(struct mig *m, size_t need)
{
    if (need <= m->capblob)
        return 0;
    unsigned char *b = realloc(m->blob, need);
    if (!b)
        return -ENOMEM;
    m->blob = b;
    m->capblob = need;
    return 0;
}

/* The points gathered for (series, minute) as a chunk row. */
static int mig_chunk(sqlite3_stmt *put, struct mig *m, int64_t series, int64_t minute)
{
    if (m->npts == 0)
        return SQLITE_OK;
    size_t len = pack_chunk_size(m->npts);
    if (mig_blob(m, len) < 0)
        return SQLITE_NOMEM;
    if (pack_chunk(m->pts, m->npts, minute, m->blob) < 0)
        return SQLITE_CORRUPT; /* version 1's primary key makes this impossible */
    sqlite3_bind_int64(put, 1, chunk_id(series, minute));
    sqlite3_bind_blob(put, 2, m->blob, (int)len, SQLITE_STATIC);
    m->npts = 0;
    return run(put);
}

/*
 * Rewrites a version 1 file (one row per series and sample) as version 2,
 * inside the caller's transaction: the samples of every finished minute
 * become chunks, those of the newest minute frames, as if the agent had
 * written them; the rollups stay as they are. A day of 40 series takes a
 * few seconds, once.
 */
static int migrate_v1(struct store *s, sqlite3 *db, struct pk_err *e)
{
    const char *on = s->path;
    const char *what = "cannot convert the history database to the new layout";
    int ret = exec(db, SCHEMA_TABLES_SQL, on, what, e);
    if (ret < 0)
        return ret;
    sqlite3_stmt *latest = NULL, *all = NULL, *put = NULL, *frame = NULL;
    struct mig m = {0};
    int rc = sqlite3_prepare_v2(db, LATEST_ALL_V1_SQL, -1, &latest, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(latest);
    if (rc != SQLITE_ROW) {
        ret = sql_err(e, db, rc, on, what);
        goto out;
    }
    bool empty = sqlite3_column_type(latest, 0) == SQLITE_NULL;
    int64_t last_min = floor_div(sqlite3_column_int64(latest, 0), STORE_ROLLUP_MS);
    if ((rc = sqlite3_prepare_v2(db, "SELECT series, ts, value FROM samples ORDER BY series, ts", -1, &all,
                                 NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO chunks(id, data) VALUES(?1, ?2)", -1, &put,
                                 NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO frames(ts, data) VALUES(?1, ?2)", -1, &frame,
                                 NULL)) != SQLITE_OK) {
        ret = sql_err(e, db, rc, on, what);
        goto out;
    }
    int64_t cur_series = -1, cur_min = 0;
    while (!empty && (rc = sqlite3_step(all)) == SQLITE_ROW) {
        int64_t series = sqlite3_column_int64(all, 0), ts = sqlite3_column_int64(all, 1);
        double v = sqlite3_column_double(all, 2);
        if (series < 0 || series > UINT32_MAX / 2 || ts < 0 || ts > TS_MAX || isnan(v))
            continue; /* nothing version 1 wrote */
        int64_t minute = floor_div(ts, STORE_ROLLUP_MS);
        if (minute >= last_min) {
            /* the newest minute: frames, built once all of it is known */
            if (m.ntail == m.captail) {
                size_t cap = m.captail ? 2 * m.captail : 256;
                void *t = realloc(m.tail, cap * sizeof(*m.tail));
                if (!t) {
                    ret = err_errno(e, -ENOMEM, on, what);
                    goto out;
                }
                m.tail = t;
                m.captail = cap;
            }
            m.tail[m.ntail++] = (struct sample){ (uint32_t)series, ts, v };
            continue;
        }
        if (series != cur_series || minute != cur_min) {
            if ((rc = mig_chunk(put, &m, cur_series, cur_min)) != SQLITE_OK) {
                ret = sql_err(e, db, rc, on, what);
                goto out;
            }
            cur_series = series;
            cur_min = minute;
        }
        if (m.npts == m.cappts) {
            size_t cap = m.cappts ? 2 * m.cappts : 128;
            struct pack_point *p = realloc(m.pts, cap * sizeof(*p));
            if (!p) {
                ret = err_errno(e, -ENOMEM, on, what);
                goto out;
            }
            m.pts = p;
            m.cappts = cap;
        }
        m.pts[m.npts++] = (struct pack_point){ ts, v };
    }
    if ((!empty && rc != SQLITE_DONE) || (rc = mig_chunk(put, &m, cur_series, cur_min)) != SQLITE_OK) {
        ret = sql_err(e, db, rc, on, what);
        goto out;
    }
    /* the newest minute's samples by time, then series: one frame per time */
    if (m.ntail > 1)
        qsort(m.tail, m.ntail, sizeof(*m.tail), cmp_time_series);
    struct pack_value *vals = m.ntail ? malloc(m.ntail * sizeof(*vals)) : NULL;
    if (m.ntail && !vals) {
        ret = err_errno(e, -ENOMEM, on, what);
        goto out;
    }
    for (size_t i = 0; i < m.ntail;) {
        size_t j = i, n = 0;
        for (; j < m.ntail && m.tail[j].ts == m.tail[i].ts; j++)
            vals[n++] = (struct pack_value){ m.tail[j].id, m.tail[j].v };
        size_t len = pack_frame_size(n);
        if (mig_blob(&m, len) < 0) {
            free(vals);
            ret = err_errno(e, -ENOMEM, on, what);
            goto out;
        }
        pack_frame(vals, n, m.blob);
        sqlite3_bind_int64(frame, 1, m.tail[i].ts);
        sqlite3_bind_blob(frame, 2, m.blob, (int)len, SQLITE_STATIC);
        if ((rc = run(frame)) != SQLITE_OK) {
            free(vals);
            ret = sql_err(e, db, rc, on, what);
            goto out;
        }
        i = j;
    }
    free(vals);
    /* no statement may be reading the table that is dropped */
    sqlite3_finalize(latest);
    sqlite3_finalize(all);
    latest = all = NULL;
    char sql[96];
    snprintf(sql, sizeof(sql), "DROP TABLE samples; UPDATE meta SET value = %d WHERE key = 'schema_version'",
             STORE_SCHEMA_VERSION);
    ret = exec(db, sql, on, what, e);
out:
    sqlite3_finalize(latest);
    sqlite3_finalize(all);
    sqlite3_finalize(put);
    sqlite3_finalize(frame);
    free(m.pts);
    free(m.tail);
    free(m.blob);
    return ret;
}

/*
 * Creates the schema in a new database, or checks the version of an
 * existing one, converting a version 1 file unless it is read-only. The
 * version of the file in *version.
 */
static int schema_check(struct store *s, sqlite3 *db, bool ro, int *version, struct pk_err *e)
{
    const char *on = s->path;
    int ret;
    ret = exec(db, ro ? "BEGIN" : "BEGIN IMMEDIATE", on, "cannot open the history database", e);
    if (ret < 0)
        return ret;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table'),"
                                " (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        ret = sql_err(e, db, rc, on, "cannot read the history database");
        goto out;
    }
    int ntables = sqlite3_column_int(st, 0), has_meta = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (!has_meta) {
        if (ntables > 0) {
            ret = err_set(e, PK_EPARSE, on, "not a perfkit history database",
                          "it has %d tables but no 'meta' table", ntables);
            goto out;
        }
        if (ro) {
            ret = err_set(e, -EROFS, on, "cannot create the history database",
                          "the file is empty and read-only");
            goto out;
        }
        ret = exec(db, SCHEMA_SQL, on, "cannot create the history database", e);
        if (ret == 0)
            ret = exec(db, SCHEMA_TABLES_SQL, on, "cannot create the history database", e);
        if (ret < 0)
            goto out;
        char sql[96];
        snprintf(sql, sizeof(sql), "INSERT INTO meta(key, value) VALUES('schema_version', %d)",
                 STORE_SCHEMA_VERSION);
        ret = exec(db, sql, on, "cannot create the history database", e);
        if (ret < 0)
            goto out;
        ret = exec(db, "COMMIT", on, "cannot create the history database", e);
        if (ret < 0)
            goto out;
        *version = STORE_SCHEMA_VERSION;
        return 0;
    }
    rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        ret = sql_err(e, db, rc, on, "cannot read the schema version of the history database");
        goto out;
    }
    if (rc == SQLITE_DONE || sqlite3_column_type(st, 0) != SQLITE_INTEGER) {
        ret = err_set(e, PK_EPARSE, on, "not a perfkit history database",
                      "its 'meta' table has no integer schema_version");
        goto out;
    }
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    if (v > STORE_SCHEMA_VERSION) {
        ret = err_set(e, PK_ENOTSUP, on, "unsupported history database",
                      "schema version %lld is newer than this perfkit's (%d): upgrade perfkit or use "
                      "another database file",
                      (long long)v, STORE_SCHEMA_VERSION);
        goto out;
    }
    if (v < 1) {
        ret = err_set(e, PK_EPARSE, on, "not a perfkit history database", "schema version %lld",
                      (long long)v);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Version 1 kept a row per series and sample: converted once, in this transaction. A
     * read-only file stays as it is and is read as version 1 until it can be written. */
    if (v == 1 && !ro && (ret = migrate_v1(s, db, e)) < 0)
        goto out;
    ret = exec(db, "COMMIT", on, "cannot open the history database", e);
    if (ret < 0)
        goto out;
    *version = v == 1 && !ro ? STORE_SCHEMA_VERSION : (int)v;
    return 0;
out:
    sqlite3_finalize(st);
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return ret;
}

static void writer_close(struct writer *w)
{
    sqlite3_stmt **sts[] = {&w->begin,      &w->commit,     &w->rollback,   &w->series_ins, &w->series_all,
                            &w->frame_ins,  &w->frame_get,  &w->frames_old, &w->frames_del, &w->chunk_get,
                            &w->chunk_put,  &w->rollup_put, &w->prune_raw,  &w->prune_roll};
    for (size_t i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
        sqlite3_finalize(*sts[i]);
        *sts[i] = NULL;
    }
    if (w->db)
        sqlite3_close_v2(w->db);
    w->db = NULL;
    idmap_clear(&w->ids);
    w->ids_valid = false;
}

static int load_ids(struct store *s, struct pk_err *e)
{
    struct writer *w = &s->w;
    idmap_clear(&w->ids);
    int rc;
    while ((rc = sqlite3_step(w->series_all)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(w->series_all, 1);
        int n = sqlite3_column_bytes(w->series_all, 1);
        if (k && idmap_put(&w->ids, k, (size_t)n, sqlite3_column_int64(w->series_all, 0)) < 0) {
            sqlite3_reset(w->series_all);
            idmap_clear(&w->ids);
            return err_errno(e, -ENOMEM, s->path, "cannot load the series of the history database");
        }
    }
    sqlite3_reset(w->series_all);
    if (rc != SQLITE_DONE) {
        idmap_clear(&w->ids);
        return sql_err(e, w->db, rc, s->path, "cannot load the series of the history database");
    }
    w->ids_valid = true;
    return 0;
}

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
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
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
static int newest_sample(sqlite3 *db, int version, int64_t *ts, bool *null)
{
    if (version >= 2)
        return newest_v2(db, ts, null);
    sqlite3_stmt *st;
    *null = true;
    int rc = sqlite3_prepare_v2(db, LATEST_ALL_V1_SQL, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *ts = sqlite3_column_int64(st, 0);
        *null = false;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A connection that opened the database read-only creates its -wal and
 * -shm files with the database's mode of the time; once the database is
 * writable again they would keep SQLite read-only, so they are given the
 * database's mode (their content is untouched). */
static void fix_sidecar_modes(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || access(path, W_OK) != 0)
        return;
    static const char *const sfx[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char side[PATH_MAX];
        if ((size_t)snprintf(side, sizeof(side), "%s%s", path, sfx[i]) >= sizeof(side))
            return;
        if (access(side, F_OK) == 0 && access(side, W_OK) != 0)
            chmod(side, st.st_mode & 0666);
    }
}

/* A connection to s->path. Normally the path itself. A WAL database that
 * was closed cleanly has no FILE-wal and FILE-shm, and where they cannot be
 * created (a read-only directory or mount) SQLite cannot open it, not even
 * read-only, unless told the file will not change: then s->immutable is set
 * and connections open file:PATH?immutable=1, read-only. Nothing writes the
 * file meanwhile (this store is its writer, and it cannot write); the next
 * append's reopen tries the plain path again. */
static int open_conn(struct store *s, int flags, sqlite3 **db)
{
    if (!s->immutable)
        return sqlite3_open_v2(s->path, db, flags, s->o.vfs);
    /* RFC 3986 escaping of what a SQLite URI path may not hold as is */
    char uri[PATH_MAX * 3 + 32];
    size_t n = 0;
    static const char hex[] = "0123456789ABCDEF";
    memcpy(uri, "file:", 5);
    n = 5;
    for (const unsigned char *p = (const unsigned char *)s->path; *p && n + 3 < sizeof(uri) - 16; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '%' || *p == '?' || *p == '#') {
            uri[n++] = '%';
            uri[n++] = hex[*p >> 4];
            uri[n++] = hex[*p & 15];
        } else {
            uri[n++] = (char)*p;
        }
    }
    snprintf(uri + n, sizeof(uri) - n, "?immutable=1");
    return sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | (flags & SQLITE_OPEN_NOMUTEX),
                           s->o.vfs);
}

static int writer_open_once(struct store *s, struct pk_err *e);

static int writer_open(struct store *s, struct pk_err *e)
{
    s->immutable = false;
    int ret = writer_open_once(s, e);
    if (ret < 0 && s->w.ro_at_open) {
        /* Read-only, and SQLite could not set the file up for WAL reading:
         * no FILE-shm and no way to create it. Serve it as immutable. */
        s->immutable = true;
        struct pk_err e2;
        if (writer_open_once(s, &e2) == 0)
            return 0;
        s->immutable = false;
    }
    return ret;
}

static int writer_open_once(struct store *s, struct pk_err *e)
{
    struct writer *w = &s->w;
    const char *on = s->path;
    int ret;
    fix_sidecar_modes(s->path);
    w->ro_at_open = false;
    int rc = open_conn(s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, &w->db);
    if (rc != SQLITE_OK) {
        ret = sql_err(e, w->db, rc, on, "cannot open the history database");
        goto fail;
    }
    sqlite3_extended_result_codes(w->db, 1);
    sqlite3_busy_timeout(w->db, s->o.busy_timeout_ms);
    w->ro = w->ro_at_open = sqlite3_db_readonly(w->db, "main") == 1;

    /* A new file gets 1 KiB pages: a commit rewrites the newest page of
     * frames (a sample of 40 series is some 500 bytes), and once a minute a
     * page per series; smaller pages write fewer bytes. No effect on an
     * existing file. */
    if ((ret = exec(w->db, "PRAGMA page_size = " PAGE_SIZE_STR, on, "cannot open the history database", e)) < 0)
        goto fail;
    /* WAL: readers never block the writer nor it them, and a commit is an
     * append to the log. synchronous=NORMAL: a commit does not wait for
     * fsync (the log is synced at checkpoints); a kill of the process loses
     * nothing committed (the OS has the writes), a power loss can lose the
     * commits since the last checkpoint but never corrupts the database. */
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(w->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        ret = sql_err(e, w->db, rc, on, "cannot open the history database");
        goto fail;
    }
    bool wal = !strcmp((const char *)sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "",
                       "wal");
    sqlite3_finalize(st);
    if (!wal && !w->ro) {
        ret = err_set(e, -EIO, on, "cannot open the history database",
                      "SQLite refused write-ahead logging (a file system without shared memory?)");
        goto fail;
    }
    char sql[200];
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -%d; PRAGMA journal_size_limit = %d;"
             " PRAGMA wal_autocheckpoint = %d",
             WRITER_CACHE_KIB, WAL_SIZE_LIMIT, WAL_CHECKPOINT_PAGES);
    ret = exec(w->db, sql, on, "cannot open the history database", e);
    if (ret < 0)
        goto fail;
    ret = schema_check(s, w->db, w->ro, &w->version, e);
    if (ret < 0)
        goto fail;
    rc = pragma_int(w->db, "PRAGMA max_page_count", &w->default_max_pages);
    if (rc != SQLITE_OK) {
        ret = sql_err(e, w->db, rc, on, "cannot open the history database");
        goto fail;
    }
    if (s->o.max_bytes > 0 && (ret = set_max_pages(s, s->o.max_bytes, e)) < 0)
        goto fail;
    if ((ret = prepare(w->db, "SELECT id, key FROM series", &w->series_all, on, e)) < 0 ||
        (ret = load_ids(s, e)) < 0)
        goto fail;
    bool null = true;
    rc = newest_sample(w->db, w->version, &w->last_ts, &null);
    if (rc != SQLITE_OK) {
        ret = sql_err(e, w->db, rc, on, "cannot read the history database");
        goto fail;
    }
    w->have_last = !null;
    w->max_ts = w->last_ts;
    if (w->version < 2)
        return 0; /* read-only version 1: nothing is written until it is writable and converted */

    if ((ret = prepare(w->db, "BEGIN IMMEDIATE", &w->begin, on, e)) < 0 ||
        (ret = prepare(w->db, "COMMIT", &w->commit, on, e)) < 0 ||
        (ret = prepare(w->db, "ROLLBACK", &w->rollback, on, e)) < 0 ||
        (ret = prepare(w->db, "INSERT INTO series(key) VALUES(?1) RETURNING id", &w->series_ins, on, e)) < 0 ||
        (ret = prepare(w->db, "INSERT OR REPLACE INTO frames(ts, data) VALUES(?1, ?2)", &w->frame_ins, on, e)) < 0 ||
        (ret = prepare(w->db, "SELECT data FROM frames WHERE ts = ?1", &w->frame_get, on, e)) < 0 ||
        /* the frames of other minutes than the new sample's: normally the previous minute */
        (ret = prepare(w->db, "SELECT ts, data FROM frames WHERE ts < ?1 OR ts >= ?2 ORDER BY ts", &w->frames_old,
                       on, e)) < 0 ||
        (ret = prepare(w->db, "DELETE FROM frames WHERE ts < ?1 OR ts >= ?2", &w->frames_del, on, e)) < 0 ||
        (ret = prepare(w->db, "SELECT data FROM chunks WHERE id = ?1", &w->chunk_get, on, e)) < 0 ||
        (ret = prepare(w->db, "INSERT OR REPLACE INTO chunks(id, data) VALUES(?1, ?2)", &w->chunk_put, on, e)) < 0 ||
        (ret = prepare(w->db, "INSERT OR REPLACE INTO rollups(series, minute, min, avg, max, n)"
                              " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                       &w->rollup_put, on, e)) < 0 ||
        /* At most ?3 chunks of the series (rows ?1 <= id < ?2): those before the cutoff
         * minute and the (?3+1)th oldest. */
        (ret = prepare(w->db,
                       "DELETE FROM chunks WHERE id >= ?1 AND id < coalesce("
                       "(SELECT id FROM chunks WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 1 OFFSET ?3), ?2)",
                       &w->prune_raw, on, e)) < 0 ||
        (ret = prepare(w->db,
                       "DELETE FROM rollups WHERE series = ?1 AND minute < coalesce("
                       "(SELECT minute FROM rollups WHERE series = ?1 AND minute < ?2 ORDER BY minute"
                       " LIMIT 1 OFFSET ?3), ?2)",
                       &w->prune_roll, on, e)) < 0)
        goto fail;
    return 0;
fail:
    writer_close(w);
    return ret;
}

static void reader_close(struct reader *r)
{
    sqlite3_stmt **sts[] = {&r->id,   &r->chunks,    &r->frames, &r->frames_desc, &r->chunk_last,   &r->roll,
                            &r->roll_last, &r->keys, &r->latest_all, &r->raw_v1, &r->latest_one_v1};
    for (size_t i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
        sqlite3_finalize(*sts[i]);
        *sts[i] = NULL;
    }
    if (r->db)
        sqlite3_close_v2(r->db);
    r->db = NULL;
}

static int reader_open(struct store *s, struct reader *r, struct pk_err *e)
{
    const char *on = s->path;
    int ret;
    int rc = open_conn(s, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, &r->db);
    if (rc != SQLITE_OK) {
        ret = sql_err(e, r->db, rc, on, "cannot open the history database for reading");
        goto fail;
    }
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, s->o.busy_timeout_ms);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", READER_CACHE_KIB);
    if ((ret = exec(r->db, sql, on, "cannot open the history database for reading", e)) < 0)
        goto fail;
    /* the writer checked the version; a file it could not convert (read-only) is still version 1 */
    r->version = pragma_int(r->db, "SELECT value FROM meta WHERE key = 'schema_version'", &r->version) == SQLITE_OK
                     ? r->version
                     : STORE_SCHEMA_VERSION;
    if ((ret = prepare(r->db, "SELECT id FROM series WHERE key = ?1", &r->id, on, e)) < 0 ||
        (ret = prepare(r->db, "SELECT minute, min, avg, max, n FROM rollups"
                              " WHERE series = ?1 AND minute >= ?2 AND minute <= ?3 ORDER BY minute",
                       &r->roll, on, e)) < 0 ||
        (ret = prepare(r->db, "SELECT max(minute) FROM rollups WHERE series = ?1", &r->roll_last, on, e)) < 0 ||
        (ret = prepare(r->db, "SELECT key FROM series WHERE key >= ?1 ORDER BY key", &r->keys, on, e)) < 0)
        goto fail;
    if (r->version < 2) {
        if ((ret = prepare(r->db, "SELECT ts, value FROM samples WHERE series = ?1 AND ts >= ?2 AND ts <= ?3"
                                  " ORDER BY ts",
                           &r->raw_v1, on, e)) < 0 ||
            (ret = prepare(r->db, "SELECT max(ts) FROM samples WHERE series = ?1", &r->latest_one_v1, on, e)) < 0)
            goto fail;
        return 0;
    }
    if ((ret = prepare(r->db, "SELECT id, data FROM chunks WHERE id >= ?1 AND id <= ?2 ORDER BY id", &r->chunks,
                       on, e)) < 0 ||
        (ret = prepare(r->db, "SELECT ts, data FROM frames WHERE ts >= ?1 AND ts <= ?2 ORDER BY ts", &r->frames, on,
                       e)) < 0 ||
        (ret = prepare(r->db, "SELECT ts, data FROM frames ORDER BY ts DESC", &r->frames_desc, on, e)) < 0 ||
        (ret = prepare(r->db, "SELECT id, data FROM chunks WHERE id >= ?1 AND id <= ?2 ORDER BY id DESC LIMIT 1",
                       &r->chunk_last, on, e)) < 0)
        goto fail;
    return 0;
fail:
    reader_close(r);
    return ret;
}

void store_opts_init(struct store_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->retention_raw_ms = STORE_RETENTION_RAW_DEFAULT_MS;
    o->retention_ms = STORE_RETENTION_DEFAULT_MS;
    o->busy_timeout_ms = BUSY_DEFAULT_MS;
    o->readers = READERS_DEFAULT;
}

int store_open(const char *path, const struct store_opts *o, struct store **out, struct pk_err *e)
{
    if (!out)
        return err_set(e, -EINVAL, "store_open", "invalid argument", "out is NULL");
    *out = NULL;
    if (!path || !*path)
        return err_set(e, -EINVAL, "--db", "invalid database path", "the path is empty");
    struct store_opts def;
    store_opts_init(&def);
    if (o) {
        if (o->retention_raw_ms < 0 || o->retention_ms < 0 || o->busy_timeout_ms < 0 || o->max_bytes < 0)
            return err_set(e, -EINVAL, path, "invalid store options", "negative retention, timeout or size");
        if (o->retention_raw_ms)
            def.retention_raw_ms = o->retention_raw_ms;
        if (o->retention_ms)
            def.retention_ms = o->retention_ms;
        if (o->busy_timeout_ms)
            def.busy_timeout_ms = o->busy_timeout_ms;
        if (o->readers)
            def.readers = o->readers;
        def.max_bytes = o->max_bytes;
        def.vfs = o->vfs;
    }
    /* Rollups are computed from raw samples when a minute ends. */
    if (def.retention_raw_ms < 2 * STORE_ROLLUP_MS)
        return err_set(e, -EINVAL, path, "invalid raw retention",
                       "%lld ms is under 2 minutes, and rollups are made from raw samples",
                       (long long)def.retention_raw_ms);
    if (def.retention_ms < STORE_ROLLUP_MS)
        return err_set(e, -EINVAL, path, "invalid retention", "%lld ms is under a minute",
                       (long long)def.retention_ms);
    if (def.readers > READERS_MAX)
        def.readers = READERS_MAX;

    int ret;
    struct store *s = calloc(1, sizeof(*s));
    if (!s)
        return err_errno(e, -ENOMEM, path, "cannot open the history database");
    s->o = def;
    s->path = strdup(path);
    s->r = calloc(def.readers, sizeof(*s->r));
    if (!s->path || !s->r) {
        ret = err_errno(e, -ENOMEM, path, "cannot open the history database");
        goto fail_alloc;
    }
    pthread_mutex_init(&s->w.mu, NULL);
    pthread_mutex_init(&s->errmu, NULL);
    if ((ret = writer_open(s, e)) < 0)
        goto fail_mutex;
    for (s->nr = 0; s->nr < def.readers; s->nr++) {
        pthread_mutex_init(&s->r[s->nr].mu, NULL);
        if ((ret = reader_open(s, &s->r[s->nr], e)) < 0) {
            pthread_mutex_destroy(&s->r[s->nr].mu);
            goto fail_readers;
        }
    }
    *out = s;
    return 0;

fail_readers:
    while (s->nr > 0) {
        s->nr--;
        reader_close(&s->r[s->nr]);
        pthread_mutex_destroy(&s->r[s->nr].mu);
    }
    writer_close(&s->w);
fail_mutex:
    pthread_mutex_destroy(&s->errmu);
    pthread_mutex_destroy(&s->w.mu);
fail_alloc:
    free(s->r);
    free(s->path);
    free(s);
    return ret;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    /* Readers first: the last connection to close checkpoints the WAL into
     * the database and removes it. */
    for (unsigned i = 0; i < s->nr; i++) {
        reader_close(&s->r[i]);
        pthread_mutex_destroy(&s->r[i].mu);
    }
    writer_close(&s->w);
    free(s->w.keybuf);
    free(s->w.vals);
    free(s->w.blob);
    pthread_mutex_destroy(&s->errmu);
    pthread_mutex_destroy(&s->w.mu);
    free(s->r);
    free(s->path);
    free(s);
}

uint64_t store_errors(const struct store *s)
{
    return s ? __atomic_load_n(&s->errors, __ATOMIC_RELAXED) : 0;
}

const char *store_last_error(const struct store *s, char *buf, size_t cap)
{
    if (!buf || !cap)
        return buf;
    buf[0] = '\0';
    if (!s)
        return buf;
    struct store *m = (struct store *)s;   /* the mutex is not part of the value */
    pthread_mutex_lock(&m->errmu);
    snprintf(buf, cap, "%s", s->lasterr);
    pthread_mutex_unlock(&m->errmu);
    return buf;
}

int store_set_max_bytes(struct store *s, int64_t max_bytes, struct pk_err *e)
{
    if (!s || max_bytes < 0)
        return err_set(e, -EINVAL, "store_set_max_bytes", "invalid argument", "negative size");
    pthread_mutex_lock(&s->w.mu);
    s->o.max_bytes = max_bytes;
    int ret = s->w.db ? set_max_pages(s, max_bytes, e) : 0;
    pthread_mutex_unlock(&s->w.mu);
    return ret;
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
        return sql_err(e, w->db, rc != SQLITE_ROW ? rc : rc2, s->path, "cannot add a series to the history");
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
    uint32_t id = seq[0].id;
    int64_t minute = floor_div(seq[0].ts, STORE_ROLLUP_MS);
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
        return sql_err(e, w->db, rc, s->path, "cannot store the raw samples of a minute");
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
    if ((rc = run(w->chunk_put)) != SQLITE_OK)
        return sql_err(e, w->db, rc, s->path, "cannot store the raw samples of a minute");
    sqlite3_bind_int64(w->rollup_put, 1, id);
    sqlite3_bind_int64(w->rollup_put, 2, minute);
    sqlite3_bind_double(w->rollup_put, 3, mn);
    sqlite3_bind_double(w->rollup_put, 4, sum / (double)k);
    sqlite3_bind_double(w->rollup_put, 5, mx);
    sqlite3_bind_int64(w->rollup_put, 6, (int64_t)k);
    if ((rc = run(w->rollup_put)) != SQLITE_OK)
        return sql_err(e, w->db, rc, s->path, "cannot store the rollups of a minute");
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
    struct samples l = {0};
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
        ret = sql_err(e, w->db, rc, s->path, "cannot store the rollups of a minute");
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
    if ((rc = run(w->frames_del)) != SQLITE_OK)
        ret = sql_err(e, w->db, rc, s->path, "cannot store the rollups of a minute");
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
        int rc = run(w->prune_raw);
        if (rc != SQLITE_OK)
            return sql_err(e, w->db, rc, s->path, "cannot prune old samples");
        sqlite3_bind_int64(w->prune_roll, 1, id);
        sqlite3_bind_int64(w->prune_roll, 2, roll_cut);
        sqlite3_bind_int(w->prune_roll, 3, PRUNE_BATCH_ROLLUPS);
        rc = run(w->prune_roll);
        if (rc != SQLITE_OK)
            return sql_err(e, w->db, rc, s->path, "cannot prune old rollups");
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
        reader_close(&s->r[i]);
    }
    writer_close(&s->w);
    int ret = writer_open(s, e);
    for (unsigned i = 0; i < s->nr; i++) {
        if (ret == 0)
            reader_open(s, &s->r[i], NULL);   /* or again when next used */
        pthread_mutex_unlock(&s->r[i].mu);
    }
    return ret;
}

static int append_locked(struct store *s, const struct metric_set *set,
                         bool (*want)(const struct metric_series *, void *), void *arg, struct pk_err *e)
{
    struct writer *w = &s->w;
    int ret, rc;
    if (!w->db || w->ro) {
        /* Opened read-only (or a reopen failed): try again, so writing
         * resumes once the file or its file system is writable. */
        if ((ret = reopen_all(s, e)) < 0)
            return ret;
        if (w->ro)
            return err_set(e, -EROFS, s->path, "cannot store the sample",
                           "the database is read-only (file permissions or a read-only file system)");
    }
    if (!w->ids_valid && (ret = load_ids(s, e)) < 0)
        return ret;

    int64_t ts = set->ts_ms;
    if (ts < 0 || ts > TS_MAX)
        return err_set(e, -EINVAL, s->path, "cannot store the sample", "its time (%lld ms) is out of range",
                       (long long)ts);
    if ((ret = reserve_vals(w, set->nseries)) < 0)
        return err_errno(e, ret, s->path, "cannot store the sample");
    rc = run(w->begin);
    if (rc != SQLITE_OK)
        return sql_err(e, w->db, rc, s->path, "cannot store the sample");
    /* the sample's frame: (series id, value) by id */
    size_t n = 0;
    for (size_t i = 0; i < set->nseries; i++) {
        const struct metric_series *m = &set->series[i];
        if (isnan(m->value) || (want && !want(m, arg)))
            continue;
        size_t len = 0;
        int64_t id = 0;
        if ((ret = key_of(s, set, m, &len, e)) < 0 || (ret = series_id(s, w->keybuf, len, &id, e)) < 0)
            goto rollback;
        /* frames hold u32 ids and chunk rows series << 32: a file past 2^31 series is not ours */
        if (id <= 0 || id > INT32_MAX) {
            ret = err_set(e, -EOVERFLOW, s->path, "cannot store the sample", "series id %lld out of range",
                          (long long)id);
            goto rollback;
        }
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
    n = k;

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
    /* a sample at a time already stored (the clock went back) replaces its series' values there */
    if (w->have_last && ts <= w->max_ts) {
        sqlite3_bind_int64(w->frame_get, 1, ts);
        rc = sqlite3_step(w->frame_get);
        size_t nold;
        const void *b = rc == SQLITE_ROW ? sqlite3_column_blob(w->frame_get, 0) : NULL;
        if (b && pack_frame_check(b, (size_t)sqlite3_column_bytes(w->frame_get, 0), &nold) == 0) {
            if ((ret = reserve_vals(w, n + nold)) < 0) {
                sqlite3_reset(w->frame_get);
                ret = err_errno(e, ret, s->path, "cannot store the sample");
                goto rollback;
            }
            for (size_t i = 0; i < nold; i++) {
                struct pack_value v = pack_frame_get(b, i);
                if (n == 0 || !bsearch(&v, w->vals, n, sizeof(*w->vals), cmp_value_id))
                    w->vals[k++] = v;
            }
            n = k;
            qsort(w->vals, n, sizeof(*w->vals), cmp_value_id);
        }
        sqlite3_reset(w->frame_get);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            ret = sql_err(e, w->db, rc, s->path, "cannot store the sample");
            goto rollback;
        }
    }
    if (n > 0) {
        size_t len = pack_frame_size(n);
        if ((ret = reserve_blob(w, len)) < 0) {
            ret = err_errno(e, ret, s->path, "cannot store the sample");
            goto rollback;
        }
        pack_frame(w->vals, n, w->blob);
        sqlite3_bind_int64(w->frame_ins, 1, ts);
        sqlite3_bind_blob(w->frame_ins, 2, w->blob, (int)len, SQLITE_STATIC);
        rc = run(w->frame_ins);
        if (rc != SQLITE_OK) {
            ret = sql_err(e, w->db, rc, s->path, "cannot store the sample");
            goto rollback;
        }
    }
    rc = run(w->commit);
    if (rc != SQLITE_OK) {
        ret = sql_err(e, w->db, rc, s->path, "cannot store the sample");
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
        run(w->rollback);
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

/* ---- reading ------------------------------------------------------------- */

/* A free read connection (or the next one to be free), locked; opened
 * again if a reopen of the store left it closed. */
static int reader_get(struct store *s, struct reader **out, struct pk_err *e)
{
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
    if (!r->db && (ret = reader_open(s, r, e)) < 0) {
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
        return sql_err(e, r->db, rc, s->path, "cannot read the history");
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
    if (k->npts == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 256;
        struct store_point *np = realloc(k->pts, ncap * sizeof(*np));
        if (!np)
            return -ENOMEM;
        k->pts = np;
        k->cap = ncap;
    }
    k->pts[k->npts++] = (struct store_point){
        .ts = k->from + k->b * k->step, .min = k->min, .avg = k->sum / (double)k->n, .max = k->max, .count = k->n};
    k->n = 0;
    return 0;
}

static inline int bucketer_add(struct bucketer *k, int64_t ts, double min, double max, double sum, uint64_t n)
{
    int64_t b = (ts - k->from) / k->step;
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
static int scan_raw_v1(struct store *s, struct reader *r, int64_t id, int64_t from, int64_t to, struct bucketer *k,
                       struct pk_err *e)
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
        ret = sql_err(e, r->db, rc, s->path, "cannot read the history");
    return ret;
}

/* The samples of one series in [from, to] from its chunks, one at a time in time order. */
struct chunk_cursor {
    sqlite3_stmt *st;
    int64_t from, to;
    const void *blob;          /* the current row's chunk (valid until the next step) */
    int64_t minute;
    size_t n, i;
    int rc;                    /* SQLITE_ROW while there may be more, else how it ended */
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
        if (pack_frame_find(sqlite3_column_blob(c->st, 1), (size_t)sqlite3_column_bytes(c->st, 1), c->id, &v)) {
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
static int scan_raw(struct store *s, struct reader *r, int64_t id, int64_t from, int64_t to, struct bucketer *k,
                    struct pk_err *e)
{
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
    int rc = cc.rc != SQLITE_ROW && cc.rc != SQLITE_DONE ? cc.rc : fc.rc != SQLITE_ROW && fc.rc != SQLITE_DONE ? fc.rc
                                                                                                              : SQLITE_OK;
    sqlite3_reset(r->chunks);
    sqlite3_reset(r->frames);
    if (!ret && rc != SQLITE_OK)
        ret = sql_err(e, r->db, rc, s->path, "cannot read the history");
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
        if (pack_frame_find(sqlite3_column_blob(r->frames_desc, 1), (size_t)sqlite3_column_bytes(r->frames_desc, 1),
                            (uint32_t)id, &v)) {
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
        ret = sql_err(e, r->db, rc, s->path, "cannot read the history");
    return ret;
}

/* Round steps for automatic choice; past a day, whole days. */
static int64_t round_step(int64_t min_step)
{
    static const int64_t nice[] = {
        1, 2, 5, 10, 20, 50, 100, 200, 500,
        1000, 2000, 5000, 10000, 15000, 30000,
        60000, 120000, 300000, 600000, 900000, 1800000,
        3600000, 7200000, 10800000, 21600000, 43200000, 86400000,
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
    uint64_t need = span / max_points + 1;    /* floor(span / step) + 1 <= max_points */
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
    struct bucketer k = {0};
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
            ret = sql_err(e, r->db, rc, s->path, "cannot read the history");
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
            ret = sql_err(e, r->db, rc, s->path, "cannot read the history");
            goto out;
        }
        int64_t tail = k.from;    /* raw samples from here: minutes not rolled up yet */
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
    case STORE_SOURCE_RAW:
        return "raw";
    case STORE_SOURCE_ROLLUP:
        return "rollup";
    default:
        return "auto";
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
            rc = SQLITE_DONE;    /* sorted: past the keys with this prefix */
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
        ret = sql_err(e, r->db, rc, s->path, "cannot list the series of the history");
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
        rc = newest_sample(r->db, r->version, &v, &null);
    }
    if (rc != SQLITE_OK) {
        ret = sql_err(e, r->db, rc, s->path, "cannot read the history");
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
