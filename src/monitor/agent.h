/*
 * agent - `perfkit monitor` put together: a drift-free sampling loop on a
 * timerfd (collect -> probes -> rules -> notifications -> store), whose every
 * sample is published as an immutable, reference-counted snapshot
 * (/metrics in both formats, /api/status, /api/alerts pre-rendered), served
 * by the HTTP server without copying, and the history from the store.
 *
 * Contract:
 * - agent_open() validates (agent_check) and opens everything (store,
 *   rules, notifier, probes, HTTP server) before any sample, so a bad
 *   setting is an error with nothing half-started; agent_run() samples on the caller's thread
 *   until *stop is set (SIGTERM/SIGINT in the CLI), or for `duration_ms`
 *   when not 0; *reload (SIGHUP) re-reads the config file's rules.
 * - Failures while running never stop the agent: a collector that fails is
 *   logged once and left out; a store error is logged, counted
 *   (perfkit_store_errors_total) and retried with the next sample; a
 *   notification never blocks sampling.
 * - Logging: the library never prints; lines go to log(arg, line), called
 *   on the sampling thread (or from agent_open/agent_close).
 * - agent_close() stops the server, flushes notifications (a deadline) and
 *   closes the store: SIGTERM flushes and exits 0.
 */
#ifndef PK_MONITOR_AGENT_H
#define PK_MONITOR_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "monitor/config.h"
#include "perfkit.h"

struct agent;

struct agent_opts {
    const struct monitor_config *cfg; /* not copied: must outlive the agent */
    int64_t duration_ms;              /* stop after this long; 0: until *stop */
    volatile sig_atomic_t *stop;      /* may be NULL */
    volatile sig_atomic_t *reload;    /* may be NULL; cleared by the agent */
    void (*log)(void *arg, const char *line);
    void *log_arg;
};

int agent_open(const struct agent_opts *o, struct agent **out, struct pk_err *e);
/* The dashboard's URL ("http://127.0.0.1:9310/"); returns buf. */
const char *agent_url(const struct agent *a, char *buf, size_t cap);
int agent_run(struct agent *a, struct pk_err *e);
void agent_close(struct agent *a);

/* The history database without --db. */
#define AGENT_DB_DEFAULT "perfkit-monitor.db"

/*
 * Every check agent_open() makes of cfg short of binding the port, opening
 * (or creating) the history and starting threads: the same function, so
 * what this approves the start accepts but for the port being taken, the
 * database's content or a thread. It reads the token and TLS files and
 * resolves the listen address, and writes nothing. The number of alert
 * rules in *nrules (may be NULL). Errors name the setting, and the config
 * file's line when it came from one.
 */
int agent_check(const struct monitor_config *cfg, size_t *nrules, struct pk_err *e);

#endif
