/* nftw() and mkdtemp() need X/Open. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tmptree.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/disk.h"

#define VM PK_FIXTURES "/sys/vm-2cpu"
#define NE PK_FIXTURES "/node_exporter"

/* ---- node_exporter's own output for its fixture tree --------------------- */

/* Every node_disk_* series the diskstats collector derives from /proc/diskstats,
 * with node_exporter's conversion and the counters a line must have for it. */
struct series {
    const char *name;
    int min_stats;
    double (*value)(const struct disk_stats *d);
};

/* Laid out by hand: accessors by macro, one per field, and the table that names them. */
/* clang-format off */
#define PLAIN(f) static double v_##f(const struct disk_stats *d) { return (double)d->f; }
#define SECS(f) static double v_##f(const struct disk_stats *d) { return disk_ms_to_seconds(d->f); }
#define BYTES(f) static double v_##f(const struct disk_stats *d) { return disk_sectors_to_bytes(d->f); }
PLAIN(reads) PLAIN(reads_merged) BYTES(read_sectors) SECS(read_ms)
PLAIN(writes) PLAIN(writes_merged) BYTES(write_sectors) SECS(write_ms)
PLAIN(io_now) SECS(io_ms) SECS(weighted_io_ms)
PLAIN(discards) PLAIN(discards_merged) PLAIN(discard_sectors) SECS(discard_ms)
PLAIN(flushes) SECS(flush_ms)

static const struct series diskstats_series[] = {
    { "node_disk_reads_completed_total", 11, v_reads },
    { "node_disk_reads_merged_total", 11, v_reads_merged },
    { "node_disk_read_bytes_total", 11, v_read_sectors },
    { "node_disk_read_time_seconds_total", 11, v_read_ms },
    { "node_disk_writes_completed_total", 11, v_writes },
    { "node_disk_writes_merged_total", 11, v_writes_merged },
    { "node_disk_written_bytes_total", 11, v_write_sectors },
    { "node_disk_write_time_seconds_total", 11, v_write_ms },
    { "node_disk_io_now", 11, v_io_now },
    { "node_disk_io_time_seconds_total", 11, v_io_ms },
    { "node_disk_io_time_weighted_seconds_total", 11, v_weighted_io_ms },
    { "node_disk_discards_completed_total", 15, v_discards },
    { "node_disk_discards_merged_total", 15, v_discards_merged },
    { "node_disk_discarded_sectors_total", 15, v_discard_sectors },
    { "node_disk_discard_time_seconds_total", 15, v_discard_ms },
    { "node_disk_flush_requests_total", 17, v_flushes },
    { "node_disk_flush_requests_time_seconds_total", 17, v_flush_ms },
};
/* clang-format on */
#define NSERIES (sizeof(diskstats_series) / sizeof(diskstats_series[0]))

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/*
 * Reads NE/proc with disk_read and compares with every sample of
 * e2e-output.txt named in diskstats_series: same devices, same values to
 * the last bit (e2e prints Go's shortest round-trip form, which strtod reads
 * back to the same double).
 */
