/*
 * store - opening and closing the history store: the writing connection and
 * the pool of read-only ones, SQLite's errors as negative codes, and the
 * small statement helpers the other parts use (store_impl.h).
 */
#include "monitor/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "monitor/store_impl.h"

static int sqlite_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return 0;
    case SQLITE_FULL: return -ENOSPC;
    case SQLITE_READONLY: return -EROFS;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return -EBUSY;
    case SQLITE_NOMEM: return -ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return -EBADMSG;
    case SQLITE_PERM:
    case SQLITE_AUTH: return -EACCES;
    case SQLITE_TOOBIG: return -E2BIG;
    case SQLITE_RANGE:
    case SQLITE_MISUSE: return -EINVAL;
    case SQLITE_IOERR: return rc == SQLITE_IOERR_NOMEM ? -ENOMEM : -EIO;
    default: return -EIO;
    }
}

/* A failed SQLite call on db as a pk_err: SQLite's message, with the system
 * error where SQLite had one (a full disk, a permission). */
int store_sql_err(struct pk_err *e, sqlite3 *db, int rc, const char *on, const char *what)
{
    int code = sqlite_code(rc);
    if (code == 0)
        code = -EIO;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int sys = db ? sqlite3_system_errno(db) : 0;
    if (sys && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_FULL ||
                (rc & 0xff) == SQLITE_READONLY)) {
        if ((rc & 0xff) == SQLITE_CANTOPEN)
            code = -sys;
        return err_set(e, code, on, what, "%s (%s)", msg, strerror(sys));
    }
    return err_set(e, code, on, what, "%s", msg);
}

int store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *on, struct pk_err *e)
{
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc != SQLITE_OK)
        return store_sql_err(e, db, rc, on, "cannot prepare a statement of the history store");
    return 0;
}

/* Steps a statement that returns no row (or ignores it), and resets it. */
int store_run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int store_exec(sqlite3 *db, const char *sql, const char *on, const char *what, struct pk_err *e)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store_sql_err(e, db, rc, on, what);
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
        return store_sql_err(e, s->w.db, rc, s->path, "cannot read the page size");
    int64_t pages = max_bytes > 0 ? max_bytes / (page > 0 ? page : 4096) : s->w.default_max_pages;
    if (pages < 1)
        pages = 1;
    if (pages > 2147483647)
        pages = 2147483647;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages);
    rc = pragma_int(s->w.db, sql, NULL);
    if (rc != SQLITE_OK)
        return store_sql_err(e, s->w.db, rc, s->path, "cannot set the size limit");
    return 0;
}

void store_writer_close(struct writer *w)
{
    sqlite3_stmt **sts[] = { &w->begin,     &w->commit,     &w->rollback,   &w->series_ins, &w->series_all,
                             &w->frame_ins, &w->frame_get,  &w->frames_old, &w->frames_del, &w->chunk_get,
                             &w->chunk_put, &w->rollup_put, &w->prune_raw,  &w->prune_roll };
    for (size_t i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
        sqlite3_finalize(*sts[i]);
        *sts[i] = NULL;
    }
    if (w->db)
        sqlite3_close_v2(w->db);
    w->db = NULL;
    store_idmap_clear(&w->ids);
    w->ids_valid = false;
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
    static const char *const sfx[] = { "-wal", "-shm" };
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

int store_writer_open(struct store *s, struct pk_err *e)
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

/* The connection's journal and cache settings; WAL unless the file is read-only. */
static int writer_setup(struct store *s, struct pk_err *e)
{
    struct writer *w = &s->w;
    const char *on = s->path;
    int ret;
    /* A new file gets 1 KiB pages: a commit rewrites the newest page of
     * frames (a sample of 40 series is some 500 bytes), and once a minute a
     * page per series; smaller pages write fewer bytes. No effect on an
     * existing file. */
    if ((ret = store_exec(w->db, "PRAGMA page_size = " PAGE_SIZE_STR, on, "cannot open the history database",
                          e)) < 0)
        return ret;
    /* WAL: readers never block the writer nor it them, and a commit is an
     * append to the log. synchronous=NORMAL: a commit does not wait for
     * fsync (the log is synced at checkpoints); a kill of the process loses
     * nothing committed (the OS has the writes), a power loss can lose the
     * commits since the last checkpoint but never corrupts the database. */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(w->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return store_sql_err(e, w->db, rc, on, "cannot open the history database");
    }
    bool wal = !strcmp(
        (const char *)sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "", "wal");
    sqlite3_finalize(st);
    if (!wal && !w->ro)
        return err_set(e, -EIO, on, "cannot open the history database",
                       "SQLite refused write-ahead logging (a file system without shared memory?)");
    char sql[200];
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -%d; PRAGMA journal_size_limit = %d;"
             " PRAGMA wal_autocheckpoint = %d",
             WRITER_CACHE_KIB, WAL_SIZE_LIMIT, WAL_CHECKPOINT_PAGES);
    return store_exec(w->db, sql, on, "cannot open the history database", e);
}

