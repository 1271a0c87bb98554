/*
 * store - the monitor's local history: an embedded SQLite database (WAL)
 * holding raw samples of chosen series for a short time and one-minute
 * rollups (min, avg, max, count) for a long time, and the downsampled
 * queries the dashboard and /api/history make of it. Schema, durability,
 * retention and disk cost: docs/monitor-store.md.
 *
 * Durability: WAL with synchronous=NORMAL. A commit does not wait for
 * fsync; the log is synced when it is checkpointed (every 300 pages of log,
 * about a minute of samples at 40 series). A killed process (kill -9, a crash)
 * loses nothing committed, the OS has the writes; a power loss or kernel
 * crash can lose the commits since the last checkpoint; neither corrupts
 * the file.
 *
 * Ownership: store_open() returns a heap object freed by store_close().
 * store_history() and store_keys() return arrays the caller frees with
 * free() / store_keys_free(). The metric_set passed to store_append() is
 * only read during the call.
 *
 * Threads: one connection writes (store_append, store_set_max_bytes) behind
 * a mutex, so appends from several threads are serialised, though the agent
 * appends from its sampler thread only. Readers (store_history, store_keys,
 * store_latest_ts) use a small pool of read-only connections of their own,
 * each behind its own mutex, and may be called from any number of threads
 * at once; WAL lets them read while a sample is being written, seeing the
 * last committed sample. store_errors() and store_last_error() may be called
 * from any thread at any time. store_close() must not race with any other
 * call on the same store. While the file is read-only, each append reopens
 * every connection (SQLite shares a file's lock index among them), waiting
 * for the queries in progress.
 *
 * Errors: 0 on success, a negative code with a message in the pk_err:
 * -EINVAL (a bad argument: a programming or request error), -ENOENT (no such
 * series), -ENOMEM, -ENOSPC (database or disk full: SQLITE_FULL), -EROFS
 * (read-only database or file system: SQLITE_READONLY), -EIO (I/O error),
 * -EBUSY (locked by another process past the busy timeout), -EBADMSG
 * (corrupt file, or not a database), PK_ENOTSUP (a schema version newer than
 * this build knows), PK_EPARSE (a database that is not a perfkit store).
 * A failed store_append() leaves the database as it was before the sample
 * (the transaction is rolled back) and counts the failure in
 * store_errors(); the next append tries again from scratch, so writing
 * resumes by itself once space or write access returns.
 */
#ifndef PK_MONITOR_STORE_H
#define PK_MONITOR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

struct metric_set;
struct metric_series;
struct store;

#define STORE_SCHEMA_VERSION           2
#define STORE_RETENTION_RAW_DEFAULT_MS (48LL * 3600 * 1000)
#define STORE_RETENTION_DEFAULT_MS     (30LL * 24 * 3600 * 1000)
#define STORE_ROLLUP_MS                60000LL

struct store_opts {
    int64_t retention_raw_ms; /* raw samples kept this long; 0: 48 h */
    int64_t retention_ms;     /* one-minute rollups kept this long; 0: 30 d */
    int busy_timeout_ms;      /* wait for another process' lock; 0: 1000 */
    unsigned readers;         /* read connections in the pool; 0: 2 */
    int64_t max_bytes;        /* cap on the database's size (SQLite's
                                  max_page_count); past it appends fail with
                                  -ENOSPC as on a full disk. 0: none */
    const char *vfs;          /* SQLite VFS name; NULL: the default */
};

/* Zeroes mean defaults; this fills them in explicitly. */
void store_opts_init(struct store_opts *o);

/*
 * Opens (creating it if needed) the store at path; o may be NULL for the
 * defaults. A file whose permissions or file system forbid writing is opened
 * for reading: history queries work, appends fail with -EROFS and retry
 * opening for writing each time, so they resume when access returns. A file
 * written by a newer perfkit (an unknown schema version) or by something else
 * is an error naming the file.
 */
int store_open(const char *path, const struct store_opts *o, struct store **out, struct pk_err *e);
/*
 * What store_open() would find at path, checked without opening the
 * database or writing anything (--check-config runs it, as the start does):
 * path is a regular file or does not exist yet; its directory exists and,
 * for a file still to be created, is writable; an existing file that is not
 * empty begins as an SQLite database does (the schema is checked by
 * store_open). Errors name the setting, e->on = "--db".
 */
