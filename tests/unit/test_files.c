#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/files.h"

/* Each test gets a fresh directory, removed with its contents afterwards. */
struct fixture {
    char dir[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/pk_test_files_XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    umask(022);
    *state = f;
    return 0;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char sub[512];
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            remove_tree(sub);
        }
        if (d)
            closedir(d);
        chmod(path, 0700);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    remove_tree(f->dir);
    free(f);
    return 0;
}

static char *join(const struct fixture *f, const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof(buf[0]), "%s/%s", f->dir, name);
    return p;
}

/* Entries of dir whose names start with '.', i.e. leftover temporary files. */
static int count_hidden(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void read_back(const char *path, const char *want)
{
    char buf[4096];
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static const char *msg(const struct pk_err *e)
{
    static char buf[700];
    return pk_err_str(e, buf, sizeof(buf));
}

/* ---- files_write_atomic ------------------------------------------------ */

static void atomic_write_creates_and_replaces(void **state)
{
    struct fixture *f = *state;
    const char *path = join(f, "out.json");
    struct pk_err e;
    pk_err_clear(&e);

    assert_int_equal(files_write_atomic(path, "first version, rather long\n", 27, &e), 0);
    read_back(path, "first version, rather long\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644); /* not mkstemp's 0600; umask is 022 */
    assert_int_equal(count_hidden(f->dir), 0);

    assert_int_equal(files_write_atomic(path, "second\n", 7, &e), 0);
    read_back(path, "second\n");
    assert_int_equal(count_hidden(f->dir), 0);

    assert_int_equal(files_write_atomic(path, NULL, 0, &e), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);

    /* The umask applies like for any created file. */
    umask(077);
    const char *priv = join(f, "private");
    assert_int_equal(files_write_atomic(priv, "x", 1, &e), 0);
    umask(022);
    assert_int_equal(stat(priv, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    /* A bare name lands in the working directory. */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(files_write_atomic("bare.txt", "bare", 4, &e), 0);
    assert_int_equal(chdir(cwd), 0);
    read_back(join(f, "bare.txt"), "bare");
    assert_int_equal(count_hidden(f->dir), 0);
}

static void atomic_write_keeps_symlinks_and_devices(void **state)
{
    struct fixture *f = *state;
    struct pk_err e;
    const char *real = join(f, "real.txt"), *link = join(f, "link.txt");
    assert_int_equal(files_write_atomic(real, "old", 3, &e), 0);
    assert_int_equal(symlink("real.txt", link), 0);
    assert_int_equal(files_write_atomic(link, "new", 3, &e), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    read_back(real, "new");

    /* "--export-json /dev/null" must not replace the device node. */
    assert_int_equal(files_write_atomic("/dev/null", "data", 4, &e), 0);
    assert_int_equal(lstat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(files_check_writable("/dev/null", &e), 0);
}

static void atomic_write_failures_leave_nothing(void **state)
{
    struct fixture *f = *state;
    struct pk_err e;
    char want[512];

    /* The directory does not exist. */
    const char *missing = join(f, "nodir/out.json");
    pk_err_clear(&e);
    assert_int_equal(files_write_atomic(missing, "x", 1, &e), -ENOENT);
    snprintf(want, sizeof(want),
             "%s: cannot write file: cannot create a temporary file in '%s/nodir': No such file or directory",
             missing, f->dir);
    assert_string_equal(msg(&e), want);
    assert_int_equal(count_hidden(f->dir), 0);

    /* The target is a directory: nothing created beside it, and it stays. */
    const char *sub = join(f, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    pk_err_clear(&e);
    assert_int_equal(files_write_atomic(sub, "x", 1, &e), -EISDIR);
    snprintf(want, sizeof(want), "%s: cannot write file: it is a directory", sub);
    assert_string_equal(msg(&e), want);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(count_hidden(f->dir), 0);

    const char *slash = join(f, "newdir/");
    assert_int_equal(files_write_atomic(slash, "x", 1, &e), -EISDIR);
    assert_int_equal(files_write_atomic("", "x", 1, &e), -EINVAL);
    assert_int_equal(files_write_atomic(NULL, "x", 1, &e), -EINVAL);

    /* A write that fails half-way (file size limit; root cannot bypass it):
     * the temporary file is removed and the old content is untouched. */
    const char *path = join(f, "keep.txt");
    assert_int_equal(files_write_atomic(path, "old content", 11, &e), 0);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 16;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    char big[4096];
    memset(big, 'z', sizeof(big));
    pk_err_clear(&e);
    int rc = files_write_atomic(path, big, sizeof(big), &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -EFBIG);
    assert_non_null(strstr(msg(&e), path));
    read_back(path, "old content");
    assert_int_equal(count_hidden(f->dir), 0);
}

/* ---- files_check_writable ---------------------------------------------- */

static void check_writable_accepts_and_rejects(void **state)
{
    struct fixture *f = *state;
    struct pk_err e;
    char want[512];

    assert_int_equal(files_check_writable(join(f, "new.json"), &e), 0);
    assert_int_equal(files_write_atomic(join(f, "old.json"), "{}", 2, &e), 0);
    assert_int_equal(files_check_writable(join(f, "old.json"), &e), 0);
    assert_int_equal(files_check_writable("/dev/null", &e), 0);

    const char *missing = join(f, "nodir/x.json");
    pk_err_clear(&e);
    assert_int_equal(files_check_writable(missing, &e), -ENOENT);
    snprintf(want, sizeof(want), "%s: cannot write file: directory '%s/nodir' does not exist", missing,
             f->dir);
    assert_string_equal(msg(&e), want);

    pk_err_clear(&e);
    assert_int_equal(files_check_writable(f->dir, &e), -EISDIR);
    snprintf(want, sizeof(want), "%s: cannot write file: it is a directory", f->dir);
    assert_string_equal(msg(&e), want);

    const char *notdir = join(f, "old.json/x.json");
    pk_err_clear(&e);
    assert_int_equal(files_check_writable(notdir, &e), -ENOTDIR);
    snprintf(want, sizeof(want), "%s: cannot write file: '%s/old.json' is not a directory", notdir, f->dir);
    assert_string_equal(msg(&e), want);

    assert_int_equal(files_check_writable(join(f, "newdir/"), &e), -EISDIR);
    assert_int_equal(files_check_writable("", &e), -EINVAL);

    /* Permission bits do not stop root; test them only when they apply. */
    if (geteuid() != 0) {
        const char *ro = join(f, "ro");
        assert_int_equal(mkdir(ro, 0500), 0);
        const char *target = join(f, "ro/x.json");
        pk_err_clear(&e);
        assert_int_equal(files_check_writable(target, &e), -EACCES);
        assert_non_null(strstr(msg(&e), "is not writable"));
        assert_int_not_equal(files_write_atomic(target, "x", 1, &e), 0);
        assert_int_equal(count_hidden(ro), 0);
    }
}

/* ---- files_read_all ---------------------------------------------------- */

static void read_all_respects_the_cap(void **state)
{
    struct fixture *f = *state;
    struct pk_err e;
    char want[512];
    const char *path = join(f, "data.txt");
    assert_int_equal(files_write_atomic(path, "0123456789", 10, &e), 0);

    char *out = NULL;
    size_t len = 0;
    assert_int_equal(files_read_all(path, 10, &out, &len, &e), 0);
    assert_int_equal(len, 10);
    assert_string_equal(out, "0123456789");
    free(out);
    assert_int_equal(files_read_all(path, 1 << 20, &out, NULL, &e), 0);
    assert_string_equal(out, "0123456789");
    free(out);
    assert_int_equal(files_read_all(path, SIZE_MAX, &out, &len, &e), 0);
    assert_int_equal(len, 10);
    free(out);

    out = NULL;
    pk_err_clear(&e);
    assert_int_equal(files_read_all(path, 9, &out, &len, &e), -EFBIG);
    assert_null(out);
    snprintf(want, sizeof(want), "%s: file too large: more than the limit of 9 bytes", path);
    assert_string_equal(msg(&e), want);

    /* Files whose size stat() does not know are cut off by reading. */
    if (access("/proc/self/status", R_OK) == 0) {
        assert_int_equal(files_read_all("/proc/self/status", 1 << 20, &out, &len, &e), 0);
        assert_true(len > 10);
        assert_int_equal(strlen(out), len);
        free(out);
        out = NULL;
        pk_err_clear(&e);
        assert_int_equal(files_read_all("/proc/self/status", 10, &out, &len, &e), -EFBIG);
        assert_null(out);
        assert_string_equal(e.on, "/proc/self/status");
    }

    const char *empty = join(f, "empty");
    assert_int_equal(files_write_atomic(empty, "", 0, &e), 0);
    assert_int_equal(files_read_all(empty, 0, &out, &len, &e), 0);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    free(out);

    pk_err_clear(&e);
    const char *missing = join(f, "missing");
    assert_int_equal(files_read_all(missing, 100, &out, &len, &e), -ENOENT);
    snprintf(want, sizeof(want), "%s: cannot read file: No such file or directory", missing);
    assert_string_equal(msg(&e), want);

    pk_err_clear(&e);
    assert_int_equal(files_read_all(f->dir, 100, &out, &len, &e), -EISDIR);
    assert_string_equal(e.on, f->dir);
}

/* Writes its pieces into the FIFO once a reader has it open, then closes it. */
static void *fifo_writer(void *arg)
{
    const char *path = arg;
    int fd = open(path, O_WRONLY | O_CLOEXEC); /* waits for the reader */
    if (fd < 0)
        return NULL;
    const char *pieces[] = { "interval ", "2s\n" };
    for (int i = 0; i < 2; i++) {
        if (write(fd, pieces[i], strlen(pieces[i])) < 0)
            break;
        /* the reader finds the FIFO open and empty between the pieces */
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    close(fd);
    return NULL;
}

static void read_all_waits_for_fifos_with_a_bound(void **state)
{
    struct fixture *f = *state;
    struct pk_err e;
    char want[512], *out = NULL;
    size_t len = 0;
    const char *fifo = join(f, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);

    /* nobody writes: an error naming it after the wait, not a hang */
    pk_err_clear(&e);
    assert_int_equal(files_read_all_within(fifo, 100, 200, &out, &len, &e), -ETIMEDOUT);
    assert_null(out);
    snprintf(want, sizeof(want),
             "%s: cannot read file: a FIFO or pipe that gave no end of data within 0.2 s (is anything "
             "writing to it?)",
             fifo);
    assert_string_equal(msg(&e), want);

    /* a writer that comes, writes in two pieces and closes: all of it */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fifo_writer, (void *)fifo), 0);
    assert_int_equal(files_read_all_within(fifo, 100, 5000, &out, &len, &e), 0);
    pthread_join(t, NULL);
    assert_string_equal(out, "interval 2s\n");
    assert_int_equal(len, 12);
    free(out);

    /* a pipe whose writer is already gone, as bash's <(...) hands one over */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "abc", 3), 3);
    close(p[1]);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
    assert_int_equal(files_read_all_within(path, 100, 5000, &out, &len, &e), 0);
    close(p[0]);
    assert_string_equal(out, "abc");
    free(out);

    /* devices: /dev/null is empty, /dev/zero is over any cap */
    assert_int_equal(files_read_all_within("/dev/null", 100, 5000, &out, &len, &e), 0);
    assert_int_equal(len, 0);
    free(out);
    out = NULL;
    assert_int_equal(files_read_all_within("/dev/zero", 100, 5000, &out, &len, &e), -EFBIG);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(atomic_write_creates_and_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(atomic_write_keeps_symlinks_and_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(atomic_write_failures_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(check_writable_accepts_and_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(read_all_respects_the_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(read_all_waits_for_fifos_with_a_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
