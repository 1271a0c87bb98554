/*
 * rules_eval - the rule set and its evaluation (rules.h): alerts created
 * pending when their condition first holds, promoted to firing in the same
 * pass once `for` has elapsed (so `for 0s` fires at once), a firing alert
 * whose condition stops holding kept firing for keep_firing_for before it
 * resolves, as Prometheus' rules/alerting.go does. Active alerts are few,
 * so they live in an array in order of creation, found by a hash of the
 * series key and the rule. Also the transitions (events), the exported
 * alert metrics and /api/alerts.
 */
#include "monitor/rules.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/err.h"

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static bool rule_equal(const struct rule *a, const struct rule *b)
{
    if (strcmp(a->name, b->name) || strcmp(a->metric, b->metric) || a->nmatch != b->nmatch ||
        a->op != b->op || a->threshold != b->threshold || a->has_clear != b->has_clear ||
        (a->has_clear && a->clear != b->clear) || a->for_ms != b->for_ms ||
        a->keep_firing_ms != b->keep_firing_ms || a->severity != b->severity)
        return false;
    for (size_t i = 0; i < a->nmatch; i++)
        if (a->match[i].op != b->match[i].op || strcmp(a->match[i].name, b->match[i].name) ||
            strcmp(a->match[i].value, b->match[i].value))
            return false;
    return true;
}

/* ---- the rule set --------------------------------------------------------- */

void rules_init(struct rules *r)
{
    memset(r, 0, sizeof(*r));
}

static void alert_free(struct rules_alert *a)
{
    free(a->block_);
    a->block_ = NULL;
}

void rules_destroy(struct rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nalerts; i++)
        alert_free(&r->alert[i]);
    free(r->alert);
    free(r->rule);
    memset(r, 0, sizeof(*r));
}

static void repoint(struct rules *r)
{
    for (size_t i = 0; i < r->nalerts; i++)
        r->alert[i].rule = &r->rule[r->alert[i].rule_idx_];
}

static int push_rule(struct rules *r, const struct rule *rule, const char *on, struct pk_err *e)
{
    if (r->nrules >= RULES_MAX)
        return err_set(e, PK_EUSAGE, on, "too many alert rules", "at most %u rules", RULES_MAX);
    for (size_t i = 0; i < r->nrules; i++)
        if (rule_equal(&r->rule[i], rule))
            return err_set(e, PK_EPARSE, on, "invalid alert rule", "the same rule as an earlier one ('%s')",
                           rule->name);
    if (r->nrules == r->caprules) {
        size_t cap = r->caprules ? r->caprules * 2 : 16;
        struct rule *v = realloc(r->rule, cap * sizeof(*v));
        if (!v)
            return err_errno(e, -ENOMEM, on, "cannot add alert rule");
        r->rule = v;
        r->caprules = cap;
        repoint(r);
    }
    r->rule[r->nrules++] = *rule;
    return 0;
}

int rules_add(struct rules *r, const char *line, const char *on, struct pk_err *e)
{
    struct rule rule;
    int rc = rules_parse(line, on, &rule, e);
    return rc ? rc : push_rule(r, &rule, on, e);
}

int rules_add_defaults(struct rules *r, struct pk_err *e)
{
    for (size_t i = 0; rules_default_text(i); i++) {
        char on[32];
        snprintf(on, sizeof(on), "default rule %zu", i + 1);
        struct rule rule;
        int rc = rules_parse(rules_default_text(i), on, &rule, e);
        if (rc)
            return rc;
        bool named = false;
        for (size_t j = 0; j < r->nrules && !named; j++)
            named = strcmp(r->rule[j].name, rule.name) == 0;
        if (!named && (rc = push_rule(r, &rule, on, e)) != 0)
            return rc;
    }
    return 0;
}

/* ---- events --------------------------------------------------------------- */

void rules_events_init(struct rules_events *ev)
{
    memset(ev, 0, sizeof(*ev));
}

void rules_events_clear(struct rules_events *ev)
{
    for (size_t i = 0; i < ev->n; i++)
        free(ev->v[i].block_);
    ev->n = 0;
}

void rules_events_destroy(struct rules_events *ev)
{
    if (!ev)
        return;
    rules_events_clear(ev);
    free(ev->v);
    memset(ev, 0, sizeof(*ev));
}