/* The statements of an append, prepared once per connection. */
static int writer_prepare(struct store *s, struct pk_err *e)
{
    struct writer *w = &s->w;
    const struct {
        sqlite3_stmt **st;
        const char *sql;
    } sts[] = {
        { &w->begin, "BEGIN IMMEDIATE" },
        { &w->commit, "COMMIT" },
        { &w->rollback, "ROLLBACK" },
        { &w->series_ins, "INSERT INTO series(key) VALUES(?1) RETURNING id" },
        { &w->frame_ins, "INSERT OR REPLACE INTO frames(ts, data) VALUES(?1, ?2)" },
        { &w->frame_get, "SELECT data FROM frames WHERE ts = ?1" },
        /* the frames of other minutes than the new sample's: normally the previous minute */
        { &w->frames_old, "SELECT ts, data FROM frames WHERE ts < ?1 OR ts >= ?2 ORDER BY ts" },
        { &w->frames_del, "DELETE FROM frames WHERE ts < ?1 OR ts >= ?2" },
        { &w->chunk_get, "SELECT data FROM chunks WHERE id = ?1" },
        { &w->chunk_put, "INSERT OR REPLACE INTO chunks(id, data) VALUES(?1, ?2)" },
        { &w->rollup_put, "INSERT OR REPLACE INTO rollups(series, minute, min, avg, max, n)"
                          " VALUES(?1, ?2, ?3, ?4, ?5, ?6)" },
        /* At most ?3 chunks of the series (rows ?1 <= id < ?2): those before the cutoff
         * minute and the (?3+1)th oldest. */
        { &w->prune_raw,
          "DELETE FROM chunks WHERE id >= ?1 AND id < coalesce("
          "(SELECT id FROM chunks WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 1 OFFSET ?3), ?2)" },
        { &w->prune_roll, "DELETE FROM rollups WHERE series = ?1 AND minute < coalesce("
                          "(SELECT minute FROM rollups WHERE series = ?1 AND minute < ?2 ORDER BY minute"
                          " LIMIT 1 OFFSET ?3), ?2)" },
    };
    for (size_t i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
        int ret = store_prepare(w->db, sts[i].sql, sts[i].st, s->path, e);
        if (ret < 0)
            return ret;
    }
    return 0;
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
        ret = store_sql_err(e, w->db, rc, on, "cannot open the history database");
        goto fail;
    }
    sqlite3_extended_result_codes(w->db, 1);
    sqlite3_busy_timeout(w->db, s->o.busy_timeout_ms);
    w->ro = w->ro_at_open = sqlite3_db_readonly(w->db, "main") == 1;
    if ((ret = writer_setup(s, e)) < 0)
        goto fail;
    ret = store_schema_check(s, w->db, w->ro, &w->version, e);
    if (ret < 0)
        goto fail;
    rc = pragma_int(w->db, "PRAGMA max_page_count", &w->default_max_pages);
    if (rc != SQLITE_OK) {
        ret = store_sql_err(e, w->db, rc, on, "cannot open the history database");
        goto fail;
    }
    if (s->o.max_bytes > 0 && (ret = set_max_pages(s, s->o.max_bytes, e)) < 0)
        goto fail;
    if ((ret = store_prepare(w->db, "SELECT id, key FROM series", &w->series_all, on, e)) < 0 ||
        (ret = store_load_ids(s, e)) < 0)
        goto fail;
    bool null = true;
    rc = store_newest_sample(w->db, w->version, &w->last_ts, &null);
    if (rc != SQLITE_OK) {
        ret = store_sql_err(e, w->db, rc, on, "cannot read the history database");
        goto fail;
    }
    w->have_last = !null;
    w->max_ts = w->last_ts;
    if (w->version < 2)
        return 0; /* read-only version 1: nothing is written until it is writable and converted */
    if ((ret = writer_prepare(s, e)) < 0)
        goto fail;
    return 0;
