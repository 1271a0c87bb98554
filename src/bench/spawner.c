#define _GNU_SOURCE /* SOCK_CLOEXEC, MSG_CMSG_CLOEXEC */
#include "bench/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"

extern char **environ;

/*
 * The protocol, over a stream socket pair: a request is a struct msg_head and
 * len bytes; every request gets one reply the same way. Both ends are this
 * same program, so fixed structs go as they are.
 *   INIT     head, then the input path (if has_input) and each output's path,
 *            NUL-terminated -> struct init_reply, and the stderr memory file
 *            as SCM_RIGHTS when has_err_fd
 *   RUN      struct run_head, then the path, the iteration (if any) and
 *            argc arguments, NUL-terminated -> struct run_reply
 *   DESTROY  nothing -> struct init_reply (rc only)
 * End of file on the socket ends the spawner.
 */
enum { MSG_INIT = 1, MSG_RUN, MSG_DESTROY };

#define MSG_MAX         (64u << 20) /* far beyond ARG_MAX: a bound on what the spawner allocates */
#define STOP_RESEND_MS  50
#define STOP_GIVE_UP_MS 5000

struct msg_head {
    uint32_t type, len;
};

struct init_head {
    uint32_t noutputs;
    uint8_t counters, has_input;
}; /* then noutputs modes, a byte each */

struct init_reply {
    int32_t rc;
    int32_t counters_on;
    int32_t has_err_fd;
    struct pk_err err;
    char why[256];
};

struct run_head {
    uint32_t output, argc;
    uint8_t has_iteration;
};

struct run_reply {
    int32_t rc;
    struct pk_err err;
    struct bench_run run;
};

struct spawner {
    pid_t pid;
    int fd;
    bool dead; /* the process is gone or unusable: every call fails */
    struct buf out;
};

/* ---- both ends */

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 0, -EPIPE at end of file, or -errno. */
static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EPIPE;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_msg(int fd, uint32_t type, const void *p, size_t n)
{
    struct msg_head h = { type, (uint32_t)n };
    int rc = write_all(fd, &h, sizeof(h));
    return rc ? rc : write_all(fd, p, n);
}

/* ---- the spawner's side */

static volatile sig_atomic_t serve_stop; /* the spawner process's stop flag: set by signals only */

static void on_stop(int sig)
{
    (void)sig;
    serve_stop = 1;
}

/* The next NUL-terminated string of a message, or NULL past its end. */
static const char *next_str(const char **p, const char *end)
{
    const char *s = *p, *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
    if (!nul)
        return NULL;
    *p = nul + 1;
    return s;
}

