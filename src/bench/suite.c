#include "bench/suite.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cmdline.h"
#include "core/err.h"
#include "core/stats.h"

#define OVERHEAD_WARMUP 3
#define OVERHEAD_RUNS   30

/* A command ready to spawn: the executable's path and its argv. */
struct prepared {
    char path[PATH_MAX];
    char **argv; /* owned: from cmdline_split, or the shell's words, "-c", text */
    char *text;  /* owned copy of the command (after substitution) */
    bool shell;
};

/* --shell as given: a name, a path or a command line ("bash --norc"), as hyperfine. */
struct shell {
    char path[PATH_MAX];
    char **words; /* from cmdline_split; NULL when no command needs a shell */
    size_t nwords;
};

struct cmd_state {
    struct prepared cmd, setup, prepare, conclude, cleanup;
    bool has_setup, has_prepare, has_conclude, has_cleanup;
    uint64_t total; /* timed runs planned; 0 until known */
    uint64_t done;
    size_t index; /* in the bench_set */
};

struct suite {
    const struct suite_opts *o;
    struct bench_set *set;
    struct shell sh;
    struct runner runner;
    struct suite_failure *f;
    struct pk_err *e;
    struct bench_run overhead; /* subtracted from runs through a shell */
    bool overhead_known;
};

void suite_opts_default(struct suite_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->min_runs = 10;
    o->min_time_s = 3.0;
    o->shell = "sh";
    o->shell_mode = SHELL_AUTO;
}

static void prepared_free(struct prepared *p)
{
    free(p->argv);
    free(p->text);
    memset(p, 0, sizeof(*p));
}

/* Splits and resolves --shell once, the first time a command needs it. */
static int shell_load(const struct suite_opts *o, struct shell *sh, struct pk_err *e)
{
    if (sh->words)
        return 0;
    int rc = cmdline_split(o->shell, &sh->words, &sh->nwords, e);
    if (rc == 0)
        rc = runner_resolve(sh->words[0], sh->path, sizeof(sh->path), e);
    if (rc) {
        free(sh->words);
        sh->words = NULL;
        err_prefix_on(e, e && e->on[0] ? "--shell: " : "--shell");
    }
    return rc;
}

/* The shell's words, "-c", text: malloc'd, the strings are borrowed. */
static char **shell_argv(const struct shell *sh, char *text)
{
    char **argv = calloc(sh->nwords + 3, sizeof(*argv));
    if (!argv)
        return NULL;
    memcpy(argv, sh->words, sh->nwords * sizeof(*argv));
    argv[sh->nwords] = (char *)"-c";
    argv[sh->nwords + 1] = text;
    return argv;
}

/* The first word of a shell command, when it is a plain executable name we
 * can check before timing (not a builtin, assignment or anything clever). */
static bool first_plain_word(const char *cmd, char *out, size_t cap)
{
    while (*cmd == ' ' || *cmd == '\t')
        cmd++;
    size_t n = 0;
    while (cmd[n] && cmd[n] != ' ' && cmd[n] != '\t' && cmd[n] != ';' && cmd[n] != '|' && cmd[n] != '&' &&
           cmd[n] != '\n' && cmd[n] != '<' && cmd[n] != '>' && cmd[n] != ')') {
        char c = cmd[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-' || c == '/' || c == '+'))
            return false;
        n++;
    }
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, cmd, n);
    out[n] = '\0';
    return !cmdline_needs_shell(out);
}

static int prepare(const struct suite_opts *o, struct shell *sh, const char *text,
                   const struct bench_param *params, size_t nparams, const char *role, struct prepared *p,
                   struct pk_err *e)
{
    int rc;
    memset(p, 0, sizeof(*p));
    const char *names[64], *values[64];
    size_t n = nparams < 64 ? nparams : 64;
    for (size_t i = 0; i < n; i++) {
        names[i] = params[i].name;
        values[i] = params[i].value;
    }
    p->text = cmdline_substitute(text, names, values, n);
    if (!p->text)
        return err_errno(e, -ENOMEM, role, "cannot prepare command");

