/* perfkit load - HTTP load generator (see docs/load.md). */
#define _GNU_SOURCE /* getopt_long permutation */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/load_out.h"
#include "cli/term.h"
#include "core/err.h"
#include "core/files.h"
#include "core/units.h"
#include "load/engine.h"
#include "load/request.h"
#include "load/result.h"
#include "load/scenario.h"
#include "load/schedule.h"
#include "load/threshold.h"
#include "core/url.h"

#define MAX_URLS            SCENARIO_REQUESTS_MAX
#define MAX_HEADERS         SCENARIO_HEADERS_MAX
#define MAX_THRESHOLDS      64
#define MAX_MERGE           4096
#define DEFAULT_CONNECTIONS 50
#define DEFAULT_DURATION_S  10.0
#define DEFAULT_TIMEOUT_S   2.0
/* load's own gate (cli.h's codes are shared): not one request succeeded */
#define EXIT_NO_SUCCESS 4

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void cmd_load_help(void)
{
    fputs("Usage: perfkit load [options] URL[@WEIGHT]...\n"
          "       perfkit load [options] --scenario FILE\n"
          "       perfkit load merge [--json FILE] [--threshold EXPR]...\n"
          "                          [--latency-spectrum] FILE...\n"
          "\n"
          "HTTP/1.1 load generator. Closed model (the default): each connection sends a\n"
          "request, waits for its response, and sends the next. Open model (-R, or rate\n"
          "stages): requests are due on a fixed schedule whatever the server does, and\n"
          "latency counts from the time each was due, so a stall shows as the wait its\n"
          "users would see (coordinated omission corrected). Several URLs are sent in\n"
          "turn, in proportion to their @WEIGHT (default 1).\n"
          "\n"
          "Load:\n"
          "  -c, --connections N     connections (default 50): in the closed model, the\n"
          "                          number of requests in flight\n"
          "  -t, --threads N         threads (default: the online CPUs, at most -c)\n"
          "  -d, --duration DUR      length of the run, warmup included, e.g. 30s, 2m\n"
          "                          (default 10s without -d, -n and --stage)\n"
          "  -n, --requests N        stop after N measured requests (warmup excluded)\n"
          "  -R, --rate N            open model: N requests/s in all, e.g. 5000, 20k\n"
          "      --stage DUR:TARGET  a step of the run, repeatable, in order: TARGET is\n"
          "                          connections (30s:200), or a rate (30s:5000/s) for the\n"
          "                          open model; the stages set the length (no -d, -R)\n"
          "      --warmup DUR        load without measuring first (part of the run)\n"
          "      --timeout DUR       per request and per connect (default 2s)\n"
          "      --no-keepalive      one request per connection (Connection: close)\n"
          "      --pipeline N        requests in flight per connection (default 1)\n"
          "  -k, --insecure          https: do not verify the certificate or host name\n"
          "      --seed N            seed of scenario picks and think times (default:\n"
          "                          random)\n"
          "Requests:\n"
          "  -m, --method M          method (default GET; POST when --body is given)\n"
          "  -H, --header 'N: V'     a header field, repeatable\n"
          "      --body TEXT         the request body; --body @FILE sends FILE's bytes\n"
          "                          (@@TEXT is the literal @TEXT)\n"
          "      --scenario FILE     requests, weights and think time from FILE\n"
          "                          (docs/load-scenario.md); not with URLs, -m, -H or\n"
          "                          --body\n"
          "Results:\n"
          "      --json FILE         the results as JSON ('-' = stdout; the summary then\n"
          "                          goes to stderr)\n"
          "      --hdr-log FILE      each second's latencies, an HdrHistogram interval log\n"
          "      --latency-spectrum  the percentile spectrum in HdrHistogram's format (ms)\n"
          "      --threshold EXPR    a pass/fail gate, repeatable: 'p99<200ms',\n"
          "                          'p(99.9)<=1s', 'mean<50ms', 'max<2s',\n"
          "                          'error_rate<1%', 'dropped<1%' (open model: due\n"
          "                          requests never sent), 'rps>=5000'\n"
          "      --host-metrics      sample this host's CPU, memory, network each second\n"
          "      --no-progress       no live progress line\n"
          "  -h, --help\n"
          "\n"
          "merge adds up what generators that ran side by side measured (JSON written by\n"
          "--json, or interval logs written by --hdr-log) and reports it as one run.\n"
          "\n"
          "Exit status: 0 ok; 1 runtime failure; 2 usage error; 3 a threshold failed;\n"
          "4 no request succeeded (no response with a status below 400); 130\n"
          "interrupted (what was measured is still printed and written).\n"
          "See docs/load.md.\n",
          stdout);
}

