/*
 * fs - mounted filesystems and their usage, for `perfkit monitor`
 * (node_filesystem_* with node_exporter's labels and values) and `perfkit
 * doctor` (noatime/relatime, read-only mounts, a filesystem above 80 %).
 *
 * Mounts come from <procfs>/<pid>/mountinfo (pid "self" unless the caller
 * names one: node_exporter reads "1" so that a containerised agent given the
 * host's /proc sees the host's mounts), falling back to <procfs>/self/mountinfo
 * and then to <procfs>/mounts (which has no super options: its option field,
 * the per-mount and per-superblock options merged, lands in mount_opts).
 * The kernel's octal escapes (\040 space, \011 tab, \012 newline, \134
 * backslash) are decoded in root, mountpoint and device; options stay as
 * printed. A line without mountinfo's shape (or with a NUL byte) rejects the
 * whole table (PK_EPARSE, e->on "mountinfo:<line>"): the kernel's format never varies,
 * and silently dropping a mount could hide a full filesystem.
 *
 * Usage comes from statvfs(2), which blocks for as long as a hung network
 * filesystem does. It therefore runs on a worker thread that the caller
 * waits for at most a timeout (struct fs_pool, sys/fs_pool.h), except for
 * mounts whose statfs cannot hang (fs_mount_statfs_inline). Fixture trees
 * replace statvfs by a recorded table (statvfs.tsv: mountpoint, bsize,
 * blocks, bfree, bavail, files, ffree, tab-separated; the mount point
 * escaped as in mountinfo).
 *
 * Ownership: fs_mounts_* and fs_table_* allocate; the matching _destroy frees.
 * Threads: parsers and readers are reentrant (the pool has its own
 * contract). Errors: 0, negative errno, or PK_EPARSE with a message in *e.
 * A missing mount table is -ENOENT ("unavailable").
 */
#ifndef PK_SYS_FS_H
#define PK_SYS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"
#include "sys/fs_pool.h"

struct fs_mount {
    const char *device;     /* "/dev/vda", "tmpfs", "192.168.1.1:/srv/test"; may be "" */
    const char *mountpoint; /* decoded: "/mnt/a b" */
    const char *fstype;     /* "ext4", "fuse.sshfs" */
    const char *mount_opts; /* per mount: "rw,nosuid,relatime" */
    const char *super_opts; /* per superblock: "rw,errors=remount-ro"; "" from /proc/mounts */
    const char *root;       /* the mounted subtree (bind mounts); "" from /proc/mounts */
    unsigned major, minor;  /* st_dev of the filesystem; 0:0 from /proc/mounts */
    bool ignored;           /* excluded by node_exporter's default filters (fs_mount_ignored) */
    bool dup;               /* same device, mountpoint and fstype as an earlier entry:
                               node_exporter reports those once */
    /* Filled by fs_read only, for mounts neither ignored nor dup: */
    bool usage_known;
    int usage_err; /* when !usage_known: see fs_pool_call, -ENOENT (not in the table),
                               -ENOTSUP (fs_read given neither pool nor table), 0 (not asked) */
    struct fs_usage usage;
};

struct fs_mounts {
    struct fs_mount *v;
    size_t n;
    char *arena_; /* the strings; freed by fs_mounts_destroy */
};

void fs_mounts_destroy(struct fs_mounts *m);

/* ---- node_exporter's default filters ------------------------------------ */

/* fstype excluded by --collector.filesystem.fs-types-exclude's default. */
bool fs_fstype_ignored(const char *fstype);
/* mount point excluded by --collector.filesystem.mount-points-exclude's default:
 * ^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/) */
bool fs_mountpoint_ignored(const char *mountpoint);
bool fs_mount_ignored(const struct fs_mount *m);

/* ---- options ------------------------------------------------------------ */

/* Whether a comma-separated option list holds `name` or `name=...`. */
bool fs_opt_has(const char *opts, const char *name);
/* Read-only as node_exporter decides it: "ro" in the mount or the super options. */
bool fs_mount_readonly(const struct fs_mount *m);

/* ---- usage -------------------------------------------------------------- */

/* node_exporter's figures: float64(blocks) * float64(bsize) and so on. */
double fs_size_bytes(const struct fs_usage *u);
double fs_free_bytes(const struct fs_usage *u);
double fs_avail_bytes(const struct fs_usage *u);
/* df's Use%: used / (used + avail) with used = blocks - bfree, in [0, 100];
 * 0 for a filesystem without blocks. The space root keeps in reserve is
 * neither, so a filesystem is "full" when non-root users can write no more. */
double fs_used_pct(const struct fs_usage *u);

