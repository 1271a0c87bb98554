/* nftw(), mkdtemp() and unshare() need these. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tmptree.h"

#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sys/fs.h"

#define VM PK_FIXTURES "/sys/vm-2cpu"
#define NE PK_FIXTURES "/node_exporter/proc"

static const struct fs_mount *find_mount(const struct fs_mounts *m, const char *mp, size_t nth)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].mountpoint, mp) == 0 && nth-- == 0)
            return &m->v[i];
    return NULL;
}

/* ---- recorded trees ----------------------------------------------------- */

static void vm_2cpu(void **state)
{
    (void)state;
    struct fs_table t;
    struct fs_mounts m;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(fs_table_read(VM "/statvfs.tsv", &t, &e), 0);
    assert_int_equal(t.n, 17); /* statvfs.tsv: one row per distinct mount point */
    struct fs_options o = { .table = &t };
    assert_int_equal(fs_read(VM "/proc", &o, &m, &e), 0);

    /* proc/self/mountinfo: 19 lines */
    assert_int_equal(m.n, 19);
    /* line 6: "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534" */
    const struct fs_mount *root = find_mount(&m, "/", 0);
    assert_non_null(root);
    assert_string_equal(root->device, "/dev/vda");
    assert_string_equal(root->fstype, "ext4");
    assert_string_equal(root->root, "/");
    assert_string_equal(root->mount_opts, "rw,relatime");
    assert_string_equal(root->super_opts, "rw,discard,resv_strict,resuid=65534,resgid=65534");
    assert_int_equal(root->major, 254);
    assert_int_equal(root->minor, 0);
    assert_false(root->ignored);
    assert_false(root->dup);
    assert_true(fs_opt_has(root->mount_opts, "relatime"));
    assert_false(fs_opt_has(root->mount_opts, "noatime"));
    assert_true(fs_opt_has(root->super_opts, "resuid"));
    assert_false(fs_mount_readonly(root));
    /* statvfs.tsv, "/": 4096 66053021 61679143 20710419 16777216 16336944 */
    assert_true(root->usage_known);
    assert_int_equal(root->usage.bsize, 4096);
    assert_int_equal(root->usage.blocks, 66053021);
    assert_int_equal(root->usage.bfree, 61679143);
    assert_int_equal(root->usage.bavail, 20710419);
    assert_int_equal(root->usage.files, 16777216);
    assert_int_equal(root->usage.ffree, 16336944);
    assert_true(fs_size_bytes(&root->usage) == 66053021.0 * 4096);
    assert_true(fs_avail_bytes(&root->usage) == 20710419.0 * 4096);
    assert_true(fs_free_bytes(&root->usage) == 61679143.0 * 4096);
    /* used = 66053021 - 61679143 = 4373878 of 4373878 + 20710419: df prints 18 % (rounded up) */
    /* in double: cmocka's assert_float_equal compares floats */
    assert_true(fabs(fs_used_pct(&root->usage) - 100.0 * 4373878 / (4373878.0 + 20710419.0)) < 1e-9);
    assert_true(fabs(fs_used_pct(&root->usage) - 17.437) < 0.001);

    /* Everything else is under /dev, /proc or /sys: excluded, so not asked. */
    size_t kept = 0;
    for (size_t i = 0; i < m.n; i++) {
        if (m.v[i].ignored)
            assert_false(m.v[i].usage_known);
        else
            kept++;
    }
    assert_int_equal(kept, 1);
    /* line 3: "24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334460k,..." */
    const struct fs_mount *dev = find_mount(&m, "/dev", 0);
    assert_true(dev->ignored);
    assert_string_equal(dev->fstype, "devtmpfs");
    /* lines 5 and 8: devpts on /dev/pts twice (a second instance stacked on the first) */
    assert_false(find_mount(&m, "/dev/pts", 0)->dup);
    assert_true(find_mount(&m, "/dev/pts", 1)->dup);
    assert_int_equal(find_mount(&m, "/dev/pts", 1)->minor, 26);
    assert_true(find_mount(&m, "/dev/shm", 1)->dup);
    /* line 19: "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw" */
    const struct fs_mount *cg2 = find_mount(&m, "/sys/fs/cgroup/unified", 0);
    assert_string_equal(cg2->fstype, "cgroup2");
    assert_true(fs_fstype_ignored(cg2->fstype));
    fs_mounts_destroy(&m);

    /* Without a pool or a table, usage is not asked for, and says why. */
    assert_int_equal(fs_read(VM "/proc", NULL, &m, &e), 0);
    root = find_mount(&m, "/", 0);
    assert_false(root->usage_known);
    assert_int_equal(root->usage_err, -ENOTSUP);
    fs_mounts_destroy(&m);
    fs_table_destroy(&t);
}

