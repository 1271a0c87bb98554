/*
 * procs - the process table, read from <procfs>/<pid>/{stat,status,limits,fd/}.
 * `perfkit monitor` counts and ranks it (processes by state, threads, the top
 * N by CPU and by memory, the growth of the process count that reveals a fork
 * or thread leak); `perfkit doctor` checks one process (open fds against its
 * RLIMIT_NOFILE, threads, RSS growth) and names the culprit of a CPU or
 * memory bottleneck.
 *
 * Contract:
 * - Everything is read under a procfs root ("/proc" live, a fixture tree in
 *   tests), never through syscalls about other processes, so every field can
 *   be tested on recorded trees.
 * - A snapshot fails only when the root cannot be opened or listed, or on
 *   ENOMEM. A process that vanishes mid-read is skipped silently; one whose
 *   stat cannot be read or parsed is counted in `unreadable`; a secondary file
 *   (status, limits, fd/) that cannot be read leaves its field unknown. fd/ of
 *   another user's process is EACCES without privileges: nfds is then -1.
 * - Ownership: struct procs_snap is caller-owned (procs_snap_init /
 *   procs_snap_destroy) and owns its array; pointers handed out by the
 *   top/find functions point into it and live as long as it.
 * - Threads: no shared state; distinct snapshots may be used from distinct
 *   threads.
 * - Errors: 0, a negative errno or PK_EPARSE, with the message in the
 *   caller's struct pk_err. The pure parsers set no message.
 * - comm holds the kernel's raw bytes: anything but NUL, including spaces,
 *   ')' and '\n'. Escape it before printing it or putting it in JSON.
 */
#ifndef PK_SYS_PROCS_H
#define PK_SYS_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

/* 4 KiB pages: x86-64 and most arm64 kernels; pass sysconf(_SC_PAGESIZE) where it differs. */
#define PROCS_PAGE_SIZE 4096
/* USER_HZ, the unit of stat's tick fields: 100 on every current architecture but alpha. */
#define PROCS_USER_HZ 100
/* Processes a snapshot keeps by default (counts still cover all): ~11 MiB at most. */
#define PROCS_MAX 65536
/* stat's comm is at most 63 bytes (a kworker with its workqueue's name); stored NUL-terminated. */
#define PROCS_COMM_LEN 64
/* The kernel keeps only the first 15 bytes of a program's name: a longer NAME never matches. */
#define PROCS_TASK_COMM_MAX 15
/* A limit of "unlimited" (RLIM_INFINITY). */
#define PROCS_UNLIMITED UINT64_MAX

/* What a snapshot reads besides stat (procs_read_pid reads all of it). */
#define PROCS_STATUS 1u /* VmRSS, VmHWM */
#define PROCS_LIMITS 2u /* "Max open files" */
#define PROCS_FDS    4u /* entries of fd/ */
#define PROCS_ALL    (PROCS_STATUS | PROCS_LIMITS | PROCS_FDS)

/* One per state letter the kernel prints in stat since 4.14 ('R', 'S', ...); older letters are OTHER. */
enum procs_state {
    PROCS_RUNNING,    /* R, runnable or on a CPU */
    PROCS_SLEEPING,   /* S */
    PROCS_DISK_SLEEP, /* D, uninterruptible: counted in the load average, often I/O */
    PROCS_ZOMBIE,     /* Z, exited, not yet reaped by its parent */
    PROCS_STOPPED,    /* T, by a signal */
    PROCS_TRACED,     /* t, stopped by a debugger */
    PROCS_DEAD,       /* X */
    PROCS_IDLE,       /* I, an idle kernel thread */
    PROCS_OTHER,
    PROCS_NSTATES
};

struct procs_opts {
    long page_size;   /* bytes per page in stat's rss */
    long user_hz;     /* ticks per second in stat's utime, stime, starttime */
    size_t max_procs; /* processes a snapshot keeps (> 0) */
    unsigned read;    /* PROCS_STATUS | PROCS_LIMITS | PROCS_FDS for each kept process */
};

