/*
 * checks - the tuning checks of `perfkit doctor`, one table (as redis'
 * syscheck): each entry a name and a function that adds its findings.
 * Thresholds and their sources are in docs/doctor.md; keep both in step.
 */
#include "doctor/doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/check.h"
#include "core/err.h"
#include "sys/host.h"
#include "sys/mem.h"
#include "sys/procs.h"
#include "sys/sysctl.h"
#include "sys/sysfile.h"
#include "doctor/storage.h"

#define SYSCTL_CONF   "/etc/sysctl.d/90-perfkit.conf"
#define TMPFILES_CONF "/etc/tmpfiles.d/perfkit.conf"

struct check;

struct ctx {
    const struct doctor_opts *o;
    struct finding_report *r;
    const struct check *check; /* the one running */
};

/* 0, or -ENOMEM when a finding could not be added (having freed what it allocated). */
typedef int (*check_fn)(struct ctx *c);

/*
 * The static texts of one finding a check adds, as bound_rules has them for
 * its rules: id, area, the value it recommends (NULL: the check works it out
 * from what it reads), why it matters, and on whose word.
 */
struct finding_text {
    const char *id, *area, *recommended, *why, *source;
};

/* One entry of the checks table: the texts of the findings fn adds, in order. */
#define CHECK_MAX_FINDINGS 2
struct check {
    const char *name;
    check_fn fn;
    struct finding_text text[CHECK_MAX_FINDINGS];
};

/*
 * Appends finding k of the running check with its static texts; NULL on
 * -ENOMEM. The report's array may move: pointers to earlier findings go stale.
 */
static struct finding *add_finding(struct ctx *c, size_t k)
{
    PK_ASSERT(k < CHECK_MAX_FINDINGS && c->check->text[k].id);
    const struct finding_text *t = &c->check->text[k];
    struct finding *f = finding_add(c->r, t->id, t->area);
    if (!f)
        return NULL;
    if (t->recommended)
        finding_set(f->recommended, sizeof(f->recommended), "%s", t->recommended);
    finding_set(f->why, sizeof(f->why), "%s", t->why);
    finding_set(f->source, sizeof(f->source), "%s", t->source);
    return f;
}

static void skip_errno(struct finding *f, const char *what, int rc)
{
    if (rc == -ENOENT)
        finding_skip(f, "%s is not there (a container, or a kernel without it)", what);
    else if (rc == PK_EPARSE)
        finding_skip(f, "%s could not be parsed", what);
    else
        finding_skip(f, "%s cannot be read: %s", what, strerror(rc < 0 ? -rc : rc));
}

/* ---- sysctls with one numeric bound: most of the list */

struct bound_rule {
    const char *name;
    const char *area;
    int upper;        /* 1: the value must stay at or below ok; 0: at or above */
    int64_t ok, crit; /* crit: beyond this (same direction); INT64_MIN/MAX when none */
    int64_t recommend;
    const char *why;
    const char *source;
};