static void node_exporter_tree(void **state)
{
    (void)state;
    struct fs_mounts m;
    struct pk_err e;
    pk_err_clear(&e);

    /* node_exporter reads proc/1/mountinfo: 32 lines */
    assert_int_equal(fs_mounts_read(NE, "1", &m, &e), 0);
    assert_int_equal(m.n, 32);
    /* line 30: "...mounts/[vsanDatastore]\040bafb9e5a-...vmdk rw,relatime shared:31 - ext4 /dev/sda rw,data=ordered" */
    const char *sp = "/var/lib/kubelet/plugins/kubernetes.io/vsphere-volume/mounts/[vsanDatastore] "
                     "bafb9e5a-8856-7e6c-699c-801844e77a4a/"
                     "kubernetes-dynamic-pvc-3eba5bba-48a3-11e8-89ab-005056b92113.vmdk";
    const struct fs_mount *a = find_mount(&m, sp, 0);
    assert_non_null(a);
    assert_string_equal(a->fstype, "ext4");
    assert_string_equal(a->device, "/dev/sda");
    assert_int_equal(a->major, 260);
    /* line 31: the same with \011, a tab */
    const char *tab = "/var/lib/kubelet/plugins/kubernetes.io/vsphere-volume/mounts/[vsanDatastore]\t"
                      "bafb9e5a-8856-7e6c-699c-801844e77a4a/"
                      "kubernetes-dynamic-pvc-3eba5bba-48a3-11e8-89ab-005056b92113.vmdk";
    assert_non_null(find_mount(&m, tab, 0));
    /* line 29: "3147 3002 0:81 / /run/user/1000/gvfs ... - fuse.gvfsd-fuse gvfsd-fuse rw,user_id=1000,group_id=1000" */
    const struct fs_mount *g = find_mount(&m, "/run/user/1000/gvfs", 0);
    assert_string_equal(g->fstype, "fuse.gvfsd-fuse");
    assert_string_equal(g->super_opts, "rw,user_id=1000,group_id=1000");
    assert_false(g->ignored);
    /* line 10: "33 24 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755" */
    const struct fs_mount *cg = find_mount(&m, "/sys/fs/cgroup", 0);
    assert_true(fs_mount_readonly(cg));
    assert_true(cg->ignored);
    /* line 32: "1128 67 253:0 /var/lib/containers/storage/overlay /var/lib/containers/storage/overlay ..." */
    const struct fs_mount *ov = find_mount(&m, "/var/lib/containers/storage/overlay", 0);
    assert_string_equal(ov->root, "/var/lib/containers/storage/overlay");
    assert_true(ov->ignored);
    /* line 6: "29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/dm-2 errors=remount-ro,data=ordered" */
    const struct fs_mount *root = find_mount(&m, "/", 0);
    assert_string_equal(root->device, "/dev/dm-2");
    assert_string_equal(root->super_opts, "errors=remount-ro,data=ordered");
    assert_int_equal(root->major, 259);
    assert_int_equal(root->minor, 2);
    /* line 20: "... - systemd-1 autofs rw,fd=22,...": this fixture swaps type and source (a
     * kernel prints "autofs systemd-1"); fields are taken by position, as procfs does */
    const struct fs_mount *bm = find_mount(&m, "/proc/sys/fs/binfmt_misc", 0);
    assert_string_equal(bm->fstype, "systemd-1");
    assert_string_equal(bm->device, "autofs");
    assert_true(bm->ignored); /* by its mount point */
    /* line 27: binfmt_misc on the same mount point, another fstype: no duplicate */
    assert_false(find_mount(&m, "/proc/sys/fs/binfmt_misc", 1)->dup);

    /* What node_exporter's default filters keep of that table */
    static const char *const kept[] = { "/",     "/run",           "/run/lock",
                                        "/boot", "/run/user/1000", "/run/user/1000/gvfs" };
    size_t nkept = 0;
    for (size_t i = 0; i < m.n; i++) {
        if (m.v[i].ignored)
            continue;
        nkept++;
        bool known = strcmp(m.v[i].mountpoint, sp) == 0 || strcmp(m.v[i].mountpoint, tab) == 0;
        for (size_t k = 0; k < sizeof(kept) / sizeof(kept[0]); k++)
            known |= strcmp(m.v[i].mountpoint, kept[k]) == 0;
        assert_true(known);
    }
    assert_int_equal(nkept, 8);
    fs_mounts_destroy(&m);

    /* proc/10/mountinfo: 7 lines */
    assert_int_equal(fs_mounts_read(NE, "10", &m, &e), 0);
    assert_int_equal(m.n, 7);
    /* line 1: "1 1 0:5 /  /root rw,nosuid shared:8 - rootfs rootfs rw": a double blank before " - " */
    assert_string_equal(m.v[0].root, "/");
    assert_string_equal(m.v[0].mountpoint, "/root");
    assert_string_equal(m.v[0].mount_opts, "rw,nosuid");
    /* lines 6 and 7: the same source on /mnt/nfs/test-dupe as nfs4 and as nfs: not duplicates */
    assert_string_equal(find_mount(&m, "/mnt/nfs/test-dupe", 0)->fstype, "nfs4");
    assert_string_equal(find_mount(&m, "/mnt/nfs/test-dupe", 1)->fstype, "nfs");
    assert_false(find_mount(&m, "/mnt/nfs/test-dupe", 1)->dup);
    assert_string_equal(find_mount(&m, "/mnt/nfs/test", 0)->device, "192.168.1.1:/srv/test");
    assert_true(fs_opt_has(find_mount(&m, "/mnt/nfs/test", 0)->super_opts, "hard"));
    fs_mounts_destroy(&m);

    /* That tree's proc/self is a plain file (a flattened symlink) and it has no
     * proc/mounts: the mount table is unavailable, not a crash. */
    assert_int_equal(fs_mounts_read(NE, NULL, &m, &e), -ENOENT);
    assert_string_equal(e.on, NE);
    assert_int_equal(m.n, 0);
    assert_int_equal(fs_mounts_read(NE, "../x", &m, &e), -EINVAL);
    assert_int_equal(fs_mounts_read("/nonexistent-procfs", NULL, &m, &e), -ENOENT);
    assert_non_null(strstr(e.what, "procfs"));
}

