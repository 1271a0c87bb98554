#include "sys/fs_pool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/check.h"
#include "core/clock.h"

/*
 * A worker thread and its job, shared by the pool and the thread: whichever
 * lets go last frees it, so a worker that returns after its caller gave up
 * (or after the pool is gone) needs nothing but this. A worker lives on
 * between jobs, waiting on cond: a sample's statvfs calls cost one hand-off
 * to a thread that is already there, not a thread per mount point (creating
 * one costs some 25 us of CPU per call on a 2-vCPU VM, a hand-off under 10).
 */
struct fs_worker {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a job posted, a job done, quit: both sides wait on it */
    pthread_t thread;
    int refs;  /* the pool's and the thread's */
    bool quit; /* leave once the job in hand is done (pool destroyed) */
    bool busy; /* a job is posted and not finished */
    /* The job: paths[next..limit) are run in order. A caller that gives up
     * lowers limit, so the worker stops after the call it is stuck in. */
    fs_stat_fn fn;
    void *arg;
    size_t next, limit;
    uint64_t started_ns; /* CLOCK_MONOTONIC when paths[next] began */
    char **paths;        /* into pathbuf */
    char *pathbuf;
    size_t pathcap, slots; /* bytes of pathbuf; entries of paths, rcs and outs */
    int *rcs;
    struct fs_usage *outs;
};

enum { SLOT_IDLE, SLOT_BUSY, SLOT_STUCK };

/* The pool's side of a worker: guarded by the pool's lock. */
struct fs_slot {
    struct fs_worker *w;
    int state;
    const char *stuck_path; /* SLOT_STUCK: the path its call hangs on (in w->pathbuf,
                                which no job changes while the slot is stuck) */
};

static void worker_free(struct fs_worker *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->paths);
    free(w->pathbuf);
    free(w->rcs);
    free(w->outs);
    free(w);
}

/* Drops one reference, with w->lock held; frees w (and unlocks) when it was the last. */
static void worker_put_locked(struct fs_worker *w)
{
    PK_ASSERT(w->refs > 0);
    bool last = --w->refs == 0;
    pthread_mutex_unlock(&w->lock);
    if (last)
        worker_free(w);
}

static void *worker_run(void *arg)
{
    struct fs_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->busy && !w->quit)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->busy)
            break;
        while (w->next < w->limit) {
            size_t k = w->next;
            w->started_ns = clock_mono_ns();
            fs_stat_fn fn = w->fn;
            void *fnarg = w->arg;
            const char *path = w->paths[k];
            pthread_mutex_unlock(&w->lock);
            struct fs_usage u;
            memset(&u, 0, sizeof(u));
            int rc = fn(path, &u, fnarg);
            pthread_mutex_lock(&w->lock);
            w->rcs[k] = rc;
            w->outs[k] = u;
            w->next = k + 1;
        }
        w->busy = false;
        pthread_cond_broadcast(&w->cond);
    }
    worker_put_locked(w);
    return NULL;
}

static struct fs_worker *worker_new(int *err)
{
    struct fs_worker *w = calloc(1, sizeof(*w));
    pthread_condattr_t ca;
    if (!w || pthread_condattr_init(&ca) != 0) {
        free(w);
        *err = -ENOMEM;
        return NULL;
    }
    /* The timeout must not stretch or shrink when the wall clock is set. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int r = pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (r != 0) {
        free(w);
        *err = -r;
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    w->refs = 2;
    /*
     * Every signal blocked: a worker stuck in the kernel must not be the
     * thread that receives the caller's SIGINT or SIGTERM.
     */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&w->thread, NULL, worker_run, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        worker_free(w);
        *err = -r;
        return NULL;
    }
    return w;
}

/* Room for a job of n paths of total bytes (NULs included), with w idle. */
static int worker_reserve(struct fs_worker *w, size_t n, size_t bytes)
{
    if (n > w->slots) {
        char **p = realloc(w->paths, n * sizeof(*p));
        if (p)
            w->paths = p;
        int *r = p ? realloc(w->rcs, n * sizeof(*r)) : NULL;
        if (r)
            w->rcs = r;
        struct fs_usage *o = r ? realloc(w->outs, n * sizeof(*o)) : NULL;
        if (!o)
            return -ENOMEM;
        w->outs = o;
        w->slots = n;
    }
    if (bytes > w->pathcap) {
        char *b = realloc(w->pathbuf, bytes);
        if (!b)
            return -ENOMEM;
        w->pathbuf = b;
        w->pathcap = bytes;
    }
    return 0;
}

