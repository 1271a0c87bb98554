/*
 * rules - the text of alert rules (rules.h): the parser, the formatting of
 * rules, numbers, durations and times, and the default rules. The rule set
 * and its evaluation are in rules_eval.c.
 *
 * The parser is a cursor over the line that reads one item at a time and,
 * when an item is not what the grammar wants there, says what it wanted and
 * quotes the next word it found, so a person can fix the line from the
 * message alone. Durations go through core/units, with its reason folded in.
 */
#include "monitor/rules.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/text.h"
#include "core/units.h"

#define WHAT        "invalid alert rule"
#define TOKEN_QUOTE 40

/* ---- small helpers -------------------------------------------------------- */

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}
static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}
static bool is_alpha_(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}
static bool is_ident(char ch)
{
    return is_alpha_(ch) || is_digit(ch);
}

const char *rules_op_str(enum rules_op op)
{
    switch (op) {
    case RULES_GT: return ">";
    case RULES_GE: return ">=";
    case RULES_LT: return "<";
    case RULES_LE: return "<=";
    case RULES_EQ: return "==";
    case RULES_NE: return "!=";
    }
    return "?";
}

const char *rules_severity_str(enum rules_severity s)
{
    switch (s) {
    case RULES_CRITICAL: return "critical";
    case RULES_WARNING: return "warning";
    case RULES_INFO: return "info";
    }
    return "warning";
}

const char *rules_state_str(enum rules_state s)
{
    switch (s) {
    case RULES_INACTIVE: return "inactive";
    case RULES_PENDING: return "pending";
    case RULES_FIRING: return "firing";
    case RULES_RESOLVED: return "resolved";
    }
    return "inactive";
}

char *rules_format_number(double v, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    if (v == 0) { /* also -0: "0" reads back equal */
        snprintf(buf, cap, "0");
        return buf;
    }
    /* the fewest digits that read back as the same double: 0.8, not
     * 0.80000000000000004; plain decimals where %g would write 1e+01 */
    if (fabs(v) >= 1e-4 && fabs(v) < 1e15) {
        for (int d = 0; d <= 20; d++) {
            snprintf(buf, cap, "%.*f", d, v);
            if (strtod(buf, NULL) == v)
                return buf;
        }
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

char *rules_format_duration(int64_t ms, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    if (ms <= 0) {
        snprintf(buf, cap, "0s");
        return buf;
    }
    static const struct {
        const char *unit;
        int64_t ms;
    } parts[] = {
        { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
    };
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        int64_t q = ms / parts[i].ms;
        if (!q)
            continue;
        ms -= q * parts[i].ms;
        int n = snprintf(buf + off, cap - off, "%lld%s", (long long)q, parts[i].unit);
        if (n < 0 || (size_t)n >= cap - off)
            break;
        off += (size_t)n;
    }
    return buf;
}

char *rules_format_time(int64_t epoch_ms, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    int64_t s = epoch_ms / 1000 - (epoch_ms % 1000 < 0 ? 1 : 0);
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, cap, "?");
    return buf;
}

/* ---- parser --------------------------------------------------------------- */

struct cur {
    const char *s;
    size_t n, pos;
    const char *on;
    struct pk_err *e;
};

static int fail(const struct cur *c, const char *why_fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct cur *c, const char *why_fmt, ...)
{
    if (!c->e)
        return PK_EPARSE;
    char why[sizeof(c->e->why)];
    va_list ap;
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    return err_set(c->e, PK_EPARSE, c->on, WHAT, "%s", why);
}

/* Blanks, and a trailing "# comment" when a blank precedes it. */
static void skip_ws(struct cur *c)
{
    while (c->pos < c->n && is_blank(c->s[c->pos]))
        c->pos++;
    if (c->pos < c->n && c->s[c->pos] == '#' && c->pos > 0 && is_blank(c->s[c->pos - 1]))
        c->pos = c->n;
}

static bool at_end(const struct cur *c)
{
    return c->pos >= c->n;
}
static char peek(const struct cur *c)
{
    return c->pos < c->n ? c->s[c->pos] : '\0';
}

static size_t word_len(const struct cur *c)
{
    size_t i = c->pos;
    while (i < c->n && !is_blank(c->s[i]))
        i++;
    return i - c->pos;
}

/* What the cursor is looking at, for "got ...": the next word, quoted. */
static const char *got(const struct cur *c, char *buf, size_t cap)
{
    if (at_end(c)) {
        snprintf(buf, cap, "the end of the line");
        return buf;
    }
    char q[TOKEN_QUOTE + 8];
    size_t n = word_len(c);
    bool cut = n > TOKEN_QUOTE;
    snprintf(buf, cap, "'%s%s'", err_quote(c->s + c->pos, cut ? TOKEN_QUOTE : n, q, sizeof(q)),
             cut ? "..." : "");
    return buf;
}

static size_t ident_len(const struct cur *c, bool colon)
{
    size_t i = c->pos;
    if (i < c->n && (is_alpha_(c->s[i]) || (colon && c->s[i] == ':'))) {
        i++;
        while (i < c->n && (is_ident(c->s[i]) || (colon && c->s[i] == ':')))
            i++;
    }
    return i - c->pos;
}

static bool take(struct cur *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->n - c->pos >= n && memcmp(c->s + c->pos, lit, n) == 0) {
        c->pos += n;
        return true;
    }
    return false;
}