struct procs_limit {
    uint64_t soft, hard; /* PROCS_UNLIMITED for "unlimited" */
};

struct procs_proc {
    int pid; /* the directory's number (what to open again, signal, pass to --pid) */
    int ppid;
    char comm[PROCS_COMM_LEN];
    char state;            /* stat's letter: see enum procs_state */
    uint64_t utime, stime; /* ticks (user_hz) */
    uint64_t starttime;    /* ticks after boot: with pid, the identity of a process */
    long threads;
    uint64_t vsize; /* bytes */
    uint64_t rss;   /* bytes, stat's pages * page_size: always read, but approximate
                               (per-CPU counters not summed: 27-43 pages low in the fixtures) */

    bool status_known; /* PROCS_STATUS and status was read */
    uint64_t vm_rss;   /* bytes, exact on recent kernels (6.18 here); 0 for a kernel thread or a zombie */
    uint64_t vm_hwm;   /* bytes, peak RSS; 0 likewise */

    bool nofile_known; /* PROCS_LIMITS and limits was read */
    struct procs_limit nofile;

    long nfds; /* open fds; -1 unknown (not read, EACCES, vanished) */

    /* Set by procs_diff on the later snapshot; -1 / false before. */
    double cpu_pct;     /* % of one CPU over the interval (a process with 4 busy threads: 400) */
    bool in_prev;       /* the same process (pid and starttime) is in the earlier snapshot */
    double rss_per_min; /* RSS growth in bytes per minute (vm_rss if both snapshots read status,
                               else rss); valid if in_prev */
};

struct procs_snap {
    struct procs_proc *procs; /* n processes, ascending pid */
    size_t n;
    bool truncated; /* more than max_procs: procs holds the first max_procs listed */
    size_t total;   /* processes counted, kept or not */
    size_t states[PROCS_NSTATES];
    uint64_t threads;  /* sum of num_threads */
    size_t unreadable; /* numeric entries whose stat could not be read or parsed */
    double time;       /* CLOCK_BOOTTIME seconds when the read began: starttime's clock */
    long user_hz;      /* from the options, for procs_diff */
};

/* Between two snapshots of the same procfs. */
struct procs_change {
    double elapsed;         /* seconds */
    double procs_per_min;   /* growth of total (negative: shrinking) */
    double threads_per_min; /* growth of threads */
    size_t started;         /* kept processes of the later snapshot not in the earlier */
    size_t exited;          /* kept processes of the earlier snapshot gone (or pid reused) */
};

void procs_opts_init(struct procs_opts *o); /* the defaults above, read = 0 (stat only) */
void procs_snap_init(struct procs_snap *s);
void procs_snap_destroy(struct procs_snap *s);

/*
 * Every numeric directory of procfs into s (which is destroyed and refilled;
 * init it once first). o NULL: the defaults.
 */
int procs_snapshot(const char *procfs, const struct procs_opts *o, struct procs_snap *s, struct pk_err *e);

/*
 * The stat files of one snapshot kept open for the next, for a caller that
 * takes a snapshot every few seconds (the monitor): a process' stat is then
 * one pread() instead of an open (a path walk through procfs), a read and a
 * close. Only with o->read == 0 (stat alone) on the kernel's procfs; a
 * fixture tree is read as procs_snapshot does. A kept file stays on the
 * process it was opened for: once that process is gone (even if its pid is
 * reused), it answers ESRCH and a new file is opened for the pid.
 *
 * Ownership: caller-owned, procs_keep_init() / procs_keep_destroy(), which
 * closes the files; one snapshot at a time. max bounds the descriptors kept
 * (take a share of RLIMIT_NOFILE): processes past it are read as usual.
 */
struct procs_kept {
    int pid, fd;
};