/* A message from a failed call, and the exit code its kind means. */
static int fail(const char *cmd, const struct pk_err *e, int code)
{
    char buf[800];
    fprintf(stderr, "perfkit %s: %s\n", cmd, pk_err_str(e, buf, sizeof(buf)));
    return code;
}

/* Resources and out-of-memory are the run's failures; the rest is input. */
static int code_of(int rc)
{
    return rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE ? EXIT_RUNTIME : EXIT_USAGE;
}

struct opts {
    uint64_t threads; /* 0: the online CPUs */
    uint64_t connections;
    bool connections_given;
    double duration_s; /* 0: not given */
    uint64_t max_requests;
    uint64_t rate; /* 0: not given */
    double warmup_s;
    const char *stages[SCHEDULE_MAX_STAGES];
    size_t nstages;
    double timeout_s;
    bool keepalive;
    uint64_t pipeline;
    bool insecure;
    const char *method;
    char *headers[MAX_HEADERS]; /* copies: request_split_header writes into them */
    size_t nheaders;
    const char *body;
    const char *scenario;
    const char *json, *hdrlog;
    bool spectrum;
    struct threshold th[MAX_THRESHOLDS];
    size_t nth;
    bool host_metrics;
    uint64_t seed;
    bool seed_given;
    bool no_progress;
    char **urls;
    size_t nurls;
};

enum {
    OPT_STAGE = 256,
    OPT_WARMUP,
    OPT_TIMEOUT,
    OPT_NO_KEEPALIVE,
    OPT_PIPELINE,
    OPT_BODY,
    OPT_SCENARIO,
    OPT_JSON,
    OPT_HDR_LOG,
    OPT_SPECTRUM,
    OPT_THRESHOLD,
    OPT_HOST_METRICS,
    OPT_SEED,
    OPT_NO_PROGRESS,
};

static const struct option longopts[] = {
    { "threads", required_argument, NULL, 't' },
    { "connections", required_argument, NULL, 'c' },
    { "duration", required_argument, NULL, 'd' },
    { "requests", required_argument, NULL, 'n' },
    { "rate", required_argument, NULL, 'R' },
    { "stage", required_argument, NULL, OPT_STAGE },
    { "warmup", required_argument, NULL, OPT_WARMUP },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "no-keepalive", no_argument, NULL, OPT_NO_KEEPALIVE },
    { "pipeline", required_argument, NULL, OPT_PIPELINE },
    { "insecure", no_argument, NULL, 'k' },
    { "method", required_argument, NULL, 'm' },
    { "header", required_argument, NULL, 'H' },
    { "body", required_argument, NULL, OPT_BODY },
    { "scenario", required_argument, NULL, OPT_SCENARIO },
    { "json", required_argument, NULL, OPT_JSON },
    { "hdr-log", required_argument, NULL, OPT_HDR_LOG },
    { "latency-spectrum", no_argument, NULL, OPT_SPECTRUM },
    { "threshold", required_argument, NULL, OPT_THRESHOLD },
    { "host-metrics", no_argument, NULL, OPT_HOST_METRICS },
    { "seed", required_argument, NULL, OPT_SEED },
    { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* A count with SI suffixes (units_parse_count) in [min, max]. */
static int parse_count(const char *text, const char *opt, uint64_t min, uint64_t max, uint64_t *out)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (units_parse_count(text, opt, out, &e))
        return fail("load", &e, EXIT_USAGE);
    if (*out < min || *out > max) {
        char q[64];
        return cli_usage("load", "%s: '%s' is out of range (must be between %llu and %llu)", opt,
                         err_quote(text, strlen(text), q, sizeof(q)), (unsigned long long)min,
                         (unsigned long long)max);
    }
    return 0;
}

static int parse_uint(const char *text, const char *opt, uint64_t min, uint64_t max, uint64_t *out)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (units_parse_uint(text, opt, min, max, out, &e))
        return fail("load", &e, EXIT_USAGE);
    return 0;
}

/* A duration; positive unless zero_ok, and short enough for the schedule's
 * nanosecond clock. */
static int parse_dur(const char *text, const char *opt, bool zero_ok, double *out)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (units_parse_duration(text, opt, out, &e))
        return fail("load", &e, EXIT_USAGE);
    char q[64];
    err_quote(text, strlen(text), q, sizeof(q));
    if (!zero_ok && !(*out * 1e9 >= 1))
        return cli_usage("load", "%s: '%s' must be longer than 0", opt, q);
    if (!(*out * 1e9 < (double)SCHEDULE_MAX_NS))
        return cli_usage("load", "%s: '%s' is too long", opt, q);
    return 0;
}

