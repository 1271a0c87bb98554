/*
 * store_impl - what the parts of the history store share (store.h is the
 * contract; this is private to src/monitor/store*.c):
 *   store.c         opening and closing the connections (writer, readers),
 *                   SQLite error mapping and the small statement helpers;
 *   store_schema.c  creating the schema, checking its version, and converting
 *                   a version 1 file to version 2;
 *   store_write.c   appends: frames, the minute's chunks and rollups, pruning;
 *   store_query.c   history, keys and latest-sample queries on the readers.
 *
 * Locks: s->w.mu guards the writer (every field of struct writer but mu);
 * each reader's mu guards that reader; s->errmu guards s->lasterr.
 */
#ifndef PK_MONITOR_STORE_IMPL_H
#define PK_MONITOR_STORE_IMPL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "monitor/pack.h"
#include "monitor/store.h"

/*
 * Minutes of raw samples (chunks) deleted per series in one pruning pass
 * (once a minute): ten times what a minute adds, so a backlog (after a
 * retention was shortened) is worked off at 10x while no single commit
 * grows long.
 */
#define PRUNE_BATCH 10
/* Rollups deleted per series in one pass (a minute adds one). */
#define PRUNE_BATCH_ROLLUPS 600
#define READERS_DEFAULT     2u
#define READERS_MAX         16u
#define BUSY_DEFAULT_MS     1000
/* Page caches in KiB. The writer touches the newest frame page, and once a
 * minute one chunk and one rollup page per series; readers scan ranges once
 * and rely on the OS page cache; so small caches cost little and keep the
 * agent's resident memory flat (SQLite fills a cache before it reuses it). */
#define WRITER_CACHE_KIB 256
#define READER_CACHE_KIB 256
#define WAL_SIZE_LIMIT   (16 * 1024 * 1024)
/* The log is synced when it is checkpointed: at this many pages, about a
 * minute of samples of 40 series (3 pages per sample, some 150 when a minute
 * ends), which bounds what a power loss can take (SQLite's default, 1000
 * pages, would be three minutes). */
#define WAL_CHECKPOINT_PAGES 300
#define PAGE_SIZE_STR        "1024"
/* Times past 2^53 ms (the year 287,396) are not stored, and a query's end
 * is clamped to it, so step arithmetic never overflows. */
#define TS_MAX (1LL << 53)
/* A chunk's row id: series << 32 | minute (minutes since the epoch fit 32 bits until the year 10136). */
#define CHUNK_SHIFT 32
#define MINUTE_MAX  0xffffffffLL

/* ---- series key -> id, open addressing ----------------------------------- */

struct idslot {
    uint64_t hash;
    char *key; /* NULL: empty slot */
    int64_t id;
};

struct idmap {
    struct idslot *slot;
    size_t cap, n; /* cap a power of two */
};

/* ---- the store ----------------------------------------------------------- */

struct writer {
    pthread_mutex_t mu;
    sqlite3 *db;
    bool ro;         /* opened read-only: appends retry opening */
    bool ro_at_open; /* SQLite opened the file read-only (writer_open_once) */
    int version;     /* schema version of the file (1 only while read-only) */
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *series_ins, *series_all, *frame_ins, *frame_get, *frames_old, *frames_del;
    sqlite3_stmt *chunk_get, *chunk_put, *rollup_put, *prune_raw, *prune_roll;
    struct idmap ids;
    bool ids_valid;  /* false after a rollback: reloaded before use */
    int64_t last_ts; /* the newest committed sample */
    int64_t max_ts;  /* the latest time committed (last_ts unless time went back) */
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
    int version; /* 1: a file left in the old layout (read-only) */
    sqlite3_stmt *id, *chunks, *frames, *frames_desc, *chunk_last, *roll, *roll_last, *keys, *latest_all;
    sqlite3_stmt *raw_v1, *latest_one_v1;
};

struct store {
    char *path;
    struct store_opts o;
    struct writer w;
    struct reader *r;
    unsigned nr;
    unsigned rr;     /* round robin over readers (atomic) */
    bool immutable;  /* opened as file:PATH?immutable=1 (see open_conn) */
    uint64_t errors; /* atomic */
    pthread_mutex_t errmu;
    char lasterr[sizeof(((struct pk_err *)0)->what) + sizeof(((struct pk_err *)0)->on) +
                 sizeof(((struct pk_err *)0)->why) + 8];
};

/* One sample of one series: the unit the minute's frames are regrouped in
 * (by the migration and when a minute ends). */
struct sample {
    uint32_t id;
    int64_t ts;
    double v;
};

/* Version 1's newest sample: one seek per series of its (series, ts) primary key. */
#define STORE_LATEST_ALL_V1_SQL "SELECT max((SELECT max(ts) FROM samples WHERE series = s.id)) FROM series s"

/* A chunk's row id. */
static inline int64_t chunk_id(int64_t series, int64_t minute)
{
    return (int64_t)((uint64_t)series << CHUNK_SHIFT) | minute;
}

static inline int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* ---- store.c: connections and statement helpers ---- */

/* A failed SQLite call on db as a pk_err: SQLite's message, with the system
 * error where SQLite had one (a full disk, a permission). */
int store_sql_err(struct pk_err *e, sqlite3 *db, int rc, const char *on, const char *what);
int store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *on, struct pk_err *e);
/* Steps a statement that returns no row (or ignores it), and resets it. */
int store_run(sqlite3_stmt *st);
int store_exec(sqlite3 *db, const char *sql, const char *on, const char *what, struct pk_err *e);
/* Opens the writer (falling back to an immutable read-only file) and closes it;
 * writer_close is a no-op on a closed or zeroed writer. */
int store_writer_open(struct store *s, struct pk_err *e);
void store_writer_close(struct writer *w);
/* Opens a reader connection and closes it (a no-op on a closed or zeroed one). */
int store_reader_open(struct store *s, struct reader *r, struct pk_err *e);
void store_reader_close(struct reader *r);

/* ---- store_schema.c ---- */

/*
 * Creates the schema in a new database, or checks the version of an
 * existing one, converting a version 1 file unless it is read-only. The
 * version of the file in *version.
 */
int store_schema_check(struct store *s, sqlite3 *db, bool ro, int *version, struct pk_err *e);

/* ---- store_write.c ---- */

/* (Re)loads the writer's series cache from the series table. */
int store_load_ids(struct store *s, struct pk_err *e);
/* Empties the series cache (a no-op on a zeroed one). */
void store_idmap_clear(struct idmap *m);

/* ---- store_query.c ---- */

/* The newest sample of the file, of either version; *null when it has none. */
int store_newest_sample(sqlite3 *db, int version, int64_t *ts, bool *null);

#endif
