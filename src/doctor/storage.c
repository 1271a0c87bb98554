#include "doctor/storage.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/disk.h"
#include "sys/fs.h"

#define UDEV_RULES "/etc/udev/rules.d/60-perfkit-io.rules"

static bool has_word(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = list; (p = strstr(p, w)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    return false;
}

/* Virtual disks leave scheduling to the host; NVMe has deep hardware queues. */
static bool wants_no_scheduler(const char *dev, int rotational)
{
    return rotational == 0 || !strncmp(dev, "vd", 2) || !strncmp(dev, "xvd", 3) || !strncmp(dev, "nvme", 4);
}

static int check_queue(struct finding_report *r, const char *dev, const struct disk_queue *q)
{
    char id[48], qdev[96];
    if (finding_shell_quote(qdev, sizeof(qdev), dev))
        return 0; /* a name too long to quote is no block device we can advise on */

    snprintf(id, sizeof(id), "disk.scheduler.%s", dev);
    struct finding *f = finding_add(r, id, "disk");
    if (!f)
        return -ENOMEM;
    bool fast = wants_no_scheduler(dev, q->rotational);
    finding_set(
        f->why, sizeof(f->why), "%s",
        fast
            ? "Fast or virtual disks gain nothing from reordering requests; a heavy scheduler only adds CPU "
              "and latency."
            : "A spinning disk needs requests ordered and deadlines kept, or one stream starves the others.");
    finding_set(f->source, sizeof(f->source), "the guide (deadline or noop); kernel docs, block/");
    finding_set(f->recommended, sizeof(f->recommended), "%s",
                fast ? "none (or mq-deadline, kyber)" : "mq-deadline (or bfq)");
    if (!q->scheduler[0]) {
        finding_skip(f, "queue/scheduler of %s is not readable", dev);
    } else {
        finding_set(f->observed, sizeof(f->observed), "%s (rotational %d; offered: %s)", q->scheduler,
                    q->rotational, q->schedulers);
        bool ok = fast ? (has_word("none mq-deadline kyber", q->scheduler))
                       : (has_word("mq-deadline bfq", q->scheduler));
        f->status = ok ? FINDING_OK : FINDING_WARN;
        const char *want = fast ? "none" : "mq-deadline";
        if (!ok && has_word(q->schedulers, want)) {
            finding_set(f->fix, sizeof(f->fix), "echo %s > /sys/block/%s/queue/scheduler", want, qdev);
            finding_set(f->persist, sizeof(f->persist),
                        "ACTION==\"add|change\", KERNEL==\"%s\", ATTR{queue/scheduler}=\"%s\"", dev, want);
            finding_set(f->persist_file, sizeof(f->persist_file), "%s", UDEV_RULES);
        }
    }

    snprintf(id, sizeof(id), "disk.read_ahead.%s", dev);
    f = finding_add(r, id, "disk");
    if (!f)
        return -ENOMEM;
    finding_set(f->why, sizeof(f->why),
                "Too little read-ahead makes sequential reads slow; too much "
                "fills the page cache with data random readers never use.");
    finding_set(f->source, sizeof(f->source), "kernel docs, block/queue-sysfs");
    finding_set(f->recommended, sizeof(f->recommended), "128 to 8192 KiB");
    if (q->read_ahead_kb < 0) {
        finding_skip(f, "queue/read_ahead_kb of %s is not readable", dev);
    } else {
        finding_set(f->observed, sizeof(f->observed), "%ld KiB", q->read_ahead_kb);
        bool ok = q->read_ahead_kb >= 128 && q->read_ahead_kb <= 8192;
        f->status = ok ? FINDING_OK : FINDING_WARN;
        if (!ok) {
            long want = q->read_ahead_kb < 128 ? 128 : 4096;
            finding_set(f->fix, sizeof(f->fix), "echo %ld > /sys/block/%s/queue/read_ahead_kb", want, qdev);
            finding_set(f->persist, sizeof(f->persist),
                        "ACTION==\"add|change\", KERNEL==\"%s\", ATTR{queue/read_ahead_kb}=\"%ld\"", dev,
                        want);
            finding_set(f->persist_file, sizeof(f->persist_file), "%s", UDEV_RULES);
        }
    }
    return 0;
}

static int check_atime(struct finding_report *r, const struct fs_mount *m)
{
    char id[48], qmp[300];
    snprintf(id, sizeof(id), "fs.atime.%s", m->mountpoint);
    struct finding *f = finding_add(r, id, "disk");
    if (!f)
        return -ENOMEM;
    finding_set(f->why, sizeof(f->why),
                "Without noatime, reads of files write their access times "
                "back to disk: extra writes on every busy filesystem.");
    finding_set(f->source, sizeof(f->source), "mount(8); vendor tuning guides");
    finding_set(f->recommended, sizeof(f->recommended), "noatime (in the options of %s in /etc/fstab)",
                m->mountpoint);
    const char *o = m->mount_opts;
    finding_set(f->observed, sizeof(f->observed), "%s on %s (%s)",
                fs_opt_has(o, "noatime")       ? "noatime"
                : fs_opt_has(o, "strictatime") ? "strictatime"
                : fs_opt_has(o, "relatime")    ? "relatime"
                                               : "atime",
                m->mountpoint, m->fstype);
    if (fs_opt_has(o, "noatime"))
        f->status = FINDING_OK;
    else
        f->status = fs_opt_has(o, "relatime") ? FINDING_WARN : FINDING_CRIT;
    if (f->status != FINDING_OK && !finding_shell_quote(qmp, sizeof(qmp), m->mountpoint))
        finding_set(f->fix, sizeof(f->fix), "mount -o remount,noatime %s", qmp);
    return 0;
}

/* Data filesystems: on a block device, writable, not filtered out. */
static bool data_fs(const struct fs_mount *m)
{
    return !m->ignored && !m->dup && !strncmp(m->device, "/dev/", 5) && !fs_mount_readonly(m);
}

int storage_checks(const struct doctor_opts *o, struct finding_report *r)
{
    struct pk_err e;
    struct disk_list dl = { 0 };
    int rc = 0;
    if (disk_read(o->procfs, &dl, &e) == 0) {
        for (size_t i = 0; i < dl.n && rc == 0; i++) {
            if (disk_name_ignored(dl.v[i].name))
                continue;
            struct disk_queue q;
            if (disk_read_queue(o->sysfs, dl.v[i].name, &q, &e) != 0 || q.partition)
                continue;
            rc = check_queue(r, dl.v[i].name, &q);
        }
    }
    disk_list_destroy(&dl);
    if (rc)
        return rc;
    struct fs_mounts m = { 0 };
    if (fs_mounts_read(o->procfs, NULL, &m, &e) == 0) {
        for (size_t i = 0; i < m.n && rc == 0; i++)
            if (data_fs(&m.v[i]))
                rc = check_atime(r, &m.v[i]);
    }
    fs_mounts_destroy(&m);
    return rc;
}

int storage_usage(const struct doctor_opts *o, struct finding_report *r)
{
    struct pk_err e;
    struct fs_mounts m = { 0 };
    struct fs_table table = { 0 };
    struct fs_pool pool;
    bool live = strcmp(o->procfs, "/proc") == 0, pool_up = false;
    struct fs_options fo = { 0 };
    int rc = 0;
    if (live) {
        if (fs_pool_init(&pool, 1000, 4) != 0)
            return 0;
        pool_up = true;
        fo.pool = &pool;
    } else {
        char dir[4096], path[4200];
        snprintf(dir, sizeof(dir), "%s", o->procfs);
        snprintf(path, sizeof(path), "%s/statvfs.tsv", dirname(dir));
        if (fs_table_read(path, &table, &e) != 0)
            return 0; /* a recorded tree without usage: nothing to judge */
        fo.table = &table;
    }
    if (fs_read(o->procfs, &fo, &m, &e) == 0) {
        for (size_t i = 0; i < m.n && rc == 0; i++) {
            const struct fs_mount *mt = &m.v[i];
            if (mt->ignored || mt->dup || !mt->usage_known)
                continue;
            double used = fs_used_pct(&mt->usage);
            double ipct = mt->usage.files
                              ? 100.0 * (double)(mt->usage.files - mt->usage.ffree) / (double)mt->usage.files
                              : 0;
            double worst = used > ipct ? used : ipct;
            enum finding_status st = worst > 95 ? FINDING_CRIT : worst > 80 ? FINDING_WARN : FINDING_OK;
            if (st == FINDING_OK)
                continue;
            char id[48];
            snprintf(id, sizeof(id), "fs.used.%s", mt->mountpoint);
            struct bottleneck *b = finding_add_bottleneck(r, id, "disk");
            if (!b) {
                rc = -ENOMEM;
                break;
            }
            b->status = st;
            b->value = worst;
            b->limit = 80;
            snprintf(b->unit, sizeof(b->unit), "%%");
            snprintf(b->observed, sizeof(b->observed), "%s %.1f%% full (space %.1f%%, inodes %.1f%%)",
                     mt->mountpoint, worst, used, ipct);
            snprintf(b->culprit, sizeof(b->culprit), "%s (%s on %s): %.1f of %.1f GiB available",
                     mt->mountpoint, mt->fstype, mt->device, fs_avail_bytes(&mt->usage) / 1073741824.0,
                     fs_size_bytes(&mt->usage) / 1073741824.0);
            snprintf(b->advice, sizeof(b->advice),
                     "Find what grows (du -xh --max-depth=2 %s | sort -h | "
                     "tail), rotate and compress logs, move data off, or grow the filesystem. Keep disks "
                     "below 80%%.",
                     mt->mountpoint);
        }
    }
    fs_mounts_destroy(&m);
    fs_table_destroy(&table);
    if (pool_up)
        fs_pool_destroy(&pool);
    return rc;
}
