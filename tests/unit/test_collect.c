/* nftw() and FTW_DEPTH need X/Open. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tmptree.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "monitor/collect.h"
#include "monitor/expo.h"
#include "monitor/metric.h"

#define NE PK_FIXTURES "/node_exporter"
#define VM PK_FIXTURES "/sys/vm-2cpu"

/* ---- expositions read back ---------------------------------------------------------- */

struct sample {
    char name[128];
    char labels[1024]; /* name="escaped value" pairs sorted by name, comma-separated */
    double value;
    bool matched;
};

struct family {
    char name[128];
    char help[512];
    char type[16];
    size_t nsamples;
};

struct expo_text {
    struct sample *s;
    size_t n, cap;
    struct family *f;
    size_t nf, capf;
};

static struct family *family_of(struct expo_text *x, const char *name)
{
    for (size_t i = 0; i < x->nf; i++)
        if (strcmp(x->f[i].name, name) == 0)
            return &x->f[i];
    if (x->nf == x->capf) {
        x->capf = x->capf ? 2 * x->capf : 256;
        x->f = realloc(x->f, x->capf * sizeof(*x->f));
        assert_non_null(x->f);
    }
    struct family *f = &x->f[x->nf++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    return f;
}

struct pair {
    char text[512];
};

static int pair_cmp(const void *a, const void *b)
{
    return strcmp(((const struct pair *)a)->text, ((const struct pair *)b)->text);
}

/*
 * A text-format exposition (node_exporter's e2e-output.txt or ours), labels
 * put in a canonical order: client_golang sorts them, perfkit keeps the order
 * it was given.
 */
static void parse_text(const char *text, struct expo_text *x)
{
    memset(x, 0, sizeof(*x));
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        size_t n = (size_t)(eol - p);
        char line[4096];
        assert_true(n < sizeof(line));
        memcpy(line, p, n);
        line[n] = '\0';
        p = *eol ? eol + 1 : eol;
        if (n == 0)
            continue;
        if (line[0] == '#') {
            char kind[8], name[128];
            int off = 0;
            if (sscanf(line, "# %7s %127s %n", kind, name, &off) < 2)
                continue;
            struct family *f = family_of(x, name);
            if (strcmp(kind, "HELP") == 0)
                snprintf(f->help, sizeof(f->help), "%s", line + off);
            else if (strcmp(kind, "TYPE") == 0)
                snprintf(f->type, sizeof(f->type), "%s", line + off);
            continue;
        }
        if (x->n == x->cap) {
            x->cap = x->cap ? 2 * x->cap : 1024;
            x->s = realloc(x->s, x->cap * sizeof(*x->s));
            assert_non_null(x->s);
        }
        struct sample *s = &x->s[x->n++];
        memset(s, 0, sizeof(*s));
        size_t nl = strcspn(line, "{ ");
        assert_true(nl < sizeof(s->name));
        memcpy(s->name, line, nl);
        const char *q = line + nl;
        struct pair pairs[64];
        size_t np = 0;
        if (*q == '{') {
            q++;
            while (*q != '}') {
                assert_true(np < 64);
                const char *start = q;
                q = strchr(q, '"');
                assert_non_null(q);
                for (q++; *q != '"'; q++) {
                    assert_true(*q != '\0');
                    if (*q == '\\')
                        q++;
                }
                q++;
                size_t pl = (size_t)(q - start);
                assert_true(pl < sizeof(pairs[0].text));
                memcpy(pairs[np].text, start, pl);
                pairs[np].text[pl] = '\0';
                np++;
                if (*q == ',')
                    q++;
            }
            q++;
        }
        qsort(pairs, np, sizeof(pairs[0]), pair_cmp);
        for (size_t i = 0; i < np; i++) {
            if (i)
                strcat(s->labels, ",");
            assert_true(strlen(s->labels) + strlen(pairs[i].text) + 2 < sizeof(s->labels));
            strcat(s->labels, pairs[i].text);
        }
        assert_true(*q == ' ');
        char *end;
        s->value = strtod(q + 1, &end);
        assert_true(end != q + 1 && *end == '\0');
        family_of(x, s->name)->nsamples++;
    }
}

static void expo_text_free(struct expo_text *x)
{
    free(x->s);
    free(x->f);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static char *render(const struct metric_set *s)
{
    char *out;
    size_t len;
    struct pk_err e;
    assert_int_equal(expo_render(s, EXPO_TEXT, &out, &len, &e), 0);
    return out;
}

/* The sample `name` with exactly these sorted labels ("" for none). */
static const struct sample *find_sample(const struct expo_text *x, const char *name, const char *labels)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->s[i].name, name) == 0 && strcmp(x->s[i].labels, labels) == 0)
            return &x->s[i];
    return NULL;
}

/* The family a sample name belongs to in a text exposition: itself (no histograms here). */
static struct family *family_find(struct expo_text *x, const char *name)
{
    for (size_t i = 0; i < x->nf; i++)
        if (strcmp(x->f[i].name, name) == 0)
            return &x->f[i];
    return NULL;
}

/* ---- node_exporter's tree and its e2e-output.txt --------------------------------------- */

/*
 * Families perfkit exports that e2e-output.txt does not have, and why:
 * node_exporter's e2e run disables the filesystem collector and does not
 * enable tcpstat; uname is left out there (it comes from the uname syscall,
 * not the fixture tree). Their values are checked on recorded trees below.
 */
static const char *const not_in_e2e[] = {
    "node_filesystem_device_error", "node_filesystem_readonly",    "node_filesystem_size_bytes",
    "node_filesystem_free_bytes",   "node_filesystem_avail_bytes", "node_filesystem_files",
    "node_filesystem_files_free",   "node_tcp_connection_states",  "node_uname_info",
};