static uint64_t ns_of(double s)
{
    return (uint64_t)(s * 1e9 + 0.5);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    struct pk_err e;
    int rc, c;
    pk_err_clear(&e);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":t:c:d:n:R:km:H:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            if ((rc = parse_uint(optarg, "-t", 1, LOAD_THREADS_MAX, &o->threads)))
                return rc;
            break;
        case 'c':
            if ((rc = parse_count(optarg, "-c", 1, LOAD_CONNECTIONS_MAX, &o->connections)))
                return rc;
            o->connections_given = true;
            break;
        case 'd':
            if ((rc = parse_dur(optarg, "-d", false, &o->duration_s)))
                return rc;
            break;
        case 'n':
            if ((rc = parse_count(optarg, "-n", 1, UINT64_MAX, &o->max_requests)))
                return rc;
            break;
        case 'R':
            if ((rc = parse_count(optarg, "-R", 1, SCHEDULE_MAX_TARGET, &o->rate)))
                return rc;
            break;
        case OPT_STAGE:
            if (o->nstages >= SCHEDULE_MAX_STAGES)
                return cli_usage("load", "--stage: at most %d stages", SCHEDULE_MAX_STAGES);
            o->stages[o->nstages++] = optarg;
            break;
        case OPT_WARMUP:
            if ((rc = parse_dur(optarg, "--warmup", true, &o->warmup_s)))
                return rc;
            break;
        case OPT_TIMEOUT:
            if ((rc = parse_dur(optarg, "--timeout", false, &o->timeout_s)))
                return rc;
            break;
        case OPT_NO_KEEPALIVE: o->keepalive = false; break;
        case OPT_PIPELINE:
            if ((rc = parse_uint(optarg, "--pipeline", 1, LOAD_PIPELINE_MAX, &o->pipeline)))
                return rc;
            break;
        case 'k': o->insecure = true; break;
        case 'm': o->method = optarg; break;
        case 'H':
            if (o->nheaders >= MAX_HEADERS)
                return cli_usage("load", "-H: at most %u header fields", MAX_HEADERS);
            if (!(o->headers[o->nheaders] = strdup(optarg)))
                return EXIT_RUNTIME;
            o->nheaders++;
            break;
        case OPT_BODY: o->body = optarg; break;
        case OPT_SCENARIO: o->scenario = optarg; break;
        case OPT_JSON: o->json = optarg; break;
        case OPT_HDR_LOG: o->hdrlog = optarg; break;
        case OPT_SPECTRUM: o->spectrum = true; break;
        case OPT_THRESHOLD:
            if (o->nth >= MAX_THRESHOLDS)
                return cli_usage("load", "--threshold: at most %d thresholds", MAX_THRESHOLDS);
            if (threshold_parse(optarg, &o->th[o->nth], &e))
                return fail("load", &e, EXIT_USAGE);
            o->nth++;
            break;
        case OPT_HOST_METRICS: o->host_metrics = true; break;
        case OPT_SEED:
            if ((rc = parse_uint(optarg, "--seed", 0, UINT64_MAX, &o->seed)))
                return rc;
            o->seed_given = true;
            break;
        case OPT_NO_PROGRESS: o->no_progress = true; break;
        case 'h': cmd_load_help(); return -1;
        case ':': return cli_usage("load", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage("load", "unknown option '%s'", argv[optind - 1]);
        }
    }
    o->urls = argv + optind;
    o->nurls = (size_t)(argc - optind);
    return 0;
}

/* ---- the requests */

struct reqs {
    struct load_request *v;
    size_t n;
    struct scenario sc;
    char *body; /* --body @FILE's bytes */
};

static void reqs_destroy(struct reqs *r)
{
    for (size_t i = 0; i < r->n; i++)
        request_destroy(&r->v[i]);
    free(r->v);
    scenario_destroy(&r->sc);
    free(r->body);
}

