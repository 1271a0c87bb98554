/* perfkit monitor - the host agent (see docs/monitor.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/units.h"
#include "monitor/agent.h"
#include "monitor/config.h"

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    reload_flag = 1;
}

void cmd_monitor_help(void)
{
    fputs("Usage: perfkit monitor [options]\n"
          "\n"
          "A host agent: samples CPU, memory, filesystems, disks, network, processes and\n"
          "probes every interval; serves Prometheus metrics (node_exporter's names), a\n"
          "JSON status and history API, the alerts and a live dashboard; keeps history\n"
          "in SQLite; alerts when a rule holds (CPU, memory, disk above 80% by default).\n"
          "\n"
          "Options (each also a line `key value` of the --config file):\n"
          "      --config FILE         settings and alert rules (docs/monitor.md)\n"
          "      --check-config        run every check of the start (settings, rules, files,\n"
          "                            listen address, TLS, token) short of binding and\n"
          "                            writing, then exit\n"
          "      --listen ADDR:PORT    HTTP address (default 127.0.0.1:9310)\n"
          "      --interval DUR        sampling interval (default 1s)\n"
          "      --db FILE             history database (default perfkit-monitor.db)\n"
          "      --retention-raw DUR   raw samples kept (default 48h)\n"
          "      --retention DUR       one-minute rollups kept (default 30d)\n"
          "      --probe TARGET        tcp://HOST:PORT or http(s)://URL, optionally\n"
          "                            followed by ' limit DUR'; repeatable\n"
          "      --webhook URL         a receiver of Alertmanager's webhook JSON (v4), e.g.\n"
          "                            a chat bridge (not Alertmanager itself); repeatable\n"
          "      --on-alert CMD        run CMD (sh -c) on each alert, details in PERFKIT_ALERT_*\n"
          "      --auth-token-file F   require 'Authorization: Bearer <token in F>' (the\n"
          "                            dashboard: open it as /#token=<token>)\n"
          "      --no-auth             allow a non-loopback --listen without a token\n"
          "      --tls-cert FILE       serve HTTPS with this certificate (PEM)...\n"
          "      --tls-key FILE        ...and this key\n"
          "      --no-default-rules    only the rules of the config file\n"
          "      --alert RULE          an alert rule: 'NAME: EXPR for DUR [keep_firing_for DUR]\n"
          "                            [clear VALUE] [severity S]'; repeatable\n"
          "      --procfs DIR          read /proc from DIR (default /proc)\n"
          "      --sysfs DIR           read /sys from DIR (default /sys)\n"
          "      --duration DUR        stop after DUR (default: run until SIGTERM)\n"
          "  -h, --help\n"
          "\n"
          "Signals: SIGHUP re-reads the --config file's rules; SIGTERM and SIGINT stop\n"
          "after flushing the history and notifications (exit 0).\n"
          "Exit status: 0 stopped cleanly; 1 runtime failure; 2 usage error or invalid\n"
          "configuration. See docs/monitor.md.\n",
          stdout);
}

enum { OPT_CONFIG = 256, OPT_CHECK, OPT_DURATION, OPT_NO_DEFAULT_RULES, OPT_SETTING };

/* Long options that are settings map straight onto config keys. */
static const struct option options[] = {
    { "config", required_argument, NULL, OPT_CONFIG },
    { "check-config", no_argument, NULL, OPT_CHECK },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "no-default-rules", no_argument, NULL, OPT_NO_DEFAULT_RULES },
    { "listen", required_argument, NULL, OPT_SETTING },
    { "interval", required_argument, NULL, OPT_SETTING },
    { "db", required_argument, NULL, OPT_SETTING },
    { "retention-raw", required_argument, NULL, OPT_SETTING },
    { "retention", required_argument, NULL, OPT_SETTING },
    { "probe", required_argument, NULL, OPT_SETTING },
    { "webhook", required_argument, NULL, OPT_SETTING },
    { "on-alert", required_argument, NULL, OPT_SETTING },
    { "auth-token-file", required_argument, NULL, OPT_SETTING },
    { "no-auth", no_argument, NULL, OPT_SETTING },
    { "tls-cert", required_argument, NULL, OPT_SETTING },
    { "tls-key", required_argument, NULL, OPT_SETTING },
    { "alert", required_argument, NULL, OPT_SETTING },
    { "procfs", required_argument, NULL, OPT_SETTING },
    { "sysfs", required_argument, NULL, OPT_SETTING },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void log_line(void *arg, const char *line)
{
    (void)arg;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s perfkit monitor: %s\n", ts, line);
}