/* ---- trees written at run time ------------------------------------------ */

static void fallbacks(void **state)
{
    const char *proc = *state;
    struct fs_mounts m;
    struct pk_err e;
    pk_err_clear(&e);

    tmptree_put(proc, "mounts", "/dev/sda1 / ext4 rw,noatime 0 0\nproc /proc proc rw 0 0\n");
    assert_int_equal(fs_mounts_read(proc, NULL, &m, &e), 0);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.v[0].mount_opts, "rw,noatime");
    assert_string_equal(m.v[0].super_opts, "");
    assert_string_equal(m.v[0].root, "");
    assert_true(fs_opt_has(m.v[0].mount_opts, "noatime"));
    fs_mounts_destroy(&m);

    /* hidepid hides 1/: self's table is next */
    tmptree_put(proc, "self/mountinfo", "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n");
    assert_int_equal(fs_mounts_read(proc, "1", &m, &e), 0);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.v[0].super_opts, "rw");
    fs_mounts_destroy(&m);

    tmptree_put(proc, "1/mountinfo",
                "1 0 8:2 / /host rw - xfs /dev/sda2 rw\n2 1 8:3 / /host/b rw - xfs /dev/sda3 rw\n");
    assert_int_equal(fs_mounts_read(proc, "1", &m, &e), 0);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.v[1].mountpoint, "/host/b");
    fs_mounts_destroy(&m);

    /* A malformed line names the file and the line. */
    tmptree_put(proc, "1/mountinfo",
                "1 0 8:2 / /host rw - xfs /dev/sda2 rw\n2 1 8:3 / /host/b rw xfs /dev/sda3 rw\n");
    assert_int_equal(fs_mounts_read(proc, "1", &m, &e), PK_EPARSE);
    char want[256];
    snprintf(want, sizeof(want), "%s/1/mountinfo:2", proc);
    assert_string_equal(e.on, want);
    assert_int_equal(m.n, 0);
    assert_null(m.v);

    /* A usage table that does not parse names the file and the line. */
    tmptree_put(proc, "t.tsv", "# comment\n/\t4096\t1\t1\t1\t1\t1\n/x\t4096\t1\t1\n");
    struct fs_table t;
    snprintf(want, sizeof(want), "%s/t.tsv", proc);
    assert_int_equal(fs_table_read(want, &t, &e), PK_EPARSE);
    strcat(want, ":3");
    assert_string_equal(e.on, want);
    assert_int_equal(fs_table_read("/nonexistent/statvfs.tsv", &t, &e), -ENOENT);

    /* fs_read: a mount point missing from the table is -ENOENT; rootfs is only for statvfs */
    tmptree_put(proc, "self/mountinfo",
                "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /data rw - ext4 /dev/sda2 rw\n");
    const char *tsv = "/\t4096\t100\t50\t40\t10\t5\n";
    assert_int_equal(fs_parse_table(tsv, strlen(tsv), &t, &e), 0);
    struct fs_options o = { .table = &t, .rootfs = "/nonexistent-root/" };
    assert_int_equal(fs_read(proc, &o, &m, &e), 0);
    assert_true(m.v[0].usage_known);
    assert_int_equal(m.v[0].usage.blocks, 100);
    assert_false(m.v[1].usage_known);
    assert_int_equal(m.v[1].usage_err, -ENOENT);
    fs_mounts_destroy(&m);
    fs_table_destroy(&t);

    /* Through a pool, with a rootfs prefix: "<rootfs>/" and "<rootfs>/data" are what statvfs sees. */
    struct fs_pool pool;
    assert_int_equal(fs_pool_init(&pool, 0, 0), 0);
    char rootfs[256];
    snprintf(rootfs, sizeof(rootfs), "%s/", proc);
    tmptree_put(proc, "data/.keep", "");
    o = (struct fs_options){ .pool = &pool, .rootfs = rootfs };
    assert_int_equal(fs_read(proc, &o, &m, &e), 0);
    assert_true(m.v[0].usage_known);
    assert_true(m.v[1].usage_known);
    assert_true(m.v[1].usage.blocks > 0);
    fs_mounts_destroy(&m);
    o.rootfs = "/nonexistent-root";
    assert_int_equal(fs_read(proc, &o, &m, &e), 0);
    assert_false(m.v[0].usage_known);
    assert_int_equal(m.v[0].usage_err, -ENOENT);
    fs_mounts_destroy(&m);
    fs_pool_destroy(&pool);
}

/* ---- parsers ------------------------------------------------------------ */

static void unescape(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "/a\\040b", "/a b" }, { "\\011", "\t" },      { "\\012x", "\nx" },  { "\\134", "\\" },
        { "\\0401", " 1" },     { "\\12", "\\12" },     { "\\", "\\" },       { "a\\", "a\\" },
        { "\\000", "\\000" },   { "\\400", "\\400" },   { "\\08a", "\\08a" }, { "", "" },
        { "\\377", "\377" },    { "\\040\\040", "  " },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[32];
        size_t n = fs_unescape(cases[i].in, strlen(cases[i].in), out);
        assert_string_equal(out, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
    }
    /* len is respected: an escape cut by it stays literal */
    char out[8];
    assert_int_equal(fs_unescape("\\040", 3, out), 3);
    assert_string_equal(out, "\\04");
}

