/*
 * store_schema - the history store's schema: created in a new file, its
 * version checked in an existing one, and a version 1 file (one row per
 * series and sample) converted to version 2 (frames and chunks) once, in
 * the transaction that opens it for writing.
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "monitor/store_impl.h"

/*
 * Version 2. A sample is one row of frames until its minute ends; then the
 * minute's frames become one chunk per series (and one rollup per series)
 * in the same transaction. So a commit writes the newest page of frames,
 * not the newest page of every series, and a series' raw history is one row
 * per minute, clustered by series (id = series << 32 | minute) for range
 * scans. Layout and reasons: docs/monitor-store.md.
 */
static const char SCHEMA_TABLES_SQL[] = "CREATE TABLE frames(ts INTEGER PRIMARY KEY, data BLOB NOT NULL);"
                                        "CREATE TABLE chunks(id INTEGER PRIMARY KEY, data BLOB NOT NULL,"
                                        " series INTEGER GENERATED ALWAYS AS (id >> 32) VIRTUAL,"
                                        " minute INTEGER GENERATED ALWAYS AS (id & 4294967295) VIRTUAL);";

static const char SCHEMA_SQL[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE series(id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL);"
    "CREATE TABLE rollups(series INTEGER, minute INTEGER, min REAL, avg REAL, max REAL, n INTEGER,"
    " PRIMARY KEY(series, minute)) WITHOUT ROWID;"
    "INSERT INTO meta(key, value) VALUES('application', 'perfkit monitor');";

/* ---- version 1 -> 2 ------------------------------------------------------ */

/* By time, then series. */
static int cmp_time_series(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
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
    return store_run(put);
}

static int mig_add_tail(struct mig *m, int64_t series, int64_t ts, double v)
{
    if (m->ntail == m->captail) {
        size_t cap = m->captail ? 2 * m->captail : 256;
        void *t = realloc(m->tail, cap * sizeof(*m->tail));
        if (!t)
            return -ENOMEM;
        m->tail = t;
        m->captail = cap;
    }
    m->tail[m->ntail++] = (struct sample){ (uint32_t)series, ts, v };
    return 0;
}

static int mig_add_point(struct mig *m, int64_t ts, double v)
{
    if (m->npts == m->cappts) {
        size_t cap = m->cappts ? 2 * m->cappts : 128;
        struct pack_point *p = realloc(m->pts, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        m->pts = p;
        m->cappts = cap;
    }
    m->pts[m->npts++] = (struct pack_point){ ts, v };
    return 0;
}

/*
 * Every sample of the table, by series and time: those of finished minutes
 * into one chunk per series and minute, those of the newest minute
 * (last_min) kept in m->tail for mig_tail_frames.
 */
static int mig_chunks(sqlite3 *db, sqlite3_stmt *all, sqlite3_stmt *put, struct mig *m, int64_t last_min,
                      const char *on, const char *what, struct pk_err *e)
{
    int64_t cur_series = -1, cur_min = 0;
    int rc;
    while ((rc = sqlite3_step(all)) == SQLITE_ROW) {
        int64_t series = sqlite3_column_int64(all, 0), ts = sqlite3_column_int64(all, 1);
        double v = sqlite3_column_double(all, 2);
        if (series < 0 || series > UINT32_MAX / 2 || ts < 0 || ts > TS_MAX || isnan(v))
            continue; /* nothing version 1 wrote */
        int64_t minute = floor_div(ts, STORE_ROLLUP_MS);
        if (minute >= last_min) {
            /* the newest minute: frames, built once all of it is known */
            if (mig_add_tail(m, series, ts, v) < 0)
                return err_errno(e, -ENOMEM, on, what);
            continue;
        }
        if (series != cur_series || minute != cur_min) {
            if ((rc = mig_chunk(put, m, cur_series, cur_min)) != SQLITE_OK)
                return store_sql_err(e, db, rc, on, what);
            cur_series = series;
            cur_min = minute;
        }
        if (mig_add_point(m, ts, v) < 0)
            return err_errno(e, -ENOMEM, on, what);
    }
    if (rc != SQLITE_DONE || (rc = mig_chunk(put, m, cur_series, cur_min)) != SQLITE_OK)
        return store_sql_err(e, db, rc, on, what);
    return 0;
}

/* The newest minute's samples (m->tail) by time, then series: one frame per time. */
static int mig_tail_frames(sqlite3 *db, sqlite3_stmt *frame, struct mig *m, const char *on, const char *what,
                           struct pk_err *e)
{
    if (m->ntail > 1)
        qsort(m->tail, m->ntail, sizeof(*m->tail), cmp_time_series);
    struct pack_value *vals = m->ntail ? malloc(m->ntail * sizeof(*vals)) : NULL;
    if (m->ntail && !vals)
        return err_errno(e, -ENOMEM, on, what);
    int ret = 0;
    for (size_t i = 0; i < m->ntail && ret == 0;) {
        size_t j = i, n = 0;
        for (; j < m->ntail && m->tail[j].ts == m->tail[i].ts; j++)
            vals[n++] = (struct pack_value){ m->tail[j].id, m->tail[j].v };
        size_t len = pack_frame_size(n);
        if (mig_blob(m, len) < 0) {
            ret = err_errno(e, -ENOMEM, on, what);
            break;
        }
        pack_frame(vals, n, m->blob);
        sqlite3_bind_int64(frame, 1, m->tail[i].ts);
        sqlite3_bind_blob(frame, 2, m->blob, (int)len, SQLITE_STATIC);
        int rc = store_run(frame);
        if (rc != SQLITE_OK)
            ret = store_sql_err(e, db, rc, on, what);
        i = j;
    }
    free(vals);
    return ret;
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
    int ret = store_exec(db, SCHEMA_TABLES_SQL, on, what, e);
    if (ret < 0)
        return ret;
    sqlite3_stmt *latest = NULL, *all = NULL, *put = NULL, *frame = NULL;
    struct mig m = { 0 };
    int rc = sqlite3_prepare_v2(db, STORE_LATEST_ALL_V1_SQL, -1, &latest, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(latest);
    if (rc != SQLITE_ROW) {
        ret = store_sql_err(e, db, rc, on, what);
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
        ret = store_sql_err(e, db, rc, on, what);
        goto out;
    }
    if (!empty && (ret = mig_chunks(db, all, put, &m, last_min, on, what, e)) < 0)
        goto out;
    if ((ret = mig_tail_frames(db, frame, &m, on, what, e)) < 0)
        goto out;
    /* no statement may be reading the table that is dropped */
    sqlite3_finalize(latest);
    sqlite3_finalize(all);
    latest = all = NULL;
    char sql[96];
    snprintf(sql, sizeof(sql), "DROP TABLE samples; UPDATE meta SET value = %d WHERE key = 'schema_version'",
             STORE_SCHEMA_VERSION);
    ret = store_exec(db, sql, on, what, e);
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
int store_schema_check(struct store *s, sqlite3 *db, bool ro, int *version, struct pk_err *e)
{
    const char *on = s->path;
    int ret;
    ret = store_exec(db, ro ? "BEGIN" : "BEGIN IMMEDIATE", on, "cannot open the history database", e);
    if (ret < 0)
        return ret;
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(db,
                           "SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table'),"
                           " (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
                           -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        ret = store_sql_err(e, db, rc, on, "cannot read the history database");
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
        ret = store_exec(db, SCHEMA_SQL, on, "cannot create the history database", e);
        if (ret == 0)
            ret = store_exec(db, SCHEMA_TABLES_SQL, on, "cannot create the history database", e);
        if (ret < 0)
            goto out;
        char sql[96];
        snprintf(sql, sizeof(sql), "INSERT INTO meta(key, value) VALUES('schema_version', %d)",
                 STORE_SCHEMA_VERSION);
        ret = store_exec(db, sql, on, "cannot create the history database", e);
        if (ret < 0)
            goto out;
        ret = store_exec(db, "COMMIT", on, "cannot create the history database", e);
        if (ret < 0)
            goto out;
        *version = STORE_SCHEMA_VERSION;
        return 0;
    }
    rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        ret = store_sql_err(e, db, rc, on, "cannot read the schema version of the history database");
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
        ret =
            err_set(e, PK_EPARSE, on, "not a perfkit history database", "schema version %lld", (long long)v);
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Version 1 kept a row per series and sample: converted once, in this transaction. A
     * read-only file stays as it is and is read as version 1 until it can be written. */
    if (v == 1 && !ro && (ret = migrate_v1(s, db, e)) < 0)
        goto out;
    ret = store_exec(db, "COMMIT", on, "cannot open the history database", e);
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