/* -m's messages; the rule is the scenario's (scenario_method_check). */
static int check_method(const char *m)
{
    char q[64];
    size_t n = strlen(m);
    err_quote(m, n, q, sizeof(q));
    switch (scenario_method_check(m, n)) {
    case SCENARIO_METHOD_OK: return 0;
    case SCENARIO_METHOD_LENGTH:
        return cli_usage("load", "-m: invalid method '%s' (1 to %u characters)", q, SCENARIO_METHOD_MAX);
    case SCENARIO_METHOD_NOT_TOKEN:
        return cli_usage("load", "-m: invalid method '%s': not a token (letters, digits, !#$%%&'*+-.^_`|~)",
                         q);
    case SCENARIO_METHOD_LOWERCASE: {
        char up[SCENARIO_METHOD_MAX + 1];
        for (size_t k = 0; k <= n; k++)
            up[k] = m[k] >= 'a' && m[k] <= 'z' ? (char)(m[k] - 'a' + 'A') : m[k];
        return cli_usage("load", "-m: invalid method '%s': methods are case-sensitive (did you mean '%s'?)",
                         q, up);
    }
    }
    return 0;
}

static int build_from_urls(const struct opts *o, struct reqs *r)
{
    struct pk_err e;
    pk_err_clear(&e);
    int rc;
    const char *method = o->method ? o->method : o->body ? "POST" : "GET";
    if ((rc = check_method(method)))
        return rc;
    struct load_header h[MAX_HEADERS];
    for (size_t i = 0; i < o->nheaders; i++)
        if (request_split_header(o->headers[i], "-H", &h[i], &e))
            return fail("load", &e, EXIT_USAGE);
    const char *body = NULL;
    size_t body_len = 0;
    if (o->body && o->body[0] == '@' && o->body[1] != '@') {
        if ((rc = files_read_all(o->body + 1, REQUEST_BYTES_MAX, &r->body, &body_len, &e))) {
            err_prefix_on(&e, "--body: ");
            return fail("load", &e, code_of(rc));
        }
        body = r->body;
    } else if (o->body) {
        body = o->body[0] == '@' ? o->body + 1 : o->body;
        body_len = strlen(body);
    }
    if (!(r->v = calloc(o->nurls, sizeof(*r->v))))
        return EXIT_RUNTIME;
    for (size_t i = 0; i < o->nurls; i++) {
        struct url u;
        if (url_parse_weighted(o->urls[i], NULL, &u, &e))
            return fail("load", &e, EXIT_USAGE);
        if ((rc = request_build(&r->v[i], method, &u, h, o->nheaders, body, body_len, o->keepalive, "-H",
                                &e))) {
            if (rc == -E2BIG)
                memcpy(e.on, "--body", sizeof("--body"));
            return fail("load", &e, code_of(rc));
        }
        r->n = i + 1;
    }
    return 0;
}

static int build_from_scenario(const struct opts *o, struct reqs *r)
{
    struct pk_err e;
    pk_err_clear(&e);
    int rc;
    if ((rc = scenario_load(o->scenario, &r->sc, &e)))
        return fail("load", &e, code_of(rc));
    if (!(r->v = calloc(r->sc.nrequests, sizeof(*r->v))))
        return EXIT_RUNTIME;
    struct load_header h[SCENARIO_HEADERS_MAX];
    for (size_t i = 0; i < r->sc.nrequests; i++) {
        const struct scenario_request *sr = &r->sc.requests[i];
        char on[300];
        snprintf(on, sizeof(on), "%s:%u", o->scenario, sr->line);
        for (size_t k = 0; k < sr->nheaders && k < SCENARIO_HEADERS_MAX; k++) {
            h[k].name = sr->headers[k].name;
            h[k].value = sr->headers[k].value;
        }
        if ((rc = request_build(&r->v[i], sr->method, &sr->url, h, sr->nheaders, sr->body, sr->body_len,
                                o->keepalive, on, &e)))
            return fail("load", &e, code_of(rc));
        r->v[i].weight = sr->weight;
        r->n = i + 1;
        /* its results by name: its `name`, else "METHOD URL" */
        char u[URL_MAX + 16], name[SCENARIO_METHOD_MAX + URL_MAX + 24];
        snprintf(name, sizeof(name), "%s %s", sr->method, url_format(&sr->url, u, sizeof(u)));
        if (!(r->v[i].name = strdup(sr->name ? sr->name : name)))
            return EXIT_RUNTIME;
    }
    return 0;
}

/* ---- outputs */

/* An output path (not "-") that the run could not write at its end is a
 * usage error before the first request. */
static int check_out_path(const char *cmd, const char *path, const char *opt)
{
    struct pk_err e;
    pk_err_clear(&e);
    if (path && strcmp(path, "-") && files_check_writable(path, &e)) {
        err_prefix_on(&e, opt);
        return fail(cmd, &e, EXIT_USAGE);
    }
    return 0;
}