static void node_exporter_e2e(void **state)
{
    (void)state;
    struct disk_list l;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(disk_read(NE "/proc", &l, &e), 0);
    assert_int_equal(l.n, 51); /* proc/diskstats: 51 lines */

    /* seen[device][series] */
    bool(*seen)[NSERIES] = calloc(l.n, sizeof(*seen));
    assert_non_null(seen);
    char *text = slurp(NE "/e2e-output.txt");
    size_t matched = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "node_disk_", 10) != 0)
            continue;
        char *brace = strchr(line, '{');
        if (!brace)
            continue;
        size_t s;
        for (s = 0; s < NSERIES; s++)
            if (strlen(diskstats_series[s].name) == (size_t)(brace - line) &&
                strncmp(line, diskstats_series[s].name, (size_t)(brace - line)) == 0)
                break;
        if (s == NSERIES)
            continue; /* node_disk_info, node_disk_ata_*, ...: from udev and sysfs */
        /* {device="sda"} is the only label of these series */
        assert_int_equal(strncmp(brace, "{device=\"", 9), 0);
        char *dev = brace + 9;
        char *q = strchr(dev, '"');
        assert_non_null(q);
        *q = '\0';
        assert_int_equal(strncmp(q + 1, "} ", 2), 0);
        char *end;
        double want = strtod(q + 3, &end);
        assert_true(*end == '\0');

        const struct disk_stats *d = disk_find(&l, dev);
        if (!d)
            fail_msg("%s: device %s not in diskstats", diskstats_series[s].name, dev);
        assert_false(d->ignored);
        assert_true(d->nstats >= diskstats_series[s].min_stats);
        double got = diskstats_series[s].value(d);
        if (got != want)
            fail_msg("%s{device=\"%s\"}: %.17g, node_exporter %.17g", diskstats_series[s].name, dev, got,
                     want);
        seen[d - l.v][s] = true;
        matched++;
    }
    /* And the other way: every device perfkit keeps has every series its line allows. */
    size_t kept = 0, expected = 0;
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].ignored)
            continue;
        kept++;
        for (size_t s = 0; s < NSERIES; s++) {
            if (l.v[i].nstats < diskstats_series[s].min_stats)
                continue;
            expected++;
            if (!seen[i][s])
                fail_msg("%s{device=\"%s\"} missing from e2e-output.txt", diskstats_series[s].name,
                         l.v[i].name);
        }
    }
    /* 15 devices (dm-0..5, mmcblk0, mmcblk0p1, mmcblk0p2, nvme0n1, sda, sdb, sdc, sr0, vda):
     * 11 series each, 4 discard series for sdb and sdc, 2 flush series for sdc */
    assert_int_equal(kept, 15);
    assert_int_equal(expected, 15 * 11 + 2 * 4 + 2);
    assert_int_equal(matched, expected);
    print_message("node_exporter e2e: %zu node_disk_* samples from diskstats, all equal\n", matched);

    free(text);
    free(seen);
    disk_list_destroy(&l);
}

/* ---- the recorded VM ----------------------------------------------------- */

static void vm_2cpu(void **state)
{
    (void)state;
    struct disk_list l;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(disk_read(VM "/proc", &l, &e), 0);
    /* proc/diskstats: loop0..7, vda, zram0 */
    assert_int_equal(l.n, 10);
    for (size_t i = 0; i < l.n; i++)
        assert_true(l.v[i].ignored == (strcmp(l.v[i].name, "vda") != 0));
    /* " 254 0 vda 147182 13849 10412034 190005 44891 21565 3567688 10912 0 17076 202533
     *   12325 26 1357472 1463 3842 152" (Linux 6.18: 17 counters) */
    const struct disk_stats *d = disk_find(&l, "vda");
    assert_non_null(d);
    assert_int_equal(d->major, 254);
    assert_int_equal(d->minor, 0);
    assert_int_equal(d->nstats, 17);
    assert_int_equal(d->reads, 147182);
    assert_int_equal(d->reads_merged, 13849);
    assert_int_equal(d->read_sectors, 10412034);
    assert_int_equal(d->read_ms, 190005);
    assert_int_equal(d->writes, 44891);
    assert_int_equal(d->writes_merged, 21565);
    assert_int_equal(d->write_sectors, 3567688);
    assert_int_equal(d->write_ms, 10912);
    assert_int_equal(d->io_now, 0);
    assert_int_equal(d->io_ms, 17076);
    assert_int_equal(d->weighted_io_ms, 202533);
    assert_int_equal(d->discards, 12325);
    assert_int_equal(d->discards_merged, 26);
    assert_int_equal(d->discard_sectors, 1357472);
    assert_int_equal(d->discard_ms, 1463);
    assert_int_equal(d->flushes, 3842);
    assert_int_equal(d->flush_ms, 152);
    assert_true(disk_sectors_to_bytes(d->read_sectors) == 10412034.0 * 512);
    /* "   7       0 loop0 0 0 ..." */
    assert_int_equal(disk_find(&l, "loop0")->major, 7);
    assert_int_equal(disk_find(&l, "zram0")->major, 253);
    disk_list_destroy(&l);

    /* sys/block/vda/queue/{scheduler,rotational,read_ahead_kb}:
     * "none [mq-deadline] kyber bfq", "1" (virtio-blk reports rotational), "8192" */
    struct disk_queue q;
    assert_int_equal(disk_read_queue(VM "/sys", "vda", &q, &e), 0);
    assert_false(q.partition);
    assert_string_equal(q.disk, "vda");
    assert_string_equal(q.scheduler, "mq-deadline");
    assert_string_equal(q.schedulers, "none mq-deadline kyber bfq");
    assert_int_equal(q.rotational, 1);
    assert_int_equal(q.read_ahead_kb, 8192);

    /* loop0's queue was not recorded */
    assert_int_equal(disk_read_queue(VM "/sys", "loop0", &q, &e), -ENOENT);
    assert_string_equal(e.on, "loop0");
}

