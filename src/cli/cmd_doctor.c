/* perfkit doctor - tuning checks and bottleneck diagnosis (see docs/doctor.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "core/err.h"
#include "core/files.h"
#include "core/jsonio.h"
#include "core/units.h"
#include "doctor/doctor.h"

/* Beside cli.h's codes: the run read too little of the host to be a verdict on it
 * (doctor_coverage); above 4, so that a script testing for 3 or 4 does not take it for one. */
#define EXIT_DOCTOR_INCOMPLETE 5

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void cmd_doctor_help(void)
{
    fputs("Usage: perfkit doctor [options]\n"
          "\n"
          "Checks how this host is tuned for a service under load (file descriptors,\n"
          "memory, network, disk, CPU), then samples it for a few seconds to find what\n"
          "holds it back. Every finding says what was observed, what is recommended,\n"
          "why, the command that fixes it now and the line that makes it persistent.\n"
          "perfkit never changes the system itself.\n"
          "\n"
          "Options:\n"
          "      --sample DUR        diagnosis window (default 3s; 0 skips the diagnosis)\n"
          "      --pid PID           add the checks of one process (fds against its limit,\n"
          "                          threads, RSS growth; with --sample 0 its limit only)\n"
          "      --process NAME      the same, for the process with this name\n"
          "      --json FILE         the report as JSON ('-' for stdout)\n"
          "      --fix-script FILE   write the fixes as a shell script to review and run\n"
          "      --procfs DIR        read /proc from DIR (default /proc)\n"
          "      --sysfs DIR         read /sys from DIR (default /sys)\n"
          "  -h, --help\n"
          "\n"
          "Exit status: 0 all ok; 1 runtime failure; 2 usage error (also a --procfs\n"
          "that is no proc filesystem); 3 warnings; 4 a critical finding or bottleneck;\n"
          "5 incomplete: more than half of the checks skipped, or a --sysfs without\n"
          "devices/system/cpu. See docs/doctor.md.\n",
          stdout);
}

static const char *const areas[] = { "fd", "memory", "network", "disk", "cpu", "process", NULL };

static const char *status_style(const struct term *t, enum finding_status s)
{
    switch (s) {
    case FINDING_CRIT: return term_style(t, TERM_RED);
    case FINDING_WARN: return term_style(t, TERM_YELLOW);
    case FINDING_OK: return term_style(t, TERM_GREEN);
    default: return term_style(t, TERM_DIM);
    }
}

/* A persistent setting may be several lines (a drop-in with its section): one under the other. */
static void print_persist(FILE *fp, const struct finding *f)
{
    fputs("          persist: ", fp);
    for (const char *p = f->persist; *p; p++) {
        if (*p == '\n')
            fputs("\n                   ", fp);
        else
            fputc(*p, fp);
    }
    if (f->persist_file[0])
        fprintf(fp, "  (in %s)", f->persist_file);
    fputc('\n', fp);
}

static void print_report(FILE *fp, const struct finding_report *r)
{
    struct term t;
    term_init(&t, fp);
    const char *B = term_style(&t, TERM_BOLD), *R = term_style(&t, TERM_RESET);
    const char *D = term_style(&t, TERM_DIM);
    if (r->nbottlenecks) {
        fprintf(fp, "%sBottlenecks%s (over %.1f s)\n", B, R, r->sample_s);
        for (size_t i = 0; i < r->nbottlenecks; i++) {
            const struct bottleneck *b = &r->bottlenecks[i];
            fprintf(fp, "  %s%-4s%s %-22s %s\n", status_style(&t, b->status), finding_status_name(b->status),
                    R, b->id, b->observed);
            if (b->culprit[0])
                fprintf(fp, "       culprit: %s\n", b->culprit);
            if (b->advice[0])
                fprintf(fp, "       advice:  %s\n", b->advice);
        }
        fprintf(fp, "\n");
    }
    /* Areas in a fixed order; within one, the report is already worst first. */
    for (const char *const *a = areas; *a; a++) {
        bool any = false;
        for (size_t i = 0; i < r->nfindings; i++) {
            const struct finding *f = &r->findings[i];
            if (strcmp(f->area, *a) != 0)
                continue;
            if (!any)
                fprintf(fp, "%s%s%s\n", B, *a, R);
            any = true;
            fprintf(fp, "  %s%-7s%s %-34s %s", status_style(&t, f->status), finding_status_name(f->status), R,
                    f->id, f->status == FINDING_SKIPPED ? f->skip_reason : f->observed);
            if (f->status == FINDING_WARN || f->status == FINDING_CRIT) {
                fprintf(fp, "  (recommended: %s)\n", f->recommended);
                if (f->why[0])
                    fprintf(fp, "          %s%s%s\n", D, f->why, R);
                if (f->fix[0])
                    fprintf(fp, "          fix:     %s\n", f->fix);
                if (f->persist[0])
                    print_persist(fp, f);
            } else {
                fprintf(fp, "\n");
            }
        }
        if (any)
            fprintf(fp, "\n");
    }
    size_t c[4];
    enum finding_status worst = finding_worst(r, c);
    fprintf(fp, "%s%zu ok, %zu warn, %zu crit, %zu skipped; %zu bottleneck%s%s — worst: %s%s%s\n", B,
            c[FINDING_OK], c[FINDING_WARN], c[FINDING_CRIT], c[FINDING_SKIPPED], r->nbottlenecks,
            r->nbottlenecks == 1 ? "" : "s", R, status_style(&t, worst), finding_status_name(worst), R);
    if (r->incomplete[0])
        fprintf(fp, "%sincomplete%s: %s: too little was read for a verdict on this host\n",
                term_style(&t, TERM_RED), R, r->incomplete);
}

