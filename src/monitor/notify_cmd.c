/*
 * notify_cmd - --on-alert: one `/bin/sh -c CMD` per transition, started by
 * the command thread with posix_spawn and reaped by it, polling
 * waitpid(WNOHANG) every 10 ms while any runs, so no signal handler is
 * needed and no other child of the process is reaped. At most on_alert_max
 * queued and running together; killed (their process group) past
 * on_alert_timeout_ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/check.h"
#include "core/clock.h"
#include "core/err.h"
#include "monitor/notify_impl.h"

extern char **environ;

#define POLL_NS (10 * (int64_t)NS_PER_MS) /* reaper's poll period while a child runs */

/* ---- commands ------------------------------------------------------------- */

void notify_job_free(struct notify_job *j)
{
    if (!j)
        return;
    for (int i = 0; i < NOTIFY_ENV_VARS; i++)
        free(j->env[i]);
    free(j);
}

static struct notify_job *job_new(const struct rules_event *ev)
{
    struct notify_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    char v[32], t[32], since[32], *labels = NULL, *summary = NULL;
    size_t ln = notify_labels_text(ev, NULL, 0), sn = notify_summary(ev, NULL, 0);
    if ((labels = malloc(ln + 1)) && (summary = malloc(sn + 1))) {
        notify_labels_text(ev, labels, ln + 1);
        notify_summary(ev, summary, sn + 1);
        if (isnan(ev->value))
            snprintf(v, sizeof(v), "NaN");
        else
            rules_format_number(ev->value, v, sizeof(v));
        const char *vals[NOTIFY_ENV_VARS] = {
            ev->rule.name,
            rules_state_str(ev->state),
            rules_severity_str(ev->rule.severity),
            v,
            rules_format_number(ev->rule.threshold, t, sizeof(t)),
            labels,
            rules_format_time(ev->active_since_ms, since, sizeof(since)),
            summary,
            ev->key,
        };
        static const char *const names[NOTIFY_ENV_VARS] = {
            "NAME", "STATE", "SEVERITY", "VALUE", "THRESHOLD", "LABELS", "SINCE", "SUMMARY", "SERIES",
        };
        for (int i = 0; i < NOTIFY_ENV_VARS; i++)
            if (asprintf(&j->env[i], "PERFKIT_ALERT_%s=%s", names[i], vals[i]) < 0) {
                j->env[i] = NULL;
                notify_job_free(j);
                j = NULL;
                break;
            }
    } else {
        notify_job_free(j);
        j = NULL;
    }
    free(labels);
    free(summary);
    return j;
}

/* The caller's environment without PERFKIT_ALERT_*, plus the job's. */
static char **job_envp(const struct notify_job *j)
{
    size_t n = 0;
    for (char **p = environ; p && *p; p++)
        n++;
    char **envp = malloc((n + NOTIFY_ENV_VARS + 1) * sizeof(*envp));
    if (!envp)
        return NULL;
    size_t k = 0;
    for (char **p = environ; p && *p; p++)
        if (strncmp(*p, "PERFKIT_ALERT_", 14) != 0)
            envp[k++] = *p;
    for (int i = 0; i < NOTIFY_ENV_VARS; i++)
        envp[k++] = j->env[i];
    envp[k] = NULL;
    return envp;
}

