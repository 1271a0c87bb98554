#define _GNU_SOURCE /* memfd_create, pipe2, _Fork */
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

#include "bench/spawner.h"
#include "core/check.h"
#include "core/clock.h"
#include "core/err.h"

extern char **environ;

#define ITERATION_VAR "HYPERFINE_ITERATION="

/* The fd a job's stdout goes to: the run's pipe, the output's file or
 * /dev/null, or none (inherit). */
static int stdout_fd(const struct runner_fd *out, int pipe_wr)
{
    return pipe_wr >= 0 ? pipe_wr : out->fd;
}

/* stderr goes to the memory file, except for an inheriting output. */
static int stderr_fd(const struct runner *r, const struct runner_fd *out)
{
    return out->mode == RUNNER_OUT_INHERIT ? -1 : r->err_fd;
}

static void add_actions(posix_spawn_file_actions_t *fa, const struct runner *r, const struct runner_fd *out,
                        int pipe_wr)
{
    posix_spawn_file_actions_adddup2(fa, r->in_fd, STDIN_FILENO);
    if (stdout_fd(out, pipe_wr) >= 0)
        posix_spawn_file_actions_adddup2(fa, stdout_fd(out, pipe_wr), STDOUT_FILENO);
    if (stderr_fd(r, out) >= 0)
        posix_spawn_file_actions_adddup2(fa, stderr_fd(r, out), STDERR_FILENO);
}