/* --json FILE, or the document on stdout for "-". */
static int write_json(const struct load_result *res, const struct threshold *th, size_t nth,
                      const struct load_warnings *w, const char *path, struct pk_err *e)
{
    if (strcmp(path, "-") != 0)
        return result_write_json(res, th, nth, w->ptr, w->n, path, e);
    char *text;
    int rc = result_json_text(res, th, nth, w->ptr, w->n, &text, e);
    if (rc)
        return rc;
    size_t len = strlen(text);
    if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
        rc = err_errno(e, -EIO, "stdout", "cannot write the result");
    free(text);
    return rc;
}

/* The summary, spectrum and files of a finished (or stopped) run or merge.
 * Returns EXIT_RUNTIME when a file could not be written, else EXIT_OK. */
static int report(const char *cmd, const struct load_result *res, const char *target,
                  const struct threshold *th, size_t nth, const char *json, const char *hdrlog, bool spectrum)
{
    struct pk_err e;
    pk_err_clear(&e);
    int rc = EXIT_OK;
    struct load_warnings w;
    load_out_selfcheck(res, &w);
    struct term out;
    term_init(&out, json && !strcmp(json, "-") ? stderr : stdout);
    load_out_summary(&out, res, target, th, nth, &w);
    if (spectrum) {
        fputc('\n', out.fp);
        if (load_out_spectrum(out.fp, res, &e))
            rc = fail(cmd, &e, EXIT_RUNTIME);
    }
    fflush(out.fp);
    if (json && write_json(res, th, nth, &w, json, &e)) {
        err_prefix_on(&e, "--json: ");
        rc = fail(cmd, &e, EXIT_RUNTIME);
    }
    if (hdrlog && result_write_hdrlog(res, hdrlog, &e)) {
        err_prefix_on(&e, "--hdr-log: ");
        rc = fail(cmd, &e, EXIT_RUNTIME);
    }
    return rc;
}

/* A run in which not one request got a response below 400 (a refused
 * port, TLS to a plain port, a server that fails everything) is not a
 * success whatever the thresholds say; then the thresholds. */
static int gate(const char *cmd, const struct load_result *res, const struct threshold *th, size_t nth)
{
    if (res->requests <= res->status_errors) {
        fprintf(stderr,
                "perfkit %s: no request succeeded (%llu error%s, no response with a status below 400)\n", cmd,
                (unsigned long long)res->errors, res->errors == 1 ? "" : "s");
        return EXIT_NO_SUCCESS;
    }
    size_t failed = load_out_thresholds_failed(res, th, nth);
    if (!failed)
        return EXIT_OK;
    fprintf(stderr, "perfkit %s: %zu of %zu threshold%s failed\n", cmd, failed, nth, nth == 1 ? "" : "s");
    return EXIT_THRESHOLD;
}

/* What the summary's first line names: the scenario, or the URLs as given. */
static void target_text(const struct opts *o, const struct reqs *r, char *buf, size_t len)
{
    char u[URL_MAX + 16];
    if (o->scenario)
        snprintf(buf, len, "%s (scenario, %zu request%s)", o->scenario, r->n, r->n == 1 ? "" : "s");
    else if (r->n == 1)
        snprintf(buf, len, "%s", url_format(&r->v[0].url, u, sizeof(u)));
    else
        snprintf(buf, len, "%s and %zu more URL%s", url_format(&r->v[0].url, u, sizeof(u)), r->n - 1,
                 r->n > 2 ? "s" : "");
}

/* ---- perfkit load merge */

enum { JSON_INPUT, HDRLOG_INPUT, EMPTY_INPUT };

/* JSON starts with '{' after blanks; anything else is read as an interval log. */
static int sniff(const char *path, int *kind, struct pk_err *e)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_errno(e, -errno, path, "cannot read file");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), fp);
    int err = ferror(fp) ? errno : 0;
    fclose(fp);
    if (err)
        return err_errno(e, -err, path, "cannot read file");
    size_t i = 0;
    if (n >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    *kind = i == n ? EMPTY_INPUT : buf[i] == '{' ? JSON_INPUT : HDRLOG_INPUT;
    return 0;
}