/* key and labels copied into one block; *key_out and out[] point into it. */
static char *copy_series(const char *key, size_t nlabels, const struct metric_label *labels,
                         const char **key_out, struct metric_label *out)
{
    size_t need = strlen(key) + 1;
    for (size_t i = 0; i < nlabels; i++)
        need += strlen(labels[i].name) + strlen(labels[i].value) + 2;
    char *block = malloc(need), *p = block;
    if (!block)
        return NULL;
    size_t n = strlen(key) + 1;
    memcpy(p, key, n);
    *key_out = p;
    p += n;
    for (size_t i = 0; i < nlabels; i++) {
        n = strlen(labels[i].name) + 1;
        memcpy(p, labels[i].name, n);
        out[i].name = p;
        p += n;
        n = strlen(labels[i].value) + 1;
        memcpy(p, labels[i].value, n);
        out[i].value = p;
        p += n;
    }
    return block;
}

static int push_event(struct rules_events *ev, const struct rules_alert *a, enum rules_state state,
                      int64_t now_ms)
{
    /* events are transitions: an alert tells when it fires and when it resolves */
    PK_ASSERT(state == RULES_FIRING || state == RULES_RESOLVED);
    if (!ev)
        return 0;
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 8;
        struct rules_event *v = realloc(ev->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ev->v = v;
        ev->cap = cap;
    }
    struct rules_event *x = &ev->v[ev->n];
    memset(x, 0, sizeof(*x));
    x->block_ = copy_series(a->key, a->nlabels, a->labels, &x->key, x->labels);
    if (!x->block_)
        return -ENOMEM;
    x->state = state;
    x->rule = *a->rule;
    x->nlabels = a->nlabels;
    x->value = a->value;
    x->present = a->seen_;
    x->active_since_ms = a->active_since_ms;
    x->fired_at_ms = a->fired_at_ms;
    x->resolved_at_ms = state == RULES_RESOLVED ? now_ms : 0;
    ev->n++;
    return 0;
}

/* ---- evaluation ----------------------------------------------------------- */

static bool compare(enum rules_op op, double v, double limit)
{
    if (isnan(v))
        return false;
    switch (op) {
    case RULES_GT: return v > limit;
    case RULES_GE: return v >= limit;
    case RULES_LT: return v < limit;
    case RULES_LE: return v <= limit;
    case RULES_EQ: return v == limit;
    case RULES_NE: return v != limit;
    }
    return false;
}

static bool series_matches(const struct rule *rule, const struct metric_series *m)
{
    for (size_t i = 0; i < rule->nmatch; i++) {
        const char *v = metric_label(m, rule->match[i].name);
        bool eq = strcmp(v ? v : "", rule->match[i].value) == 0;
        if (eq != (rule->match[i].op == RULES_MATCH_EQ))
            return false;
    }
    return true;
}

static struct rules_alert *find_alert(struct rules *r, size_t rule_idx, uint64_t hash, const char *key)
{
    for (size_t i = 0; i < r->nalerts; i++) {
        struct rules_alert *a = &r->alert[i];
        if (a->rule_idx_ == rule_idx && a->hash_ == hash && strcmp(a->key, key) == 0)
            return a;
    }
    return NULL;
}

static struct rules_alert *new_alert(struct rules *r, size_t rule_idx, uint64_t hash, const char *key,
                                     const struct metric_series *m, int64_t now_ms)
{
    if (r->nalerts >= RULES_ALERTS_MAX) {
        r->untracked++;
        return NULL;
    }
    if (r->nalerts == r->capalerts) {
        size_t cap = r->capalerts ? r->capalerts * 2 : 16;
        struct rules_alert *v = realloc(r->alert, cap * sizeof(*v));
        if (!v)
            return NULL;
        r->alert = v;
        r->capalerts = cap;
    }
    struct rules_alert *a = &r->alert[r->nalerts];
    memset(a, 0, sizeof(*a));
    size_t nl = m->nlabels < METRIC_LABELS_MAX ? m->nlabels : METRIC_LABELS_MAX;
    a->block_ = copy_series(key, nl, m->labels, &a->key, a->labels);
    if (!a->block_)
        return NULL;
    a->nlabels = (uint8_t)nl;
    a->rule_idx_ = rule_idx;
    a->rule = &r->rule[rule_idx];
    a->hash_ = hash;
    a->state = RULES_PENDING;
    a->active_since_ms = now_ms;
    r->nalerts++;
    return a;
}

/* Looks at one series of a rule's family: updates its alert, or creates one
 * when the condition starts to hold. */
