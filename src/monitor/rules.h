/*
 * rules - alert rules of `perfkit monitor`: parsing, the default rules, and
 * their evaluation against each sample with Prometheus' alerting semantics.
 *
 * A rule is one line (docs/monitor-alerts.md):
 *
 *     NAME: METRIC[{label="v", label!="v", ...}] OP NUMBER for DUR
 *           [keep_firing_for DUR] [clear NUMBER] [severity critical|warning|info]
 *
 * OP is one of > >= < <= == !=; `label=""` matches series without that label
 * (as in Prometheus); the options come in any order, each at most once;
 * `# ...` after a blank ends the line. `clear` is hysteresis: once an alert
 * is pending or firing, it stays so while the value compares true against
 * the clear level with the same operator (`> 0.8 clear 0.7` stays active
 * while the value is > 0.7); the clear level must lie on the inactive side
 * of the threshold and needs an ordering operator.
 *
 * Evaluation (rules_eval) runs on an explicit clock, now_ms, so it is
 * deterministic under test. Each rule yields one alert per matching series
 * of the sample, identified by the rule and the series' metric_key():
 *   inactive -> pending    the condition holds (the alert is created)
 *   pending  -> firing     it has held for `for` (for 0s fires at once)
 *   pending  -> inactive   it stops holding: dropped, nothing reported
 *   firing   -> resolved   it stops holding, or has stopped for
 *                          keep_firing_for; reported once, then dropped
 * A series missing from the sample, or a NaN value, counts as false.
 * Only firing and resolved transitions are reported (struct rules_events),
 * as Prometheus sends only those to Alertmanager.
 *
 * Ownership: struct rules and struct rules_events are caller-owned:
 * _init() / _destroy(). An alert's and an event's strings belong to them.
 * Pointers from rules_alerts() stay valid until the next rules_eval,
 * rules_add*, rules_replace or rules_destroy. Nothing here is thread-safe:
 * the agent evaluates on its sampling thread and hands copies (e.g.
 * rules_alerts_json) to other threads.
 *
 * Errors: 0, -ENOMEM, PK_EPARSE for a bad rule (e->on = the `on` given,
 * usually "file:line"; e->what = "invalid alert rule"; e->why says what
 * was expected and what was found), PK_EUSAGE for a rule over the caps.
 */
#ifndef PK_MONITOR_RULES_H
#define PK_MONITOR_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "monitor/metric.h"
#include "perfkit.h"

#define RULES_MAX             256u  /* rules in a set */
#define RULES_LINE_MAX        4096u /* bytes of one rule line */
#define RULES_NAME_MAX        63u   /* an alert name */
#define RULES_METRIC_MAX      127u  /* a metric name */
#define RULES_LABEL_MAX       63u   /* a label name in a matcher */
#define RULES_VALUE_MAX       127u  /* a matcher's value, unescaped */
#define RULES_MATCHERS_MAX    8u    /* matchers in one rule */
#define RULES_ALERTS_MAX      4096u /* active alerts; beyond, series are counted in `untracked` */
#define RULES_DURATION_MAX_MS (366LL * 86400 * 1000)
#define RULES_FORMAT_MAX      4096u /* rules_format's output always fits */

enum rules_op { RULES_GT, RULES_GE, RULES_LT, RULES_LE, RULES_EQ, RULES_NE };
enum rules_match { RULES_MATCH_EQ, RULES_MATCH_NE };
enum rules_severity { RULES_WARNING, RULES_CRITICAL, RULES_INFO };
enum rules_state { RULES_INACTIVE, RULES_PENDING, RULES_FIRING, RULES_RESOLVED };

struct rules_matcher {
    char name[RULES_LABEL_MAX + 1];
    char value[RULES_VALUE_MAX + 1];
    enum rules_match op;
};

struct rule {
    char name[RULES_NAME_MAX + 1];
    char metric[RULES_METRIC_MAX + 1];
    struct rules_matcher match[RULES_MATCHERS_MAX];
    uint8_t nmatch;
    enum rules_op op;
    double threshold;
    bool has_clear;
    double clear;
    int64_t for_ms;
    int64_t keep_firing_ms;       /* 0: none */
    enum rules_severity severity; /* default RULES_WARNING */
};

/* One active alert (pending or firing). */
struct rules_alert {
    const struct rule *rule;
    const char *key; /* metric_key() of the series */
    uint8_t nlabels; /* the series' labels (without alertname, severity) */
    struct metric_label labels[METRIC_LABELS_MAX];
    enum rules_state state;  /* RULES_PENDING or RULES_FIRING */
    double value;            /* last seen value */
    int64_t active_since_ms; /* when it became pending */
    int64_t fired_at_ms;     /* when it started firing (state RULES_FIRING) */
    int64_t false_since_ms;  /* firing under keep_firing_for: false since (when false_since_set_) */
    /* private */
    size_t rule_idx_;
    uint64_t hash_;
    char *block_;
    bool seen_, holds_, false_since_set_;
};