fail:
    store_writer_close(w);
    return ret;
}

void store_reader_close(struct reader *r)
{
    sqlite3_stmt **sts[] = { &r->id,         &r->chunks, &r->frames,       &r->frames_desc,
                             &r->chunk_last, &r->roll,   &r->roll_last,    &r->keys,
                             &r->latest_all, &r->raw_v1, &r->latest_one_v1 };
    for (size_t i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
        sqlite3_finalize(*sts[i]);
        *sts[i] = NULL;
    }
    if (r->db)
        sqlite3_close_v2(r->db);
    r->db = NULL;
}

int store_reader_open(struct store *s, struct reader *r, struct pk_err *e)
{
    const char *on = s->path;
    int ret;
    int rc = open_conn(s, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, &r->db);
    if (rc != SQLITE_OK) {
        ret = store_sql_err(e, r->db, rc, on, "cannot open the history database for reading");
        goto fail;
    }
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, s->o.busy_timeout_ms);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", READER_CACHE_KIB);
    if ((ret = store_exec(r->db, sql, on, "cannot open the history database for reading", e)) < 0)
        goto fail;
    /* the writer checked the version; a file it could not convert (read-only) is still version 1 */
    r->version =
        pragma_int(r->db, "SELECT value FROM meta WHERE key = 'schema_version'", &r->version) == SQLITE_OK
            ? r->version
            : STORE_SCHEMA_VERSION;
    if ((ret = store_prepare(r->db, "SELECT id FROM series WHERE key = ?1", &r->id, on, e)) < 0 ||
        (ret = store_prepare(r->db,
                             "SELECT minute, min, avg, max, n FROM rollups"
                             " WHERE series = ?1 AND minute >= ?2 AND minute <= ?3 ORDER BY minute",
                             &r->roll, on, e)) < 0 ||
        (ret = store_prepare(r->db, "SELECT max(minute) FROM rollups WHERE series = ?1", &r->roll_last, on,
                             e)) < 0 ||
        (ret = store_prepare(r->db, "SELECT key FROM series WHERE key >= ?1 ORDER BY key", &r->keys, on, e)) <
            0)
        goto fail;
    if (r->version < 2) {
        if ((ret = store_prepare(r->db,
                                 "SELECT ts, value FROM samples WHERE series = ?1 AND ts >= ?2 AND ts <= ?3"
                                 " ORDER BY ts",
                                 &r->raw_v1, on, e)) < 0 ||
            (ret = store_prepare(r->db, "SELECT max(ts) FROM samples WHERE series = ?1", &r->latest_one_v1,
                                 on, e)) < 0)
            goto fail;
        return 0;
    }
    if ((ret = store_prepare(r->db, "SELECT id, data FROM chunks WHERE id >= ?1 AND id <= ?2 ORDER BY id",
                             &r->chunks, on, e)) < 0 ||
        (ret = store_prepare(r->db, "SELECT ts, data FROM frames WHERE ts >= ?1 AND ts <= ?2 ORDER BY ts",
                             &r->frames, on, e)) < 0 ||
        (ret = store_prepare(r->db, "SELECT ts, data FROM frames ORDER BY ts DESC", &r->frames_desc, on, e)) <
            0 ||
        (ret = store_prepare(
             r->db, "SELECT id, data FROM chunks WHERE id >= ?1 AND id <= ?2 ORDER BY id DESC LIMIT 1",
             &r->chunk_last, on, e)) < 0)
        goto fail;
    return 0;