int store_check_path(const char *path, struct pk_err *e);
/* Closes the connections (checkpointing the WAL) and frees s; NULL is ignored. */
void store_close(struct store *s);

/*
 * Stores one sample: set->ts_ms with the value of every series of the set
 * for which want(series, arg) is true (want NULL: every series); NaN values
 * are skipped. One transaction: either every value of the sample is stored
 * or none is. When the sample is in a later minute than the previous one,
 * the same transaction stores the rollups of the previous minute and, at
 * most once a minute, prunes data past retention in bounded batches.
 * A sample at a time already stored replaces it.
 */
int store_append(struct store *s, const struct metric_set *set,
                 bool (*want)(const struct metric_series *, void *), void *arg, struct pk_err *e);

/* Appends that failed since open (perfkit_store_errors_total). */
uint64_t store_errors(const struct store *s);
/* The message of the last failed append ("" when none), copied into buf;
 * returns buf. */
const char *store_last_error(const struct store *s, char *buf, size_t cap);
/* Changes the size cap (bytes, 0: none) of the writing connection. */
int store_set_max_bytes(struct store *s, int64_t max_bytes, struct pk_err *e);

enum store_source {
    STORE_SOURCE_AUTO = 0, /* input only: let the store choose */
    STORE_SOURCE_RAW,      /* raw samples */
    STORE_SOURCE_ROLLUP,   /* one-minute rollups (plus raw samples of
                                  the minutes not rolled up yet) */
};
const char *store_source_name(enum store_source src); /* "auto", "raw", "rollup" */

/* One bucket of a history: the samples with ts in [ts, ts + step). */
struct store_point {
    int64_t ts; /* start of the bucket (ms) */
    double min, avg, max;
    uint64_t count; /* raw samples in the bucket */
};

/* Optional extra in and out of store_history: zeroed, it asks for nothing
 * special; `want` is never written, so one struct may serve many queries. */
struct store_history_info {
    enum store_source want;   /* in: AUTO (0), or force RAW or ROLLUP */
    enum store_source source; /* out: the source used (RAW or ROLLUP) */
    int64_t from_ms;          /* out: the start of the first bucket */
    int64_t step_ms;          /* out: the step used */
};

/*
 * The series `key` (metric_key's form) between from_ms and to_ms inclusive,
 * in buckets of step_ms starting at from_ms: step_ms 0 picks a round step
 * (1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1 min, ...) giving at most max_points
 * buckets; a given step is raised if it gives more. Raw samples are used
 * when the whole range is within raw retention (measured from the newest
 * sample) and the step is under a minute; otherwise the one-minute rollups,
 * with from_ms rounded down to a minute and the step up to whole minutes
 * (a minute is counted whole, also the one holding to_ms), plus the raw
 * samples of the minutes not rolled up yet.
 * Buckets without samples are left out, so *n <= max_points. On success
 * *out is a malloc'd array of *n points (NULL when *n is 0) the caller
 * frees with free(). info may be NULL.
 * Errors: -EINVAL (from > to, from < 0, step < 0, max_points 0, key NULL or
 * empty), -ENOENT (no series by that key), database errors as above.
 */
int store_history(struct store *s, const char *key, int64_t from_ms, int64_t to_ms, int64_t step_ms,
                  size_t max_points, struct store_point **out, size_t *n, struct store_history_info *info,
                  struct pk_err *e);

/*
 * The keys of the known series starting with prefix (NULL or "": all), in
 * byte order, at most max of them (0: no limit). *out is a malloc'd array of
 * *n malloc'd strings: free with store_keys_free().
 */
int store_keys(struct store *s, const char *prefix, size_t max, char ***out, size_t *n, struct pk_err *e);
void store_keys_free(char **keys, size_t n);

/* The time of the newest stored sample of series key (NULL: of any series),
 * in *ts_ms; -ENOENT when there is none. */
int store_latest_ts(struct store *s, const char *key, int64_t *ts_ms, struct pk_err *e);

#endif