    p->shell = o->shell_mode == SHELL_ALWAYS || (o->shell_mode == SHELL_AUTO && cmdline_needs_shell(p->text));
    if (p->shell) {
        if ((rc = shell_load(o, sh, e)))
            goto fail;
        memcpy(p->path, sh->path, sizeof(p->path));
        p->argv = shell_argv(sh, p->text);
        if (!p->argv) {
            rc = err_errno(e, -ENOMEM, role, "cannot prepare command");
            goto fail;
        }
        char word[256], where[PATH_MAX];
        if (first_plain_word(p->text, word, sizeof(word))) {
            rc = runner_resolve(word, where, sizeof(where), e);
            if (rc)
                goto fail;
        }
        return 0;
    }
    rc = cmdline_split(p->text, &p->argv, NULL, e);
    if (rc) {
        if (!e || !e->on[0])
            err_prefix_on(e, role);
        goto fail;
    }
    rc = runner_resolve(p->argv[0], p->path, sizeof(p->path), e);
    if (rc)
        goto fail;
    return 0;
fail:
    prepared_free(p);
    return rc;
}

static void fail_with(struct suite *s, size_t cmd, const char *phase, const struct prepared *p,
                      const struct bench_run *run)
{
    struct bench_cmd *bc = &s->set->cmds[cmd];
    bc->status = BENCH_FAILED;
    bc->fail_phase = phase;
    bc->fail_exit_code = run->term_signal ? 128 + run->term_signal : run->exit_code;
    struct suite_failure *f = s->f;
    if (!f)
        return;
    memset(f, 0, sizeof(*f));
    f->cmd = cmd;
    f->phase = phase;
    snprintf(f->command, sizeof(f->command), "%s", p->text);
    f->exit_code = run->exit_code;
    f->term_signal = run->term_signal;
    runner_stderr_tail(&s->runner, f->stderr_tail, sizeof(f->stderr_tail));
}

static bool failed(const struct bench_run *r)
{
    return r->exit_code != 0 || r->term_signal != 0;
}

static int stopped(const struct suite *s)
{
    return s->o->runner.stop && *s->o->runner.stop;
}

static int run_prepared(struct suite *s, const struct prepared *p, size_t output, const char *iteration,
                        struct bench_run *run)
{
    struct runner_job job = { .path = p->path, .argv = p->argv, .output = output, .iteration = iteration };
    return runner_run_job(&s->runner, &job, run, s->e);
}

/* Whether a failed run is kept: -i, or -i=CODES with its code among them. */
static bool ignored(const struct suite_opts *o, const struct bench_run *r)
{
    if (!o->ignore_failure)
        return false;
    if (o->nignore_codes == 0)
        return true;
    int code = r->term_signal ? 128 + r->term_signal : r->exit_code;
    for (size_t i = 0; i < o->nignore_codes; i++)
        if (o->ignore_codes[i] == code)
            return true;
    return false;
}

/* A hook (setup, prepare, conclude, cleanup) must succeed, -i or not. */
static int run_hook(struct suite *s, size_t cmd, const char *phase, const struct prepared *p)
{
    struct bench_run run;
    int rc = run_prepared(s, p, s->set->cmds[cmd].output, NULL, &run);
    if (rc)
        return rc;
    if (failed(&run)) {
        fail_with(s, cmd, phase, p, &run);
        return PK_ECHILD;
    }
    return 0;
}

static double sub0(double a, double b)
{
    return a > b ? a - b : 0.0;
}

/* One run of the command between its prepare and conclude hooks. *raw_wall
 * (may be NULL) is the run's wall time before the shell's cost is subtracted:
 * what a run really takes, which the run count is planned on. */
static int one_run(struct suite *s, struct cmd_state *c, const char *iteration, struct bench_run *run,
                   double *raw_wall)
{
    int rc;
    if (stopped(s))
        return PK_ESTOP;
    if (c->has_prepare && (rc = run_hook(s, c->index, "prepare", &c->prepare)))
        return rc;
    rc = run_prepared(s, &c->cmd, s->set->cmds[c->index].output, iteration, run);
    if (rc)
        return rc;
    if (failed(run) && !ignored(s->o, run)) {
        fail_with(s, c->index, "command", &c->cmd, run);
        return PK_ECHILD;
    }
    if (raw_wall)
        *raw_wall = run->wall_s;
    if (c->cmd.shell && s->overhead_known) {
        run->wall_s = sub0(run->wall_s, s->overhead.wall_s);
        run->user_s = sub0(run->user_s, s->overhead.user_s);
        run->sys_s = sub0(run->sys_s, s->overhead.sys_s);
    }
    if (c->has_conclude && (rc = run_hook(s, c->index, "conclude", &c->conclude)))
        return rc;
    return 0;
}