/* A keyword: lit followed by a blank or the end. */
static bool take_word(struct cur *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->n - c->pos >= n && memcmp(c->s + c->pos, lit, n) == 0 &&
        (c->pos + n == c->n || is_blank(c->s[c->pos + n]))) {
        c->pos += n;
        return true;
    }
    return false;
}

/* [+-]digits[.digits][e[+-]digits], or .digits; the whole word. */
static int parse_number(struct cur *c, const char *after, double *out)
{
    char g[TOKEN_QUOTE + 16];
    size_t n = word_len(c);
    const char *s = c->s + c->pos;
    size_t i = 0, digits = 0;
    bool ok = n > 0 && n < 64;
    if (ok && (s[i] == '+' || s[i] == '-'))
        i++;
    while (ok && i < n && is_digit(s[i]))
        i++, digits++;
    if (ok && i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i]))
            i++, digits++;
    }
    if (ok && digits && i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1, ed = 0;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        while (j < n && is_digit(s[j]))
            j++, ed++;
        if (ed)
            i = j;
    }
    ok = ok && digits && i == n;
    double v = 0;
    if (ok) {
        char num[64];
        memcpy(num, s, n);
        num[n] = '\0';
        errno = 0;
        v = strtod(num, NULL);
        if (!isfinite(v) || errno == ERANGE) {
            if (isfinite(v) && fabs(v) < 1) /* underflow: a tiny number is near enough to 0 */
                v = 0;
            else
                return fail(c, "the number %s after %s is out of range", got(c, g, sizeof(g)), after);
        }
    }
    if (!ok)
        return fail(c, "expected a number after %s, got %s", after, got(c, g, sizeof(g)));
    c->pos += n;
    *out = v;
    return 0;
}

static int parse_duration(struct cur *c, const char *kw, int64_t *out_ms)
{
    char g[TOKEN_QUOTE + 16];
    skip_ws(c);
    size_t n = word_len(c);
    if (n == 0 || n >= 64)
        return fail(c, "expected a duration after '%s' (e.g. 30s, 5m, 1h), got %s", kw, got(c, g, sizeof(g)));
    char text[64];
    memcpy(text, c->s + c->pos, n);
    text[n] = '\0';
    struct pk_err ue;
    pk_err_clear(&ue);
    double sec;
    int rc = units_parse_duration(text, c->on, &sec, &ue);
    if (rc == -ENOMEM)
        return err_errno(c->e, rc, c->on, WHAT);
    if (rc)
        return fail(c, "expected a duration after '%s' (e.g. 30s, 5m, 1h), got %s: %s", kw,
                    got(c, g, sizeof(g)), ue.why);
    if (sec * 1000.0 > (double)RULES_DURATION_MAX_MS)
        return fail(c, "the duration %s after '%s' is longer than 366d", got(c, g, sizeof(g)), kw);
    c->pos += n;
    *out_ms = llround(sec * 1000.0);
    return 0;
}