static void mountinfo_parser(void **state)
{
    (void)state;
    struct fs_mounts m;
    struct pk_err e;
    pk_err_clear(&e);

    assert_int_equal(fs_parse_mountinfo("", 0, &m, &e), 0);
    assert_int_equal(m.n, 0);
    fs_mounts_destroy(&m);
    assert_int_equal(fs_parse_mountinfo("\n\n  \n", 5, &m, &e), 0);
    assert_int_equal(m.n, 0);
    fs_mounts_destroy(&m);

    /* no trailing newline, several optional fields, an empty source, CRLF */
    const char *t =
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\r\n"
        "40 1 0:50 / /mnt/e\\040f rw - tmpfs  rw,size=4k\n"
        "41 1 0:51 / /x rw - fuse.sshfs a\\040b rw";
    assert_int_equal(fs_parse_mountinfo(t, strlen(t), &m, &e), 0);
    assert_int_equal(m.n, 3);
    assert_string_equal(m.v[0].root, "/mnt1");
    assert_string_equal(m.v[0].mountpoint, "/mnt2");
    assert_string_equal(m.v[0].super_opts, "rw,errors=continue");
    assert_int_equal(m.v[0].major, 98);
    assert_string_equal(m.v[1].mountpoint, "/mnt/e f");
    assert_string_equal(m.v[1].device, "");
    assert_string_equal(m.v[1].fstype, "tmpfs");
    assert_string_equal(m.v[1].super_opts, "rw,size=4k");
    assert_string_equal(m.v[2].device, "a b");
    assert_string_equal(m.v[2].super_opts, "rw");
    fs_mounts_destroy(&m);

    /* huge but valid ids and device numbers */
    t = "4294967295 4294967295 4294967295:4294967295 / / rw - ext4 /dev/x rw\n";
    assert_int_equal(fs_parse_mountinfo(t, strlen(t), &m, &e), 0);
    assert_int_equal(m.v[0].major, 4294967295u);
    fs_mounts_destroy(&m);

    static const struct {
        const char *in;
        const char *on;
    } bad[] = {
        { "36 35 98:0 /mnt1 /mnt2", "mountinfo:1" }, /* truncated */
        { "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n36 35 98:0 /mnt1 /mnt2 rw - ext3", "mountinfo:2" },
        { "36 35 98:0 / / rw master:1 ext3 /dev/root rw\n", "mountinfo:1" }, /* no separator */
        { "36 35 98:0 / / rw -\n", "mountinfo:1" },
        { "36 35 98:0 / / rw - ext3\n", "mountinfo:1" },
        { "36 35 98:0 / / rw - ext3 /dev/root\n", "mountinfo:1" },
        { "36 35 98:0 / / rw - ext3 /dev/root rw extra\n", "mountinfo:1" },
        { "36 35 98:0 / / rw -  ext3 /dev/root rw\n", "mountinfo:1" }, /* empty fstype */
        { "36 35 98-0 / / rw - ext3 /dev/root rw\n", "mountinfo:1" },
        { "36 35 :0 / / rw - ext3 /dev/root rw\n", "mountinfo:1" },
        { "36 35 98: / / rw - ext3 /dev/root rw\n", "mountinfo:1" },
        { "x 35 98:0 / / rw - ext3 /dev/root rw\n", "mountinfo:1" },
        { "4294967296 35 98:0 / / rw - ext3 /dev/root rw\n", "mountinfo:1" },
        { "36 35 98:99999999999999999999 / / rw - ext3 /dev/root rw\n", "mountinfo:1" },
        { "\n\ngarbage\n", "mountinfo:3" },
        { "\x01\x02\x03\xff", "mountinfo:1" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        assert_int_equal(fs_parse_mountinfo(bad[i].in, strlen(bad[i].in), &m, &e), PK_EPARSE);
        assert_string_equal(e.on, bad[i].on);
        assert_int_equal(m.n, 0);
        assert_null(m.v);
    }

    /* A NUL would cut the strings short. */
    static const char nul[] = "1 0 8:1 / /a\0b rw - ext4 /dev/sda1 rw\n";
    assert_int_equal(fs_parse_mountinfo(nul, sizeof(nul) - 1, &m, &e), PK_EPARSE);
    assert_int_equal(fs_parse_mounts(nul, sizeof(nul) - 1, &m, &e), PK_EPARSE);
    static const char tnul[] = "/a\0b\t1\t1\t1\t1\t1\t1\n";
    struct fs_table tt;
    assert_int_equal(fs_parse_table(tnul, sizeof(tnul) - 1, &tt, &e), PK_EPARSE);

    /* A line cut by len is judged as cut. */
    t = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n";
    assert_int_equal(fs_parse_mountinfo(t, 20, &m, &e), PK_EPARSE);

    /* A long line: many optional fields and an overlay's long super options */
    size_t big = 200000;
    char *buf = malloc(big);
    assert_non_null(buf);
    int n = snprintf(buf, big, "7 1 0:99 / /merged rw");
    for (int i = 0; i < 1000; i++)
        n += snprintf(buf + n, big - (size_t)n, " shared:%d", i);
    n += snprintf(buf + n, big - (size_t)n, " - overlay overlay rw,lowerdir=");
    while ((size_t)n < big - 10)
        buf[n++] = 'l';
    assert_int_equal(fs_parse_mountinfo(buf, (size_t)n, &m, &e), 0);
    assert_int_equal(m.n, 1);
    assert_true(m.v[0].ignored);
    assert_int_equal(strlen(m.v[0].super_opts), (size_t)n - (size_t)(strstr(buf, "rw,lowerdir") - buf));
    fs_mounts_destroy(&m);
    free(buf);
}

static void mounts_parser(void **state)
{
    (void)state;
    struct fs_mounts m;
    struct pk_err e;
    const char *t =
        "sysfs /sys sysfs rw,nosuid 0 0\n /mnt/empty\\040src tmpfs rw 0 0\n/dev/sdb1 /data xfs ro";
    assert_int_equal(fs_parse_mounts(t, strlen(t), &m, &e), 0);
    assert_int_equal(m.n, 3);
    assert_true(m.v[0].ignored);
    assert_string_equal(m.v[1].device, "");
    assert_string_equal(m.v[1].mountpoint, "/mnt/empty src");
    assert_string_equal(m.v[2].mountpoint, "/data");
    assert_true(fs_mount_readonly(&m.v[2]));
    assert_int_equal(m.v[2].major, 0);
    fs_mounts_destroy(&m);

    static const char *const bad[] = {
        "sysfs /sys sysfs\n",         "sysfs /sys sysfs rw 0\n",   "sysfs /sys sysfs rw 0 0 extra\n",
        "sysfs  /sys sysfs rw 0 0\n", "sysfs /sys sysfs rw x 0\n", "a b c d\nsysfs /sys\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        assert_int_equal(fs_parse_mounts(bad[i], strlen(bad[i]), &m, &e), PK_EPARSE);
        assert_non_null(strstr(e.on, "mounts:"));
    }
    assert_string_equal(e.on, "mounts:2");
}

static void table_parser(void **state)
{
    (void)state;
    struct fs_table t;
    struct pk_err e;
    const char *s = "# header\n\n/\t4096\t1\t2\t3\t4\t5\r\n/a\\040b\t1\t18446744073709551615\t0\t0\t0\t0";
    assert_int_equal(fs_parse_table(s, strlen(s), &t, &e), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.v[0].u.ffree, 5);
    assert_string_equal(t.v[1].mountpoint, "/a b");
    assert_true(t.v[1].u.blocks == UINT64_MAX);
    assert_non_null(fs_table_find(&t, "/a b"));
    assert_null(fs_table_find(&t, "/a\\040b"));
    fs_table_destroy(&t);

    static const char *const bad[] = {
        "/\t4096\t1\t2\t3\t4\n",
        "/\t4096\t1\t2\t3\t4\t5\t6\n",
        "/ 4096 1 2 3 4 5\n",
        "\t4096\t1\t2\t3\t4\t5\n",
        "/\t4096\t1\t2\t3\t4\t18446744073709551616\n",
        "/\t-1\t1\t2\t3\t4\t5\n",
        "/\t4096\t1\t2\t3\t4\t5 \n",
        "/\t\t1\t2\t3\t4\t5\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pk_err_clear(&e);
        assert_int_equal(fs_parse_table(bad[i], strlen(bad[i]), &t, &e), PK_EPARSE);
        assert_string_equal(e.on, "statvfs.tsv:1");
    }
    assert_int_equal(fs_parse_table("", 0, &t, &e), 0);
    assert_int_equal(t.n, 0);
    fs_table_destroy(&t);
}

static void filters_and_options(void **state)
{
    (void)state;
    static const char *const ignored[] = {
        "/dev",
        "/dev/",
        "/dev/shm",
        "/proc",
        "/proc/sys/fs/binfmt_misc",
        "/sys",
        "/sys/fs/cgroup",
        "/run/credentials/x.service",
        "/var/lib/docker/overlay2/abc/merged",
        "/var/lib/containers/storage/overlay",
    };
    static const char *const kept[] = {
        "/",
        "/devices",
        "/dev2",
        "/system",
        "/procfs",
        "/run",
        "/run/credentials",
        "/run/credentials/",
        "/var/lib/docker",
        "/var/lib/docker/",
        "/var/lib/containers/storage/",
        "/var/lib/containers",
        "/home/dev",
        "",
    };
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        assert_true(fs_mountpoint_ignored(ignored[i]));
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        assert_false(fs_mountpoint_ignored(kept[i]));
    static const char *const pseudo[] = {
        "autofs",   "binfmt_misc", "bpf",     "cgroup",    "cgroup2",    "configfs",   "debugfs",
        "devpts",   "devtmpfs",    "fusectl", "hugetlbfs", "iso9660",    "mqueue",     "nsfs",
        "overlay",  "proc",        "procfs",  "pstore",    "rpc_pipefs", "securityfs", "selinuxfs",
        "squashfs", "erofs",       "sysfs",   "tracefs",
    };
    for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
        assert_true(fs_fstype_ignored(pseudo[i]));
    static const char *const real[] = { "ext4",       "xfs",     "btrfs",     "tmpfs", "nfs4",
                                        "fuse.sshfs", "cgroup3", "overlayfs", "" };
    for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++)
        assert_false(fs_fstype_ignored(real[i]));

    assert_true(fs_opt_has("rw,noatime", "noatime"));
    assert_true(fs_opt_has("noatime", "noatime"));
    assert_true(fs_opt_has("rw,size=5120k,mode=755", "size"));
    assert_true(fs_opt_has("rw,ro", "ro"));
    assert_false(fs_opt_has("rw,relatime", "atime"));
    assert_false(fs_opt_has("rw,relatime", "r"));
    assert_false(fs_opt_has("rw,sizex=1", "size"));
    assert_false(fs_opt_has("", "rw"));
    assert_false(fs_opt_has("rw", ""));
    assert_false(fs_opt_has(NULL, "rw"));

    struct fs_usage u = { 4096, 0, 0, 0, 0, 0, false };
    assert_true(fs_used_pct(&u) == 0);
    u = (struct fs_usage){ 4096, 100, 10, 0, 0, 0, false }; /* only root's reserve left */
    assert_true(fs_used_pct(&u) == 100);
    u = (struct fs_usage){ 4096, 100, 20, 20, 0, 0, false };
    assert_true(fs_used_pct(&u) == 80);
    u = (struct fs_usage){ 4096, 100, 200, 300, 0, 0, false }; /* nonsense from a broken filesystem */
    assert_true(fs_used_pct(&u) == 0);
    u = (struct fs_usage){ UINT64_MAX, UINT64_MAX, 0, 0, 0, 0, false };
    assert_true(fs_used_pct(&u) == 100);
    assert_true(fs_size_bytes(&u) == (double)UINT64_MAX * (double)UINT64_MAX);
}