static uint64_t plan_runs(const struct suite_opts *o, double first_wall)
{
    if (o->runs)
        return o->runs;
    double want = first_wall > 0 ? ceil(o->min_time_s / first_wall) : (double)o->min_runs;
    uint64_t n = want > 1e12 ? (uint64_t)1e12 : (uint64_t)want;
    if (n < o->min_runs)
        n = o->min_runs;
    if (o->max_runs && n > o->max_runs)
        n = o->max_runs;
    return n ? n : 1;
}

static int timed_run(struct suite *s, struct bench_set *set, struct cmd_state *c)
{
    struct bench_run run;
    double raw_wall;
    char iteration[32];
    snprintf(iteration, sizeof(iteration), "%" PRIu64, c->done);
    int rc = one_run(s, c, iteration, &run, &raw_wall);
    if (rc)
        return rc;
    rc = bench_cmd_add_run(&set->cmds[c->index], &run);
    if (rc)
        return err_errno(s->e, rc, NULL, "cannot record a run");
    c->done++;
    if (c->total == 0) {
        c->total = plan_runs(s->o, raw_wall);
        if (s->o->planned)
            s->o->planned(s->o->ud, c->index, c->total);
    }
    if (s->o->progress)
        s->o->progress(s->o->ud, c->index, "run", c->done, c->total);
    return 0;
}