/*
 * Whether statvfs of mount i of m can run on the caller's thread: its type
 * and the type of every mount its path crosses from "/" keep statfs' figures
 * in memory (ext2/3/4, xfs without project quotas, tmpfs, ramfs), so no
 * dead disk or server can make it wait. Anything else (nfs, cifs, fuse,
 * autofs above it, btrfs, vfat) goes through the pool.
 */
bool fs_mount_statfs_inline(const struct fs_mounts *m, size_t i);

/* ---- recorded usage (fixture trees) -------------------------------------- */

struct fs_table_row {
    const char *mountpoint; /* decoded */
    struct fs_usage u;
};
struct fs_table {
    struct fs_table_row *v;
    size_t n;
    char *arena_;
};
void fs_table_destroy(struct fs_table *t);
/* The row for mountpoint, or NULL. */
const struct fs_table_row *fs_table_find(const struct fs_table *t, const char *mountpoint);
/* Reads a statvfs.tsv file (a path, not under a root). -errno or PK_EPARSE "<path>:<line>". */
int fs_table_read(const char *path, struct fs_table *t, struct pk_err *e);

/* ---- readers ------------------------------------------------------------ */

/* The mount table of <procfs>/<pid>/mountinfo (pid NULL: "self"), with the fallbacks above. */
int fs_mounts_read(const char *procfs, const char *pid, struct fs_mounts *m, struct pk_err *e);

struct fs_options {
    const char *pid;              /* as fs_mounts_read */
    const char *rootfs;           /* prefix of mount points for statvfs (the host's / seen from a
                                  container, like node_exporter's --path.rootfs); NULL: none */
    const struct fs_table *table; /* usage from this table instead of statvfs (tests) */
    struct fs_pool *pool;         /* statvfs through this pool */
};

/* Mounts with usage for those neither ignored nor dup. Never blocks longer than
 * about max_threads timeouts (only when that many mounts hang at once). */
int fs_read(const char *procfs, const struct fs_options *o, struct fs_mounts *m, struct pk_err *e);

/*
 * The mount table kept between reads, for a reader that asks every second
 * (the monitor's filesystem collector). On the kernel's procfs the table
 * file stays open and is parsed again only when poll() reports a change of
 * the mount namespace (POLLPRI: a mount, an unmount, a remount), when a
 * mount's statvfs read-only flag flips (an ext4 that remounted itself
 * read-only after an error changes no namespace event), and at least every
 * FS_WATCH_REFRESH reads; elsewhere (fixture trees) it is read every time.
 * Usage is asked afresh on every read: through the pool, but for mounts
 * whose statfs cannot hang (fs_mount_statfs_inline), asked on the caller's
 * thread when the table is the caller's own mount namespace and no rootfs
 * prefix applies. The namespace is the one of the process whose table was
 * opened first (pid 1's, by default).
 *
 * Ownership: caller-owned, fs_watch_init() / fs_watch_destroy(); one thread.
 */
#define FS_WATCH_REFRESH 60

struct fs_watch {
    bool fd_set;    /* fs_watch_init ran: fd is -1 or the kept file (a zeroed
                               watch has no file, though its fd reads 0) */
    int fd;         /* the kept table file; -1: none */
    int which;      /* which table it is (pid's mountinfo, self's, mounts) */
    bool valid;     /* m holds the table */
    bool own_ns;    /* the table is this process' mount namespace */
    unsigned reads; /* reads since the table was parsed */
    struct fs_mounts m;
    bool *inl; /* per mount of m: fs_mount_statfs_inline (own_ns only); NULL: none */
};

void fs_watch_init(struct fs_watch *w);
/* Closes and frees; a no-op on a zeroed or destroyed watch. */
void fs_watch_destroy(struct fs_watch *w);
/* As fs_read, into w: *out is valid until the next call or destroy. */
int fs_watch_read(struct fs_watch *w, const char *procfs, const struct fs_options *o,
                  const struct fs_mounts **out, struct pk_err *e);

/*
 * parsers (for tests and fuzzing): pure functions over (buf, len), which need
 * not be NUL-terminated; they read nothing past buf + len. Blank lines are
 * skipped; anything else that does not parse fails with PK_EPARSE and e->on
 * "<name>:<line>" (name "mountinfo", "mounts", "statvfs.tsv").
 */
int fs_parse_mountinfo(const char *buf, size_t len, struct fs_mounts *m, struct pk_err *e);
int fs_parse_mounts(const char *buf, size_t len, struct fs_mounts *m, struct pk_err *e);
int fs_parse_table(const char *buf, size_t len, struct fs_table *t, struct pk_err *e);
/*
 * src[0..len) with \NNN octal escapes (1..0377) decoded into dst, which holds
 * at least len + 1 bytes; returns the decoded length (dst is NUL-terminated).
 * A backslash not followed by three octal digits, and \000, stay as they are.
 */
size_t fs_unescape(const char *src, size_t len, char *dst);

#endif