static void unavailable(void **state)
{
    (void)state;
    struct disk_list l;
    struct pk_err e;
    pk_err_clear(&e);
    /* host's container tree has a procfs without diskstats */
    assert_int_equal(disk_read(PK_FIXTURES "/host/container/proc", &l, &e), -ENOENT);
    assert_string_equal(e.on, PK_FIXTURES "/host/container/proc/diskstats");
    assert_string_equal(e.what, "cannot read");
    assert_int_equal(l.n, 0);
    assert_int_equal(disk_read("/nonexistent-procfs", &l, &e), -ENOENT);
    assert_int_equal(disk_read(NULL, &l, &e), -EINVAL);

    struct disk_queue q;
    assert_int_equal(disk_read_queue("/nonexistent-sysfs", "sda", &q, &e), -ENOENT);
    assert_int_equal(q.rotational, -1);
    assert_int_equal(q.read_ahead_kb, -1);
    static const char *const bad[] = { "", ".", "..", "../vda", "a/b", "0123456789012345678901234567890123" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(disk_read_queue(VM "/sys", bad[i], &q, &e), -EINVAL);
    assert_int_equal(disk_read_queue(VM "/sys", NULL, &q, &e), -EINVAL);
}

/* ---- sysfs trees written at run time ------------------------------------- */

static void partitions_and_odd_files(void **state)
{
    const char *sys = *state;
    struct disk_queue q;
    struct pk_err e;
    pk_err_clear(&e);

    tmptree_put(sys, "block/sda/queue/scheduler", "[none] mq-deadline\n");
    tmptree_put(sys, "block/sda/queue/rotational", "0\n");
    tmptree_put(sys, "block/sda/queue/read_ahead_kb", "128\n");
    tmptree_put(sys, "block/sda/sda1/partition", "1\n");
    tmptree_put(sys, "block/nvme0n1/queue/scheduler", "none\n");
    tmptree_put(sys, "block/nvme0n1/nvme0n1p2/partition", "2\n");

    assert_int_equal(disk_read_queue(sys, "sda1", &q, &e), 0);
    assert_true(q.partition);
    assert_string_equal(q.disk, "sda");
    assert_string_equal(q.scheduler, "none");
    assert_string_equal(q.schedulers, "none mq-deadline");
    assert_int_equal(q.rotational, 0);
    assert_int_equal(q.read_ahead_kb, 128);

    /* an old kernel's lone "none"; the other files missing */
    assert_int_equal(disk_read_queue(sys, "nvme0n1p2", &q, &e), 0);
    assert_true(q.partition);
    assert_string_equal(q.disk, "nvme0n1");
    assert_string_equal(q.scheduler, "none");
    assert_int_equal(q.rotational, -1);
    assert_int_equal(q.read_ahead_kb, -1);

    assert_int_equal(disk_read_queue(sys, "sdb", &q, &e), -ENOENT);
    assert_int_equal(disk_read_queue(sys, "sdb1", &q, &e), -ENOENT);

    /* malformed files leave their fields unknown */
    tmptree_put(sys, "block/sda/queue/scheduler", "[none] [mq-deadline]\n");
    tmptree_put(sys, "block/sda/queue/rotational", "2\n");
    tmptree_put(sys, "block/sda/queue/read_ahead_kb", "-1\n");
    assert_int_equal(disk_read_queue(sys, "sda", &q, &e), 0);
    assert_false(q.partition);
    assert_string_equal(q.scheduler, "");
    assert_string_equal(q.schedulers, "");
    assert_int_equal(q.rotational, -1);
    assert_int_equal(q.read_ahead_kb, -1);
    tmptree_put(sys, "block/sda/queue/read_ahead_kb", "99999999999999999999\n");
    assert_int_equal(disk_read_queue(sys, "sda", &q, &e), 0);
    assert_int_equal(q.read_ahead_kb, -1);
    tmptree_put(sys, "block/sda/queue/read_ahead_kb", "4096");
    assert_int_equal(disk_read_queue(sys, "sda", &q, &e), 0);
    assert_int_equal(q.read_ahead_kb, 4096);

    /* sysfs without block/ */
    char sub[256];
    snprintf(sub, sizeof(sub), "%s/block/sda/queue", sys);
    assert_int_equal(disk_read_queue(sub, "sda1", &q, &e), -ENOENT);
}

/* ---- parsers ------------------------------------------------------------- */

static void diskstats_parser(void **state)
{
    (void)state;
    struct disk_list l;
    struct pk_err e;
    pk_err_clear(&e);

    assert_int_equal(disk_parse_diskstats("", 0, &l, &e), 0);
    assert_int_equal(l.n, 0);
    disk_list_destroy(&l);
    assert_int_equal(disk_parse_diskstats("\n \n\t\n", 5, &l, &e), 0);
    assert_int_equal(l.n, 0);
    disk_list_destroy(&l);

    /* 11, 15, 17 and 20 counters; tabs; CRLF; no trailing newline; 64-bit maximum */
    const char *t = "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n"
                    "8\t16\tsdb\t1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\r\n"
                    "8 32 sdc 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"
                    "8 48 sdd 18446744073709551615 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20";
    assert_int_equal(disk_parse_diskstats(t, strlen(t), &l, &e), 0);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.v[0].nstats, 11);
    assert_int_equal(l.v[0].weighted_io_ms, 11);
    assert_int_equal(l.v[0].discards, 0);
    assert_int_equal(l.v[1].nstats, 15);
    assert_string_equal(l.v[1].name, "sdb");
    assert_int_equal(l.v[1].discard_ms, 15);
    assert_int_equal(l.v[1].flushes, 0);
    assert_int_equal(l.v[2].flush_ms, 17);
    assert_int_equal(l.v[3].nstats, 20);
    assert_true(l.v[3].reads == UINT64_MAX);
    assert_int_equal(l.v[3].flush_ms, 17);
    assert_true(disk_ms_to_seconds(UINT64_MAX) > 1.8e16);
    disk_list_destroy(&l);

    static const struct {
        const char *in;
        const char *on;
    } bad[] = {
        { "8 0 sda 1 2 3 4 5 6 7 8 9 10\n", "diskstats:1" },                /* 10 counters */
        { "8 0 sda1 1 2 3 4\n", "diskstats:1" },                            /* 2.6 partition format */
        { "8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n8 1 sda1 1 2", "diskstats:2" }, /* truncated */
        { "8 0 sda 1 2 3 4 5 6 7 8 9 10 18446744073709551616\n", "diskstats:1" },
        { "8 0 sda 1 2 3 4 5 6 7 8 9 10 -11\n", "diskstats:1" },
        { "8 0 sda 1 2 3 4 5 6 7 8 9 10 11x\n", "diskstats:1" },
        { "8 0 sda 1 2 3 4 5 6 7 8 9 10 1.5\n", "diskstats:1" },
        { "x 0 sda 1 2 3 4 5 6 7 8 9 10 11\n", "diskstats:1" },
        { "8 x sda 1 2 3 4 5 6 7 8 9 10 11\n", "diskstats:1" },
        { "8 4294967296 sda 1 2 3 4 5 6 7 8 9 10 11\n", "diskstats:1" },
        { "8 0sda 1 2 3 4 5 6 7 8 9 10 11\n", "diskstats:1" },
        { "8 0\n", "diskstats:1" },
        { "8 0 0123456789012345678901234567890123 1 2 3 4 5 6 7 8 9 10 11\n", "diskstats:1" },
        { "\n\ngarbage\n", "diskstats:3" },
        { "\xff\xfe", "diskstats:1" },
        { "8 0 sd\x01a 1 2 3 4 5 6 7 8 9 10 11\n", "diskstats:1" },
        { "8 0 sd\xc3\xa9 1 2 3 4 5 6 7 8 9 10 11\n", "diskstats:1" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        assert_int_equal(disk_parse_diskstats(bad[i].in, strlen(bad[i].in), &l, &e), PK_EPARSE);
        assert_string_equal(e.on, bad[i].on);
        assert_int_equal(l.n, 0);
        assert_null(l.v);
    }
    /* a 31-byte name fits */
    t = "8 0 0123456789012345678901234567890 1 2 3 4 5 6 7 8 9 10 11\n";
    assert_int_equal(disk_parse_diskstats(t, strlen(t), &l, &e), 0);
    assert_int_equal(strlen(l.v[0].name), 31);
    disk_list_destroy(&l);
    /* len cuts the line short */
    t = "8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n";
    assert_int_equal(disk_parse_diskstats(t, 20, &l, &e), PK_EPARSE);
}

static void scheduler_parser(void **state)
{
    (void)state;
    char act[16], all[64];
    static const struct {
        const char *in, *act, *all;
    } good[] = {
        { "none [mq-deadline] kyber bfq\n", "mq-deadline", "none mq-deadline kyber bfq" },
        { "[none] mq-deadline", "none", "none mq-deadline" },
        { "none\n", "none", "none" },
        { "[bfq]", "bfq", "bfq" },
        { "  noop deadline [cfq] \n", "cfq", "noop deadline cfq" },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(
            disk_parse_scheduler(good[i].in, strlen(good[i].in), act, sizeof(act), all, sizeof(all)), 0);
        assert_string_equal(act, good[i].act);
        assert_string_equal(all, good[i].all);
    }
    static const char *const bad[] = {
        "",
        "\n",
        "none mq-deadline",
        "[none] [bfq]",
        "[none",
        "none]",
        "[]",
        "[a]b",
        "[a[b]",
        "x[a]",
        "[verylongschedulername]",
        "[no\x01ne]",
        "\x00\xff\xff\xff`\n", /* found by fuzz_disk: a NUL made an empty active name */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(act, sizeof(act), "junk");
        size_t n = i == sizeof(bad) / sizeof(bad[0]) - 1 ? 6 : strlen(bad[i]);
        assert_int_equal(disk_parse_scheduler(bad[i], n, act, sizeof(act), all, sizeof(all)), PK_EPARSE);
        assert_string_equal(act, "");
        assert_string_equal(all, "");
    }
    /* The list keeps whole names only. */
    char small[12];
    assert_int_equal(
        disk_parse_scheduler("none [mq-deadline] kyber", 24, act, sizeof(act), small, sizeof(small)), 0);
    assert_string_equal(small, "none kyber");
    assert_string_equal(act, "mq-deadline");
}

static void name_filter(void **state)
{
    (void)state;
    static const char *const ignored[] = {
        "ram0",  "ram15", "zram0", "loop0", "loop127",   "fd0",         "sda1",
        "sdz15", "hda1",  "vda1",  "xvda1", "nvme0n1p1", "nvme12n3p45",
    };
    static const char *const kept[] = {
        "sda",     "vda",       "xvda", "sdaa1", "nvme0n1", "nvme0n1p", "nvmen1p1", "nvme0np1",
        "mmcblk0", "mmcblk0p1", "dm-0", "md0",   "sr0",     "ram",      "loop",     "zram",
        "fd",      "rama0",     "sd1",  "sdA1",  "loop0a",  "",         "nbd0",     "xvd1",
    };
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        if (!disk_name_ignored(ignored[i]))
            fail_msg("%s should be ignored", ignored[i]);
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        if (disk_name_ignored(kept[i]))
            fail_msg("%s should be kept", kept[i]);
}

static void busy(void **state)
{
    (void)state;
    struct disk_stats a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    snprintf(a.name, sizeof(a.name), "sda");
    snprintf(b.name, sizeof(b.name), "sda");
    a.io_ms = 1000;
    b.io_ms = 1500;
    assert_float_equal(disk_busy_pct(&a, &b, 1.0), 50.0, 1e-12);
    assert_float_equal(disk_busy_pct(&a, &b, 10.0), 5.0, 1e-12);
    assert_true(disk_busy_pct(&a, &b, 0.25) == 100); /* sampling jitter: capped */
    assert_true(disk_busy_pct(&a, &a, 1.0) == 0);
    assert_true(disk_busy_pct(&a, &b, 0) < 0);
    assert_true(disk_busy_pct(&a, &b, -1) < 0);
    /* the 32-bit millisecond counter wraps after 49.7 days */
    a.io_ms = 4294967000u;
    b.io_ms = 200;
    assert_float_equal(disk_busy_pct(&a, &b, 1.0), 49.6, 1e-9);
    /* going back by more than a wrap explains: the device was re-created */
    a.io_ms = 5000;
    b.io_ms = 100;
    assert_true(disk_busy_pct(&a, &b, 1.0) < 0);
    a.io_ms = 5000000000ull;
    assert_true(disk_busy_pct(&a, &b, 1.0) < 0);
    snprintf(b.name, sizeof(b.name), "sdb");
    b.io_ms = a.io_ms + 10;
    assert_true(disk_busy_pct(&a, &b, 1.0) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_exporter_e2e),
        cmocka_unit_test(vm_2cpu),
        cmocka_unit_test(unavailable),
        cmocka_unit_test_setup_teardown(partitions_and_odd_files, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(diskstats_parser),
        cmocka_unit_test(scheduler_parser),
        cmocka_unit_test(name_filter),
        cmocka_unit_test(busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