static int eval_series(struct rules *r, size_t ri, const struct metric_set *set,
                       const struct metric_series *m, int64_t now_ms)
{
    const struct rule *rule = &r->rule[ri];
    if (!series_matches(rule, m))
        return 0;
    char stack[1024], *key = stack;
    size_t len = metric_key(set, m, stack, sizeof(stack));
    if (len >= sizeof(stack)) {
        if (!(key = malloc(len + 1)))
            return -ENOMEM;
        metric_key(set, m, key, len + 1);
    }
    uint64_t hash = fnv1a(key);
    struct rules_alert *a = find_alert(r, ri, hash, key);
    int rc = 0;
    if (a) {
        /* hysteresis: an active alert holds until the value crosses the clear level */
        a->holds_ = compare(rule->op, m->value, rule->has_clear ? rule->clear : rule->threshold);
        a->seen_ = true;
        a->value = m->value;
    } else if (compare(rule->op, m->value, rule->threshold)) {
        a = new_alert(r, ri, hash, key, m, now_ms);
        if (a) {
            a->holds_ = a->seen_ = true;
            a->value = m->value;
        } else if (r->nalerts < RULES_ALERTS_MAX) {
            rc = -ENOMEM;
        }
    }
    if (key != stack)
        free(key);
    return rc;
}

int rules_eval(struct rules *r, const struct metric_set *set, int64_t now_ms, struct rules_events *ev)
{
    int rc = 0;
    if (ev)
        rules_events_clear(ev);
    for (size_t i = 0; i < r->nalerts; i++)
        r->alert[i].seen_ = r->alert[i].holds_ = false;

    for (size_t ri = 0; set && ri < r->nrules; ri++) {
        const struct metric_family *f = metric_find_family(set, r->rule[ri].metric);
        for (size_t k = 0; f && k < f->n; k++) {
            int erc = eval_series(r, ri, set, &set->series[f->idx[k]], now_ms);
            if (erc && !rc)
                rc = erc;
        }
    }

    size_t keep = 0;
    for (size_t i = 0; i < r->nalerts; i++) {
        struct rules_alert *a = &r->alert[i];
        const struct rule *rule = a->rule;
        /* a kept alert is pending or firing (a resolved one is dropped), and
         * points at its rule (repoint after every move of the rules) */
        PK_ASSERT(a->state == RULES_PENDING || a->state == RULES_FIRING);
        PK_ASSERT(rule == &r->rule[a->rule_idx_]);
        bool drop = false;
        if (a->holds_) {
            a->false_since_set_ = false;
            a->false_since_ms = 0;
            if (a->state == RULES_PENDING && now_ms - a->active_since_ms >= rule->for_ms) {
                a->state = RULES_FIRING;
                a->fired_at_ms = now_ms;
                int erc = push_event(ev, a, RULES_FIRING, now_ms);
                if (erc && !rc)
                    rc = erc;
            }
        } else if (a->state == RULES_PENDING) {
            drop = true; /* never fired: nothing to tell anyone */
        } else {
            bool keep_firing = false;
            if (rule->keep_firing_ms > 0) {
                if (!a->false_since_set_) {
                    a->false_since_set_ = true;
                    a->false_since_ms = now_ms;
                }
                keep_firing = now_ms - a->false_since_ms < rule->keep_firing_ms;
            }
            if (!keep_firing) {
                int erc = push_event(ev, a, RULES_RESOLVED, now_ms);
                if (erc && !rc)
                    rc = erc;
                drop = true;
            }
        }
        if (drop) {
            alert_free(a);
            continue;
        }
        if (keep != i)
            r->alert[keep] = *a;
        keep++;
    }
    r->nalerts = keep;
    return rc;
}

int rules_replace(struct rules *r, struct rules *next, int64_t now_ms, struct rules_events *ev)
{
    int rc = 0;
    size_t keep = 0;
    for (size_t i = 0; i < r->nalerts; i++) {
        struct rules_alert *a = &r->alert[i];
        size_t j = 0;
        while (j < next->nrules && !rule_equal(&r->rule[a->rule_idx_], &next->rule[j]))
            j++;
        if (j == next->nrules) {
            if (a->state == RULES_FIRING) {
                int erc = push_event(ev, a, RULES_RESOLVED, now_ms);
                if (erc && !rc)
                    rc = erc;
            }
            alert_free(a);
            continue;
        }
        a->rule_idx_ = j;
        if (keep != i)
            r->alert[keep] = *a;
        keep++;
    }
    r->nalerts = keep;
    for (size_t i = 0; i < next->nalerts; i++)
        alert_free(&next->alert[i]);
    free(next->alert);
    free(r->rule);
    r->rule = next->rule;
    r->nrules = next->nrules;
    r->caprules = next->caprules;
    memset(next, 0, sizeof(*next));
    repoint(r);
    return rc;
}