static pid_t job_spawn(struct notify *n, const struct notify_job *j, int *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char **envp = job_envp(j);
    pid_t pid = -1;
    *err = ENOMEM;
    if (!envp)
        return -1;
    if ((*err = posix_spawn_file_actions_init(&fa)) != 0) {
        free(envp);
        return -1;
    }
    if ((*err = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        free(envp);
        return -1;
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* the agent's sockets and database stay out of the alert script */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    /* its own process group, so the time limit kills the whole script;
     * default signals and an empty mask whatever the agent's threads use */
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    int sigs[] = { SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&def, sigs[i]);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = { "/bin/sh", "-c", n->on_alert, NULL };
    *err = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    return *err ? -1 : pid;
}

static void remove_pid(struct notify *n, size_t i)
{
    PK_ASSERT(i < n->npids);
    n->npids--;
    n->pids[i] = n->pids[n->npids];
    n->pid_started_ns[i] = n->pid_started_ns[n->npids];
    n->pid_killed[i] = n->pid_killed[n->npids];
}

/* Drops jobs[0], with n->mu held: the command thread is the only reader of the queue. */
static void job_pop(struct notify *n)
{
    PK_ASSERT(n->njobs > 0);
    memmove(n->jobs, n->jobs + 1, (n->njobs - 1) * sizeof(*n->jobs));
    n->njobs--;
}

/* Collects finished children; with n->mu held. */
static void reap(struct notify *n, bool block)
{
    PK_ASSERT(pthread_mutex_trylock(&n->mu) == EBUSY);
    for (size_t i = 0; i < n->npids;) {
        int st = 0;
        pid_t r = waitpid(n->pids[i], &st, block ? 0 : WNOHANG);
        if (r == 0) {
            i++;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r == n->pids[i] && (n->pid_killed[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
            n->stats.command_failed++;
            if (n->pid_killed[i])
                notify_note_error(n, "--on-alert: killed after %lld ms", (long long)n->on_alert_timeout_ms);
            else if (WIFSIGNALED(st))
                notify_note_error(n, "--on-alert: killed by signal %d", WTERMSIG(st));
            else
                notify_note_error(n, "--on-alert: exit status %d", WEXITSTATUS(st));
        }
        /* r < 0 (ECHILD: SIGCHLD ignored, the kernel reaped it): done, status unknown */
        remove_pid(n, i);
    }
}

static void *cmd_main(void *arg)
{
    struct notify *n = arg;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (n->njobs) {
            /* jobs[0] stays queued while it is spawned, so that notify_cmd_enqueue
             * counts it against on_alert_max and pids[] never overflows */
            PK_ASSERT(n->npids + n->njobs <= n->on_alert_max);
            struct notify_job *j = n->jobs[0];
            if (n->stopping && (int64_t)clock_mono_ns() >= n->deadline_ns) {
                job_pop(n);
                notify_job_free(j);
                n->stats.command_dropped++;
                continue;
            }
            pthread_mutex_unlock(&n->mu);
            int err;
            pid_t pid = job_spawn(n, j, &err);
            pthread_mutex_lock(&n->mu);
            job_pop(n);
            notify_job_free(j);
            if (pid > 0) {
                PK_ASSERT(n->npids < n->on_alert_max);
                n->pids[n->npids] = pid;
                n->pid_started_ns[n->npids] = (int64_t)clock_mono_ns();
                n->pid_killed[n->npids] = false;
                n->npids++;
                n->stats.command_started++;
            } else {
                n->stats.command_failed++;
                notify_note_error(n, "--on-alert: cannot start /bin/sh: %s", strerror(err));
            }
        }
        reap(n, false);
        int64_t now = (int64_t)clock_mono_ns();
        for (size_t i = 0; i < n->npids; i++)
            if (!n->pid_killed[i] &&
                now - n->pid_started_ns[i] >= n->on_alert_timeout_ms * (int64_t)NS_PER_MS) {
                kill(-n->pids[i], SIGKILL);
                n->pid_killed[i] = true;
            }
        if (n->stopping) {
            if (!n->njobs && !n->npids)
                break;
            if (now >= n->deadline_ns) {
                for (size_t i = 0; i < n->npids; i++) {
                    kill(-n->pids[i], SIGKILL);
                    n->pid_killed[i] = true;
                }
                reap(n, true);
                break;
            }
        }
        if (n->npids || n->stopping) {
            int64_t wake = now + POLL_NS;
            if (n->stopping && n->deadline_ns < wake)
                wake = n->deadline_ns;
            struct timespec ts = notify_abs_mono(wake);
            pthread_cond_timedwait(&n->cv, &n->mu, &ts);
        } else if (!n->njobs) {
            pthread_cond_wait(&n->cv, &n->mu);
        }
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

int notify_cmd_enqueue(struct notify *n, const struct rules_event *ev)
{
    pthread_mutex_lock(&n->mu);
    bool full = n->npids + n->njobs >= n->on_alert_max || n->stopping;
    if (full) {
        n->stats.command_dropped++;
        pthread_mutex_unlock(&n->mu);
        return 0;
    }
    pthread_mutex_unlock(&n->mu);
    /* formatted outside the lock: the command thread never waits on it */
    struct notify_job *j = job_new(ev);
    pthread_mutex_lock(&n->mu);
    int rc = 0;
    if (!j) {
        n->stats.command_dropped++;
        rc = -ENOMEM;
    } else if (n->npids + n->njobs >= n->on_alert_max || n->stopping) {
        n->stats.command_dropped++;
        notify_job_free(j);
    } else {
        PK_ASSERT(n->njobs < n->on_alert_max);
        n->jobs[n->njobs++] = j;
        pthread_cond_signal(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
    return rc;
}

void notify_cmd_stop(struct notify *n, int64_t deadline_ns)
{
    if (!n->cmd_thread_started)
        return;
    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    n->deadline_ns = deadline_ns;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->cmd_thread, NULL);
    n->cmd_thread_started = false;
}

int notify_cmd_start(struct notify *n, struct pk_err *e)
{
    n->jobs = calloc(n->on_alert_max, sizeof(*n->jobs));
    n->pids = calloc(n->on_alert_max, sizeof(*n->pids));
    n->pid_started_ns = calloc(n->on_alert_max, sizeof(*n->pid_started_ns));
    n->pid_killed = calloc(n->on_alert_max, sizeof(*n->pid_killed));
    if (!n->jobs || !n->pids || !n->pid_started_ns || !n->pid_killed)
        return err_errno(e, -ENOMEM, "--on-alert", "cannot set up the alert command");
    int rc = pthread_create(&n->cmd_thread, NULL, cmd_main, n);
    if (rc != 0)
        return err_errno(e, -rc, "--on-alert", "cannot start the command thread");
    n->cmd_thread_started = true;
    return 0;
}