/*
 * e2e-output.txt families (of node_exporter's node_* collectors that read
 * /proc, /sys or syscalls) perfkit does not export, and why:
 *   - anything from /sys, which perfkit monitor does not read yet: node_cpu_*
 *     but node_cpu_seconds_total and node_cpu_guest_seconds_total (cpufreq,
 *     throttles, isolated, vulnerabilities, node_cpu_info, bug and flag info,
 *     frequency), node_disk_info, node_disk_ata_*, node_disk_device_mapper_info,
 *     node_disk_filesystem_info (sysfs and udev's database), node_network_*
 *     but the netdev counters (netclass: carrier, mtu, speed, flags, up, ...),
 *     node_memory_numa_* (per NUMA node meminfo), node_hwmon_*, node_thermal_*,
 *     node_cooling_*, node_power_supply_*, node_rapl_*, node_edac_*,
 *     node_bcache_*, node_bcachefs_*, node_btrfs_*, node_xfs_*, node_md_*
 *     (mdstat), node_nvme_*, node_fibrechannel_*, node_infiniband_*,
 *     node_pcidevice_*, node_tape_*, node_watchdog_*, node_dmi_info,
 *     node_time_clocksource_*;
 *   - /proc files outside the host-health set this agent watches: node_vmstat_*,
 *     node_netstat_*, node_sockstat_*, node_softnet_*, node_softirqs_*,
 *     node_interrupts_*, node_schedstat_*, node_slabinfo_*, node_zoneinfo_*,
 *     node_buddyinfo_*, node_arp_*, node_udp_*, node_xfrm_*, node_lnstat_*,
 *     node_ipvs_*, node_drbd_*, node_zfs_*, node_mountstats_*, node_nfs_*,
 *     node_nfsd_*, node_cgroups_*, node_ksmd_*, node_nf_conntrack_*,
 *     node_qdisc_*, node_wifi_*, node_bonding_*, node_dmmultipath_*,
 *     node_entropy_*, node_kernel_hung_tasks_total, node_sysctl_* (the
 *     sysctl collector exports what it is configured with);
 *   - node_network_receive_nohandler_total: only netlink has it, perfkit
 *     reads /proc/net/dev (this tree has none, so no node_network_* at all);
 *   - node_os_info, node_os_version (/etc/os-release), node_time_zone_offset_seconds;
 *   - node_exporter's own: node_scrape_collector_* (perfkit_collector_success
 *     and perfkit_collector_duration_seconds say the same), node_exporter_build_info,
 *     node_textfile_*, go_*, process_*, promhttp_*, testmetric*.
 * node_time_seconds is in e2e-output.txt without a sample (its value is the
 * time of the run): only its help and type are compared.
 */
static void node_exporter_e2e(void **state)
{
    const char *tmp = *state;
    /* No statvfs for this tree's mounts was recorded; a table for "/" only
     * leaves the others with device_error 1, as a failed statvfs would. */
    tmptree_put(tmp, "statvfs.tsv", "/\t4096\t1000\t600\t500\t100\t40\n");
    char table[512];
    snprintf(table, sizeof(table), "%s/statvfs.tsv", tmp);

    struct collect_opts o;
    collect_opts_init(&o);
    o.procfs = NE "/proc";
    o.statvfs_table = table;
    struct collect c;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(collect_init(&c, &o, &e), 0);
    struct metric_set set;
    metric_set_init(&set);
    assert_int_equal(collect_sample(&c, &set, 1700000000000, &e), 0);
    char *text = render(&set);

    struct expo_text ours, ne;
    parse_text(text, &ours);
    char *e2e = slurp(NE "/e2e-output.txt");
    parse_text(e2e, &ne);

    size_t compared = 0, families = 0;
    for (size_t i = 0; i < ours.nf; i++) {
        struct family *f = &ours.f[i];
        if (strncmp(f->name, "node_", 5) != 0)
            continue;
        struct family *nf = family_find(&ne, f->name);
        if (!nf) {
            bool allowed = false;
            for (size_t k = 0; k < sizeof(not_in_e2e) / sizeof(not_in_e2e[0]); k++)
                allowed |= strcmp(not_in_e2e[k], f->name) == 0;
            if (!allowed)
                fail_msg("%s: not a node_exporter family (not in e2e-output.txt)", f->name);
            continue;
        }
        families++;
        /* the same help and type: Grafana shows the help, rules depend on the type */
        if (strcmp(f->help, nf->help) != 0)
            fail_msg("%s: help \"%s\", node_exporter \"%s\"", f->name, f->help, nf->help);
        if (strcmp(f->type, nf->type) != 0)
            fail_msg("%s: type %s, node_exporter %s", f->name, f->type, nf->type);
    }
    /* every node_* series: the same labels and the same value, to the bit */
    for (size_t i = 0; i < ours.n; i++) {
        struct sample *s = &ours.s[i];
        if (strncmp(s->name, "node_", 5) != 0)
            continue;
        struct family *nf = family_find(&ne, s->name);
        if (!nf || nf->nsamples == 0)
            continue; /* not_in_e2e, or node_time_seconds */
        struct sample *w = (struct sample *)find_sample(&ne, s->name, s->labels);
        if (!w)
            fail_msg("%s{%s} = %.17g: not in e2e-output.txt", s->name, s->labels, s->value);
        if (!(w->value == s->value || (isnan(w->value) && isnan(s->value))))
            fail_msg("%s{%s}: %.17g, node_exporter %.17g", s->name, s->labels, s->value, w->value);
        w->matched = true;
        compared++;
    }
    /* and the other way: every e2e series of a family perfkit exports is there */
    for (size_t i = 0; i < ne.n; i++) {
        const struct sample *w = &ne.s[i];
        if (!w->matched && family_find(&ours, w->name))
            fail_msg("%s{%s}: in e2e-output.txt, not exported", w->name, w->labels);
    }
    /* 64 cpu + 16 guest + 6 stat + 3 load + 42 meminfo + 175 disk + 6 pressure + 2 filefd + 6 processes */
    print_message("node_exporter e2e: %zu node_* families, %zu series, all equal\n", families, compared);
    assert_int_equal(compared, 64 + 16 + 6 + 3 + 42 + 175 + 6 + 2 + 6);

    /* what the tree lacks is reported once, and stays out of the output */
    assert_int_equal(c.nissues, 3);
    const char *want[] = { "netdev", "tcpstat", "uname" };
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(c.issues[i].collector, want[i]);
        assert_int_equal(c.issues[i].err.code, -ENOENT);
    }
    assert_non_null(strstr(c.issues[0].err.on, "/proc/net/dev"));
    assert_int_equal(c.failing, (1u << COLLECT_NETDEV) | (1u << COLLECT_TCPSTAT) | (1u << COLLECT_UNAME));
    assert_null(metric_find_family(&set, "node_network_receive_bytes_total"));
    assert_null(metric_find_family(&set, "node_tcp_connection_states"));
    struct metric_label l[1] = { { "collector", "netdev" } };
    assert_true(metric_find(&set, "perfkit_collector_success", l, 1)->value == 0);
    l[0].value = "cpu";
    assert_true(metric_find(&set, "perfkit_collector_success", l, 1)->value == 1);
    /* the mounts: "/" from the table, the others failed */
    struct metric_label root[3] = { { "device", "/dev/dm-2" }, { "fstype", "ext4" }, { "mountpoint", "/" } };
    assert_true(metric_find(&set, "node_filesystem_device_error", root, 3)->value == 0);
    assert_true(metric_find(&set, "node_filesystem_size_bytes", root, 3)->value == 4096000);
    assert_true(metric_find(&set, "node_filesystem_avail_bytes", root, 3)->value == 2048000);
    assert_float_equal(metric_find(&set, "perfkit_filesystem_used_ratio", root, 3)->value, 400.0 / 900,
                       1e-15);
    assert_float_equal(metric_find(&set, "perfkit_filesystem_inodes_used_ratio", root, 3)->value, 0.6, 1e-15);
    struct metric_label boot[3] = { { "device", "/dev/sda3" },
                                    { "fstype", "ext2" },
                                    { "mountpoint", "/boot" } };
    assert_true(metric_find(&set, "node_filesystem_device_error", boot, 3)->value == 1);
    assert_null(metric_find(&set, "node_filesystem_size_bytes", boot, 3));

    /* status: no /proc/uptime in this tree: uptime from the boot time */
    assert_int_equal(c.status.cpus, 8);
    assert_true(c.status.boot_time_s == 1418183276);
    assert_true(c.status.uptime_s == 1700000000 - 1418183276);
    assert_string_equal(c.status.hostname, "");
    assert_int_equal(c.status.ntop_cpu, 0);
    assert_true(c.status.ntop_rss >= 1);

    /* the second sample reports nothing new: the failures were said once */
    assert_int_equal(collect_sample(&c, &set, 1700000001000, &e), 0);
    assert_int_equal(c.nissues, 0);
    assert_int_equal(c.recovered, 0);
    assert_int_equal(c.failing, (1u << COLLECT_NETDEV) | (1u << COLLECT_TCPSTAT) | (1u << COLLECT_UNAME));
    /* the tree did not change: no tick elapsed, so no utilisation (not 0) */
    assert_null(metric_find_family(&set, "perfkit_cpu_utilization_ratio"));
    /* disks did not move in one second */
    struct metric_label sda[1] = { { "device", "sda" } };
    assert_true(metric_find(&set, "perfkit_disk_busy_ratio", sda, 1)->value == 0);

    expo_text_free(&ours);
    expo_text_free(&ne);
    free(e2e);
    free(text);
    metric_set_destroy(&set);
    collect_destroy(&c);
}