static int open_output(struct runner_fd *of, const struct runner_out *spec, struct pk_err *e)
{
    of->mode = spec->mode;
    of->fd = -1;
    switch (spec->mode) {
    case RUNNER_OUT_NULL:
        of->fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (of->fd < 0)
            return err_errno(e, -errno, "/dev/null", "cannot open");
        break;
    case RUNNER_OUT_PIPE: /* a new pipe per run */
    case RUNNER_OUT_INHERIT: break;
    case RUNNER_OUT_FILE:
        of->fd = open(spec->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (of->fd < 0) {
            int rc = -errno;
            return err_set(e, rc, "--output", "cannot open output file", "'%s': %s", spec->path,
                           strerror(-rc));
        }
        break;
    }
    return 0;
}

static int open_input(struct runner *r, const struct runner_opts *o, struct pk_err *e)
{
    const char *in = o->input_path ? o->input_path : "/dev/null";
    r->in_fd = open(in, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (r->in_fd >= 0 && fstat(r->in_fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(r->in_fd);
        r->in_fd = -1;
        errno = EISDIR;
    }
    if (r->in_fd < 0) {
        int rc = -errno;
        return err_set(e, rc, o->input_path ? "--input" : NULL, "cannot open input", "'%s': %s", in,
                       strerror(-rc));
    }
    r->rewind_input = o->input_path != NULL;
    return 0;
}

static int open_outputs(struct runner *r, const struct runner_opts *o, struct pk_err *e)
{
    struct runner_out one = { o->output, o->output_path };
    const struct runner_out *specs = o->noutputs ? o->outputs : &one;
    size_t n = o->noutputs ? o->noutputs : 1;
    if (n > RUNNER_MAX_OUTPUTS)
        return err_set(e, -E2BIG, "--output", "too many outputs", "%zu, at most %d", n, RUNNER_MAX_OUTPUTS);
    r->outs = calloc(n, sizeof(*r->outs));
    if (!r->outs)
        return err_errno(e, -ENOMEM, NULL, "cannot open the outputs");
    bool any_captured = false;
    for (size_t i = 0; i < n; i++) {
        r->outs[i].fd = -1;
        r->nouts = i + 1; /* counts what runner_destroy must close */
        int rc = open_output(&r->outs[i], &specs[i], e);
        if (rc)
            return rc;
        any_captured |= specs[i].mode != RUNNER_OUT_INHERIT;
    }
    if (any_captured) {
        r->err_fd = memfd_create("perfkit-stderr", MFD_CLOEXEC);
        if (r->err_fd < 0)
            return err_errno(e, -errno, NULL, "cannot create a memory file for stderr");
    }
    /* The pipe mode needs a new pipe per run; every other output spawns with
     * the same descriptors, so its actions are built once. */
    for (size_t i = 0; i < n && !o->fork_exec; i++) {
        if (r->outs[i].mode == RUNNER_OUT_PIPE)
            continue;
        posix_spawn_file_actions_init(&r->outs[i].fa);
        r->outs[i].fa_ready = true;
        add_actions(&r->outs[i].fa, r, &r->outs[i], -1);
    }
    return 0;
}

int runner_init(struct runner *r, const struct runner_opts *o, struct pk_err *e)
{
    int rc;
    memset(r, 0, sizeof(*r));
    r->o = *o;
    r->in_fd = r->err_fd = -1;
    r->fds_set = true;
    for (int i = 0; i < COUNTERS_N; i++)
        r->ctr.fd[i] = -1;
    if (o->spawner) {
        r->remote = true;
        rc = spawner_runner_init(o->spawner, o, &r->err_fd, &r->counters_on, r->counters_why,
                                 sizeof(r->counters_why), e);
        if (rc)
            goto fail;
        return 0;
    }
    if ((rc = open_input(r, o, e)) || (rc = open_outputs(r, o, e)))
        goto fail;
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
    if (r->remote)
        spawner_runner_destroy(r->o.spawner);
    r->remote = false;
    for (size_t i = 0; i < r->nouts; i++) {
        if (r->outs[i].fa_ready)
            posix_spawn_file_actions_destroy(&r->outs[i].fa);
        if (r->outs[i].fd >= 0)
            close(r->outs[i].fd);
    }
    free(r->outs);
    r->outs = NULL;
    r->nouts = 0;
    free(r->envp);
    r->envp = NULL;
    r->envp_cap = 0;
    if (r->counters_on)
        counters_close(&r->ctr);
    r->counters_on = false;
    if (!r->fds_set)
        return;
    if (r->in_fd >= 0)
        close(r->in_fd);
    if (r->err_fd >= 0)
        close(r->err_fd);
    r->in_fd = r->err_fd = -1;
}

/* The environment of a run: environ, or environ with $HYPERFINE_ITERATION
 * set to the job's value. -ENOMEM. */
static int job_env(struct runner *r, const char *iteration, char *const **out)
{
    *out = environ;
    if (!iteration)
        return 0;
    size_t n = 0;
    while (environ[n])
        n++;
    if (n + 2 > r->envp_cap) {
        char **grown = realloc(r->envp, (n + 2) * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        r->envp = grown;
        r->envp_cap = n + 2;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], ITERATION_VAR, sizeof(ITERATION_VAR) - 1) != 0)
            r->envp[k++] = environ[i];
    snprintf(r->iter_env, sizeof(r->iter_env), ITERATION_VAR "%s", iteration);
    r->envp[k++] = r->iter_env;
    r->envp[k] = NULL;
    *out = r->envp;
    return 0;
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

/* In the forked child: fd becomes target, open across exec. */
static int move_fd(int fd, int target)
{
    if (fd == target)
        return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) < 0 ? -1 : 0;
}

/* fork without the fork handlers of the libraries this process carries: the
 * child only sets up its descriptors and execs. */
static pid_t fork_plain(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return _Fork();
#else
    return fork();
#endif
}

/*
 * fork + exec. The child starts as a copy of this process's private pages
 * only, which is what its peak RSS starts from (see runner.h). An exec that
 * fails is reported through a close-on-exec pipe, as posix_spawn reports it:
 * 0 with *pid set, or -errno with the child reaped.
 */
static int spawn_fork(const struct runner *r, const struct runner_fd *out, int pipe_wr, const char *path,
                      char *const argv[], char *const envp[], pid_t *pid)
{
    int errp[2];
    if (pipe2(errp, O_CLOEXEC) < 0)
        return -errno;
    int out_fd = stdout_fd(out, pipe_wr), err_fd = stderr_fd(r, out);
    pid_t p = fork_plain();
    if (p < 0) {
        int err = errno;
        close(errp[0]);
        close(errp[1]);
        return -err;
    }
    if (p == 0) {
        if (move_fd(r->in_fd, STDIN_FILENO) == 0 && (out_fd < 0 || move_fd(out_fd, STDOUT_FILENO) == 0) &&
            (err_fd < 0 || move_fd(err_fd, STDERR_FILENO) == 0))
            execve(path, argv, envp);
        int err = errno;
        ssize_t w = write(errp[1], &err, sizeof(err));
        (void)w; /* nothing more a child about to exit can do */
        _exit(127);
    }
    close(errp[1]);
    int child_err = 0;
    ssize_t n;
    while ((n = read(errp[0], &child_err, sizeof(child_err))) < 0 && errno == EINTR)
        ;
    close(errp[0]);
    if (n == (ssize_t)sizeof(child_err)) {
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
            ;
        return -child_err;
    }
    *pid = p;
    return 0;
}

static int spawn_job(struct runner *r, const struct runner_fd *out, int pipe_wr, const struct runner_job *job,
                     char *const envp[], pid_t *pid)
{
    if (r->o.fork_exec)
        return spawn_fork(r, out, pipe_wr, job->path, job->argv, envp, pid);
    posix_spawn_file_actions_t pipe_fa;
    const posix_spawn_file_actions_t *fa = &out->fa;
    if (pipe_wr >= 0) {
        posix_spawn_file_actions_init(&pipe_fa);
        add_actions(&pipe_fa, r, out, pipe_wr);
        fa = &pipe_fa;
    }
    int rc = posix_spawn(pid, job->path, fa, NULL, job->argv, envp);
    if (fa == &pipe_fa)
        posix_spawn_file_actions_destroy(&pipe_fa);
    return -rc;
}

/* Before a run: the input rewound, the stderr memory file emptied. */
static int reset_fds(struct runner *r, struct pk_err *e)
{
    if (r->rewind_input && lseek(r->in_fd, 0, SEEK_SET) < 0 && errno != ESPIPE)
        return err_errno(e, -errno, "--input", "cannot rewind input");
    if (r->err_fd >= 0) {
        /* The child shares the memory file's offset: non-zero means it wrote. */
        off_t used = lseek(r->err_fd, 0, SEEK_CUR);
        if (used != 0 && (ftruncate(r->err_fd, 0) < 0 || lseek(r->err_fd, 0, SEEK_SET) < 0))
            return err_errno(e, -errno, NULL, "cannot reset the stderr buffer");
    }
    return 0;
}

static void fill_run(struct bench_run *run, uint64_t t0, uint64_t t1, const struct rusage *ru, int status)
{
    run->wall_s = (double)(t1 - t0) * 1e-9;
    run->user_s = clock_tv_s(ru->ru_utime.tv_sec, ru->ru_utime.tv_usec);
    run->sys_s = clock_tv_s(ru->ru_stime.tv_sec, ru->ru_stime.tv_usec);
    run->max_rss_bytes = (uint64_t)ru->ru_maxrss * 1024u;
    run->minflt = (uint64_t)ru->ru_minflt;
    run->majflt = (uint64_t)ru->ru_majflt;
    run->nvcsw = (uint64_t)ru->ru_nvcsw;
    run->nivcsw = (uint64_t)ru->ru_nivcsw;
    if (WIFEXITED(status)) {
        run->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        run->exit_code = -1;
        run->term_signal = WTERMSIG(status);
    }
}

int runner_run(struct runner *r, const char *path, char *const argv[], struct bench_run *run,
               struct pk_err *e)
{
    struct runner_job job = { .path = path, .argv = argv };
    return runner_run_job(r, &job, run, e);
}

/* Spawn, drain, reap, and the stop flag at each step: one sequence. */
int runner_run_job(struct runner *r, const struct runner_job *job, struct bench_run *run, struct pk_err *e)
{
    int pipefd[2] = { -1, -1 };
    int rc;

    memset(run, 0, sizeof(*run));
    if (r->remote)
        return spawner_run_job(r->o.spawner, job, r->o.stop, run, e);
    if (job->output >= r->nouts)
        return err_set(e, -EINVAL, job->argv[0], "cannot run command", "no output %zu", job->output);
    const struct runner_fd *out = &r->outs[job->output];
    if ((rc = reset_fds(r, e)))
        return rc;
    char *const *envp;
    if ((rc = job_env(r, job->iteration, &envp)))
        return err_errno(e, rc, job->argv[0], "cannot run command");
    if (out->mode == RUNNER_OUT_PIPE && pipe2(pipefd, O_CLOEXEC) < 0)
        return err_errno(e, -errno, NULL, "cannot create the output pipe");

    struct counters_values c0, c1;
    if (r->counters_on)
        counters_read(&r->ctr, &c0);

    pid_t pid;
    uint64_t t0 = clock_mono_ns();
    rc = spawn_job(r, out, pipefd[1], job, envp, &pid);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (rc != 0) {
        if (pipefd[0] >= 0)
            close(pipefd[0]);
        return err_set(e, rc, job->argv[0], "cannot run command", "%s", strerror(-rc));
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
        return err_errno(e, -err, job->argv[0], "cannot wait for command");
    }
    uint64_t t1 = clock_mono_ns();
    if (stopped || (r->o.stop && *r->o.stop))
        return PK_ESTOP;

    if (r->counters_on) {
        counters_read(&r->ctr, &c1);
        counters_diff(&c0, &c1, &run->ctr);
    }
    fill_run(run, t0, t1, &ru, status);
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