static int parse_value(struct cur *c, const char *label, char *out)
{
    char g[TOKEN_QUOTE + 16];
    if (!take(c, "\""))
        return fail(c, "expected a quoted value after '%s=', got %s", label, got(c, g, sizeof(g)));
    size_t o = 0;
    for (;;) {
        if (at_end(c))
            return fail(c, "the value of '%s' has no closing '\"'", label);
        char ch = c->s[c->pos++];
        if (ch == '"')
            break;
        if (ch == '\\') {
            char esc = peek(c);
            if (esc == '\\' || esc == '"')
                ch = esc;
            else if (esc == 'n')
                ch = '\n';
            else
                return fail(c, "unknown escape '\\%c' in the value of '%s' (use \\\\, \\\" or \\n)",
                            esc >= 0x20 && esc < 0x7f ? esc : '?', label);
            c->pos++;
        }
        if (o >= RULES_VALUE_MAX)
            return fail(c, "the value of '%s' is longer than %u bytes", label, RULES_VALUE_MAX);
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

static int parse_matchers(struct cur *c, struct rule *r)
{
    char g[TOKEN_QUOTE + 16];
    c->pos++; /* '{' */
    for (;;) {
        skip_ws(c);
        if (take(c, "}"))
            return 0;
        size_t n = ident_len(c, false);
        if (n == 0)
            return fail(c, "expected a label name or '}' in the matchers of '%s', got %s", r->metric,
                        got(c, g, sizeof(g)));
        if (n > RULES_LABEL_MAX)
            return fail(c, "the label name %s is longer than %u characters", got(c, g, sizeof(g)),
                        RULES_LABEL_MAX);
        if (n >= 2 && c->s[c->pos] == '_' && c->s[c->pos + 1] == '_') {
            char q[TOKEN_QUOTE + 8];
            return fail(c,
                        "the label name '%s' is reserved: names starting with '__' are Prometheus' own "
                        "(write the metric name before '{')",
                        err_quote(c->s + c->pos, n, q, sizeof(q)));
        }
        if (r->nmatch >= RULES_MATCHERS_MAX)
            return fail(c, "more than %u label matchers", RULES_MATCHERS_MAX);
        struct rules_matcher *m = &r->match[r->nmatch];
        memcpy(m->name, c->s + c->pos, n);
        m->name[n] = '\0';
        c->pos += n;
        skip_ws(c);
        if (take(c, "=~") || take(c, "!~"))
            return fail(c, "regular expression matchers are not supported (use '=' or '!=' on '%s')",
                        m->name);
        if (take(c, "!="))
            m->op = RULES_MATCH_NE;
        else if (take(c, "="))
            m->op = RULES_MATCH_EQ;
        else
            return fail(c, "expected '=' or '!=' after the label '%s', got %s", m->name,
                        got(c, g, sizeof(g)));
        skip_ws(c);
        int rc = parse_value(c, m->name, m->value);
        if (rc)
            return rc;
        r->nmatch++;
        skip_ws(c);
        if (take(c, "}"))
            return 0;
        if (!take(c, ","))
            return fail(c, "expected ',' or '}' after the matcher on '%s', got %s", m->name,
                        got(c, g, sizeof(g)));
    }
}

static int parse_op(struct cur *c, enum rules_op *op)
{
    static const struct {
        const char *text;
        enum rules_op op;
    } ops[] = {
        { ">=", RULES_GE }, { "<=", RULES_LE }, { "==", RULES_EQ },
        { "!=", RULES_NE }, { ">", RULES_GT },  { "<", RULES_LT },
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (take(c, ops[i].text)) {
            *op = ops[i].op;
            return 0;
        }
    char g[TOKEN_QUOTE + 16];
    return fail(c, "expected a comparison (> >= < <= == !=) after the metric, got %s", got(c, g, sizeof(g)));
}

static int check_clear(const struct cur *c, const struct rule *r)
{
    char t[32], v[32];
    rules_format_number(r->threshold, t, sizeof(t));
    rules_format_number(r->clear, v, sizeof(v));
    switch (r->op) {
    case RULES_GT:
    case RULES_GE:
        if (!(r->clear < r->threshold))
            return fail(
                c,
                "'clear %s' must be below the threshold %s: with '%s' the alert clears when the value "
                "falls to the clear level",
                v, t, rules_op_str(r->op));
        return 0;
    case RULES_LT:
    case RULES_LE:
        if (!(r->clear > r->threshold))
            return fail(
                c,
                "'clear %s' must be above the threshold %s: with '%s' the alert clears when the value "
                "rises to the clear level",
                v, t, rules_op_str(r->op));
        return 0;
    case RULES_EQ:
    case RULES_NE: break;
    }
    return fail(c, "'clear' needs an ordering comparison (> >= < <=), not '%s'", rules_op_str(r->op));
}

int rules_parse(const char *line, const char *on, struct rule *out, struct pk_err *e)
{
    struct cur c = { line ? line : "", 0, 0, on, e };
    char g[TOKEN_QUOTE + 16];
    c.n = strnlen(c.s, RULES_LINE_MAX + 1);
    if (c.n > RULES_LINE_MAX)
        return fail(&c, "the rule is longer than %u bytes", RULES_LINE_MAX);

    struct rule r;
    memset(&r, 0, sizeof(r));
    r.severity = RULES_WARNING;

    skip_ws(&c);
    if (at_end(&c))
        return fail(&c, "expected 'NAME: METRIC OP NUMBER for DURATION', got an empty rule");
    size_t n = ident_len(&c, false);
    if (n == 0)
        return fail(&c, "expected an alert name ([a-zA-Z_][a-zA-Z0-9_]*) at the start, got %s",
                    got(&c, g, sizeof(g)));
    if (n > RULES_NAME_MAX)
        return fail(&c, "the alert name %s is longer than %u characters", got(&c, g, sizeof(g)),
                    RULES_NAME_MAX);
    memcpy(r.name, c.s + c.pos, n);
    c.pos += n;
    skip_ws(&c);
    if (!take(&c, ":"))
        return fail(&c, "expected ':' after the alert name '%s', got %s", r.name, got(&c, g, sizeof(g)));

    skip_ws(&c);
    n = ident_len(&c, true);
    if (n == 0)
        return fail(&c, "expected a metric name after '%s:', got %s", r.name, got(&c, g, sizeof(g)));
    if (n > RULES_METRIC_MAX)
        return fail(&c, "the metric name %s is longer than %u characters", got(&c, g, sizeof(g)),
                    RULES_METRIC_MAX);
    memcpy(r.metric, c.s + c.pos, n);
    c.pos += n;
    skip_ws(&c);
    int rc;
    if (peek(&c) == '{' && (rc = parse_matchers(&c, &r)) != 0)
        return rc;

    skip_ws(&c);
    if ((rc = parse_op(&c, &r.op)) != 0)
        return rc;
    skip_ws(&c);
    char after[8];
    snprintf(after, sizeof(after), "'%s'", rules_op_str(r.op));
    if ((rc = parse_number(&c, after, &r.threshold)) != 0)
        return rc;

    skip_ws(&c);
    if (!take_word(&c, "for"))
        return fail(&c, "expected 'for DURATION' after the expression, got %s", got(&c, g, sizeof(g)));
    if ((rc = parse_duration(&c, "for", &r.for_ms)) != 0)
        return rc;

    bool seen_keep = false, seen_severity = false;
    for (;;) {
        skip_ws(&c);
        if (at_end(&c))
            break;
        if (take_word(&c, "keep_firing_for")) {
            if (seen_keep)
                return fail(&c, "'keep_firing_for' given twice");
            seen_keep = true;
            if ((rc = parse_duration(&c, "keep_firing_for", &r.keep_firing_ms)) != 0)
                return rc;
        } else if (take_word(&c, "clear")) {
            if (r.has_clear)
                return fail(&c, "'clear' given twice");
            r.has_clear = true;
            skip_ws(&c);
            if ((rc = parse_number(&c, "'clear'", &r.clear)) != 0)
                return rc;
        } else if (take_word(&c, "severity")) {
            if (seen_severity)
                return fail(&c, "'severity' given twice");
            seen_severity = true;
            skip_ws(&c);
            if (take_word(&c, "critical"))
                r.severity = RULES_CRITICAL;
            else if (take_word(&c, "warning"))
                r.severity = RULES_WARNING;
            else if (take_word(&c, "info"))
                r.severity = RULES_INFO;
            else
                return fail(&c, "expected critical, warning or info after 'severity', got %s",
                            got(&c, g, sizeof(g)));
        } else {
            return fail(&c, "expected 'keep_firing_for DURATION', 'clear VALUE' or 'severity LEVEL', got %s",
                        got(&c, g, sizeof(g)));
        }
    }
    if (r.has_clear && (rc = check_clear(&c, &r)) != 0)
        return rc;
    *out = r;
    return 0;
}

size_t rules_format(const struct rule *r, char *buf, size_t cap)
{
    char t[32], d[32];
    size_t off = text_append(buf, cap, 0, "%s: %s", r->name, r->metric);
    if (r->nmatch) {
        off = text_append(buf, cap, off, "{");
        for (size_t i = 0; i < r->nmatch; i++) {
            const struct rules_matcher *m = &r->match[i];
            off = text_append(buf, cap, off, "%s%s%s\"", i ? "," : "", m->name,
                              m->op == RULES_MATCH_NE ? "!=" : "=");
            off = metric_escape_value(buf, cap, off, m->value);
            off = text_append(buf, cap, off, "\"");
        }
        off = text_append(buf, cap, off, "}");
    }
    off = text_append(buf, cap, off, " %s %s for %s", rules_op_str(r->op),
                      rules_format_number(r->threshold, t, sizeof(t)),
                      rules_format_duration(r->for_ms, d, sizeof(d)));
    if (r->keep_firing_ms)
        off = text_append(buf, cap, off, " keep_firing_for %s",
                          rules_format_duration(r->keep_firing_ms, d, sizeof(d)));
    if (r->has_clear)
        off = text_append(buf, cap, off, " clear %s", rules_format_number(r->clear, t, sizeof(t)));
    off = text_append(buf, cap, off, " severity %s", rules_severity_str(r->severity));
    if (cap && off >= cap)
        buf[cap - 1] = '\0';
    return off;
}

/* ---- the default rules ---------------------------------------------------- */

/* Explained one by one in docs/monitor-alerts.md; keep the two in step. */
static const char *const default_rules[] = {
    "CpuHigh: perfkit_cpu_utilization_ratio{cpu=\"\"} > 0.8 for 5m clear 0.7 severity warning",
    "MemoryHigh: perfkit_memory_used_ratio > 0.8 for 5m clear 0.75 severity warning",
    "FilesystemFull: perfkit_filesystem_used_ratio > 0.8 for 5m clear 0.78 severity warning",
    "ProcessLeak: perfkit_processes_growth_per_minute > 5 for 10m severity warning",
    "ProbeFailing: perfkit_probe_success == 0 for 30s severity critical",
    "ProbeSlow: perfkit_probe_over_limit == 1 for 1m severity warning",
};

const char *rules_default_text(size_t i)
{
    return i < sizeof(default_rules) / sizeof(default_rules[0]) ? default_rules[i] : NULL;
}