/* A transition to report: a copy, so it outlives the alert and the rule. */
struct rules_event {
    enum rules_state state; /* RULES_FIRING or RULES_RESOLVED */
    struct rule rule;
    const char *key;
    uint8_t nlabels;
    struct metric_label labels[METRIC_LABELS_MAX];
    double value; /* last value (NaN when the series vanished before it was seen) */
    bool present; /* the series was in the sample of the transition */
    int64_t active_since_ms, fired_at_ms;
    int64_t resolved_at_ms; /* 0 for firing */
    /* private */
    char *block_;
};

struct rules_events {
    struct rules_event *v;
    size_t n, cap;
};

struct rules {
    struct rule *rule;
    size_t nrules, caprules;
    struct rules_alert *alert;
    size_t nalerts, capalerts;
    uint64_t untracked; /* series that would have become alerts past RULES_ALERTS_MAX */
};

void rules_init(struct rules *r);
/* Frees the rules and alerts; a no-op on a zeroed struct or NULL. */
void rules_destroy(struct rules *r);
void rules_events_init(struct rules_events *ev);
/* A no-op on a zeroed struct or NULL. */
void rules_events_destroy(struct rules_events *ev);
void rules_events_clear(struct rules_events *ev);

/* Parses one rule line into *out (written only on success). No state. */
int rules_parse(const char *line, const char *on, struct rule *out, struct pk_err *e);
/* The canonical text of a rule ("CpuHigh: m{cpu=\"\"} > 0.8 for 1m clear 0.7
 * severity warning"); parses back to the same rule. Returns the length
 * (truncated to cap-1; RULES_FORMAT_MAX always suffices). */
size_t rules_format(const struct rule *rule, char *buf, size_t cap);

/* Parses and appends a rule. A line equal (canonically) to an earlier rule
 * is refused, as is a rule past RULES_MAX. */
int rules_add(struct rules *r, const char *line, const char *on, struct pk_err *e);
/* Appends the default rules whose names are not in r yet, so user rules
 * added first replace the default of the same name. */
int rules_add_defaults(struct rules *r, struct pk_err *e);
/* The default rules' texts, i in 0..; NULL past the last. */
const char *rules_default_text(size_t i);

/* Evaluates every rule against set (NULL: an empty sample) at now_ms;
 * ev (may be NULL) is cleared and receives this evaluation's firing and
 * resolved transitions. On -ENOMEM the state is still consistent (an event
 * or a new alert may be lost). */
int rules_eval(struct rules *r, const struct metric_set *set, int64_t now_ms, struct rules_events *ev);

/* Moves next's rules into r (next is left empty). Alerts whose rule has the
 * same canonical text in next keep their state and timers (a reload must
 * not restart `for`); the others are dropped, and those that were firing
 * are reported resolved at now_ms in ev (may be NULL; appended to). */
int rules_replace(struct rules *r, struct rules *next, int64_t now_ms, struct rules_events *ev);

/* Active alerts, in order of creation. */
const struct rules_alert *rules_alerts(const struct rules *r, size_t *n);

/* Adds `perfkit_alerts{alertname,alertstate}` gauges (Prometheus' ALERTS,
 * counted: the number of alerts of that name in state pending / firing,
 * 0 included for every rule so the series exist) and the counter
 * `perfkit_alerts_untracked_total`. */
int rules_export(const struct rules *r, struct metric_set *set, struct pk_err *e);

/* The alerts as a JSON array for /api/alerts (see docs/monitor-alerts.md);
 * caller json_decref()s; NULL on ENOMEM. */
json_t *rules_alerts_json(const struct rules *r);

const char *rules_op_str(enum rules_op op);
const char *rules_severity_str(enum rules_severity s);
const char *rules_state_str(enum rules_state s); /* "inactive", "pending", "firing", "resolved" */
/* "1h", "1m30s", "500ms", "0s": the duration form the parser reads. buf of 32 suffices. */
char *rules_format_duration(int64_t ms, char *buf, size_t cap);
/* The shortest decimal that reads back as v ("0.8", "1e-05"). buf of 32 suffices. */
char *rules_format_number(double v, char *buf, size_t cap);
/* RFC 3339 UTC with seconds: "2026-11-24T05:00:00Z". buf of 32 suffices. */
char *rules_format_time(int64_t epoch_ms, char *buf, size_t cap);

#endif
