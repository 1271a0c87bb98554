/*
 * fs_pool - statvfs(2) on worker threads, so that a caller never waits on a
 * hung filesystem (a dead NFS server, a stuck disk) for longer than a
 * timeout. The mount-table reader (sys/fs.h) asks it for the usage of every
 * mount it cannot prove safe to ask on its own thread.
 *
 * A mount point whose call timed out is "stuck" and not asked again while
 * that call still hangs; the number of worker threads alive at once
 * (running or stuck) is bounded. Workers are threads that live on between
 * calls (a call hands its paths to an idle one, or starts one), each with
 * every signal blocked.
 *
 * Ownership: callers own a struct fs_pool; fs_pool_init() before use,
 * fs_pool_destroy() once no call is in progress (it is a no-op on a zeroed
 * or destroyed pool). Destroying with calls still stuck is fine: each stuck
 * worker frees what it shares with the pool when it returns, and touches
 * nothing else; idle workers are joined.
 * Threads: a pool may be shared by threads (it has its own lock); the
 * function a call runs (fs_stat_fn) runs on a worker.
 * Errors: negative errno, as each function says.
 */
#ifndef PK_SYS_FS_POOL_H
#define PK_SYS_FS_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What statvfs says, in its own units (blocks of bsize bytes). */
struct fs_usage {
    uint64_t bsize, blocks, bfree, bavail, files, ffree;
    bool rdonly; /* statvfs' ST_RDONLY (the mount's or the superblock's "ro");
                               false from a recorded table */
};

#define FS_DEFAULT_TIMEOUT_MS  1000
#define FS_DEFAULT_MAX_THREADS 4

struct fs_slot;
struct fs_pool {
    pthread_mutex_t lock;
    int timeout_ms;
    unsigned max_threads; /* workers alive at once: idle + busy + stuck */
    unsigned nworkers;
    struct fs_slot *slots; /* max_threads of them; private */
};

/* timeout_ms <= 0 and max_threads == 0 take the defaults. 0 or -ENOMEM. */
int fs_pool_init(struct fs_pool *p, int timeout_ms, unsigned max_threads);
void fs_pool_destroy(struct fs_pool *p);
/* Calls that timed out and have not returned yet. */
size_t fs_pool_stuck(struct fs_pool *p);

/*
 * statvfs(path) on a worker thread. 0 with *out; -errno from statvfs;
 * -ETIMEDOUT: no answer within the timeout, path is stuck from now on;
 * -EALREADY: an earlier call on path is still stuck, it was not asked again;
 * -EAGAIN: max_threads workers are alive and none is idle, path was not asked;
 * -errno if no thread could be started.
 */
int fs_pool_statvfs(struct fs_pool *p, const char *path, struct fs_usage *out);
/*
 * statvfs of paths[0..n) in order, as n calls of fs_pool_statvfs would do
 * (rcs[i] and outs[i] as rc and *out; each call has the whole timeout), but
 * handed to one worker at once: one hand-off for all. When a call hangs,
 * the paths after it go to another worker. Returns 0.
 */
int fs_pool_statvfs_many(struct fs_pool *p, const char *const *paths, size_t n, struct fs_usage *outs,
                         int *rcs);

/*
 * The seam under fs_pool_statvfs, for tests: the same bookkeeping, with
 * fn(path, out, arg) run on the worker instead of statvfs. fn and arg must
 * stay valid until fn returns, which may be after a timed-out call.
 */
typedef int (*fs_stat_fn)(const char *path, struct fs_usage *out, void *arg);
int fs_pool_call(struct fs_pool *p, const char *path, fs_stat_fn fn, void *arg, struct fs_usage *out);
int fs_pool_call_many(struct fs_pool *p, const char *const *paths, size_t n, fs_stat_fn fn, void *arg,
                      struct fs_usage *outs, int *rcs);

/*
 * The fs_stat_fn the workers run for fs_pool_statvfs (arg unused), for a
 * caller that knows the call cannot hang and asks on its own thread: 0 with
 * *out, or -errno from statvfs.
 */
int fs_pool_statvfs_fn(const char *path, struct fs_usage *out, void *arg);

#endif