fail:
    store_reader_close(r);
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

/* The directory part of path, "." for a bare name, in dir[PATH_MAX]. */
static void dir_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, PATH_MAX, ".");
    else if (slash == path)
        snprintf(dir, PATH_MAX, "/");
    else
        snprintf(dir, PATH_MAX, "%.*s", (int)(slash - path), path);
}

int store_check_path(const char *path, struct pk_err *e)
{
    static const char what[] = "unusable history database";
    if (!path || !*path)
        return err_set(e, -EINVAL, "--db", what, "the path is empty");
    char q[PATH_MAX / 4];
    err_quote(path, strlen(path), q, sizeof(q));
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return err_set(e, -EISDIR, "--db", what, "'%s' is a directory (give a file in it)", q);
        if (!S_ISREG(st.st_mode))
            return err_set(e, -EINVAL, "--db", what, "'%s' is not a regular file", q);
        if (st.st_size == 0)
            return 0; /* SQLite makes an empty file a new database */
        /* "SQLite format 3" and a NUL: the header of every SQLite 3 database */
        static const char magic[16] = "SQLite format 3";
        char head[16];
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            return err_set(e, -errno, "--db", what, "cannot read '%s': %s", q, strerror(errno));
        ssize_t n = read(fd, head, sizeof(head));
        int err = errno;
        close(fd);
        if (n < 0)
            return err_set(e, -err, "--db", what, "cannot read '%s': %s", q, strerror(err));
        if (n < (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0)
            return err_set(e, -EBADMSG, "--db", what, "'%s' is not an SQLite database", q);
        return 0;
    }
    if (errno != ENOENT && errno != ENOTDIR)
        return err_set(e, -errno, "--db", what, "'%s': %s", q, strerror(errno));
    /* created at the start: its directory must take a new file */
    char dir[PATH_MAX], qd[PATH_MAX / 4];
    dir_of(path, dir);
    err_quote(dir, strlen(dir), qd, sizeof(qd));
    if (stat(dir, &st) != 0)
        return err_set(e, -errno, "--db", what, "cannot create '%s': directory '%s': %s", q, qd,
                       strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(e, -ENOTDIR, "--db", what, "cannot create '%s': '%s' is not a directory", q, qd);
    if (access(dir, W_OK | X_OK) != 0)
        return err_set(e, -errno, "--db", what, "cannot create '%s' in directory '%s': %s", q, qd,
                       strerror(errno));
    return 0;
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
    if ((ret = store_writer_open(s, e)) < 0)
        goto fail_mutex;
    for (s->nr = 0; s->nr < def.readers; s->nr++) {
        pthread_mutex_init(&s->r[s->nr].mu, NULL);
        if ((ret = store_reader_open(s, &s->r[s->nr], e)) < 0) {
            pthread_mutex_destroy(&s->r[s->nr].mu);
            goto fail_readers;
        }
    }
    *out = s;
    return 0;

fail_readers:
    while (s->nr > 0) {
        s->nr--;
        store_reader_close(&s->r[s->nr]);
        pthread_mutex_destroy(&s->r[s->nr].mu);
    }
    store_writer_close(&s->w);
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
        store_reader_close(&s->r[i]);
        pthread_mutex_destroy(&s->r[i].mu);
    }
    store_writer_close(&s->w);
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
    struct store *m = (struct store *)s; /* the mutex is not part of the value */
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