/* ---- the 2-CPU VM's tree: the families e2e-output.txt cannot check ----------------------- */

static double value(const struct metric_set *s, const char *name, const char *lname, const char *lvalue)
{
    struct metric_label l[1] = { { lname, lvalue } };
    const struct metric_series *m = metric_find(s, name, lname ? l : NULL, lname ? 1 : 0);
    if (!m)
        fail_msg("%s{%s=\"%s\"} missing", name, lname ? lname : "", lvalue ? lvalue : "");
    return m->value;
}

static void vm_2cpu(void **state)
{
    (void)state;
    struct collect_opts o;
    collect_opts_init(&o);
    o.procfs = VM "/proc";
    o.sysfs = VM "/sys";
    o.statvfs_table = VM "/statvfs.tsv";
    struct collect c;
    struct pk_err e;
    assert_int_equal(collect_init(&c, &o, &e), 0);
    struct metric_set s;
    metric_set_init(&s);
    assert_int_equal(collect_sample(&c, &s, 1700000000000, &e), 0);

    /* statvfs.tsv: "/  4096 66053021 61679143 20710419 16777216 16336944"; ext4 on /dev/vda */
    struct metric_label root[3] = { { "device", "/dev/vda" }, { "fstype", "ext4" }, { "mountpoint", "/" } };
    assert_true(metric_find(&s, "node_filesystem_size_bytes", root, 3)->value == 66053021.0 * 4096);
    assert_true(metric_find(&s, "node_filesystem_free_bytes", root, 3)->value == 61679143.0 * 4096);
    assert_true(metric_find(&s, "node_filesystem_avail_bytes", root, 3)->value == 20710419.0 * 4096);
    assert_true(metric_find(&s, "node_filesystem_files", root, 3)->value == 16777216);
    assert_true(metric_find(&s, "node_filesystem_files_free", root, 3)->value == 16336944);
    assert_true(metric_find(&s, "node_filesystem_readonly", root, 3)->value == 0);
    assert_true(metric_find(&s, "node_filesystem_device_error", root, 3)->value == 0);
    double used = 66053021.0 - 61679143.0;
    assert_float_equal(metric_find(&s, "perfkit_filesystem_used_ratio", root, 3)->value,
                       used / (used + 20710419.0), 1e-15);
    assert_float_equal(metric_find(&s, "perfkit_filesystem_inodes_used_ratio", root, 3)->value,
                       (16777216.0 - 16336944.0) / 16777216.0, 1e-15);
    /* ext4 on / is the only mount node_exporter's filters keep there */
    assert_int_equal(metric_find_family(&s, "node_filesystem_size_bytes")->n, 1);

    /* net/dev: eth0 62397217 bytes in, 59234 out; lo 3267 both ways */
    assert_true(value(&s, "node_network_receive_bytes_total", "device", "eth0") == 62397217);
    assert_true(value(&s, "node_network_transmit_bytes_total", "device", "eth0") == 59234);
    assert_true(value(&s, "node_network_receive_packets_total", "device", "lo") == 29);
    assert_true(value(&s, "node_network_transmit_compressed_total", "device", "ifb1") == 0);
    assert_int_equal(metric_find_family(&s, "node_network_receive_bytes_total")->n, 4);
    /* net/tcp + tcp6: 8 established, 3 listen, 2 each of close_wait, fin_wait2, time_wait */
    assert_true(value(&s, "node_tcp_connection_states", "state", "established") == 8);
    assert_true(value(&s, "node_tcp_connection_states", "state", "listen") == 3);
    assert_true(value(&s, "node_tcp_connection_states", "state", "close_wait") == 2);
    assert_true(value(&s, "node_tcp_connection_states", "state", "fin_wait2") == 2);
    assert_true(value(&s, "node_tcp_connection_states", "state", "time_wait") == 2);
    assert_true(value(&s, "node_tcp_connection_states", "state", "syn_recv") == 0);
    assert_true(value(&s, "node_tcp_connection_states", "state", "rx_queued_bytes") == 2 * (1 + 100));
    /* processes: 6 S, 2 I, 1 T, 1 R, 1 Z; 14 threads */
    assert_true(value(&s, "perfkit_processes", "state", "sleeping") == 6);
    assert_true(value(&s, "perfkit_processes", "state", "idle") == 2);
    assert_true(value(&s, "perfkit_processes", "state", "stopped") == 1);
    assert_true(value(&s, "perfkit_processes", "state", "running") == 1);
    assert_true(value(&s, "perfkit_processes", "state", "zombie") == 1);
    assert_true(value(&s, "perfkit_processes", "state", "blocked") == 0);
    assert_true(value(&s, "perfkit_processes_all", NULL, NULL) == 11);
    assert_true(value(&s, "perfkit_threads", NULL, NULL) == 14);
    assert_true(value(&s, "node_processes_state", "state", "Z") == 1);
    struct metric_label d_state[1] = { { "state", "D" } };
    assert_null(metric_find(&s, "node_processes_state", d_state, 1)); /* only the states present */
    /* meminfo: MemTotal 24684084 kB, MemAvailable 24315784 kB, no swap */
    assert_float_equal(value(&s, "perfkit_memory_used_ratio", NULL, NULL),
                       (24684084.0 - 24315784.0) / 24684084.0, 1e-12);
    assert_true(value(&s, "perfkit_swap_used_ratio", NULL, NULL) == 0);
    assert_true(value(&s, "node_memory_MemAvailable_bytes", NULL, NULL) == 24315784.0 * 1024);
    /* file-nr: 454 0 2466170 */
    assert_float_equal(value(&s, "perfkit_fd_used_ratio", NULL, NULL), 454.0 / 2466170, 1e-15);
    /* diskstats: vda only, the loop and zram devices are excluded as in node_exporter */
    assert_int_equal(metric_find_family(&s, "node_disk_reads_completed_total")->n, 1);
    /* no psi irq on this kernel, no cpu "full" exported */
    assert_null(metric_find_family(&s, "node_pressure_irq_stalled_seconds_total"));
    assert_non_null(metric_find_family(&s, "node_pressure_memory_stalled_seconds_total"));

    /* the first sample has no rates: absent, not 0 */
    const char *rates[] = { "perfkit_cpu_utilization_ratio",
                            "perfkit_cpu_core_utilization_ratio",
                            "perfkit_cpu_mode_ratio",
                            "perfkit_disk_busy_ratio",
                            "perfkit_disk_read_bytes_per_second",
                            "perfkit_network_receive_bytes_per_second",
                            "perfkit_processes_growth_per_minute" };
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        const struct metric_family *f = metric_find_family(&s, rates[i]);
        if (f && f->n)
            fail_msg("%s in the first sample", rates[i]);
    }

    /* status: top by RSS (stat's pages): pk-threads touched 64 MiB; no CPU ranking yet */
    assert_int_equal(c.status.ntop_cpu, 0);
    assert_true(c.status.ntop_rss >= 3);
    assert_int_equal(c.status.top_rss[0].pid, 6268);
    assert_string_equal(c.status.top_rss[0].comm, "pk-threads");
    assert_true(c.status.top_rss[0].rss_bytes > 64u << 20);
    for (size_t i = 1; i < c.status.ntop_rss; i++)
        assert_true(c.status.top_rss[i].rss_bytes <= c.status.top_rss[i - 1].rss_bytes);
    assert_int_equal(c.status.cpus, 2);
    /* this tree has no sys/kernel/ostype: uname fails, the rest does not */
    assert_int_equal(c.failing, 1u << COLLECT_UNAME);

    metric_set_destroy(&s);
    collect_destroy(&c);
}