/* Slots whose stuck call has returned are idle again: their paths may be asked again. */
static void sweep(struct fs_pool *p)
{
    for (unsigned i = 0; i < p->nworkers; i++) {
        struct fs_slot *s = &p->slots[i];
        if (s->state != SLOT_STUCK)
            continue;
        pthread_mutex_lock(&s->w->lock);
        if (!s->w->busy) {
            s->state = SLOT_IDLE;
            s->stuck_path = NULL;
        }
        pthread_mutex_unlock(&s->w->lock);
    }
}

static bool is_stuck(const struct fs_pool *p, const char *path)
{
    for (unsigned i = 0; i < p->nworkers; i++)
        if (p->slots[i].state == SLOT_STUCK && strcmp(p->slots[i].stuck_path, path) == 0)
            return true;
    return false;
}

int fs_pool_init(struct fs_pool *p, int timeout_ms, unsigned max_threads)
{
    memset(p, 0, sizeof(*p));
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : FS_DEFAULT_TIMEOUT_MS;
    p->max_threads = max_threads > 0 ? max_threads : FS_DEFAULT_MAX_THREADS;
    /* one slot per possible worker, so that starting one never allocates a slot */
    p->slots = calloc(p->max_threads, sizeof(*p->slots));
    if (!p->slots)
        return -ENOMEM;
    int r = pthread_mutex_init(&p->lock, NULL);
    if (r != 0) {
        free(p->slots);
        p->slots = NULL;
        return -r;
    }
    return 0;
}

void fs_pool_destroy(struct fs_pool *p)
{
    if (!p || !p->slots)
        return;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < p->nworkers; i++) {
        struct fs_worker *w = p->slots[i].w;
        pthread_mutex_lock(&w->lock);
        w->quit = true;
        bool idle = !w->busy;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        /* An idle worker leaves at once; a stuck one goes on alone and frees w when it returns. */
        if (idle)
            pthread_join(w->thread, NULL);
        else
            pthread_detach(w->thread);
        pthread_mutex_lock(&w->lock);
        worker_put_locked(w);
    }
    free(p->slots);
    p->slots = NULL;
    p->nworkers = 0;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
}