static const struct option merge_longopts[] = {
    { "json", required_argument, NULL, OPT_JSON },
    { "threshold", required_argument, NULL, OPT_THRESHOLD },
    { "latency-spectrum", no_argument, NULL, OPT_SPECTRUM },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

struct merge_opts {
    const char *json;
    bool spectrum;
    struct threshold th[MAX_THRESHOLDS];
    size_t nth;
    char **files;
    size_t nfiles;
};

/* 0, an exit code, or -1 after --help. */
static int parse_merge_args(int argc, char **argv, struct merge_opts *m)
{
    struct pk_err e;
    pk_err_clear(&e);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", merge_longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: m->json = optarg; break;
        case OPT_SPECTRUM: m->spectrum = true; break;
        case OPT_THRESHOLD:
            if (m->nth >= MAX_THRESHOLDS)
                return cli_usage("load merge", "--threshold: at most %d thresholds", MAX_THRESHOLDS);
            if (threshold_parse(optarg, &m->th[m->nth], &e))
                return fail("load merge", &e, EXIT_USAGE);
            m->nth++;
            break;
        case 'h': cmd_load_help(); return -1;
        case ':': return cli_usage("load merge", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage("load merge", "unknown option '%s'", argv[optind - 1]);
        }
    }
    m->files = argv + optind;
    m->nfiles = (size_t)(argc - optind);
    if (m->nfiles == 0)
        return cli_usage("load merge", "no file to merge (JSON from --json or logs from --hdr-log)");
    if (m->nfiles > MAX_MERGE)
        return cli_usage("load merge", "at most %d files", MAX_MERGE);
    return check_out_path("load merge", m->json, "--json: ");
}

/* Every input's kind, before anything is merged; *nlogs counts the logs. */
static int sniff_inputs(const struct merge_opts *m, int *kinds, size_t *nlogs)
{
    struct pk_err e;
    pk_err_clear(&e);
    *nlogs = 0;
    for (size_t i = 0; i < m->nfiles; i++) {
        if (sniff(m->files[i], &kinds[i], &e))
            return fail("load merge", &e, EXIT_USAGE);
        if (kinds[i] == EMPTY_INPUT)
            return cli_usage("load merge",
                             "%s: empty file (expected JSON from --json or a log from --hdr-log)",
                             m->files[i]);
        *nlogs += kinds[i] == HDRLOG_INPUT;
    }
    return EXIT_OK;
}

/* JSON first: a log takes the model of what it is added to, and the JSON
 * results say which model they measured. */
static int merge_inputs(const struct merge_opts *m, const int *kinds, struct load_result *dst)
{
    struct pk_err e;
    pk_err_clear(&e);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < m->nfiles; i++) {
            const char *path = m->files[i];
            int rc;
            if (kinds[i] != (pass == 0 ? JSON_INPUT : HDRLOG_INPUT))
                continue;
            if (kinds[i] == JSON_INPUT) {
                rc = result_merge_json_file(dst, path, &e);
            } else {
                rc = result_merge_hdrlog(dst, path, &e);
            }
            if (rc)
                return fail("load merge", &e, code_of(rc));
        }
    }
    return EXIT_OK;
}

static int cmd_merge(int argc, char **argv)
{
    struct merge_opts m;
    memset(&m, 0, sizeof(m));
    int code = parse_merge_args(argc, argv, &m);
    if (code)
        return code < 0 ? EXIT_OK : code;

    struct pk_err e;
    pk_err_clear(&e);
    struct load_result dst;
    if (result_init(&dst, &e)) {
        result_destroy(&dst);
        return fail("load merge", &e, EXIT_RUNTIME);
    }
    size_t nlogs;
    int *kinds = calloc(m.nfiles, sizeof(int));
    if (!kinds) {
        code = EXIT_RUNTIME;
        goto out;
    }
    if ((code = sniff_inputs(&m, kinds, &nlogs)) || (code = merge_inputs(&m, kinds, &dst)))
        goto out;
    if (nlogs)
        fprintf(stderr,
                "perfkit load merge: %zu interval log%s add%s responses and latencies only "
                "(no status codes, errors or bytes)\n",
                nlogs, nlogs == 1 ? "" : "s", nlogs == 1 ? "s" : "");
    char target[64];
    snprintf(target, sizeof(target), "merge of %zu file%s", m.nfiles, m.nfiles == 1 ? "" : "s");
    code = report("load merge", &dst, dst.nurls ? NULL : target, m.th, m.nth, m.json, NULL, m.spectrum);
    if (code == EXIT_OK)
        code = gate("load merge", &dst, m.th, m.nth);
out:
    free(kinds);
    result_destroy(&dst);
    return code;
}

/* ---- perfkit load */

static void opts_init(struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->connections = DEFAULT_CONNECTIONS;
    o->timeout_s = DEFAULT_TIMEOUT_S;
    o->keepalive = true;
    o->pipeline = 1;
}