/* ---- the worker pool ---------------------------------------------------- */

/* A stand-in for a hung statvfs: blocks until released. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    int calls, returned;
};

static int gated(const char *path, struct fs_usage *out, void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->lock);
    g->calls++;
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
    out->bsize = 512;
    out->blocks = strlen(path);
    pthread_mutex_lock(&g->lock);
    g->returned++;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    return 0;
}

static int failing(const char *path, struct fs_usage *out, void *arg)
{
    (void)path;
    (void)out;
    (*(int *)arg)++;
    return -EIO;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wait_returned(struct gate *g, int n)
{
    pthread_mutex_lock(&g->lock);
    while (g->returned < n)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void pool_bookkeeping(void **state)
{
    (void)state;
    struct fs_pool p;
    struct fs_usage u;
    struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0 };
    assert_int_equal(fs_pool_init(&p, 100, 2), 0);
    assert_int_equal(p.timeout_ms, 100);

    /* A call that hangs times out after about the timeout and leaves its path stuck. */
    double t0 = now_s();
    assert_int_equal(fs_pool_call(&p, "/hung", gated, &g, &u), -ETIMEDOUT);
    double waited = now_s() - t0;
    assert_true(waited >= 0.095 && waited < 2.0);
    assert_int_equal(fs_pool_stuck(&p), 1);

    /* Asked again while stuck: refused at once, the function is not run again. */
    t0 = now_s();
    assert_int_equal(fs_pool_call(&p, "/hung", gated, &g, &u), -EALREADY);
    assert_true(now_s() - t0 < 0.5); /* no wait for the timeout (generous for loaded CI machines) */

    /* Other paths still work, and errors pass through. */
    int fails = 0;
    assert_int_equal(fs_pool_call(&p, "/bad", failing, &fails, &u), -EIO);
    assert_int_equal(fails, 1);

    /* The bound: a second hung path fills the pool; a third path is not even asked. */
    assert_int_equal(fs_pool_call(&p, "/hung2", gated, &g, &u), -ETIMEDOUT);
    assert_int_equal(fs_pool_stuck(&p), 2);
    assert_int_equal(fs_pool_call(&p, "/bad", failing, &fails, &u), -EAGAIN);
    assert_int_equal(fails, 1);
    pthread_mutex_lock(&g.lock);
    assert_int_equal(g.calls, 2);
    pthread_mutex_unlock(&g.lock);

    /* Once the hung calls return, their paths are asked again. */
    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    wait_returned(&g, 2);
    for (int i = 0; i < 200 && fs_pool_stuck(&p) > 0; i++)
        usleep(5000);
    assert_int_equal(fs_pool_stuck(&p), 0);
    assert_int_equal(fs_pool_call(&p, "/hung", gated, &g, &u), 0);
    assert_int_equal(u.bsize, 512);
    assert_int_equal(u.blocks, 5);
    assert_int_equal(fs_pool_call(&p, "/bad", failing, &fails, &u), -EIO);
    assert_int_equal(fails, 2);
    wait_returned(&g, 3);

    /* Destroyed while a call is stuck: the worker cleans up after itself. */
    pthread_mutex_lock(&g.lock);
    g.open = false;
    pthread_mutex_unlock(&g.lock);
    assert_int_equal(fs_pool_call(&p, "/late", gated, &g, &u), -ETIMEDOUT);
    fs_pool_destroy(&p);
    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    wait_returned(&g, 4);
    usleep(20000); /* let the worker free its call before the leak checker looks */

    /* Defaults */
    assert_int_equal(fs_pool_init(&p, 0, 0), 0);
    assert_int_equal(p.timeout_ms, FS_DEFAULT_TIMEOUT_MS);
    assert_int_equal(p.max_threads, FS_DEFAULT_MAX_THREADS);
    fs_pool_destroy(&p);
}