static int write_text(const char *path, const char *text, const char *opt)
{
    if (!strcmp(path, "-")) {
        fputs(text, stdout);
        return 0;
    }
    struct pk_err e;
    pk_err_clear(&e);
    if (files_write_atomic(path, text, strlen(text), &e)) {
        char buf[600];
        fprintf(stderr, "perfkit doctor: %s: %s\n", opt, pk_err_str(&e, buf, sizeof(buf)));
        return EXIT_RUNTIME;
    }
    return 0;
}

enum { OPT_SAMPLE = 256, OPT_PID, OPT_PROCESS, OPT_JSON, OPT_FIX, OPT_PROCFS, OPT_SYSFS };

static const struct option longopts[] = {
    { "sample", required_argument, NULL, OPT_SAMPLE },
    { "pid", required_argument, NULL, OPT_PID },
    { "process", required_argument, NULL, OPT_PROCESS },
    { "json", required_argument, NULL, OPT_JSON },
    { "fix-script", required_argument, NULL, OPT_FIX },
    { "procfs", required_argument, NULL, OPT_PROCFS },
    { "sysfs", required_argument, NULL, OPT_SYSFS },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* The command line, parsed. */
struct doctor_args {
    struct doctor_opts o;
    const char *json_path, *fix_path; /* NULL: not asked for; "-": stdout */
};

/* -1 to go on, or the exit code (help, a usage error). */
static int parse_args(int argc, char **argv, struct doctor_args *a)
{
    struct pk_err e;
    char buf[800];
    uint64_t u;
    pk_err_clear(&e);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SAMPLE:
            if (units_parse_duration(optarg, "--sample", &a->o.sample_s, &e) || a->o.sample_s > 3600) {
                if (!e.what[0])
                    err_set(&e, -EINVAL, "--sample", "window too long", "at most 1h");
                fprintf(stderr, "perfkit doctor: %s\n", pk_err_str(&e, buf, sizeof(buf)));
                return EXIT_USAGE;
            }
            break;
        case OPT_PID:
            if (units_parse_uint(optarg, "--pid", 1, 4194304, &u, &e)) {
                fprintf(stderr, "perfkit doctor: %s\n", pk_err_str(&e, buf, sizeof(buf)));
                return EXIT_USAGE;
            }
            a->o.pid = (pid_t)u;
            break;
        case OPT_PROCESS: a->o.process = optarg; break;
        case OPT_JSON: a->json_path = optarg; break;
        case OPT_FIX: a->fix_path = optarg; break;
        case OPT_PROCFS: a->o.procfs = optarg; break;
        case OPT_SYSFS: a->o.sysfs = optarg; break;
        case 'h': cmd_doctor_help(); return EXIT_OK;
        case ':': return cli_usage("doctor", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage("doctor", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage("doctor", "unexpected argument '%s'", argv[optind]);
    if (a->o.pid && a->o.process)
        return cli_usage("doctor", "--pid and --process exclude each other");
    return -1;
}

static bool same_file(const char *x, const char *y)
{
    struct stat sx, sy;
    if (!strcmp(x, y))
        return true;
    return stat(x, &sx) == 0 && stat(y, &sy) == 0 && sx.st_dev == sy.st_dev && sx.st_ino == sy.st_ino;
}

/* Every output path and the roots checked before the first reading, so that
 * a bad one is said at once, not after the window: -1 to go on, or EXIT_USAGE. */
static int check_before_run(const struct doctor_args *a)
{
    struct pk_err e;
    char buf[800];
    pk_err_clear(&e);
    const char *paths[] = { a->json_path, a->fix_path };
    const char *names[] = { "--json", "--fix-script" };
    for (int i = 0; i < 2; i++) {
        if (paths[i] && strcmp(paths[i], "-") && files_check_writable(paths[i], &e)) {
            fprintf(stderr, "perfkit doctor: %s: %s\n", names[i], pk_err_str(&e, buf, sizeof(buf)));
            return EXIT_USAGE;
        }
    }
    if (a->json_path && a->fix_path && !strcmp(a->json_path, "-") && !strcmp(a->fix_path, "-"))
        return cli_usage("doctor", "only one of --json and --fix-script can go to stdout");
    if (a->json_path && a->fix_path && same_file(a->json_path, a->fix_path))
        return cli_usage("doctor", "--json and --fix-script name the same file '%s'", a->fix_path);
    if (doctor_roots(&a->o, &e)) {
        fprintf(stderr, "perfkit doctor: --procfs: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        return EXIT_USAGE;
    }
    return -1;
}

/* The checks, then the window (or, without one, the process's checks alone); 0 or an exit code. */
static int run(const struct doctor_opts *o, struct finding_report *r)
{
    struct pk_err e;
    char buf[800];
    pk_err_clear(&e);
    int rc = doctor_checks(o, r, &e);
    if (rc == 0 && o->sample_s == 0)
        rc = doctor_process(o, r, &e);
    if (rc == 0 && o->sample_s > 0) {
        struct term t;
        term_init(&t, stderr);
        if (t.tty)
            fprintf(stderr, "sampling for %.1f s…\r", o->sample_s);
        rc = doctor_diagnose(o, r, &e);
        if (t.tty)
            fprintf(stderr, "\x1b[2K\r");
    }
    if (rc == 0)
        return 0;
    fprintf(stderr, "perfkit doctor: %s\n", pk_err_str(&e, buf, sizeof(buf)));
    return rc == -ESRCH || rc == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
}

static int write_outputs(const struct doctor_args *a, const struct finding_report *r)
{
    int out = EXIT_OK;
    if (a->json_path) {
        json_t *j = finding_report_json(r);
        char *text = j ? jsonio_dumps(j) : NULL;
        out = text ? write_text(a->json_path, text, "--json") : EXIT_RUNTIME;
        free(text);
        json_decref(j);
    }
    if (a->fix_path && out == EXIT_OK) {
        char *text = finding_fix_script(r);
        out = text ? write_text(a->fix_path, text, "--fix-script") : EXIT_RUNTIME;
        free(text);
    }
    return out;
}

int cmd_doctor(int argc, char **argv)
{
    struct doctor_args a;
    memset(&a, 0, sizeof(a));
    doctor_opts_default(&a.o);
    int rc = parse_args(argc, argv, &a);
    if (rc < 0)
        rc = check_before_run(&a);
    if (rc >= 0)
        return rc;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    a.o.stop = &stop_flag;

    struct finding_report r;
    finding_report_init(&r);
    if ((rc = run(&a.o, &r))) {
        finding_report_destroy(&r);
        return rc;
    }
    bool incomplete = doctor_coverage(&a.o, &r);
    finding_sort(&r);
    bool stdout_taken =
        (a.json_path && !strcmp(a.json_path, "-")) || (a.fix_path && !strcmp(a.fix_path, "-"));
    print_report(stdout_taken ? stderr : stdout, &r);
    int out = write_outputs(&a, &r);
    enum finding_status worst = finding_worst(&r, NULL);
    finding_report_destroy(&r);
    if (out != EXIT_OK)
        return out;
    if (incomplete)
        return EXIT_DOCTOR_INCOMPLETE;
    return worst == FINDING_CRIT ? EXIT_DOCTOR_CRIT : worst == FINDING_WARN ? EXIT_DOCTOR_WARN : EXIT_OK;
}