static void serve_init(int fd, struct runner *r, bool *up, bool fork_runs, const char *msg, size_t len)
{
    struct init_reply rep;
    memset(&rep, 0, sizeof(rep));
    const struct init_head *h = (const void *)msg;
    struct runner_out *outs = NULL;
    if (*up)
        runner_destroy(r);
    *up = false;
    rep.rc = -EPROTO;
    if (len < sizeof(*h) || h->noutputs == 0 || h->noutputs > RUNNER_MAX_OUTPUTS ||
        len < sizeof(*h) + h->noutputs)
        goto reply;
    const unsigned char *modes = (const unsigned char *)msg + sizeof(*h);
    const char *p = msg + sizeof(*h) + h->noutputs, *end = msg + len;
    struct runner_opts o = { .counters = h->counters, .fork_exec = fork_runs, .stop = &serve_stop };
    if (h->has_input && !(o.input_path = next_str(&p, end)))
        goto reply;
    outs = calloc(h->noutputs, sizeof(*outs));
    if (!outs) {
        rep.rc = -ENOMEM;
        goto reply;
    }
    for (uint32_t i = 0; i < h->noutputs; i++) {
        if (modes[i] > RUNNER_OUT_FILE)
            goto reply;
        outs[i].mode = (enum runner_output)modes[i];
        if (!(outs[i].path = next_str(&p, end)))
            goto reply;
    }
    o.outputs = outs;
    o.noutputs = h->noutputs;
    rep.rc = runner_init(r, &o, &rep.err);
    if (rep.rc == 0) {
        /* The paths point into the request, and were needed only to open the files. */
        r->o.input_path = NULL;
        r->o.outputs = NULL;
        *up = true;
        rep.counters_on = r->counters_on;
        rep.has_err_fd = r->err_fd >= 0;
        memcpy(rep.why, r->counters_why, sizeof(rep.why));
    }
reply:;
    struct msg_head mh = { MSG_INIT, sizeof(rep) };
    struct iovec iov[2] = { { &mh, sizeof(mh) }, { &rep, sizeof(rep) } };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
    if (rep.has_err_fd) {
        memset(&ctl, 0, sizeof(ctl));
        m.msg_control = ctl.buf;
        m.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &r->err_fd, sizeof(int));
    }
    /* The reply is small: one sendmsg writes it whole, or the caller is gone. */
    while (sendmsg(fd, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
    free(outs);
}

static void serve_run(int fd, struct runner *r, bool up, const char *msg, size_t len, char ***argv,
                      size_t *argv_cap)
{
    struct run_reply rep;
    memset(&rep, 0, sizeof(rep));
    const struct run_head *h = (const void *)msg;
    rep.rc = -EPROTO;
    if (!up || len < sizeof(*h) || h->argc == 0 || h->argc > len)
        goto reply;
    const char *p = msg + sizeof(*h), *end = msg + len;
    struct runner_job job = { .output = h->output };
    if (!(job.path = next_str(&p, end)) || (h->has_iteration && !(job.iteration = next_str(&p, end))))
        goto reply;
    if (h->argc + 1 > *argv_cap) {
        char **grown = realloc(*argv, (h->argc + 1) * sizeof(*grown));
        if (!grown) {
            rep.rc = -ENOMEM;
            goto reply;
        }
        *argv = grown;
        *argv_cap = h->argc + 1;
    }
    for (uint32_t i = 0; i < h->argc; i++)
        if (!((*argv)[i] = (char *)next_str(&p, end)))
            goto reply;
    (*argv)[h->argc] = NULL;
    job.argv = *argv;
    /* A stop belongs to the run it was raised in; the caller sends no run after its own. */
    serve_stop = 0;
    rep.rc = runner_run_job(r, &job, &rep.run, &rep.err);
reply:
    if (rep.rc == -EPROTO)
        err_set(&rep.err, rep.rc, NULL, "spawner", "malformed request");
    (void)send_msg(fd, MSG_RUN, &rep, sizeof(rep)); /* the caller gone, there is no one to tell */
}

void spawner_serve(int fd, pid_t parent, bool fork_runs)
{
    /* Dies with the caller; a caller gone before this line is noticed too. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    /* The helper got its end as fd 3, open across exec: the commands must not
     * hold it (a command outliving the spawner would keep the caller waiting). */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        _exit(1);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop; /* no SA_RESTART: wait4 and read return at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct runner r;
    memset(&r, 0, sizeof(r));
    bool up = false;
    char *msg = NULL, **argv = NULL;
    size_t cap = 0, argv_cap = 0;
    for (;;) {
        struct msg_head h;
        if (read_all(fd, &h, sizeof(h)) || h.len > MSG_MAX)
            break;
        if (h.len + 1 > cap) {
            char *grown = realloc(msg, h.len + 1);
            if (!grown)
                break;
            msg = grown;
            cap = h.len + 1;
        }
        if (read_all(fd, msg, h.len))
            break;
        msg[h.len] = '\0';
        if (h.type == MSG_INIT) {
            serve_init(fd, &r, &up, fork_runs, msg, h.len);
        } else if (h.type == MSG_RUN) {
            serve_run(fd, &r, up, msg, h.len, &argv, &argv_cap);
        } else if (h.type == MSG_DESTROY) {
            if (up)
                runner_destroy(&r);
            up = false;
            struct init_reply rep;
            memset(&rep, 0, sizeof(rep));
            (void)send_msg(fd, MSG_DESTROY, &rep, sizeof(rep));
        } else {
            break;
        }
    }
    if (up)
        runner_destroy(&r);
    _exit(0);
}

/* ---- the caller's side */

/* The helper program, its socket on fd 3: a process of its own, sized by
 * its own few pages, not by a copy of the caller's. */
static int start_helper(const char *helper, int fd, pid_t parent, pid_t *pid)
{
    char arg[32];
    snprintf(arg, sizeof(arg), "%ld", (long)parent);
    char *argv[] = { (char *)"perfkit-spawner", (char *)"3", arg, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 3);
    int rc = posix_spawn(pid, helper, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

int spawner_start(const char *helper, struct spawner **out, struct pk_err *e)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return err_errno(e, -errno, NULL, "cannot start the spawner");
    struct spawner *sp = calloc(1, sizeof(*sp));
    int rc = sp ? 0 : -ENOMEM;
    pid_t parent = getpid(), pid = -1;
    if (rc == 0 && helper) {
        rc = start_helper(helper, sv[1], parent, &pid);
    } else if (rc == 0) {
        pid = fork();
        if (pid < 0)
            rc = -errno;
        if (pid == 0) {
            close(sv[0]);
            spawner_serve(sv[1], parent, true);
        }
    }
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        free(sp);
        return err_set(e, rc, helper, "cannot start the spawner", "%s", strerror(-rc));
    }
    sp->pid = pid;
    sp->fd = sv[0];
    *out = sp;
    return 0;
}

pid_t spawner_pid(const struct spawner *sp)
{
    return sp->pid;
}

/* Reaps the spawner: a second for it to see the end of file, then SIGKILL. */
static void reap(pid_t pid)
{
    for (int i = 0; i < 1000; i++) {
        pid_t w = waitpid(pid, NULL, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            return;
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

void spawner_free(struct spawner *sp)
{
    if (!sp)
        return;
    close(sp->fd);
    reap(sp->pid);
    buf_destroy(&sp->out);
    free(sp);
}

/* A spawner that failed is not used again: what it might still send would be
 * taken for the next reply. */
static int broken(struct spawner *sp, int rc, struct pk_err *e)
{
    sp->dead = true;
    kill(sp->pid, SIGKILL);
    if (rc == -EPIPE || rc == -ECONNRESET)
        return err_set(e, -EPIPE, NULL, "the spawner process ended", NULL);
    return err_errno(e, rc, NULL, "cannot talk to the spawner process");
}

/*
 * Waits for the reply to arrive. Without a stop, poll sleeps until it does;
 * once stop is raised, the run in progress is stopped with SIGUSR1, sent
 * again every STOP_RESEND_MS (it may land just before the spawner waits),
 * and after STOP_GIVE_UP_MS the spawner is killed: PK_ESTOP.
 */
static int await_reply(struct spawner *sp, const volatile sig_atomic_t *stop)
{
    uint64_t stop_since = 0;
    for (;;) {
        bool stopping = stop && *stop;
        struct pollfd p = { .fd = sp->fd, .events = POLLIN };
        int n = poll(&p, 1, stopping ? STOP_RESEND_MS : -1);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
        if (!(stop && *stop))
            continue;
        uint64_t now = clock_mono_ns();
        if (!stop_since)
            stop_since = now;
        if (now - stop_since > STOP_GIVE_UP_MS * NS_PER_MS) {
            sp->dead = true;
            kill(sp->pid, SIGKILL);
            return PK_ESTOP;
        }
        kill(sp->pid, SIGUSR1);
    }
}

static int read_reply(struct spawner *sp, uint32_t type, void *rep, size_t len)
{
    struct msg_head h;
    int rc = read_all(sp->fd, &h, sizeof(h));
    if (rc == 0 && (h.type != type || h.len != len))
        rc = -EPROTO;
    return rc ? rc : read_all(sp->fd, rep, len);
}

int spawner_runner_init(struct spawner *sp, const struct runner_opts *o, int *err_fd, bool *counters_on,
                        char *why, size_t why_len, struct pk_err *e)
{
    *err_fd = -1;
    *counters_on = false;
    if (sp->dead)
        return err_set(e, -EPIPE, NULL, "the spawner process ended", NULL);
    struct runner_out one = { o->output, o->output_path };
    const struct runner_out *outs = o->noutputs ? o->outputs : &one;
    size_t n = o->noutputs ? o->noutputs : 1;
    if (n > RUNNER_MAX_OUTPUTS)
        return err_set(e, -E2BIG, "--output", "too many outputs", "%zu, at most %d", n, RUNNER_MAX_OUTPUTS);
    struct init_head h = { .noutputs = (uint32_t)n,
                           .counters = o->counters,
                           .has_input = o->input_path != NULL };
    struct buf *b = &sp->out;
    buf_reset(b);
    buf_add(b, &h, sizeof(h));
    for (size_t i = 0; i < n; i++)
        buf_addc(b, (char)outs[i].mode);
    if (o->input_path)
        buf_add(b, o->input_path, strlen(o->input_path) + 1);
    for (size_t i = 0; i < n; i++) {
        const char *path = outs[i].mode == RUNNER_OUT_FILE && outs[i].path ? outs[i].path : "";
        buf_add(b, path, strlen(path) + 1);
    }
    if (b->err)
        return err_errno(e, b->err, NULL, "cannot start the runner");
    int rc = send_msg(sp->fd, MSG_INIT, b->p, b->len);
    if (rc)
        return broken(sp, rc, e);

    struct init_reply rep;
    struct msg_head mh;
    struct iovec iov[2] = { { &mh, sizeof(mh) }, { &rep, sizeof(rep) } };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr m = {
        .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)
    };
    ssize_t got;
    if ((rc = await_reply(sp, NULL)))
        return broken(sp, rc, e);
    while ((got = recvmsg(sp->fd, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL)) < 0 && errno == EINTR)
        ;
    if (got < 0)
        return broken(sp, -errno, e);
    if ((size_t)got != sizeof(mh) + sizeof(rep) || mh.type != MSG_INIT)
        return broken(sp, got == 0 ? -EPIPE : -EPROTO, e);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(err_fd, CMSG_DATA(c), sizeof(int));
    if (rep.rc) {
        if (*err_fd >= 0)
            close(*err_fd);
        *err_fd = -1;
        if (e)
            *e = rep.err;
        return rep.rc;
    }
    *counters_on = rep.counters_on;
    if (why && why_len)
        snprintf(why, why_len, "%s", rep.why);
    return 0;
}

int spawner_run_job(struct spawner *sp, const struct runner_job *job, const volatile sig_atomic_t *stop,
                    struct bench_run *run, struct pk_err *e)
{
    if (stop && *stop)
        return PK_ESTOP;
    if (sp->dead)
        return err_set(e, -EPIPE, NULL, "the spawner process ended", NULL);
    size_t argc = 0;
    while (job->argv[argc])
        argc++;
    struct run_head h = { .output = (uint32_t)job->output,
                          .argc = (uint32_t)argc,
                          .has_iteration = job->iteration != NULL };
    struct buf *b = &sp->out;
    buf_reset(b);
    buf_add(b, &h, sizeof(h));
    buf_add(b, job->path, strlen(job->path) + 1);
    if (job->iteration)
        buf_add(b, job->iteration, strlen(job->iteration) + 1);
    for (size_t i = 0; i < argc; i++)
        buf_add(b, job->argv[i], strlen(job->argv[i]) + 1);
    if (b->err || b->len > MSG_MAX)
        return err_set(e, b->err ? b->err : -E2BIG, job->argv[0], "cannot run command", "%s",
                       b->err ? strerror(-b->err) : "command line too long");
    int rc = send_msg(sp->fd, MSG_RUN, b->p, b->len);
    if (rc)
        return broken(sp, rc, e);
    if ((rc = await_reply(sp, stop)) == PK_ESTOP)
        return rc;
    struct run_reply rep;
    if (rc || (rc = read_reply(sp, MSG_RUN, &rep, sizeof(rep))))
        return broken(sp, rc, e);
    if (rep.rc && rep.rc != PK_ESTOP && e)
        *e = rep.err;
    *run = rep.run;
    return rep.rc;
}

void spawner_runner_destroy(struct spawner *sp)
{
    if (sp->dead)
        return;
    struct init_reply rep;
    int rc = send_msg(sp->fd, MSG_DESTROY, NULL, 0);
    if (rc == 0)
        rc = await_reply(sp, NULL);
    if (rc == 0)
        rc = read_reply(sp, MSG_DESTROY, &rep, sizeof(rep));
    if (rc)
        broken(sp, rc, NULL);
}