static void pool_statvfs(void **state)
{
    const char *dir = *state;
    struct fs_pool p;
    struct fs_usage u;
    assert_int_equal(fs_pool_init(&p, 5000, 1), 0);
    memset(&u, 0, sizeof(u));
    assert_int_equal(fs_pool_statvfs(&p, dir, &u), 0);
    assert_true(u.bsize > 0 && u.blocks > 0 && u.bavail <= u.bfree && u.bfree <= u.blocks);
    char missing[256];
    snprintf(missing, sizeof(missing), "%s/no-such-dir", dir);
    assert_int_equal(fs_pool_statvfs(&p, missing, &u), -ENOENT);
    /* Many calls in a row through a pool of one thread: each worker is gone before the next. */
    for (int i = 0; i < 50; i++)
        assert_int_equal(fs_pool_statvfs(&p, dir, &u), 0);
    fs_pool_destroy(&p);
}

/*
 * A real hung statvfs: a FUSE mount whose server never answers. The kernel
 * holds every request until the INIT handshake completes, so statfs() sleeps
 * until the /dev/fuse descriptor is closed, which aborts the connection
 * (ENOTCONN). Needs root and /dev/fuse; runs in a child with its own mount
 * namespace, so the mount disappears with it whatever happens.
 */
static int hung_fuse_child(const char *dir)
{
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return 10;
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 11;
    char opts[128];
    snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
    if (mount("pk-hung", dir, "fuse.pk-hung", MS_NOSUID | MS_NODEV, opts) != 0)
        return 12;
    struct fs_pool p;
    struct fs_usage u;
    if (fs_pool_init(&p, 200, 2) != 0)
        return 13;
    double t0 = now_s();
    if (fs_pool_statvfs(&p, dir, &u) != -ETIMEDOUT)
        return 14;
    if (now_s() - t0 > 3)
        return 15;
    if (fs_pool_statvfs(&p, dir, &u) != -EALREADY || fs_pool_stuck(&p) != 1)
        return 16;
    /* the stuck worker does not hold up other paths */
    if (fs_pool_statvfs(&p, "/", &u) != 0)
        return 17;
    close(fd);
    for (int i = 0; i < 500 && fs_pool_stuck(&p) > 0; i++)
        usleep(10000);
    if (fs_pool_stuck(&p) != 0)
        return 18;
    int rc = fs_pool_statvfs(&p, dir, &u);
    if (rc != -ENOTCONN)
        return 19;
    fs_pool_destroy(&p);
    umount2(dir, MNT_DETACH);
    return 0;
}