static const struct bound_rule bound_rules[] = {
    { "net.core.somaxconn", "network", 0, 4096, 256, 4096,
      "Caps every listen() backlog: a short accept queue drops connections under bursts.",
      "kernel default since 5.4; admin-guide/sysctl/net" },
    { "net.ipv4.tcp_max_syn_backlog", "network", 0, 4096, INT64_MIN, 8192,
      "Half-open connections beyond it are dropped, which looks like a slow server to clients.",
      "kernel docs, networking/ip-sysctl" },
    { "net.core.netdev_max_backlog", "network", 0, 4096, INT64_MIN, 16384,
      "Packets beyond this per-CPU queue are dropped during bursts on fast links.",
      "kernel docs, admin-guide/sysctl/net" },
    { "net.core.rmem_max", "network", 0, 4194304, INT64_MIN, 16777216,
      "Caps receive buffers: too small to fill a fast link with a long round trip.",
      "bandwidth-delay product; kernel docs, admin-guide/sysctl/net" },
    { "net.core.wmem_max", "network", 0, 4194304, INT64_MIN, 16777216,
      "Caps send buffers: too small to fill a fast link with a long round trip.",
      "bandwidth-delay product; kernel docs, admin-guide/sysctl/net" },
    { "net.ipv4.tcp_fin_timeout", "network", 1, 30, INT64_MAX, 15,
      "Sockets linger this long in FIN-WAIT-2, holding memory and ports under churn.",
      "tuning guides; kernel default 60" },
    { "vm.swappiness", "memory", 1, 10, INT64_MAX, 10,
      "A high value swaps out a service's memory to keep page cache, and it then answers at disk speed.",
      "tuned throughput-performance and latency-performance profiles" },
    { "fs.file-max", "fd", 0, 262144, 65536, 2097152,
      "The system-wide cap on open files: every connection is one.", "kernel docs, admin-guide/sysctl/fs" },
    { "kernel.perf_event_paranoid", "cpu", 1, 2, INT64_MAX, 2,
      "Above 2, user-space hardware counters (perfkit bench --counters, perf stat) are refused.",
      "kernel docs, admin-guide/perf-security" },
};

static void sysctl_fix(struct finding *f, const char *name, int64_t v)
{
    finding_set(f->fix, sizeof(f->fix), "sysctl -w %s=%lld", name, (long long)v);
    finding_set(f->persist, sizeof(f->persist), "%s = %lld", name, (long long)v);
    finding_set(f->persist_file, sizeof(f->persist_file), "%s", SYSCTL_CONF);
}

static int check_bounds(struct ctx *c)
{
    for (size_t i = 0; i < sizeof(bound_rules) / sizeof(bound_rules[0]); i++) {
        const struct bound_rule *b = &bound_rules[i];
        struct finding *f = finding_add(c->r, b->name, b->area);
        if (!f)
            return -ENOMEM;
        finding_set(f->why, sizeof(f->why), "%s", b->why);
        finding_set(f->source, sizeof(f->source), "%s", b->source);
        finding_set(f->recommended, sizeof(f->recommended), "%s %lld",
                    b->upper ? "<=" : ">=", (long long)b->ok);
        int64_t v;
        struct pk_err e;
        int rc = sysctl_read_int(c->o->procfs, b->name, &v, &e);
        if (rc) {
            skip_errno(f, b->name, rc);
            continue;
        }
        finding_set(f->observed, sizeof(f->observed), "%lld", (long long)v);
        bool bad = b->upper ? v > b->ok : v < b->ok;
        bool crit = b->upper ? v > b->crit : v < b->crit;
        f->status = crit ? FINDING_CRIT : bad ? FINDING_WARN : FINDING_OK;
        if (bad)
            sysctl_fix(f, b->name, b->recommend);
    }
    return 0;
}

/* ---- one-off sysctls */

static int read_int_or_skip(struct ctx *c, struct finding *f, const char *name, int64_t *v)
{
    struct pk_err e;
    int rc = sysctl_read_int(c->o->procfs, name, v, &e);
    if (rc)
        skip_errno(f, name, rc);
    else
        finding_set(f->observed, sizeof(f->observed), "%lld", (long long)*v);
    return rc;
}

static int check_overcommit(struct ctx *c)
{
    struct finding *f = add_finding(c, 0);
    if (!f)
        return -ENOMEM;
    int64_t v;
    if (read_int_or_skip(c, f, "vm.overcommit_memory", &v) == 0) {
        f->status = v == 2 ? FINDING_WARN : FINDING_OK;
        if (v == 2)
            sysctl_fix(f, "vm.overcommit_memory", 1);
    }
    return 0;
}