int cmd_monitor(int argc, char **argv)
{
    struct monitor_config cfg;
    config_init(&cfg);
    struct pk_err e;
    pk_err_clear(&e);
    bool check = false;
    double duration_s = 0;
    int rc = EXIT_OK;

    /* the file first, so that flags override it whatever their order */
    opterr = 0;
    optind = 1;
    int c, idx;
    while ((c = getopt_long(argc, argv, "h", options, &idx)) != -1) {
        if (c == OPT_CONFIG && config_load(&cfg, optarg, &e) != 0) {
            rc = cli_usage_err("monitor", &e);
            goto out;
        }
    }
    opterr = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, &idx)) != -1) {
        switch (c) {
        case 'h': cmd_monitor_help(); goto out;
        case OPT_CONFIG: break;
        case OPT_CHECK: check = true; break;
        case OPT_DURATION:
            if (units_parse_duration(optarg, "--duration", &duration_s, &e) != 0 || duration_s <= 0) {
                if (!e.why[0])
                    err_set(&e, PK_EPARSE, "--duration", "invalid duration", "it must be above 0");
                rc = cli_usage_err("monitor", &e);
                goto out;
            }
            break;
        case OPT_NO_DEFAULT_RULES: cfg.default_rules = false; break;
        case OPT_SETTING: {
            char on[64];
            snprintf(on, sizeof(on), "--%s", options[idx].name);
            if (config_set(&cfg, options[idx].name, optarg, on, &e) != 0) {
                rc = cli_usage_err("monitor", &e);
                goto out;
            }
            break;
        }
        default:
            fprintf(stderr, "perfkit monitor: see 'perfkit help monitor'\n");
            rc = EXIT_USAGE;
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "perfkit monitor: unexpected argument '%s'\n", argv[optind]);
        rc = EXIT_USAGE;
        goto out;
    }
    /* what --check-config approves the start accepts: the same checks, and the
     * same exit status (2) for what they refuse */
    size_t nrules = 0;
    if (agent_check(&cfg, &nrules, &e) != 0) {
        rc = cli_usage_err("monitor", &e);
        goto out;
    }
    if (check) {
        printf("configuration ok: %zu alert rules, %zu probes, %zu webhooks, listen %s, interval %.3g s\n",
               nrules, cfg.nprobes, cfg.nwebhooks, cfg.listen ? cfg.listen : "127.0.0.1:9310",
               (double)cfg.interval_ms / 1000.0);
        goto out;
    }

    struct sigaction sa = { 0 };
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct agent_opts ao = { &cfg, (int64_t)(duration_s * 1000.0), &stop_flag, &reload_flag, log_line, NULL };
    struct agent *a;
    if ((rc = agent_open(&ao, &a, &e)) != 0) {
        char buf[1024];
        fprintf(stderr, "perfkit monitor: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        rc = (rc == PK_EUSAGE || rc == PK_EPARSE) ? EXIT_USAGE : EXIT_RUNTIME;
        goto out;
    }
    char url[256];
    agent_url(a, url, sizeof(url));
    fprintf(stderr, "perfkit monitor: dashboard %s  metrics %smetrics  history in %s\n", url, url,
            cfg.db ? cfg.db : AGENT_DB_DEFAULT);
    if (agent_run(a, &e) != 0) {
        char buf[1024];
        fprintf(stderr, "perfkit monitor: %s\n", pk_err_str(&e, buf, sizeof(buf)));
        rc = EXIT_RUNTIME;
    }
    agent_close(a);
    if (stop_flag)
        log_line(NULL, "stopped");
out:
    config_destroy(&cfg);
    return rc;
}