size_t fs_pool_stuck(struct fs_pool *p)
{
    pthread_mutex_lock(&p->lock);
    sweep(p);
    size_t n = 0;
    for (unsigned i = 0; i < p->nworkers; i++)
        n += p->slots[i].state == SLOT_STUCK;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/*
 * Runs paths[from..to) on worker s (claimed: SLOT_BUSY) and waits, each
 * call at most the timeout. Returns the index after the last path dealt
 * with: `to`, or one past the path the worker got stuck on (its rc
 * -ETIMEDOUT, the slot left SLOT_STUCK).
 */
static size_t run_job(struct fs_pool *p, struct fs_slot *s, const char *const *paths, size_t from, size_t to,
                      fs_stat_fn fn, void *arg, struct fs_usage *outs, int *rcs)
{
    struct fs_worker *w = s->w;
    PK_ASSERT(s->state == SLOT_BUSY && from < to); /* only this thread writes a busy slot */
    size_t n = to - from, bytes = 0;
    for (size_t i = from; i < to; i++)
        bytes += strlen(paths[i]) + 1;
    pthread_mutex_lock(&w->lock);
    int rc = worker_reserve(w, n, bytes);
    if (rc < 0) {
        pthread_mutex_unlock(&w->lock);
        for (size_t i = from; i < to; i++)
            rcs[i] = rc;
        pthread_mutex_lock(&p->lock);
        s->state = SLOT_IDLE;
        pthread_mutex_unlock(&p->lock);
        return to;
    }
    char *b = w->pathbuf;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(paths[from + i]) + 1;
        memcpy(b, paths[from + i], len);
        w->paths[i] = b;
        b += len;
    }
    w->fn = fn;
    w->arg = arg;
    w->next = 0;
    w->limit = n;
    w->started_ns = clock_mono_ns();
    w->busy = true;
    pthread_cond_broadcast(&w->cond);
    uint64_t timeout_ns = (uint64_t)p->timeout_ms * NS_PER_MS;
    while (w->busy) {
        uint64_t deadline = w->started_ns + timeout_ns;
        if (clock_mono_ns() >= deadline)
            break;
        struct timespec ts = { (time_t)(deadline / NS_PER_S), (long)(deadline % NS_PER_S) };
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    size_t done = w->next;
    bool stuck = w->busy;
    if (stuck)
        w->limit = done + 1; /* the rest goes to another worker */
    for (size_t k = 0; k < done; k++) {
        rcs[from + k] = w->rcs[k];
        if (w->rcs[k] == 0)
            outs[from + k] = w->outs[k];
    }
    const char *stuck_path = stuck ? w->paths[done] : NULL;
    pthread_mutex_unlock(&w->lock);

    pthread_mutex_lock(&p->lock);
    s->state = stuck ? SLOT_STUCK : SLOT_IDLE;
    s->stuck_path = stuck_path;
    pthread_mutex_unlock(&p->lock);
    if (!stuck)
        return to;
    rcs[from + done] = -ETIMEDOUT;
    return from + done + 1;
}

int fs_pool_call_many(struct fs_pool *p, const char *const *paths, size_t n, fs_stat_fn fn, void *arg,
                      struct fs_usage *outs, int *rcs)
{
    size_t i = 0;
    while (i < n) {
        pthread_mutex_lock(&p->lock);
        sweep(p);
        if (is_stuck(p, paths[i])) {
            pthread_mutex_unlock(&p->lock);
            rcs[i++] = -EALREADY;
            continue;
        }
        struct fs_slot *s = NULL;
        for (unsigned k = 0; k < p->nworkers && !s; k++)
            if (p->slots[k].state == SLOT_IDLE)
                s = &p->slots[k];
        if (!s && p->nworkers < p->max_threads) {
            int err = 0;
            struct fs_worker *w = worker_new(&err);
            if (!w) {
                pthread_mutex_unlock(&p->lock);
                rcs[i++] = err;
                continue;
            }
            PK_ASSERT(p->nworkers < p->max_threads); /* one slot per possible worker */
            s = &p->slots[p->nworkers++];
            s->w = w;
        }
        if (!s) {
            /* max_threads workers alive, all busy or stuck: the rest is not asked */
            for (; i < n; i++)
                rcs[i] = is_stuck(p, paths[i]) ? -EALREADY : -EAGAIN;
            pthread_mutex_unlock(&p->lock);
            break;
        }
        /* a job runs up to the next path that is stuck already */
        size_t end = i + 1;
        while (end < n && !is_stuck(p, paths[end]))
            end++;
        s->state = SLOT_BUSY;
        pthread_mutex_unlock(&p->lock);
        i = run_job(p, s, paths, i, end, fn, arg, outs, rcs);
    }
    return 0;
}

int fs_pool_call(struct fs_pool *p, const char *path, fs_stat_fn fn, void *arg, struct fs_usage *out)
{
    int rc = 0;
    fs_pool_call_many(p, &path, 1, fn, arg, out, &rc);
    return rc;
}

int fs_pool_statvfs_fn(const char *path, struct fs_usage *out, void *arg)
{
    (void)arg;
    struct statvfs s;
    if (statvfs(path, &s) != 0)
        return -errno;
    /* f_bsize, as node_exporter multiplies by (statfs' Bsize); equal to f_frsize on Linux filesystems */
    out->bsize = s.f_bsize;
    out->blocks = s.f_blocks;
    out->bfree = s.f_bfree;
    out->bavail = s.f_bavail;
    out->files = s.f_files;
    out->ffree = s.f_ffree;
    out->rdonly = (s.f_flag & ST_RDONLY) != 0;
    return 0;
}

int fs_pool_statvfs(struct fs_pool *p, const char *path, struct fs_usage *out)
{
    return fs_pool_call(p, path, fs_pool_statvfs_fn, NULL, out);
}

int fs_pool_statvfs_many(struct fs_pool *p, const char *const *paths, size_t n, struct fs_usage *outs,
                         int *rcs)
{
    return fs_pool_call_many(p, paths, n, fs_pool_statvfs_fn, NULL, outs, rcs);
}