static int check_port_range(struct ctx *c)
{
    struct finding *f = add_finding(c, 0);
    if (!f)
        return -ENOMEM;
    int64_t v[2];
    size_t n = 0;
    struct pk_err e;
    int rc = sysctl_read_ints(c->o->procfs, "net.ipv4.ip_local_port_range", v, 2, &n, &e);
    if (rc || n != 2) {
        skip_errno(f, "net.ipv4.ip_local_port_range", rc ? rc : PK_EPARSE);
        return 0;
    }
    int64_t width = v[1] - v[0] + 1;
    finding_set(f->observed, sizeof(f->observed), "%lld-%lld (%lld ports)", (long long)v[0], (long long)v[1],
                (long long)width);
    f->status = width < 10000 ? FINDING_CRIT : width < 40000 ? FINDING_WARN : FINDING_OK;
    if (f->status != FINDING_OK) {
        finding_set(f->fix, sizeof(f->fix), "sysctl -w net.ipv4.ip_local_port_range='10240 65535'");
        finding_set(f->persist, sizeof(f->persist), "net.ipv4.ip_local_port_range = 10240 65535");
        finding_set(f->persist_file, sizeof(f->persist_file), "%s", SYSCTL_CONF);
    }
    return 0;
}

static int check_tw_reuse(struct ctx *c)
{
    struct finding *f = add_finding(c, 0);
    if (!f)
        return -ENOMEM;
    int64_t v;
    if (read_int_or_skip(c, f, "net.ipv4.tcp_tw_reuse", &v) == 0) {
        f->status = v == 1 ? FINDING_OK : FINDING_WARN;
        if (v != 1)
            sysctl_fix(f, "net.ipv4.tcp_tw_reuse", 1);
    }
    return 0;
}