/* Combinations of options, refused before anything is read or resolved. */
static int check_combinations(const struct opts *o)
{
    if (o->scenario && o->nurls)
        return cli_usage("load", "--scenario and URLs exclude each other (the scenario names its URLs)");
    if (o->scenario && (o->method || o->nheaders || o->body))
        return cli_usage("load", "--scenario excludes %s (set them per request in the scenario)",
                         o->method     ? "-m"
                         : o->nheaders ? "-H"
                                       : "--body");
    if (!o->scenario && !o->nurls)
        return cli_usage("load", "no URL (give URL... or --scenario FILE)");
    if (o->nurls > MAX_URLS)
        return cli_usage("load", "at most %u URLs (a scenario file takes as many)", MAX_URLS);
    if (o->rate && o->nstages)
        return cli_usage("load", "-R conflicts with --stage (give the rates as stages: --stage 30s:%llu/s)",
                         (unsigned long long)o->rate);
    if (o->pipeline > 1 && !o->keepalive)
        return cli_usage("load",
                         "--pipeline needs keep-alive (--no-keepalive sends one request per connection)");
    if (o->hdrlog && !strcmp(o->hdrlog, "-"))
        return cli_usage("load", "--hdr-log needs a file name");
    int rc;
    if ((rc = check_out_path("load", o->json, "--json: ")) ||
        (rc = check_out_path("load", o->hdrlog, "--hdr-log: ")))
        return rc;
    return EXIT_OK;
}

/* What the run follows: connections (closed model) or requests/s (open
 * model) over time, and when it ends. */
struct plan {
    struct schedule_plan sched;
    bool open_model;
    uint64_t end_ns;
};

/* --stage: rate stages make the open model; connection stages set -c to
 * the most any of them uses. */
static int plan_from_stages(struct opts *o, struct plan *p)
{
    struct pk_err e;
    pk_err_clear(&e);
    bool rates = false;
    int rc = schedule_plan_stages(&p->sched, o->stages, o->nstages, &rates, &e);
    if (rc)
        return rc == PK_EUSAGE ? cli_usage_err("load", &e) : fail("load", &e, EXIT_USAGE);
    uint64_t max_target = 0;
    for (unsigned i = 0; i < p->sched.n; i++)
        if (p->sched.stage[i].target > max_target)
            max_target = p->sched.stage[i].target;
    p->open_model = rates;
    if (!rates && o->connections_given)
        return cli_usage("load", "-c conflicts with connection stages (the stages set the connections; "
                                 "with rate stages, -c sets the connections to send on)");
    if (max_target == 0)
        return cli_usage("load", "--stage: every stage has a target of 0: nothing would be sent");
    if (!rates) {
        if (max_target > LOAD_CONNECTIONS_MAX)
            return cli_usage("load", "--stage: %llu connections is above the limit of %d",
                             (unsigned long long)max_target, LOAD_CONNECTIONS_MAX);
        o->connections = max_target;
    }
    return EXIT_OK;
}

/* The stages, or a constant -R (open model) or -c (closed); -d, -n and
 * --warmup for the end (10 s when none of -d, -n or --stage is given). */
static int make_plan(struct opts *o, struct plan *p)
{
    struct pk_err e;
    pk_err_clear(&e);
    int rc;
    p->open_model = o->rate > 0;
    if (o->nstages) {
        if ((rc = plan_from_stages(o, p)))
            return rc;
    } else if (schedule_plan_init(&p->sched, p->open_model ? o->rate : o->connections,
                                  p->open_model ? "-R" : "-c", &e)) {
        return fail("load", &e, EXIT_USAGE);
    }
    uint64_t d_ns = o->duration_s > 0                 ? ns_of(o->duration_s)
                    : !o->max_requests && !o->nstages ? ns_of(DEFAULT_DURATION_S)
                                                      : 0;
    if (schedule_run_end(&p->sched, d_ns, ns_of(o->warmup_s), &p->end_ns, &e))
        return fail("load", &e, EXIT_USAGE);
    return EXIT_OK;
}

/* The requests, from the URLs or the scenario, whose think time needs the
 * closed model. */
static int make_requests(const struct opts *o, bool open_model, struct reqs *r)
{
    int rc = o->scenario ? build_from_scenario(o, r) : build_from_urls(o, r);
    if (rc)
        return rc;
    if (o->scenario && open_model && r->sc.think != SCENARIO_THINK_NONE)
        return cli_usage("load",
                         "%s: think time needs the closed model (it models users who wait between "
                         "requests), but %s make%s it the open model, where the schedule sets the arrivals: "
                         "drop the scenario's 'think' line or %s",
                         o->scenario, o->rate ? "-R" : "rate stages", o->rate ? "s" : "",
                         o->rate ? "-R" : "the rate stages");
    return EXIT_OK;
}