static int warmups(struct suite *s, struct cmd_state *c)
{
    for (unsigned i = 0; i < s->o->warmup; i++) {
        struct bench_run run;
        char iteration[32];
        snprintf(iteration, sizeof(iteration), "warmup-%u", i);
        int rc = one_run(s, c, iteration, &run, NULL);
        if (rc)
            return rc;
        if (s->o->progress)
            s->o->progress(s->o->ud, c->index, "warmup", i + 1, s->o->warmup);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The shell's own cost, measured on an empty command. */
static int measure_overhead(struct suite *s)
{
    int rc = 0;
    char **argv = shell_argv(&s->sh, (char *)"");
    if (!argv)
        return err_errno(s->e, -ENOMEM, NULL, "cannot measure the shell's overhead");
    double w[OVERHEAD_RUNS], u[OVERHEAD_RUNS], y[OVERHEAD_RUNS];
    for (int i = 0; i < OVERHEAD_WARMUP + OVERHEAD_RUNS; i++) {
        struct bench_run run;
        if (stopped(s))
            rc = PK_ESTOP;
        else
            rc = runner_run(&s->runner, s->sh.path, argv, &run, s->e); /* output 0: '' writes nothing */
        if (rc)
            break;
        if (i >= OVERHEAD_WARMUP) {
            w[i - OVERHEAD_WARMUP] = run.wall_s;
            u[i - OVERHEAD_WARMUP] = run.user_s;
            y[i - OVERHEAD_WARMUP] = run.sys_s;
        }
    }
    free(argv);
    if (rc)
        return rc;
    qsort(w, OVERHEAD_RUNS, sizeof(double), cmp_double);
    qsort(u, OVERHEAD_RUNS, sizeof(double), cmp_double);
    qsort(y, OVERHEAD_RUNS, sizeof(double), cmp_double);
    s->overhead.wall_s = stats_percentile_sorted(w, OVERHEAD_RUNS, 50);
    s->overhead.user_s = stats_percentile_sorted(u, OVERHEAD_RUNS, 50);
    s->overhead.sys_s = stats_percentile_sorted(y, OVERHEAD_RUNS, 50);
    s->overhead_known = true;
    return 0;
}

static int run_sequential(struct suite *s, struct bench_set *set, struct cmd_state *cs, size_t n)
{
    int rc;
    for (size_t i = 0; i < n; i++) {
        struct cmd_state *c = &cs[i];
        if (c->has_setup && (rc = run_hook(s, c->index, "setup", &c->setup)))
            return rc;
        if ((rc = warmups(s, c)))
            return rc;
        do {
            if ((rc = timed_run(s, set, c)))
                return rc;
        } while (c->done < c->total);
        if (c->has_cleanup && (rc = run_hook(s, c->index, "cleanup", &c->cleanup)))
            return rc;
        set->cmds[c->index].status = BENCH_DONE;
    }
    return 0;
}

static int run_interleaved(struct suite *s, struct bench_set *set, struct cmd_state *cs, size_t n)
{
    int rc;
    for (size_t i = 0; i < n; i++) {
        if (cs[i].has_setup && (rc = run_hook(s, cs[i].index, "setup", &cs[i].setup)))
            return rc;
        if ((rc = warmups(s, &cs[i])))
            return rc;
    }
    bool more = true;
    while (more) {
        more = false;
        for (size_t i = 0; i < n; i++) {
            struct cmd_state *c = &cs[i];
            if (c->total && c->done >= c->total)
                continue;
            if ((rc = timed_run(s, set, c)))
                return rc;
            if (c->done < c->total)
                more = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (cs[i].has_cleanup && (rc = run_hook(s, cs[i].index, "cleanup", &cs[i].cleanup)))
            return rc;
        set->cmds[cs[i].index].status = BENCH_DONE;
    }
    return 0;
}

static int prepare_hook(const struct suite_opts *o, struct shell *sh, const char *text,
                        const struct suite_command *c, const char *role, struct prepared *p, bool *has,
                        struct pk_err *e)
{
    *has = text != NULL;
    return text ? prepare(o, sh, text, c->params, c->nparams, role, p, e) : 0;
}

int suite_run(const struct suite_opts *o, const struct suite_command *cmds, size_t ncmds,
              struct bench_set *set, struct suite_failure *f, char *counters_why, size_t why_len,
              struct pk_err *e)
{
    struct suite s = { .o = o, .set = set, .f = f, .e = e };
    struct cmd_state *cs = calloc(ncmds ? ncmds : 1, sizeof(*cs));
    int rc = 0;
    bool any_shell = false, runner_up = false;

    if (!cs)
        return err_errno(e, -ENOMEM, NULL, "cannot plan the benchmark");
    if (counters_why && why_len)
        counters_why[0] = '\0';

    /* Everything that can be checked is checked before the first timing. */
    for (size_t i = 0; i < ncmds; i++) {
        const struct suite_command *c = &cmds[i];
        struct cmd_state *st = &cs[i];
        struct shell *sh = &s.sh;
        if ((rc = prepare(o, sh, c->command, c->params, c->nparams, "command", &st->cmd, e)) ||
            (rc = prepare_hook(o, sh, o->setup, c, "--setup", &st->setup, &st->has_setup, e)) ||
            (rc = prepare_hook(o, sh, c->prepare ? c->prepare : o->prepare, c, "--prepare", &st->prepare,
                               &st->has_prepare, e)) ||
            (rc = prepare_hook(o, sh, c->conclude ? c->conclude : o->conclude, c, "--conclude", &st->conclude,
                               &st->has_conclude, e)) ||
            (rc = prepare_hook(o, sh, o->cleanup, c, "--cleanup", &st->cleanup, &st->has_cleanup, e)))
            goto out;
        any_shell |= st->cmd.shell;
    }
    /* The runner opens --input and --output: a bad path is found, like a
     * missing command, before anything is recorded. */
    if ((rc = runner_init(&s.runner, &o->runner, e)))
        goto out;
    runner_up = true;
    if (o->runner.counters && !s.runner.counters_on && o->counters_needed_by) {
        rc = err_set(e, PK_ENOTSUP, o->counters_needed_by, "hardware counters unavailable", "%s",
                     s.runner.counters_why);
        goto out;
    }
    for (size_t i = 0; i < ncmds; i++) {
        int idx = bench_set_add(set, cmds[i].name, cs[i].cmd.text, cmds[i].params, cmds[i].nparams);
        if (idx < 0) {
            rc = err_errno(e, idx, NULL, "cannot record results");
            goto out;
        }
        cs[i].index = (size_t)idx;
        set->cmds[idx].is_reference = cmds[i].is_reference;
        set->cmds[idx].output = cmds[i].output;
    }

    set->counters = s.runner.counters_on;
    if (o->runner.counters && !s.runner.counters_on && counters_why && why_len)
        snprintf(counters_why, why_len, "%s", s.runner.counters_why);

    if (any_shell && (rc = measure_overhead(&s)))
        goto out;
    for (size_t i = 0; i < ncmds; i++)
        if (cs[i].cmd.shell)
            set->cmds[cs[i].index].shell_overhead_s = s.overhead.wall_s;

    rc = o->interleave ? run_interleaved(&s, set, cs, ncmds) : run_sequential(&s, set, cs, ncmds);
out:
    if (runner_up)
        runner_destroy(&s.runner);
    for (size_t i = 0; i < ncmds; i++) {
        prepared_free(&cs[i].cmd);
        prepared_free(&cs[i].setup);
        prepared_free(&cs[i].prepare);
        prepared_free(&cs[i].conclude);
        prepared_free(&cs[i].cleanup);
    }
    free(cs);
    free(s.sh.words);
    return rc;
}