/* ---- a tree written at run time: rates, failures, recovery ---------------------------- */

static const char netdev_head[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
    "carrier compressed\n";

static void put_proc(const char *root, int pid, const char *comm, char state, uint64_t utime, long threads,
                     uint64_t rss_pages)
{
    char rel[64], text[512];
    snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
    snprintf(text, sizeof(text),
             "%d (%s) %c 1 %d %d 0 -1 4194560 0 0 0 0 %llu 0 0 0 20 0 %ld 0 %d 1000000 %llu "
             "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
             pid, comm, state, pid, pid, (unsigned long long)utime, threads, 100 + pid,
             (unsigned long long)rss_pages);
    tmptree_put(root, rel, text);
}

static void write_tree(const char *t, int round)
{
    if (round == 0) {
        tmptree_put(t, "proc/stat",
                    "cpu  100 0 50 800 10 0 5 0 0 0\n"
                    "cpu0 50 0 25 400 5 0 3 0 0 0\n"
                    "cpu1 50 0 25 400 5 0 2 0 0 0\n"
                    "ctxt 1000\nbtime 1700000000\nprocesses 500\n"
                    "procs_running 2\nprocs_blocked 0\n");
        tmptree_put(t, "proc/diskstats",
                    "   8       0 sda 100 0 2000 50 200 0 4000 100 0 1000 150 0 0 0 0 0 0\n"
                    "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0\n");
        char dev[1024];
        snprintf(dev, sizeof(dev),
                 "%s    lo: 9000 9 0 0 0 0 0 0 9000 9 0 0 0 0 0 0\n"
                 "  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n",
                 netdev_head);
        tmptree_put(t, "proc/net/dev", dev);
        put_proc(t, 100, "busy", 'R', 100, 4, 1000);
        put_proc(t, 200, "idle", 'S', 10, 1, 50000);
    } else {
        /* 10 s later: the totals moved 200 ticks, 90 of them busy */
        tmptree_put(t, "proc/stat",
                    "cpu  160 0 70 900 20 0 15 0 0 0\n"
                    "cpu0 80 0 35 460 5 0 3 0 0 0\n"
                    "cpu1 80 0 35 440 15 0 12 0 0 0\n"
                    "ctxt 2000\nbtime 1700000000\nprocesses 510\n"
                    "procs_running 1\nprocs_blocked 1\n");
        /* sda: 20480 sectors read, 40960 written, 2500 ms busy */
        tmptree_put(t, "proc/diskstats",
                    "   8       0 sda 150 0 22480 60 300 0 44960 200 0 3500 250 0 0 0 0 0 0\n"
                    "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0\n");
        char dev[1024];
        /* lo's counters went back (re-created): no rate for it */
        snprintf(dev, sizeof(dev),
                 "%s    lo: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n"
                 "  eth0: 51000 60 0 0 0 0 0 0 12000 40 0 0 0 0 0 0\n",
                 netdev_head);
        tmptree_put(t, "proc/net/dev", dev);
        put_proc(t, 100, "busy", 'R', 600, 4, 1000);
        put_proc(t, 200, "idle", 'S', 20, 1, 50000);
    }
    tmptree_put(t, "proc/loadavg", "0.50 0.25 0.10 1/100 1234\n");
    tmptree_put(t, "proc/meminfo",
                "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n"
                "SwapTotal: 400 kB\nSwapFree: 300 kB\nHugePages_Total: 0\n");
    tmptree_put(t, "proc/sys/fs/file-nr", "512\t0\t2048\n");
    tmptree_put(t, "proc/pressure/cpu",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\n"
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    tmptree_put(t, "proc/self/mountinfo",
                "29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                "30 29 0:5 / /proc rw - proc proc rw\n"
                "31 29 8:3 / /mnt/a\\040b\\134c rw - xfs /dev/sdb1 ro\n");
    tmptree_put(t, "statvfs.tsv",
                "/\t4096\t1000\t500\t400\t100\t90\n"
                "/mnt/a\\040b\\134c\t4096\t10\t10\t10\t0\t0\n");
    tmptree_put(
        t, "proc/net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 "
        "0000000000000000 100 0 0 10 0\n");
    tmptree_put(t, "proc/sys/kernel/ostype", "Linux\n");
    tmptree_put(t, "proc/sys/kernel/osrelease", "6.1.0-test\n");
    tmptree_put(t, "proc/sys/kernel/version", "#1 SMP PREEMPT_DYNAMIC Debian\n");
    tmptree_put(t, "proc/sys/kernel/hostname", "box \"one\"\n");
    tmptree_put(t, "proc/sys/kernel/domainname", "(none)\n");
    tmptree_put(t, "proc/sys/kernel/arch", "aarch64\n");
    tmptree_put(t, "proc/uptime", "12345.67 999.00\n");
}

static void open_tree(const char *t, struct collect *c)
{
    char proc[512], table[512];
    snprintf(proc, sizeof(proc), "%s/proc", t);
    snprintf(table, sizeof(table), "%s/statvfs.tsv", t);
    struct collect_opts o;
    collect_opts_init(&o);
    o.procfs = proc;
    o.statvfs_table = table;
    o.mount_pid = "self";
    struct pk_err e;
    assert_int_equal(collect_init(c, &o, &e), 0);
}

static void rates_and_status(void **state)
{
    const char *t = *state;
    write_tree(t, 0);
    struct collect c;
    open_tree(t, &c);
    struct metric_set s;
    metric_set_init(&s);
    struct pk_err e;
    assert_int_equal(collect_sample(&c, &s, 1000, &e), 0);
    assert_int_equal(c.nissues, 0);
    assert_int_equal(c.failing, 0);

    /* status of the first sample */
    assert_string_equal(c.status.hostname, "box \"one\"");
    assert_string_equal(c.status.kernel, "6.1.0-test");
    assert_true(c.status.uptime_s == 12345.67);
    assert_true(c.status.boot_time_s == 1700000000);
    assert_int_equal(c.status.ts_ms, 1000);
    assert_int_equal(c.status.ntop_rss, 2);
    assert_int_equal(c.status.top_rss[0].pid, 200);
    assert_string_equal(c.status.top_rss[0].comm, "idle");
    assert_true(c.status.top_rss[0].rss_bytes == 50000ull * 4096);
    assert_int_equal(s.ts_ms, 1000);

    const struct metric_series *u = metric_find(&s, "node_uname_info", NULL, 0);
    assert_non_null(u);
    assert_string_equal(metric_label(u, "machine"), "aarch64");
    assert_string_equal(metric_label(u, "nodename"), "box \"one\"");
    assert_string_equal(metric_label(u, "release"), "6.1.0-test");
    assert_string_equal(metric_label(u, "sysname"), "Linux");
    assert_string_equal(metric_label(u, "domainname"), "(none)");
    assert_string_equal(metric_label(u, "version"), "#1 SMP PREEMPT_DYNAMIC Debian");
    assert_true(value(&s, "node_time_seconds", NULL, NULL) == 1);
    assert_float_equal(value(&s, "perfkit_memory_used_ratio", NULL, NULL), 0.75, 1e-15);
    assert_float_equal(value(&s, "perfkit_swap_used_ratio", NULL, NULL), 0.25, 1e-15);
    assert_float_equal(value(&s, "perfkit_fd_used_ratio", NULL, NULL), 0.25, 1e-15);
    assert_true(value(&s, "node_memory_HugePages_Total", NULL, NULL) == 0);
    assert_true(value(&s, "node_pressure_cpu_waiting_seconds_total", NULL, NULL) == 1.5);
    assert_null(metric_find_family(&s, "node_pressure_cpu_stalled_seconds_total"));
    assert_true(value(&s, "node_tcp_connection_states", "state", "listen") == 1);
    /* a mount point with a blank and a backslash, decoded; a read-only one */
    struct metric_label odd[3] = { { "device", "/dev/sdb1" },
                                   { "fstype", "xfs" },
                                   { "mountpoint", "/mnt/a b\\c" } };
    assert_true(metric_find(&s, "node_filesystem_readonly", odd, 3)->value == 1);
    assert_null(metric_find(&s, "perfkit_filesystem_inodes_used_ratio", odd, 3)); /* no inodes at all */
    assert_true(metric_find(&s, "perfkit_filesystem_used_ratio", odd, 3)->value == 0);
    char *text = render(&s);
    assert_non_null(strstr(text, "mountpoint=\"/mnt/a b\\\\c\""));
    assert_non_null(strstr(text, "nodename=\"box \\\"one\\\"\""));
    free(text);

    write_tree(t, 1);
    assert_int_equal(collect_sample(&c, &s, 11000, &e), 0);
    assert_float_equal(value(&s, "perfkit_cpu_utilization_ratio", NULL, NULL), 0.45, 1e-15);
    assert_float_equal(value(&s, "perfkit_cpu_core_utilization_ratio", "cpu", "0"), 0.4, 1e-15);
    assert_float_equal(value(&s, "perfkit_cpu_core_utilization_ratio", "cpu", "1"), 0.5, 1e-15);
    assert_float_equal(value(&s, "perfkit_cpu_mode_ratio", "mode", "user"), 0.3, 1e-15);
    assert_float_equal(value(&s, "perfkit_cpu_mode_ratio", "mode", "system"), 0.1, 1e-15);
    assert_float_equal(value(&s, "perfkit_cpu_mode_ratio", "mode", "idle"), 0.5, 1e-15);
    assert_float_equal(value(&s, "perfkit_cpu_mode_ratio", "mode", "iowait"), 0.05, 1e-15);
    assert_float_equal(value(&s, "perfkit_cpu_mode_ratio", "mode", "softirq"), 0.05, 1e-15);
    assert_true(value(&s, "perfkit_cpu_mode_ratio", "mode", "steal") == 0);
    assert_int_equal(metric_find_family(&s, "perfkit_cpu_mode_ratio")->n, 8);
    assert_float_equal(value(&s, "perfkit_disk_busy_ratio", "device", "sda"), 0.25, 1e-15);
    assert_true(value(&s, "perfkit_disk_read_bytes_per_second", "device", "sda") == 1048576);
    assert_true(value(&s, "perfkit_disk_written_bytes_per_second", "device", "sda") == 2097152);
    assert_int_equal(metric_find_family(&s, "perfkit_disk_busy_ratio")->n, 1); /* not loop0 */
    assert_true(value(&s, "perfkit_network_receive_bytes_per_second", "device", "eth0") == 5000);
    assert_true(value(&s, "perfkit_network_transmit_bytes_per_second", "device", "eth0") == 1000);
    struct metric_label lo[1] = { { "device", "lo" } };
    assert_null(metric_find(&s, "perfkit_network_receive_bytes_per_second", lo, 1));
    assert_true(value(&s, "node_network_receive_bytes_total", "device", "lo") == 10);
    /* growth needs a minute of samples */
    assert_null(metric_find_family(&s, "perfkit_processes_growth_per_minute"));
    /* a CPU ranking now: busy used 500 ticks, idle 10 */
    assert_int_equal(c.status.ntop_cpu, 2);
    assert_int_equal(c.status.top_cpu[0].pid, 100);
    assert_string_equal(c.status.top_cpu[0].comm, "busy");
    assert_true(c.status.top_cpu[0].cpu_ratio > c.status.top_cpu[1].cpu_ratio);
    assert_true(c.status.top_cpu[1].cpu_ratio > 0);

    /* the same time again (a clock step): rates need time to pass */
    assert_int_equal(collect_sample(&c, &s, 11000, &e), 0);
    assert_null(metric_find(&s, "perfkit_disk_busy_ratio", NULL, 0));
    assert_null(metric_find(&s, "perfkit_network_receive_bytes_per_second", NULL, 0));

    metric_set_destroy(&s);
    collect_destroy(&c);
}

static void failures_reported_once(void **state)
{
    const char *t = *state;
    write_tree(t, 0);
    struct collect c;
    open_tree(t, &c);
    struct metric_set s;
    metric_set_init(&s);
    struct pk_err e;
    char path[512];
    assert_int_equal(collect_sample(&c, &s, 1000, &e), 0);
    assert_int_equal(c.nissues, 0);

    /* net/dev disappears, meminfo turns to garbage */
    snprintf(path, sizeof(path), "%s/proc/net/dev", t);
    assert_int_equal(unlink(path), 0);
    tmptree_put(t, "proc/meminfo", "MemTotal: lots\n");
    assert_int_equal(collect_sample(&c, &s, 2000, &e), 0);
    assert_int_equal(c.nissues, 2);
    assert_string_equal(c.issues[0].collector, "meminfo");
    assert_int_equal(c.issues[0].err.code, PK_EPARSE);
    assert_non_null(strstr(c.issues[0].err.on, "meminfo:1"));
    assert_string_equal(c.issues[1].collector, "netdev");
    assert_int_equal(c.issues[1].err.code, -ENOENT);
    assert_int_equal(c.failing, (1u << COLLECT_MEMINFO) | (1u << COLLECT_NETDEV));
    assert_null(metric_find(&s, "node_memory_MemTotal_bytes", NULL, 0));
    assert_null(metric_find(&s, "perfkit_memory_used_ratio", NULL, 0));
    assert_null(metric_find(&s, "node_network_receive_bytes_total", NULL, 0));
    assert_non_null(metric_find(&s, "node_load1", NULL, 0)); /* the others go on */
    assert_true(value(&s, "perfkit_collector_success", "collector", "meminfo") == 0);

    /* still broken: nothing new to say */
    assert_int_equal(collect_sample(&c, &s, 3000, &e), 0);
    assert_int_equal(c.nissues, 0);
    assert_int_equal(c.failing, (1u << COLLECT_MEMINFO) | (1u << COLLECT_NETDEV));

    /* back: recovered, counters again, but no rate across the gap */
    write_tree(t, 0);
    assert_int_equal(collect_sample(&c, &s, 4000, &e), 0);
    assert_int_equal(c.nissues, 0);
    assert_int_equal(c.failing, 0);
    assert_int_equal(c.recovered, (1u << COLLECT_MEMINFO) | (1u << COLLECT_NETDEV));
    assert_non_null(metric_find(&s, "node_network_receive_bytes_total", NULL, 0));
    assert_null(metric_find(&s, "perfkit_network_receive_bytes_per_second", NULL, 0));
    assert_int_equal(collect_sample(&c, &s, 5000, &e), 0);
    assert_int_equal(c.recovered, 0);
    assert_true(value(&s, "perfkit_network_receive_bytes_per_second", "device", "eth0") == 0);

    /* and breaks again: said again */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(collect_sample(&c, &s, 6000, &e), 0);
    assert_int_equal(c.nissues, 1);
    assert_string_equal(c.issues[0].collector, "netdev");

    metric_set_destroy(&s);
    collect_destroy(&c);
}

/* A collector with an interval reads at most that often and republishes in between. */
static void intervals(void **state)
{
    const char *t = *state;
    write_tree(t, 0);
    char proc[512], table[512];
    snprintf(proc, sizeof(proc), "%s/proc", t);
    snprintf(table, sizeof(table), "%s/statvfs.tsv", t);
    struct collect_opts o;
    collect_opts_init(&o);
    assert_int_equal(o.interval_ms[COLLECT_TCPSTAT], COLLECT_TCPSTAT_INTERVAL_MS);
    assert_int_equal(o.interval_ms[COLLECT_CPU], 0);
    o.procfs = proc;
    o.statvfs_table = table;
    o.mount_pid = "self";
    o.interval_ms[COLLECT_TCPSTAT] = 10000;
    o.interval_ms[COLLECT_PROCESSES] = 5000;
    struct collect c;
    struct pk_err e;
    assert_int_equal(collect_init(&c, &o, &e), 0);
    struct metric_set s;
    metric_set_init(&s);

    assert_int_equal(collect_sample(&c, &s, 1000, &e), 0);
    assert_true(c.ran & (1u << COLLECT_TCPSTAT));
    assert_true(value(&s, "node_tcp_connection_states", "state", "listen") == 1);
    double took = value(&s, "perfkit_collector_duration_seconds", "collector", "tcpstat");
    /* two listeners now, and a new process */
    tmptree_put(
        t, "proc/net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 "
        "0000000000000000 100 0 0 10 0\n"
        "   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2 1 "
        "0000000000000000 100 0 0 10 0\n");
    put_proc(t, 300, "new", 'S', 0, 1, 10);
    assert_int_equal(collect_sample(&c, &s, 2000, &e), 0);
    assert_false(c.ran & (1u << COLLECT_TCPSTAT));
    assert_false(c.ran & (1u << COLLECT_PROCESSES));
    assert_true(c.ran & (1u << COLLECT_CPU));
    /* the last read's values, families and status, unchanged */
    assert_true(value(&s, "node_tcp_connection_states", "state", "listen") == 1);
    assert_int_equal(metric_find_family(&s, "node_tcp_connection_states")->n, 13);
    assert_true(value(&s, "perfkit_processes_all", NULL, NULL) == 2);
    assert_int_equal(c.status.ntop_rss, 2);
    assert_int_equal(c.status.top_rss[0].pid, 200);
    assert_true(value(&s, "perfkit_collector_duration_seconds", "collector", "tcpstat") == took);
    assert_true(value(&s, "perfkit_collector_success", "collector", "tcpstat") == 1);
    /* processes are due after 5 s (less a tenth), tcpstat after 10 */
    assert_int_equal(collect_sample(&c, &s, 5600, &e), 0);
    assert_true(c.ran & (1u << COLLECT_PROCESSES));
    assert_true(value(&s, "perfkit_processes_all", NULL, NULL) == 3);
    assert_true(value(&s, "node_tcp_connection_states", "state", "listen") == 1);
    assert_int_equal(collect_sample(&c, &s, 10000, &e), 0);
    assert_true(c.ran & (1u << COLLECT_TCPSTAT));
    assert_true(value(&s, "node_tcp_connection_states", "state", "listen") == 2);
    /* a failing collector between reads stays failing, and is not reported again */
    char path[512];
    snprintf(path, sizeof(path), "%s/proc/net/tcp", t);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(collect_sample(&c, &s, 20000, &e), 0);
    assert_int_equal(c.nissues, 1);
    assert_string_equal(c.issues[0].collector, "tcpstat");
    assert_null(metric_find_family(&s, "node_tcp_connection_states"));
    assert_int_equal(collect_sample(&c, &s, 21000, &e), 0);
    assert_int_equal(c.nissues, 0);
    assert_true(c.failing & (1u << COLLECT_TCPSTAT));
    assert_null(metric_find_family(&s, "node_tcp_connection_states"));
    assert_true(value(&s, "perfkit_collector_success", "collector", "tcpstat") == 0);
    /* time going back: everything reads again */
    assert_int_equal(collect_sample(&c, &s, 15000, &e), 0);
    assert_true(c.ran & (1u << COLLECT_TCPSTAT));
    assert_true(c.ran & (1u << COLLECT_PROCESSES));

    metric_set_destroy(&s);
    collect_destroy(&c);
}

/* A root with nothing in it: every collector fails, the sample does not. */
static void empty_root(void **state)
{
    const char *t = *state;
    struct collect_opts o;
    collect_opts_init(&o);
    o.procfs = t;
    o.statvfs_table = NULL;
    struct collect c;
    struct pk_err e;
    assert_int_equal(collect_init(&c, &o, &e), 0);
    struct metric_set s;
    metric_set_init(&s);
    assert_int_equal(collect_sample(&c, &s, 1000, &e), 0);
    /* processes: an empty directory is an empty process table, not an error */
    assert_int_equal(c.failing, COLLECT_ALL & ~(1u << COLLECT_TIME) & ~(1u << COLLECT_PROCESSES));
    assert_int_equal(c.nissues, COLLECT_NCOLLECTORS - 2);
    for (size_t i = 0; i < c.nissues; i++)
        assert_true(c.issues[i].err.code < 0 && c.issues[i].err.what[0]);
    assert_non_null(metric_find(&s, "node_time_seconds", NULL, 0));
    assert_true(value(&s, "perfkit_processes_all", NULL, NULL) == 0);
    assert_true(c.status.uptime_s == -1);
    assert_true(c.status.boot_time_s == -1);
    metric_set_destroy(&s);
    collect_destroy(&c);

    /* a procfs root that does not exist at all */
    o.procfs = "/nonexistent-procfs";
    assert_int_equal(collect_init(&c, &o, &e), 0);
    metric_set_init(&s);
    assert_int_equal(collect_sample(&c, &s, 1000, &e), 0);
    assert_int_equal(c.failing, COLLECT_ALL & ~(1u << COLLECT_TIME));
    metric_set_destroy(&s);
    collect_destroy(&c);

    /* a statvfs table that cannot be read fails collect_init */
    o.statvfs_table = "/nonexistent/statvfs.tsv";
    assert_int_equal(collect_init(&c, &o, &e), -ENOENT);
}

static void collector_mask(void **state)
{
    (void)state;
    struct collect_opts o;
    collect_opts_init(&o);
    o.procfs = NE "/proc";
    o.statvfs_table = VM "/statvfs.tsv";
    o.collectors = (1u << COLLECT_LOADAVG) | (1u << COLLECT_TIME);
    struct collect c;
    struct pk_err e;
    assert_int_equal(collect_init(&c, &o, &e), 0);
    struct metric_set s;
    metric_set_init(&s);
    assert_int_equal(collect_sample(&c, &s, 1000, &e), 0);
    for (size_t i = 0; i < s.nfam; i++) {
        const char *n = s.fam[i].name;
        if (s.fam[i].n == 0)
            continue;
        assert_true(strncmp(n, "node_load", 9) == 0 || strcmp(n, "node_time_seconds") == 0 ||
                    strncmp(n, "perfkit_collector_", 18) == 0);
    }
    assert_int_equal(metric_find_family(&s, "perfkit_collector_success")->n, 2);
    assert_true(value(&s, "node_load15", NULL, NULL) == 0.39);
    metric_set_destroy(&s);
    collect_destroy(&c);
}

/* ---- growth of the process count ------------------------------------------------------ */

static void slope(void **state)
{
    (void)state;
    int64_t ts[5] = { 0, 60000, 120000, 180000, 240000 };
    double ys[5] = { 10, 12, 14, 16, 18 };
    assert_float_equal(collect_slope_per_min(ts, ys, 5), 2, 1e-12);
    double noisy[5] = { 10, 13, 14, 15, 18 }; /* least squares: 1.8 */
    assert_float_equal(collect_slope_per_min(ts, noisy, 5), 1.8, 1e-12);
    /* epoch milliseconds lose nothing */
    int64_t big[3] = { 1700000000000, 1700000030000, 1700000060000 };
    double down[3] = { 100, 99.5, 99 };
    assert_float_equal(collect_slope_per_min(big, down, 3), -1, 1e-12);
    assert_true(collect_slope_per_min(ts, ys, 1) == 0);
    int64_t same[2] = { 5, 5 };
    assert_true(collect_slope_per_min(same, ys, 2) == 0);
}

static void growth(void **state)
{
    const char *t = *state;
    write_tree(t, 0);
    struct collect_opts o;
    collect_opts_init(&o);
    char proc[512], table[512];
    snprintf(proc, sizeof(proc), "%s/proc", t);
    snprintf(table, sizeof(table), "%s/statvfs.tsv", t);
    o.procfs = proc;
    o.statvfs_table = table;
    o.collectors = 1u << COLLECT_PROCESSES;
    o.growth_window_s = 300;
    struct collect c;
    struct pk_err e;
    assert_int_equal(collect_init(&c, &o, &e), 0);
    struct metric_set s;
    metric_set_init(&s);

    /* a leak: two processes (one thread each) more every minute, sampled every 10 s */
    int pid = 1000;
    int64_t now = 1700000000000;
    for (int k = 0; k <= 36; k++, now += 10000) {
        if (k > 0 && k % 6 == 0) {
            put_proc(t, pid++, "leak", 'S', 0, 1, 10);
            put_proc(t, pid++, "leak", 'S', 0, 1, 10);
        }
        assert_int_equal(collect_sample(&c, &s, now, &e), 0);
        const struct metric_series *g = metric_find(&s, "perfkit_processes_growth_per_minute", NULL, 0);
        if (k < 6) {
            assert_null(g); /* less than a minute of samples */
            continue;
        }
        assert_non_null(g);
        if (k >= 30) /* the window holds only the leak's steady part: a slope near 2 per minute */
            assert_float_equal(g->value, 2, 0.25);
    }
    assert_float_equal(value(&s, "perfkit_threads_growth_per_minute", NULL, NULL),
                       value(&s, "perfkit_processes_growth_per_minute", NULL, NULL), 1e-12);
    /* the window: 300 s at 10 s is 31 points */
    assert_int_equal(c.growth_n, 31);

    /* a steady count: the slope falls to 0 once the window has passed */
    for (int k = 0; k <= 31; k++, now += 10000)
        assert_int_equal(collect_sample(&c, &s, now, &e), 0);
    assert_float_equal(value(&s, "perfkit_processes_growth_per_minute", NULL, NULL), 0, 1e-12);

    /* time going back starts the window over */
    assert_int_equal(collect_sample(&c, &s, now - 3600000, &e), 0);
    assert_int_equal(c.growth_n, 1);
    assert_null(metric_find(&s, "perfkit_processes_growth_per_minute", NULL, 0));

    metric_set_destroy(&s);
    collect_destroy(&c);
}

/* ---- names -------------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/*
 * perfkit's own families follow Prometheus' naming rules, which promtool
 * checks on the real output in tests/integration/test_expo_promtool.sh:
 * snake_case, "_total" on counters only, base units, ratios in 0..1.
 */
/* Returns how many perfkit_* families s has; adds their names to seen[]. */
static size_t check_names(const struct metric_set *s, char (*seen)[64], size_t *nseen)
{
    size_t nperfkit = 0;
    for (size_t i = 0; i < s->nfam; i++) {
        const struct metric_family *f = &s->fam[i];
        assert_true(metric_name_valid(f->name));
        assert_true(f->help[0] != '\0');
        if (f->type == METRIC_COUNTER)
            assert_true(ends_with(f->name, "_total"));
        if (strncmp(f->name, "perfkit_", 8) != 0)
            continue;
        nperfkit++;
        assert_int_equal(f->type, METRIC_GAUGE);
        assert_false(ends_with(f->name, "_total"));
        for (const char *p = f->name; *p; p++)
            assert_false(*p >= 'A' && *p <= 'Z');
        for (size_t k = 0; k < f->n; k++) {
            double v = s->series[f->idx[k]].value;
            assert_true(isfinite(v));
            if (ends_with(f->name, "_ratio"))
                assert_true(v >= 0 && v <= 1);
        }
        size_t j;
        for (j = 0; j < *nseen; j++)
            if (strcmp(seen[j], f->name) == 0)
                break;
        if (j == *nseen) {
            assert_true(strlen(f->name) < 64 && *nseen < 64);
            strcpy(seen[(*nseen)++], f->name);
        }
    }
    return nperfkit;
}

/*
 * perfkit's own families follow Prometheus' naming rules, which promtool
 * checks on the real output in tests/integration/test_expo_promtool.sh:
 * snake_case, "_total" on counters only, base units, ratios in 0..1.
 */
static void perfkit_names(void **state)
{
    const char *t = *state;
    write_tree(t, 0);
    struct collect c;
    open_tree(t, &c);
    struct metric_set s;
    metric_set_init(&s);
    struct pk_err e;
    char seen[64][64];
    size_t nseen = 0;
    assert_int_equal(collect_sample(&c, &s, 1000, &e), 0);
    check_names(&s, seen, &nseen);
    write_tree(t, 1);
    for (int k = 1; k <= 7; k++) {
        assert_int_equal(collect_sample(&c, &s, 1000 + 10000 * k, &e), 0);
        check_names(&s, seen, &nseen);
    }
    /* cpu (3), memory and swap, filesystem (2), disk (3), network (2), fd, processes (5), collectors (2) */
    assert_int_equal(nseen, 20);
    metric_set_destroy(&s);
    collect_destroy(&c);
}

/* ---- a dump for the integration test: test_collect --dump PROCFS FORMAT [STATVFS_TSV] ---- */

static int dump(int argc, char **argv)
{
    struct collect_opts o;
    collect_opts_init(&o);
    o.procfs = argv[2];
    bool om = argc > 3 && strcmp(argv[3], "openmetrics") == 0;
    if (argc > 4)
        o.statvfs_table = argv[4];
    struct collect c;
    struct pk_err e;
    pk_err_clear(&e);
    if (collect_init(&c, &o, &e) != 0) {
        fprintf(stderr, "collect_init: %s: %s: %s\n", e.on, e.what, e.why);
        return 1;
    }
    struct metric_set s;
    metric_set_init(&s);
    /* two samples 0.2 s apart, so the rates are there too; each timed with its render */
    int rc = 0;
    double took[2] = { 0, 0 };
    char *out = NULL;
    size_t len = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        if (k)
            nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
        struct timespec a, b, w;
        clock_gettime(CLOCK_REALTIME, &w);
        clock_gettime(CLOCK_MONOTONIC, &a);
        rc = collect_sample(&c, &s, (int64_t)w.tv_sec * 1000 + w.tv_nsec / 1000000, &e);
        if (rc == 0) {
            free(out);
            rc = expo_render(&s, om ? EXPO_OPENMETRICS : EXPO_TEXT, &out, &len, &e);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        took[k] = ms;
        for (size_t i = 0; i < c.nissues; i++)
            fprintf(stderr, "collector %s: %s: %s: %s\n", c.issues[i].collector, c.issues[i].err.on,
                    c.issues[i].err.what, c.issues[i].err.why);
    }
    if (rc == 0) {
        fwrite(out, 1, len, stdout);
        fprintf(stderr,
                "sample+render: first %.3f ms (every collector), second %.3f ms (tcpstat between "
                "reads), %zu series, %zu bytes\n",
                took[0], took[1], s.nseries, len);
    } else {
        fprintf(stderr, "collect_sample: %s: %s: %s\n", e.on, e.what, e.why);
    }
    free(out);
    metric_set_destroy(&s);
    collect_destroy(&c);
    return rc == 0 ? 0 : 1;
}

/* collect_destroy on a zeroed struct (never initialised) frees nothing and
 * closes no descriptor: its kept files read as descriptor 0 there. */
static void destroy_zeroed(void **state)
{
    (void)state;
    int opened = -1;
    if (fcntl(0, F_GETFD) < 0)
        opened = open("/dev/null", O_RDONLY); /* becomes descriptor 0 */
    assert_true(fcntl(0, F_GETFD) >= 0);
    struct collect c;
    memset(&c, 0, sizeof(c));
    collect_destroy(&c);
    collect_destroy(&c);
    assert_true(fcntl(0, F_GETFD) >= 0);
    /* and after a collect_init that failed, and again */
    struct collect_opts o;
    collect_opts_init(&o);
    o.procfs = "/nonexistent";
    o.statvfs_table = "/nonexistent/statvfs.tsv";
    struct pk_err e;
    assert_true(collect_init(&c, &o, &e) < 0);
    collect_destroy(&c);
    assert_true(fcntl(0, F_GETFD) >= 0);
    if (opened == 0)
        close(opened);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(node_exporter_e2e, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(vm_2cpu),
        cmocka_unit_test_setup_teardown(rates_and_status, tmptree_setup, tmptree_teardown),
        cmocka_unit_test_setup_teardown(failures_reported_once, tmptree_setup, tmptree_teardown),
        cmocka_unit_test_setup_teardown(intervals, tmptree_setup, tmptree_teardown),
        cmocka_unit_test_setup_teardown(empty_root, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(collector_mask),
        cmocka_unit_test(slope),
        cmocka_unit_test_setup_teardown(growth, tmptree_setup, tmptree_teardown),
        cmocka_unit_test_setup_teardown(perfkit_names, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(destroy_zeroed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
