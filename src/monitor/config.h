/*
 * config - the settings of `perfkit monitor`: a config file (--config FILE)
 * of `key value` lines and `alert NAME: ...` rule lines, and the command-line
 * flags, which set the same keys through the same function (config_set), so
 * a value is checked the same way wherever it comes from and its errors name
 * where it came from ("monitor.conf:7", "--interval").
 *
 * File format (docs/monitor.md): one setting per line; blank lines and lines
 * starting with '#' ignored; leading and trailing blanks ignored; a key and
 * its value separated by blanks. Keys are the long flag names without the
 * dashes: listen, interval, db, retention-raw, retention, procfs, sysfs,
 * probe (repeatable), webhook (repeatable), on-alert, auth-token-file,
 * no-auth, tls-cert, tls-key, default-rules (on|off), and `alert` whose value
 * is a rule (`alert CpuHigh: perfkit_cpu_utilization_ratio > 0.9 for 5m`),
 * kept as text with its file:line for the rules parser (monitor/rules.h).
 *
 * Ownership: struct monitor_config is caller-owned: config_init() sets the
 * defaults, config_destroy() frees the strings and lists (a no-op on a
 * zeroed struct or NULL). No global state.
 * Errors: PK_EPARSE (a bad line or value, e->on = "file:line" or the flag),
 * PK_EUSAGE (a bad combination, from config_check), -errno reading the file.
 */
#ifndef PK_MONITOR_CONFIG_H
#define PK_MONITOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

#define CONFIG_FILE_MAX  (1u << 20)
#define CONFIG_LINE_MAX  4096u
#define CONFIG_LIST_MAX  64u /* probes, webhooks */
#define CONFIG_RULES_MAX 256u

enum config_probe_kind { CONFIG_PROBE_TCP, CONFIG_PROBE_HTTP };

struct config_probe {
    enum config_probe_kind kind;
    char *target;     /* as written: "tcp://host:port" or "http://..." */
    int64_t limit_ms; /* slower than this counts as over the limit; 0: none */
};

struct config_rule {
    char *text; /* "CpuHigh: perfkit_... > 0.9 for 5m" */
    char *on;   /* "monitor.conf:12" */
};

/* The single-valued settings whose origin messages name (config_where). */
enum config_key {
    CONFIG_LISTEN,
    CONFIG_DB,
    CONFIG_RETENTION_RAW,
    CONFIG_RETENTION,
    CONFIG_PROCFS,
    CONFIG_SYSFS,
    CONFIG_ON_ALERT,
    CONFIG_AUTH_TOKEN_FILE,
    CONFIG_NO_AUTH,
    CONFIG_TLS_CERT,
    CONFIG_TLS_KEY,
    CONFIG_NKEYS
};

struct monitor_config {
    char *listen;             /* default "127.0.0.1:9310" */
    int64_t interval_ms;      /* default 1000 */
    char *db;                 /* default "perfkit-monitor.db" */
    int64_t retention_raw_ms; /* default 48 h */
    int64_t retention_ms;     /* default 30 d */
    char *procfs, *sysfs;     /* default "/proc", "/sys" */
    struct config_probe *probes;
    size_t nprobes;
    char **webhooks;
    size_t nwebhooks;
    char *on_alert;
    char *auth_token_file;
    bool no_auth;
    char *tls_cert, *tls_key;
    bool default_rules; /* default true */
    struct config_rule *rules;
    size_t nrules;
    char *path; /* the --config file, for SIGHUP; NULL without one */
    /* where each of enum config_key was last set: its flag ("--listen") or
     * the file's line and the key ("monitor.conf:3: listen"); NULL: default */
    char *where[CONFIG_NKEYS];
};

void config_init(struct monitor_config *c);
void config_destroy(struct monitor_config *c);

/* One setting; on names its source for messages ("--interval", "f.conf:3").
 * value may be NULL for keys without one (no-auth). */
int config_set(struct monitor_config *c, const char *key, const char *value, const char *on,
               struct pk_err *e);
/* A whole file's text (need not be NUL-terminated); name is for messages. */
int config_parse(struct monitor_config *c, const char *buf, size_t len, const char *name, struct pk_err *e);
/* Reads and parses path (capped at CONFIG_FILE_MAX); remembers it in c->path. */
int config_load(struct monitor_config *c, const char *path, struct pk_err *e);
/* Cross-checks once everything is set: retention-raw <= retention, a TLS key
 * without its certificate, no-auth together with auth-token-file. Errors
 * name the setting as config_where does. */
int config_check(const struct monitor_config *c, struct pk_err *e);

/* Where setting k was set, for messages: "--listen" (also while it has its
 * default) or "monitor.conf:3: listen". */
const char *config_where(const struct monitor_config *c, enum config_key k);
/*
 * The modules that check a setting (http, store, notify) name it by its
 * flag, as e->on = "--listen" or "--auth-token-file: PATH"; this renames
 * that leading flag to where the setting was set ("monitor.conf:3: listen",
 * "monitor.conf:4: auth-token-file: PATH"). Other messages are left as
 * they are.
 */
void config_blame(const struct monitor_config *c, struct pk_err *e);

#endif