struct procs_keep {
    struct procs_kept *v; /* the last snapshot's, by ascending pid */
    size_t n, cap;
    struct procs_kept *next; /* being filled by the current snapshot */
    size_t nnext, capnext;
    size_t max;
};

void procs_keep_init(struct procs_keep *k, size_t max);
void procs_keep_destroy(struct procs_keep *k);
/* procs_snapshot, with k's files (k NULL: procs_snapshot). */
int procs_snapshot_keep(const char *procfs, const struct procs_opts *o, struct procs_keep *k,
                        struct procs_snap *s, struct pk_err *e);
/* One process with status, limits and fds whatever o->read says; -ESRCH if it does not exist. */
int procs_read_pid(const char *procfs, int pid, const struct procs_opts *o, struct procs_proc *p,
                   struct pk_err *e);

/*
 * cpu_pct, in_prev and rss_per_min of every process in cur, matched with prev
 * by pid and starttime, so that a reused pid is a new process. A process
 * absent from prev that started after prev was taken gets all its ticks as
 * used in the interval; one that started before (prev was truncated, or it
 * was missed mid-read) keeps cpu_pct -1. -EINVAL if cur was not taken after
 * prev or their user_hz differ. out may be NULL.
 */
int procs_diff(const struct procs_snap *prev, struct procs_snap *cur, struct procs_change *out,
               struct pk_err *e);

/*
 * Up to n processes with the highest cpu_pct (after procs_diff) or RSS
 * (vm_rss where status was read, else rss),
 * highest first, ties by lower pid, into out; returns how many. Processes at
 * zero (or unknown) are not listed: fewer than n is normal on an idle host.
 */
size_t procs_top_cpu(const struct procs_snap *s, size_t n, const struct procs_proc **out);
size_t procs_top_rss(const struct procs_snap *s, size_t n, const struct procs_proc **out);
/* Processes whose comm is exactly name, ascending pid; returns how many match, storing at most cap. */
size_t procs_find_name(const struct procs_snap *s, const char *name, const struct procs_proc **out,
                       size_t cap);
/* The kept process with this pid, or NULL. */
const struct procs_proc *procs_find_pid(const struct procs_snap *s, int pid);
enum procs_state procs_state_of(char state);

/*
 * parsers (for tests and fuzzing): pure functions over (buf, len), which need
 * not be NUL-terminated; they read nothing past buf + len.
 */

struct procs_stat { /* proc(5) fields 1-24 of /proc/<pid>/stat */
    int pid;
    char comm[PROCS_COMM_LEN]; /* truncated if longer */
    char state;
    int ppid;
    uint64_t utime, stime;
    long threads;
    uint64_t starttime;
    uint64_t vsize;
    uint64_t rss_pages;
};

struct procs_status {          /* /proc/<pid>/status; kernel threads and zombies have no Vm* lines */
    char name[PROCS_COMM_LEN]; /* as printed: the kernel escapes '\n' as "\n" and '\\' as "\\" */
    long threads;              /* -1 absent */
    bool has_rss, has_hwm;
    uint64_t vm_rss, vm_hwm; /* bytes */
};

/*
 * "pid (comm) state ppid ... rss ...": comm runs to the last ')' of the
 * buffer, since it may hold ')' itself and the numbers after it cannot. rss
 * must be followed by a blank or a newline (the kernel prints both), so a
 * buffer cut inside it is refused; later fields are not read. 0 or PK_EPARSE.
 */
int procs_parse_stat(const char *buf, size_t len, struct procs_stat *st);
/* Name, Threads, VmRSS, VmHWM; a key that is absent stays unknown. 0 or PK_EPARSE (no Name, a malformed value). */
int procs_parse_status(const char *buf, size_t len, struct procs_status *st);
/*
 * The line of a limits file named name (e.g. "Max open files"); 0, -ENOENT
 * without one, or PK_EPARSE (also when the buffer ends right after the hard limit).
 */
int procs_parse_limit(const char *buf, size_t len, const char *name, struct procs_limit *lim);

#endif