static void pool_hung_fuse(void **state)
{
    const char *dir = *state;
    if (geteuid() != 0 || access("/dev/fuse", R_OK | W_OK) != 0)
        skip();
    char mnt[256];
    snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
    assert_int_equal(mkdir(mnt, 0755), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(hung_fuse_child(mnt));
    int status = 0;
    pid_t r = 0;
    for (int i = 0; i < 3000 && (r = waitpid(pid, &status, WNOHANG)) == 0; i++)
        usleep(10000);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the hung-mount child did not finish in 30 s");
    }
    assert_true(WIFEXITED(status));
    /* 10-12: this kernel or container does not allow the mount; not what is tested here */
    if (WEXITSTATUS(status) >= 10 && WEXITSTATUS(status) <= 12)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- statfs on the caller's thread, and the kept table -------------------- */

static void statfs_inline(void **state)
{
    (void)state;
    static const char tab[] = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                              "2 1 0:5 / /run rw - tmpfs tmpfs rw\n"
                              "3 1 0:40 / /mnt/nfs rw - nfs srv:/x rw\n"
                              "4 3 8:2 / /mnt/nfs/sub rw - ext4 /dev/sda2 rw\n"
                              "5 1 8:3 / /data rw - xfs /dev/sda3 rw\n"
                              "6 1 8:4 / /q rw - ext4 /dev/sda4 rw,prjquota\n"
                              "7 1 8:5 / /home rw - btrfs /dev/sda5 rw\n"
                              "8 1 0:41 / /auto rw - autofs systemd-1 rw\n"
                              "9 8 8:6 / /auto/x rw - ext4 /dev/sda6 rw\n"
                              "10 1 0:42 / /mnt/nfsish rw - tmpfs tmpfs rw\n"
                              "11 1 0:43 / /fuse rw - fuse.sshfs host: rw\n";
    struct fs_mounts m;
    struct pk_err e;
    assert_int_equal(fs_parse_mountinfo(tab, sizeof(tab) - 1, &m, &e), 0);
    static const struct {
        const char *mp;
        bool inl;
    } want[] = {
        { "/", true },        { "/run", true },        { "/mnt/nfs", false }, { "/mnt/nfs/sub", false },
        { "/data", true },    { "/q", false },         { "/home", false },    { "/auto", false },
        { "/auto/x", false }, { "/mnt/nfsish", true }, /* "/mnt/nfs" is not a directory above it */
        { "/fuse", false },
    };
    assert_int_equal(m.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < m.n; i++) {
        assert_string_equal(m.v[i].mountpoint, want[i].mp);
        if (fs_mount_statfs_inline(&m, i) != want[i].inl)
            fail_msg("%s: inline %d, want %d", want[i].mp, !want[i].inl, want[i].inl);
    }
    assert_false(fs_mount_statfs_inline(&m, m.n));
    /* the root's own type decides for everything below it */
    static const char nfsroot[] = "1 0 0:40 / / rw - nfs4 srv:/ rw\n2 1 0:5 / /run rw - tmpfs tmpfs rw\n";
    fs_mounts_destroy(&m);
    assert_int_equal(fs_parse_mountinfo(nfsroot, sizeof(nfsroot) - 1, &m, &e), 0);
    assert_false(fs_mount_statfs_inline(&m, 1));
    fs_mounts_destroy(&m);
}

/* The live table: usage of every kept mount; the mounts that cannot hang need no worker. */
static void watch_live(void **state)
{
    (void)state;
    struct fs_pool pool;
    assert_int_equal(fs_pool_init(&pool, 5000, 4), 0);
    struct fs_watch w;
    fs_watch_init(&w);
    struct fs_options o = { .pid = "self", .pool = &pool };
    const struct fs_mounts *m;
    struct pk_err e;
    pk_err_clear(&e);
    assert_int_equal(fs_watch_read(&w, "/proc", &o, &m, &e), 0);
    assert_true(w.fd >= 0 && w.own_ns && w.inl);
    bool all_inline = true;
    size_t counted = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].ignored || m->v[i].dup)
            continue;
        counted++;
        all_inline &= w.inl[i];
        if (w.inl[i])
            assert_true(m->v[i].usage_known);
    }
    assert_true(counted > 0);
    assert_int_equal(pool.nworkers == 0, all_inline);
    /* unchanged: the same parsed table, read again only for its usage */
    const struct fs_mount *v0 = m->v;
    assert_int_equal(fs_watch_read(&w, "/proc", &o, &m, &e), 0);
    assert_ptr_equal(m->v, v0);
    assert_int_equal(w.reads, 2);
    fs_watch_destroy(&w);
    fs_pool_destroy(&pool);
}