/* -t, or the online CPUs, fewer in the open model when the connections do
 * not give each thread one to every origin; never more than connections or
 * LOAD_THREADS_MAX. */
static unsigned thread_count(const struct opts *o, const struct reqs *r, bool open_model)
{
    uint64_t threads = o->threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (uint64_t)n : 1;
        size_t norigins = load_count_origins(r->v, r->n);
        if (open_model && threads > o->connections / norigins)
            threads = o->connections / norigins ? o->connections / norigins : 1;
    }
    if (threads > o->connections)
        threads = o->connections;
    if (threads > LOAD_THREADS_MAX)
        threads = LOAD_THREADS_MAX;
    return (unsigned)threads;
}

/* The seed without --seed: a new one each run (getrandom, else the clock and pid). */
static uint64_t random_seed(void)
{
    uint64_t s;
    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
        return s;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
}

static void make_config(const struct opts *o, const struct reqs *r, const struct plan *p,
                        struct load_config *cfg)
{
    load_config_init(cfg);
    cfg->threads = thread_count(o, r, p->open_model);
    cfg->connections = (unsigned)o->connections;
    cfg->open_model = p->open_model;
    cfg->plan = p->sched;
    cfg->end_ns = p->end_ns;
    cfg->warmup_ns = ns_of(o->warmup_s);
    cfg->max_requests = o->max_requests;
    cfg->timeout_ns = ns_of(o->timeout_s);
    cfg->keepalive = o->keepalive;
    cfg->pipeline = (unsigned)o->pipeline;
    cfg->insecure = o->insecure;
    cfg->requests = r->v;
    cfg->nrequests = r->n;
    cfg->random_pick = o->scenario != NULL;
    if (o->scenario) {
        cfg->think = r->sc.think;
        cfg->think_min_s = r->sc.think_min;
        cfg->think_max_s = r->sc.think_max;
    }
    cfg->seed = o->seed_given ? o->seed : random_seed();
    cfg->host_metrics = o->host_metrics;
    cfg->stop = &stop_flag;
}

/* SIGINT and SIGTERM set stop_flag, which ends the run with what it measured. */
static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: the collector's sleep returns at once */
    sigaction(SIGTERM, &sa, NULL);
}

/* Runs the load (with a progress line on a terminal), then prints and
 * writes what it measured, also when it was interrupted. */
static int run_and_report(const struct opts *o, const struct reqs *r, struct load_config *cfg)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct term err;
    term_init(&err, stderr);
    struct load_live live = { .t = err.tty && !o->no_progress ? &err : NULL, .open_model = cfg->open_model };
    if (live.t) {
        cfg->on_second = load_out_progress;
        cfg->arg = &live;
    }
    struct load_result res;
    if (result_init(&res, &e)) {
        result_destroy(&res);
        return fail("load", &e, EXIT_RUNTIME);
    }
    catch_signals();

    int rc;
    int lrc = load_run(cfg, &res, &e);
    load_out_progress_clear(&live);
    if (lrc && lrc != PK_ESTOP) {
        rc = fail("load", &e, lrc == PK_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME);
        goto out;
    }
    if (lrc == PK_ESTOP)
        fprintf(stderr, "perfkit load: interrupted; the results so far follow\n");
    char target[URL_MAX + 300];
    target_text(o, r, target, sizeof(target));
    rc = report("load", &res, target, o->th, o->nth, o->json, o->hdrlog, o->spectrum);
    if (lrc == PK_ESTOP)
        rc = EXIT_INTERRUPTED;
    else if (rc == EXIT_OK)
        rc = gate("load", &res, o->th, o->nth);
out:
    result_destroy(&res);
    return rc;
}

int cmd_load(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "merge"))
        return cmd_merge(argc - 1, argv + 1);

    struct opts o;
    opts_init(&o);
    struct reqs r;
    memset(&r, 0, sizeof(r));
    scenario_init(&r.sc);
    struct plan plan;
    struct load_config cfg;
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        rc = rc < 0 ? EXIT_OK : rc;
        goto out;
    }
    if ((rc = check_combinations(&o)) || (rc = make_plan(&o, &plan)) ||
        (rc = make_requests(&o, plan.open_model, &r)))
        goto out;
    make_config(&o, &r, &plan, &cfg);
    rc = run_and_report(&o, &r, &cfg);
out:
    reqs_destroy(&r);
    for (size_t i = 0; i < o.nheaders; i++)
        free(o.headers[i]);
    return rc;
}
