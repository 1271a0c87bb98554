#define _GNU_SOURCE /* memfd_create, pipe2 */
#include "bench/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/check.h"
#include "core/clock.h"
#include "core/err.h"

extern char **environ;

static void add_actions(posix_spawn_file_actions_t *fa, const struct runner *r, int pipe_wr)
{
    posix_spawn_file_actions_adddup2(fa, r->in_fd, STDIN_FILENO);
    if (pipe_wr >= 0)
        posix_spawn_file_actions_adddup2(fa, pipe_wr, STDOUT_FILENO);
    else if (r->out_fd >= 0)
        posix_spawn_file_actions_adddup2(fa, r->out_fd, STDOUT_FILENO);
    if (r->err_fd >= 0)
        posix_spawn_file_actions_adddup2(fa, r->err_fd, STDERR_FILENO);
}

int runner_init(struct runner *r, const struct runner_opts *o, struct pk_err *e)
{
    int rc;
    memset(r, 0, sizeof(*r));
    r->o = *o;
    r->in_fd = r->out_fd = r->err_fd = -1;
    r->fds_set = true;
    for (int i = 0; i < COUNTERS_N; i++)
        r->ctr.fd[i] = -1;

    const char *in = o->input_path ? o->input_path : "/dev/null";
    r->in_fd = open(in, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (r->in_fd >= 0 && fstat(r->in_fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(r->in_fd);
        r->in_fd = -1;
        errno = EISDIR;
    }
    if (r->in_fd < 0) {
        rc = -errno;
        err_set(e, rc, o->input_path ? "--input" : NULL, "cannot open input", "'%s': %s", in, strerror(-rc));
        goto fail;
    }
    switch (o->output) {
    case RUNNER_OUT_NULL:
    case RUNNER_OUT_PIPE:
        r->out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (r->out_fd < 0) {
            rc = err_errno(e, -errno, "/dev/null", "cannot open");
            goto fail;
        }
        break;
    case RUNNER_OUT_INHERIT: r->out_fd = -1; break;
    case RUNNER_OUT_FILE:
        r->out_fd = open(o->output_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (r->out_fd < 0) {
            rc = -errno;
            err_set(e, rc, "--output", "cannot open output file", "'%s': %s", o->output_path, strerror(-rc));
            goto fail;
        }
        break;
    }
    r->rewind_input = o->input_path != NULL;
    if (o->output != RUNNER_OUT_INHERIT) {
        r->err_fd = memfd_create("perfkit-stderr", MFD_CLOEXEC);
        if (r->err_fd < 0) {
            rc = err_errno(e, -errno, NULL, "cannot create a memory file for stderr");
            goto fail;
        }
    }
    if (o->output != RUNNER_OUT_PIPE) {
        /* The pipe mode needs a new pipe per run; every other mode spawns with
         * the same descriptors, so the actions are built once. */
        posix_spawn_file_actions_init(&r->fa);
        r->fa_ready = true;
        add_actions(&r->fa, r, -1);
    }
    if (o->counters) {
        struct pk_err ce;
        pk_err_clear(&ce);
        if (counters_open(&r->ctr, COUNTERS_CHILDREN, &ce) == 0) {
            r->counters_on = true;
        } else {
            char buf[sizeof(r->counters_why)];
            snprintf(r->counters_why, sizeof(r->counters_why), "%s", pk_err_str(&ce, buf, sizeof(buf)));
        }
    }
    return 0;
fail:
    runner_destroy(r);
    return rc;
}

void runner_destroy(struct runner *r)
{
    if (r->fa_ready)
        posix_spawn_file_actions_destroy(&r->fa);
    r->fa_ready = false;
    if (r->counters_on)
        counters_close(&r->ctr);
    r->counters_on = false;
    if (!r->fds_set)
        return;
    if (r->in_fd >= 0)
        close(r->in_fd);
    if (r->out_fd >= 0)
        close(r->out_fd);
    if (r->err_fd >= 0)
        close(r->err_fd);
    r->in_fd = r->out_fd = r->err_fd = -1;
}

/* Reads and discards the child's stdout until EOF, as a consumer would, or
 * until the stop flag is raised: a SIGTERM sent to perfkit alone does not
 * reach the child, and its descendants may hold the pipe open. */
static void drain(int fd, const volatile sig_atomic_t *stop)
{
    char buf[65536];
    while (!(stop && *stop)) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
}

/*
 * The child after wait4 failed (not with EINTR): it must not be left running
 * or a zombie, so it is killed and reaped. ECHILD says it is no child of ours
 * any more (reaped elsewhere, or SIGCHLD ignored): nothing to reap, and its
 * pid may be another process' by now, so it is not signalled.
 */
static void reap_after_failed_wait(pid_t pid, int err)
{
    if (err == ECHILD)
        return;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

int runner_run(struct runner *r, const char *path, char *const argv[], struct bench_run *run,
               struct pk_err *e)
{
    int pipefd[2] = { -1, -1 };
    int rc;

    memset(run, 0, sizeof(*run));
    if (r->rewind_input && lseek(r->in_fd, 0, SEEK_SET) < 0 && errno != ESPIPE)
        return err_errno(e, -errno, "--input", "cannot rewind input");
    if (r->err_fd >= 0) {
        /* The child shares the memory file's offset: non-zero means it wrote. */
        off_t used = lseek(r->err_fd, 0, SEEK_CUR);
        if (used != 0 && (ftruncate(r->err_fd, 0) < 0 || lseek(r->err_fd, 0, SEEK_SET) < 0))
            return err_errno(e, -errno, NULL, "cannot reset the stderr buffer");
    }
    posix_spawn_file_actions_t pipe_fa, *fa = &r->fa;
    if (r->o.output == RUNNER_OUT_PIPE) {
        if (pipe2(pipefd, O_CLOEXEC) < 0)
            return err_errno(e, -errno, NULL, "cannot create the output pipe");
        posix_spawn_file_actions_init(&pipe_fa);
        add_actions(&pipe_fa, r, pipefd[1]);
        fa = &pipe_fa;
    }

    struct counters_values c0, c1;
    if (r->counters_on)
        counters_read(&r->ctr, &c0);

    pid_t pid;
    uint64_t t0 = clock_mono_ns();
    rc = posix_spawn(&pid, path, fa, NULL, argv, environ);
    if (fa == &pipe_fa)
        posix_spawn_file_actions_destroy(&pipe_fa);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (rc != 0) {
        if (pipefd[0] >= 0)
            close(pipefd[0]);
        return err_set(e, -rc, argv[0], "cannot run command", "%s", strerror(rc));
    }
    int status = 0;
    struct rusage ru;
    bool stopped = false;
    /* A stop raised just before the spawn interrupted no wait: the child
     * would run to its end. */
    if (r->o.stop && *r->o.stop) {
        kill(pid, SIGKILL);
        stopped = true;
    }
    if (pipefd[0] >= 0) {
        drain(pipefd[0], r->o.stop);
        close(pipefd[0]);
        if (!stopped && r->o.stop && *r->o.stop) {
            kill(pid, SIGKILL);
            stopped = true;
        }
    }

    for (;;) {
        pid_t w = wait4(pid, &status, 0, &ru);
        if (w == pid)
            break;
        if (w < 0 && errno == EINTR) {
            if (r->o.stop && *r->o.stop && !stopped) {
                /* The terminal's SIGINT usually reached the child too; make sure. */
                kill(pid, SIGKILL);
                stopped = true;
            }
            continue;
        }
        PK_ASSERT(w < 0); /* wait4 on one pid without WNOHANG returns it or fails */
        int err = errno;
        reap_after_failed_wait(pid, err);
        return err_errno(e, -err, argv[0], "cannot wait for command");
    }
    uint64_t t1 = clock_mono_ns();
    if (stopped || (r->o.stop && *r->o.stop))
        return PK_ESTOP;

    if (r->counters_on) {
        counters_read(&r->ctr, &c1);
        counters_diff(&c0, &c1, &run->ctr);
    }
    run->wall_s = (double)(t1 - t0) * 1e-9;
    run->user_s = clock_tv_s(ru.ru_utime.tv_sec, ru.ru_utime.tv_usec);
    run->sys_s = clock_tv_s(ru.ru_stime.tv_sec, ru.ru_stime.tv_usec);
    run->max_rss_bytes = (uint64_t)ru.ru_maxrss * 1024u;
    run->minflt = (uint64_t)ru.ru_minflt;
    run->majflt = (uint64_t)ru.ru_majflt;
    run->nvcsw = (uint64_t)ru.ru_nvcsw;
    run->nivcsw = (uint64_t)ru.ru_nivcsw;
    if (WIFEXITED(status)) {
        run->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        run->exit_code = -1;
        run->term_signal = WTERMSIG(status);
    }
    return 0;
}

size_t runner_stderr_tail(struct runner *r, char *buf, size_t cap)
{
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    if (r->err_fd < 0)
        return 0;
    struct stat st;
    if (fstat(r->err_fd, &st) < 0 || st.st_size <= 0)
        return 0;
    size_t want = cap - 1;
    off_t off = st.st_size > (off_t)want ? st.st_size - (off_t)want : 0;
    ssize_t n = pread(r->err_fd, buf, (size_t)(st.st_size - off), off);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    return (size_t)n;
}

static int check_exec(const char *p)
{
    struct stat st;
    if (stat(p, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (access(p, X_OK) < 0)
        return -errno;
    return 0;
}

int runner_resolve(const char *name, char *out, size_t cap, struct pk_err *e)
{
    if (!name || !*name)
        return err_set(e, -ENOENT, NULL, "empty command", NULL);
    if (strchr(name, '/')) {
        int rc = check_exec(name);
        if (rc)
            return err_set(e, rc, name, "command cannot be run", "%s", strerror(-rc));
        if (strlen(name) >= cap)
            return err_set(e, -ENAMETOOLONG, name, "command path too long", NULL);
        memcpy(out, name, strlen(name) + 1);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int last = -ENOENT;
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t dl = colon ? (size_t)(colon - p) : strlen(p);
        size_t nl = strlen(name);
        if (dl + 1 + nl + 1 <= cap) {
            if (dl == 0) {
                memcpy(out, name, nl + 1); /* empty entry: current directory */
            } else {
                memcpy(out, p, dl);
                out[dl] = '/';
                memcpy(out + dl + 1, name, nl + 1);
            }
            int rc = check_exec(out);
            if (rc == 0)
                return 0;
            if (rc == -EACCES)
                last = rc;
        }
        if (!colon)
            break;
        p = colon + 1;
    }
    if (last == -EACCES)
        return err_set(e, last, name, "command cannot be run", "found in PATH but not executable");
    return err_set(e, -ENOENT, name, "command not found", "not in PATH (%s)", path);
}