/* A mount and a remount to read-only in a namespace of our own: the kept table sees both at once. */
static int watch_changes_child(const char *dir)
{
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return 10;
    struct fs_pool pool;
    if (fs_pool_init(&pool, 5000, 2) != 0)
        return __LINE__;
    struct fs_watch w;
    fs_watch_init(&w);
    struct fs_options o = { .pid = "self", .pool = &pool };
    const struct fs_mounts *m;
    struct pk_err e;
    if (fs_watch_read(&w, "/proc", &o, &m, &e) != 0)
        return __LINE__;
    size_t n0 = m->n;
    if (mount("pk-watch", dir, "tmpfs", 0, "size=1m") != 0)
        return 11;
    if (fs_watch_read(&w, "/proc", &o, &m, &e) != 0 || m->n != n0 + 1)
        return __LINE__;
    const struct fs_mount *t = &m->v[m->n - 1];
    if (strcmp(t->mountpoint, dir) != 0 || strcmp(t->fstype, "tmpfs") != 0 || !t->usage_known ||
        fs_mount_readonly(t) || !w.inl[m->n - 1])
        return __LINE__;
    if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, "size=1m") != 0)
        return __LINE__;
    if (fs_watch_read(&w, "/proc", &o, &m, &e) != 0)
        return __LINE__;
    t = &m->v[m->n - 1];
    if (!fs_mount_readonly(t) || !t->usage.rdonly)
        return __LINE__;
    if (umount(dir) != 0)
        return __LINE__;
    if (fs_watch_read(&w, "/proc", &o, &m, &e) != 0 || m->n != n0)
        return __LINE__;
    fs_watch_destroy(&w);
    fs_pool_destroy(&pool);
    return 0;
}

static void watch_changes(void **state)
{
    const char *dir = *state;
    if (geteuid() != 0)
        skip();
    char mnt[256];
    snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
    assert_int_equal(mkdir(mnt, 0755), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(watch_changes_child(mnt));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 10 || WEXITSTATUS(status) == 11)
        skip(); /* no mount namespace or tmpfs here */
    if (WEXITSTATUS(status) != 0)
        fail_msg("watch_changes_child failed at test_fs.c:%d", WEXITSTATUS(status));
}

/* fd 0 open, so that a destroy that closed a zeroed struct's fd 0 would show. */
static void stdin_open(void)
{
    if (fcntl(STDIN_FILENO, F_GETFD) < 0)
        assert_int_equal(open("/dev/null", O_RDONLY), STDIN_FILENO);
}

/* Every destroy is a no-op on a zeroed struct, twice. */
static void destroy_zeroed(void **state)
{
    (void)state;
    stdin_open();
    struct fs_mounts m;
    struct fs_table t;
    struct fs_pool p;
    struct fs_watch w;
    memset(&m, 0, sizeof(m));
    memset(&t, 0, sizeof(t));
    memset(&p, 0, sizeof(p));
    memset(&w, 0, sizeof(w));
    for (int i = 0; i < 2; i++) {
        fs_mounts_destroy(&m);
        fs_table_destroy(&t);
        fs_pool_destroy(&p);
        fs_watch_destroy(&w);
    }
    assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vm_2cpu),
        cmocka_unit_test(destroy_zeroed),
        cmocka_unit_test(node_exporter_tree),
        cmocka_unit_test_setup_teardown(fallbacks, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(unescape),
        cmocka_unit_test(mountinfo_parser),
        cmocka_unit_test(mounts_parser),
        cmocka_unit_test(table_parser),
        cmocka_unit_test(filters_and_options),
        cmocka_unit_test(pool_bookkeeping),
        cmocka_unit_test_setup_teardown(pool_statvfs, tmptree_setup, tmptree_teardown),
        cmocka_unit_test_setup_teardown(pool_hung_fuse, tmptree_setup, tmptree_teardown),
        cmocka_unit_test(statfs_inline),
        cmocka_unit_test(watch_live),
        cmocka_unit_test_setup_teardown(watch_changes, tmptree_setup, tmptree_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