static int check_congestion(struct ctx *c)
{
    struct finding *f = add_finding(c, 0);
    if (!f)
        return -ENOMEM;
    char cur[64], avail[512];
    struct pk_err e;
    int rc = sysctl_read_string(c->o->procfs, "net.ipv4.tcp_congestion_control", cur, sizeof(cur), &e);
    if (rc) {
        skip_errno(f, "net.ipv4.tcp_congestion_control", rc);
        return 0;
    }
    bool have_bbr = false;
    if (sysctl_read_string(c->o->procfs, "net.ipv4.tcp_available_congestion_control", avail, sizeof(avail),
                           &e) == 0) {
        char *save = NULL;
        for (char *tok = strtok_r(avail, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
            have_bbr |= strcmp(tok, "bbr") == 0;
    }
    finding_set(f->observed, sizeof(f->observed), "%s (bbr %s)", cur, have_bbr ? "available" : "not loaded");
    f->status = strcmp(cur, "bbr") == 0 ? FINDING_OK : FINDING_WARN;
    if (f->status == FINDING_WARN) {
        finding_set(f->fix, sizeof(f->fix),
                    "%ssysctl -w net.core.default_qdisc=fq && "
                    "sysctl -w net.ipv4.tcp_congestion_control=bbr",
                    have_bbr ? "" : "modprobe tcp_bbr && ");
        finding_set(f->persist, sizeof(f->persist), "net.ipv4.tcp_congestion_control = bbr");
        finding_set(f->persist_file, sizeof(f->persist_file), "%s", SYSCTL_CONF);
    }
    return 0;
}

/* ---- files */

static int check_file_nr(struct ctx *c)
{
    struct finding *f = add_finding(c, 0);
    if (!f)
        return -ENOMEM;
    struct sysctl_file_nr nr;
    struct pk_err e;
    int rc = sysctl_read_file_nr(c->o->procfs, &nr, &e);
    if (rc) {
        skip_errno(f, "fs/file-nr", rc);
        return 0;
    }
    double pct = nr.max ? 100.0 * (double)nr.allocated / (double)nr.max : 0;
    finding_set(f->observed, sizeof(f->observed), "%llu of %llu (%.2g%%)", (unsigned long long)nr.allocated,
                (unsigned long long)nr.max, pct);
    f->status = pct > 95 ? FINDING_CRIT : pct > 80 ? FINDING_WARN : FINDING_OK;
    if (f->status != FINDING_OK)
        sysctl_fix(f, "fs.file-max", (int64_t)(nr.allocated * 2 > 2097152 ? nr.allocated * 2 : 2097152));
    return 0;
}

/* RLIMIT_NOFILE of the process a service would inherit it from: this one
 * (procfs/self/limits), or the one given with --pid. */
static int check_nofile(struct ctx *c)
{
    char rel[64];
    if (c->o->pid)
        snprintf(rel, sizeof(rel), "%d/limits", (int)c->o->pid);
    else
        snprintf(rel, sizeof(rel), "self/limits");
    if (!add_finding(c, 0) || !add_finding(c, 1))
        return -ENOMEM;
    /* the second add may have moved the array: both pointers are taken after it */
    struct finding *soft = &c->r->findings[c->r->nfindings - 2];
    struct finding *hard = &c->r->findings[c->r->nfindings - 1];
    char buf[4096];
    size_t n = 0;
    struct pk_err e;
    int rc = sysfile_load_small(c->o->procfs, rel, buf, sizeof(buf), &n, &e);
    struct procs_limit lim;
    if (rc == 0)
        rc = procs_parse_limit(buf, n, "Max open files", &lim);
    if (rc) {
        skip_errno(soft, rel, rc);
        skip_errno(hard, rel, rc);
        return 0;
    }
    struct finding *fs[2] = { soft, hard };
    uint64_t v[2] = { lim.soft, lim.hard };
    for (int i = 0; i < 2; i++) {
        if (v[i] == PROCS_UNLIMITED)
            finding_set(fs[i]->observed, sizeof(fs[i]->observed), "unlimited");
        else
            finding_set(fs[i]->observed, sizeof(fs[i]->observed), "%llu", (unsigned long long)v[i]);
        bool low = v[i] != PROCS_UNLIMITED && v[i] < 65536;
        fs[i]->status = !low ? FINDING_OK : (i == 0 && v[i] < 4096) ? FINDING_CRIT : FINDING_WARN;
        if (low) {
            finding_set(fs[i]->fix, sizeof(fs[i]->fix),
                        "ulimit -n 65536  # in the shell that starts the "
                        "service; or LimitNOFILE=65536 in its systemd unit");
            finding_set(fs[i]->persist, sizeof(fs[i]->persist), "*  %s  nofile  65536", i ? "hard" : "soft");
            finding_set(fs[i]->persist_file, sizeof(fs[i]->persist_file), "/etc/security/limits.conf");
        }
    }
    return 0;
}

/* ---- memory */

static int check_thp(struct ctx *c)
{
    /* in the order of the check's texts; the recommended value is good's */
    static const struct {
        const char *file, *good;
    } t[] = {
        { "kernel/mm/transparent_hugepage/enabled", "madvise" },
        { "kernel/mm/transparent_hugepage/defrag", "madvise" },
    };
    for (size_t i = 0; i < 2; i++) {
        struct finding *f = add_finding(c, i);
        if (!f)
            return -ENOMEM;
        struct sysctl_choice ch;
        struct pk_err e;
        int rc = sysctl_read_choice(c->o->sysfs, t[i].file, &ch, &e);
        if (rc) {
            skip_errno(f, t[i].file, rc);
            continue;
        }
        finding_set(f->observed, sizeof(f->observed), "%s", ch.selected);
        f->status = strcmp(ch.selected, "always") == 0 ? FINDING_WARN : FINDING_OK;
        if (f->status == FINDING_WARN) {
            finding_set(f->fix, sizeof(f->fix), "echo %s > /sys/%s", t[i].good, t[i].file);
            finding_set(f->persist, sizeof(f->persist), "w /sys/%s - - - - %s", t[i].file, t[i].good);
            finding_set(f->persist_file, sizeof(f->persist_file), "%s", TMPFILES_CONF);
        }
    }
    return 0;
}

static int check_memory(struct ctx *c)
{
    struct mem_info m;
    struct pk_err e;
    struct finding *f, *g;
    int ret = -ENOMEM;
    mem_info_init(&m);
    int rc = mem_read(c->o->procfs, &m, &e);

    if (!(f = add_finding(c, 0)))
        goto out;
    if (rc) {
        skip_errno(f, "meminfo", rc);
    } else if (m.swap_total == 0) {
        finding_set(f->observed, sizeof(f->observed), "no swap");
        f->status = FINDING_OK;
    } else {
        finding_set(f->observed, sizeof(f->observed), "%.1f%% of %llu MiB", m.swap_used_pct,
                    (unsigned long long)(m.swap_total >> 20));
        f->status = m.swap_used_pct > 50 ? FINDING_CRIT : m.swap_used_pct > 10 ? FINDING_WARN : FINDING_OK;
        if (f->status != FINDING_OK)
            finding_set(f->fix, sizeof(f->fix),
                        "sysctl -w vm.swappiness=10  # then find what grew: "
                        "perfkit doctor --sample 10s");
    }

    /* The kernel's own default is sqrt(16 * lowmem kB), clamped; far below it
     * the allocator stalls in reclaim, far above it memory sits idle. */
    if (!(g = add_finding(c, 1)))
        goto out;
    int64_t v;
    if (rc) {
        skip_errno(g, "meminfo", rc);
    } else if (read_int_or_skip(c, g, "vm.min_free_kbytes", &v) == 0) {
        double total_kb = (double)m.total / 1024.0;
        double rec = sqrt(16.0 * total_kb);
        rec = rec < 128 ? 128 : rec > 262144 ? 262144 : rec;
        double hi = total_kb * 0.05;
        finding_set(g->recommended, sizeof(g->recommended), "%.0f to %.0f (kernel default %.0f)", rec / 2, hi,
                    rec);
        g->status = ((double)v < rec / 2 || (double)v > hi) ? FINDING_WARN : FINDING_OK;
        if (g->status == FINDING_WARN)
            sysctl_fix(g, "vm.min_free_kbytes", (int64_t)rec);
    }
    ret = 0;
out:
    mem_info_destroy(&m);
    return ret;
}

/* ---- CPU */

static int read_sys_line(const char *sysfs, const char *rel, char *dst, size_t cap)
{
    char buf[512];
    size_t n;
    struct pk_err e;
    int rc = sysfile_load_small(sysfs, rel, buf, sizeof(buf), &n, &e);
    if (rc == 0)
        host_parse_line(buf, n, dst, cap);
    return rc;
}

static int check_governor(struct ctx *c)
{
    struct finding *f = add_finding(c, 0);
    if (!f)
        return -ENOMEM;
    struct host_info h;
    struct pk_err e;
    if (host_read(c->o->procfs, c->o->sysfs, &h, &e) != 0 || !h.governor[0]) {
        finding_skip(f, "no cpufreq governor under %s (a VM, or frequency fixed by firmware)", c->o->sysfs);
        return 0;
    }
    finding_set(f->observed, sizeof(f->observed), "%s%s", h.governor,
                h.governor_mixed ? " (CPUs differ)" : "");
    f->status = strcmp(h.governor, "performance") == 0 && !h.governor_mixed ? FINDING_OK : FINDING_WARN;
    if (f->status == FINDING_WARN) {
        finding_set(f->fix, sizeof(f->fix),
                    "for g in /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor; "
                    "do echo performance > \"$g\"; done");
        finding_set(f->persist, sizeof(f->persist),
                    "w /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor - - - - performance");
        finding_set(f->persist_file, sizeof(f->persist_file), "%s", TMPFILES_CONF);
    }
    return 0;
}

static int check_clocksource(struct ctx *c)
{
    struct finding *f = add_finding(c, 0);
    if (!f)
        return -ENOMEM;
    char cur[64], avail[256];
    int rc = read_sys_line(c->o->sysfs, "devices/system/clocksource/clocksource0/current_clocksource", cur,
                           sizeof(cur));
    if (rc) {
        skip_errno(f, "clocksource0/current_clocksource", rc);
        return 0;
    }
    if (read_sys_line(c->o->sysfs, "devices/system/clocksource/clocksource0/available_clocksource", avail,
                      sizeof(avail)))
        avail[0] = '\0';
    finding_set(f->observed, sizeof(f->observed), "%s (available: %s)", cur, avail[0] ? avail : "?");
    if (!strcmp(cur, "tsc") || !strcmp(cur, "kvm-clock") || !strcmp(cur, "arch_sys_counter"))
        f->status = FINDING_OK;
    else if (!strcmp(cur, "hpet") || !strcmp(cur, "acpi_pm") || !strcmp(cur, "jiffies"))
        f->status = FINDING_CRIT;
    else
        f->status = FINDING_WARN;
    bool tsc = strstr(avail, "tsc") != NULL;
    if (f->status != FINDING_OK && tsc) {
        finding_set(f->fix, sizeof(f->fix),
                    "echo tsc > /sys/devices/system/clocksource/clocksource0/current_clocksource");
        finding_set(f->persist, sizeof(f->persist),
                    "w /sys/devices/system/clocksource/clocksource0/current_clocksource - - - - tsc");
        finding_set(f->persist_file, sizeof(f->persist_file), "%s", TMPFILES_CONF);
    }
    return 0;
}

static int check_smt(struct ctx *c)
{
    struct finding *f = add_finding(c, 0);
    if (!f)
        return -ENOMEM;
    char ctl[32], active[8];
    int rc = read_sys_line(c->o->sysfs, "devices/system/cpu/smt/control", ctl, sizeof(ctl));
    if (rc) {
        skip_errno(f, "cpu/smt/control", rc);
        return 0;
    }
    if (read_sys_line(c->o->sysfs, "devices/system/cpu/smt/active", active, sizeof(active)))
        snprintf(active, sizeof(active), "?");
    finding_set(f->observed, sizeof(f->observed), "control %s, active %s", ctl, active);
    f->status = FINDING_OK;
    return 0;
}

static int count_numa_nodes(const char *sysfs)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/devices/system/node", sysfs);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "node", 4) && sysfile_is_digit(de->d_name[4]))
            n++;
    closedir(d);
    return n;
}

static int check_numa(struct ctx *c)
{
    struct finding *f = add_finding(c, 0);
    if (!f)
        return -ENOMEM;
    int nodes = count_numa_nodes(c->o->sysfs);
    if (nodes < 0) {
        skip_errno(f, "devices/system/node", nodes);
        return 0;
    }
    if (nodes <= 1) {
        finding_skip(f, "one NUMA node: nothing to balance");
        return 0;
    }
    int64_t v;
    if (read_int_or_skip(c, f, "kernel.numa_balancing", &v) == 0) {
        f->status = v ? FINDING_OK : FINDING_WARN;
        if (!v)
            sysctl_fix(f, "kernel.numa_balancing", 1);
    }
    return 0;
}

static int check_storage(struct ctx *c)
{
    return storage_checks(c->o, c->r);
}

/* In the order they run; bound_rules and storage_checks keep their own texts. */
static const struct check checks[] = {
    { "open files limit",
      check_nofile,
      { { "fd.nofile.soft", "fd", ">= 65536",
          "Every connection and file is a descriptor: at the soft limit accept() and open() fail with "
          "EMFILE.",
          "the guide: ulimit -n 65536" },
        { "fd.nofile.hard", "fd", ">= 65536",
          "The hard limit caps what a service may raise its soft limit to without root.",
          "the guide: limits.conf nofile 65536" } } },
    { "sysctl bounds", check_bounds, { { 0 } } },
    { "overcommit",
      check_overcommit,
      { { "vm.overcommit_memory", "memory", "0 or 1",
          "With strict accounting (2) a fork() or a large allocation fails though memory is free, "
          "e.g. a database's background save.",
          "Redis administration guide; admin-guide/sysctl/vm" } } },
    { "port range",
      check_port_range,
      { { "net.ipv4.ip_local_port_range", "network", "a range of >= 40000 ports (10240 65535)",
          "Ephemeral ports bound the outbound connections to one destination; a proxy or a client "
          "under load runs out.",
          "kernel docs, networking/ip-sysctl" } } },
    { "tw_reuse",
      check_tw_reuse,
      { { "net.ipv4.tcp_tw_reuse", "network", "1",
          "Lets new outbound connections reuse sockets in TIME-WAIT; 2 (the default) does so only "
          "for loopback.",
          "kernel docs, networking/ip-sysctl" } } },
    { "congestion control",
      check_congestion,
      { { "net.ipv4.tcp_congestion_control", "network", "bbr",
          "BBR paces by measured bandwidth and round trip, keeping queues short and throughput high "
          "on lossy or long paths.",
          "Cardwell et al., BBR (ACM Queue, 2016)" } } },
    { "file-nr",
      check_file_nr,
      { { "fs.file-nr", "fd", "<= 80% of fs.file-max in use",
          "Near the cap, every new connection or file fails with ENFILE.", "the guide's 80 % line" } } },
    { "transparent huge pages",
      check_thp,
      { { "mm.thp.enabled", "memory", "madvise (or never)",
          "With 'always', the kernel compacts memory to build huge pages, stalling allocations and "
          "bloating the memory of sparse heaps (databases, allocators).",
          "Redis latency guide; admin-guide/mm/transhuge" },
        { "mm.thp.defrag", "memory", "madvise (or never)",
          "With 'always', a page fault may wait for direct compaction: latency spikes.",
          "Redis latency guide; admin-guide/mm/transhuge" } } },
    { "memory",
      check_memory,
      { { "mem.swap.used", "memory", "<= 10% of swap in use",
          "Memory in swap is read back at disk speed: a swapped service answers slowly and unevenly.",
          "the guide: keep memory below 80 %" },
        /* recommended: the kernel's default for this machine's memory */
        { "vm.min_free_kbytes", "memory", NULL,
          "Too low and allocations stall in direct reclaim under pressure; too high and memory sits "
          "unused.",
          "the kernel's default, mm/page_alloc.c" } } },
    { "governor",
      check_governor,
      { { "cpu.governor", "cpu", "performance",
          "Other governors lower the clock when idle and ramp it under load: the first requests of a "
          "burst run slow, and timings vary.",
          "kernel docs, admin-guide/pm/cpufreq" } } },
    { "clocksource",
      check_clocksource,
      { { "cpu.clocksource", "cpu", "tsc (kvm-clock, arch_sys_counter)",
          "Every timestamp (gettimeofday, clock_gettime) reads it; hpet and acpi_pm make each read a "
          "slow I/O access instead of a register read.",
          "kernel docs, timers; vendor tuning guides" } } },
    { "smt",
      check_smt,
      { { "cpu.smt", "cpu", "informational",
          "Hardware threads share a core's caches and units: for latency-critical services, pin them "
          "apart or turn SMT off.",
          "kernel docs, admin-guide/hw-vuln/core-scheduling" } } },
    { "numa",
      check_numa,
      { { "kernel.numa_balancing", "cpu", "1 on machines with several NUMA nodes",
          "Without it, memory stays on the node it was first touched on while threads run elsewhere: "
          "every access crosses the interconnect.",
          "kernel docs, admin-guide/sysctl/kernel" } } },
    { "disks and filesystems", check_storage, { { 0 } } },
};

void doctor_opts_default(struct doctor_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->procfs = "/proc";
    o->sysfs = "/sys";
    o->sample_s = 3.0;
}

int doctor_checks(const struct doctor_opts *o, struct finding_report *r, struct pk_err *e)
{
    struct ctx c = { .o = o, .r = r };
    int dir = open(o->procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return err_errno(e, -errno, o->procfs, "cannot open the procfs root");
    close(dir);
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        c.check = &checks[i];
        int rc = checks[i].fn(&c);
        if (rc)
            return err_errno(e, rc, checks[i].name, "check failed");
    }
    return 0;
}