const struct rules_alert *rules_alerts(const struct rules *r, size_t *n)
{
    *n = r->nalerts;
    return r->alert;
}

/* ---- export --------------------------------------------------------------- */

int rules_export(const struct rules *r, struct metric_set *set, struct pk_err *e)
{
    int rc;
    if (r->nrules) {
        uint32_t fam;
        if ((rc = metric_family_begin(
                 set, "perfkit_alerts",
                 "Alerts of perfkit's rules by name and state (Prometheus' ALERTS, counted).", METRIC_GAUGE,
                 &fam, e)) != 0)
            return rc;
        for (size_t i = 0; i < r->nrules; i++) {
            const char *name = r->rule[i].name;
            bool earlier = false;
            for (size_t j = 0; j < i && !earlier; j++)
                earlier = strcmp(r->rule[j].name, name) == 0;
            if (earlier) /* several rules may share a name: one series per name */
                continue;
            size_t pending = 0, firing = 0;
            for (size_t k = 0; k < r->nalerts; k++) {
                if (strcmp(r->alert[k].rule->name, name) != 0)
                    continue;
                if (r->alert[k].state == RULES_FIRING)
                    firing++;
                else
                    pending++;
            }
            struct metric_label l[2] = { { "alertname", name }, { "alertstate", "pending" } };
            if ((rc = metric_add(set, fam, l, 2, (double)pending, e)) != 0)
                return rc;
            l[1].value = "firing";
            if ((rc = metric_add(set, fam, l, 2, (double)firing, e)) != 0)
                return rc;
        }
    }
    return metric_add1(set, "perfkit_alerts_untracked_total",
                       "Series that met an alert condition but were not tracked: too many active alerts.",
                       METRIC_COUNTER, (double)r->untracked, e);
}

static json_t *json_time(int64_t ms)
{
    char t[32];
    return json_string(rules_format_time(ms, t, sizeof(t)));
}

static json_t *number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const struct metric_label *)a)->name, ((const struct metric_label *)b)->name);
}

json_t *rules_alerts_json(const struct rules *r)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    char buf[RULES_FORMAT_MAX], d[32];
    for (size_t i = 0; i < r->nalerts; i++) {
        const struct rules_alert *a = &r->alert[i];
        const struct rule *rule = a->rule;
        json_t *labels = json_object(), *o = json_object();
        if (!labels || !o || json_array_append_new(arr, o)) {
            json_decref(labels);
            json_decref(o);
            json_decref(arr);
            return NULL;
        }
        /* sorted by name, as in the series key, whatever order the collector used */
        struct metric_label l[METRIC_LABELS_MAX];
        memcpy(l, a->labels, a->nlabels * sizeof(l[0]));
        qsort(l, a->nlabels, sizeof(l[0]), cmp_label);
        for (size_t k = 0; k < a->nlabels; k++)
            json_object_set_new(labels, l[k].name, json_string(l[k].value));
        rules_format(rule, buf, sizeof(buf));
        json_object_set_new(o, "alertname", json_string(rule->name));
        json_object_set_new(o, "state", json_string(rules_state_str(a->state)));
        json_object_set_new(o, "severity", json_string(rules_severity_str(rule->severity)));
        json_object_set_new(o, "series", json_string(a->key));
        json_object_set_new(o, "labels", labels);
        json_object_set_new(o, "value", number_or_null(a->value));
        json_object_set_new(o, "op", json_string(rules_op_str(rule->op)));
        json_object_set_new(o, "threshold", json_real(rule->threshold));
        json_object_set_new(o, "clear", rule->has_clear ? json_real(rule->clear) : json_null());
        json_object_set_new(o, "for", json_string(rules_format_duration(rule->for_ms, d, sizeof(d))));
        json_object_set_new(o, "active_since", json_time(a->active_since_ms));
        json_object_set_new(o, "fired_at",
                            a->state == RULES_FIRING ? json_time(a->fired_at_ms) : json_null());
        json_object_set_new(o, "rule", json_string(buf));
    }
    return arr;
}
