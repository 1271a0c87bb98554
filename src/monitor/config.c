#define _GNU_SOURCE
#include "monitor/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/units.h"
#include "core/url.h"
#include "core/files.h"

#define MS_PER_S 1000

void config_init(struct monitor_config *c)
{
    memset(c, 0, sizeof(*c));
    c->interval_ms = MS_PER_S;
    c->retention_raw_ms = INT64_C(48) * 3600 * MS_PER_S;
    c->retention_ms = INT64_C(30) * 86400 * MS_PER_S;
    c->default_rules = true;
}

void config_destroy(struct monitor_config *c)
{
    if (!c)
        return;
    free(c->listen);
    free(c->db);
    free(c->procfs);
    free(c->sysfs);
    for (size_t i = 0; i < c->nprobes; i++)
        free(c->probes[i].target);
    free(c->probes);
    for (size_t i = 0; i < c->nwebhooks; i++)
        free(c->webhooks[i]);
    free(c->webhooks);
    free(c->on_alert);
    free(c->auth_token_file);
    free(c->tls_cert);
    free(c->tls_key);
    for (size_t i = 0; i < c->nrules; i++) {
        free(c->rules[i].text);
        free(c->rules[i].on);
    }
    free(c->rules);
    free(c->path);
    for (size_t i = 0; i < CONFIG_NKEYS; i++)
        free(c->where[i]);
    memset(c, 0, sizeof(*c));
}

/* The keys of enum config_key, in its order: flags are "--" and the key. */
static const char *const key_names[CONFIG_NKEYS] = {
    [CONFIG_LISTEN] = "listen",
    [CONFIG_DB] = "db",
    [CONFIG_RETENTION_RAW] = "retention-raw",
    [CONFIG_RETENTION] = "retention",
    [CONFIG_PROCFS] = "procfs",
    [CONFIG_SYSFS] = "sysfs",
    [CONFIG_ON_ALERT] = "on-alert",
    [CONFIG_AUTH_TOKEN_FILE] = "auth-token-file",
    [CONFIG_NO_AUTH] = "no-auth",
    [CONFIG_TLS_CERT] = "tls-cert",
    [CONFIG_TLS_KEY] = "tls-key",
};

static const char *const flag_names[CONFIG_NKEYS] = {
    [CONFIG_LISTEN] = "--listen",
    [CONFIG_DB] = "--db",
    [CONFIG_RETENTION_RAW] = "--retention-raw",
    [CONFIG_RETENTION] = "--retention",
    [CONFIG_PROCFS] = "--procfs",
    [CONFIG_SYSFS] = "--sysfs",
    [CONFIG_ON_ALERT] = "--on-alert",
    [CONFIG_AUTH_TOKEN_FILE] = "--auth-token-file",
    [CONFIG_NO_AUTH] = "--no-auth",
    [CONFIG_TLS_CERT] = "--tls-cert",
    [CONFIG_TLS_KEY] = "--tls-key",
};

const char *config_where(const struct monitor_config *c, enum config_key k)
{
    return c->where[k] ? c->where[k] : flag_names[k];
}

/* Remembers where key was set: on itself for a flag, "FILE:LINE: key" for a line. */
static int note_where(struct monitor_config *c, const char *key, const char *on, struct pk_err *e)
{
    for (size_t k = 0; k < CONFIG_NKEYS; k++) {
        if (strcmp(key, key_names[k]) != 0)
            continue;
        char *w = NULL;
        if (on[0] == '-' && on[1] == '-')
            w = strdup(on);
        else if (asprintf(&w, "%s: %s", on, key) < 0)
            w = NULL;
        if (!w)
            return err_errno(e, -ENOMEM, on, "cannot read the configuration");
        free(c->where[k]);
        c->where[k] = w;
        return 0;
    }
    return 0;
}

void config_blame(const struct monitor_config *c, struct pk_err *e)
{
    if (!e)
        return;
    for (size_t k = 0; k < CONFIG_NKEYS; k++) {
        size_t n = strlen(flag_names[k]);
        if (!c->where[k] || strncmp(e->on, flag_names[k], n) != 0 || (e->on[n] != '\0' && e->on[n] != ':'))
            continue;
        char rest[sizeof(e->on)];
        snprintf(rest, sizeof(rest), "%s", e->on + n);
        snprintf(e->on, sizeof(e->on), "%s%s", c->where[k], rest);
        return;
    }
}

static int set_str(char **dst, const char *value, const char *on, const char *key, struct pk_err *e)
{
    if (!value || !*value)
        return err_set(e, PK_EPARSE, on, "missing value", "'%s' needs a value", key);
    char *s = strdup(value);
    if (!s)
        return err_errno(e, -ENOMEM, on, "cannot read the configuration");
    free(*dst);
    *dst = s;
    return 0;
}

/* A duration in whole milliseconds within [min_ms, max_ms]. */
static int set_ms(int64_t *dst, const char *value, const char *on, const char *key, int64_t min_ms,
                  int64_t max_ms, struct pk_err *e)
{
    if (!value || !*value)
        return err_set(e, PK_EPARSE, on, "missing value", "'%s' needs a duration (e.g. 1s, 500ms, 48h)", key);
    double s;
    int rc = units_parse_duration(value, on, &s, e);
    if (rc)
        return rc;
    double ms = round(s * 1000.0);
    if (!(ms >= (double)min_ms && ms <= (double)max_ms)) {
        char lo[32], hi[32];
        return err_set(e, PK_EPARSE, on, "duration out of range", "'%s %s' is not between %s and %s", key,
                       value, units_format_duration((double)min_ms / 1000, lo, sizeof(lo)),
                       units_format_duration((double)max_ms / 1000, hi, sizeof(hi)));
    }
    *dst = (int64_t)ms;
    return 0;
}

static int grow(void **v, size_t n, size_t size, const char *on, const char *what, struct pk_err *e)
{
    if (n >= CONFIG_LIST_MAX && strcmp(what, "alert rules") != 0)
        return err_set(e, PK_EPARSE, on, "too many entries", "at most %u %s", CONFIG_LIST_MAX, what);
    if (n >= CONFIG_RULES_MAX)
        return err_set(e, PK_EPARSE, on, "too many entries", "at most %u %s", CONFIG_RULES_MAX, what);
    void *p = realloc(*v, (n + 1) * size);
    if (!p)
        return err_errno(e, -ENOMEM, on, "cannot read the configuration");
    *v = p;
    return 0;
}

/* "tcp://host:port [limit DUR]" or "http(s)://... [limit DUR]". */
static int add_probe(struct monitor_config *c, const char *value, const char *on, struct pk_err *e)
{
    if (!value || !*value)
        return err_set(e, PK_EPARSE, on, "missing value",
                       "'probe' needs a target: tcp://HOST:PORT or http://HOST[:PORT]/PATH");
    char target[URL_MAX + 1];
    const char *sp = strpbrk(value, " \t");
    size_t tlen = sp ? (size_t)(sp - value) : strlen(value);
    if (tlen > URL_MAX)
        return err_set(e, PK_EPARSE, on, "invalid probe", "the target is over %u bytes", URL_MAX);
    memcpy(target, value, tlen);
    target[tlen] = '\0';
    struct config_probe p = { 0 };
    if (strncmp(target, "tcp://", 6) == 0) {
        /* checked as an http URL with the same host and port rules */
        char as_url[URL_MAX + 16];
        struct url u;
        snprintf(as_url, sizeof(as_url), "http://%s", target + 6);
        int rc = url_parse(as_url, on, &u, e);
        if (rc)
            return rc;
        if (strcmp(u.target, "/") != 0 || !strrchr(target + 6, ':'))
            return err_set(e, PK_EPARSE, on, "invalid probe", "'%s': a tcp probe is tcp://HOST:PORT", target);
        p.kind = CONFIG_PROBE_TCP;
    } else if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0) {
        struct url u;
        int rc = url_parse(target, on, &u, e);
        if (rc)
            return rc;
        p.kind = CONFIG_PROBE_HTTP;
    } else {
        char q[64];
        return err_set(e, PK_EPARSE, on, "invalid probe", "'%s': expected tcp://HOST:PORT or http://URL",
                       err_quote(target, tlen, q, sizeof(q)));
    }
    if (sp) {
        const char *rest = sp;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        if (strncmp(rest, "limit", 5) != 0 || (rest[5] != ' ' && rest[5] != '\t')) {
            char q[64];
            return err_set(e, PK_EPARSE, on, "invalid probe",
                           "expected 'limit DURATION' after the target, got '%s'",
                           err_quote(rest, strlen(rest), q, sizeof(q)));
        }
        rest += 5;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        int rc = set_ms(&p.limit_ms, rest, on, "limit", 1, INT64_C(60) * MS_PER_S, e);
        if (rc)
            return rc;
    }
    int rc = grow((void **)&c->probes, c->nprobes, sizeof(*c->probes), on, "probes", e);
    if (rc)
        return rc;
    if (!(p.target = strdup(target)))
        return err_errno(e, -ENOMEM, on, "cannot read the configuration");
    c->probes[c->nprobes++] = p;
    return 0;
}

static int add_webhook(struct monitor_config *c, const char *value, const char *on, struct pk_err *e)
{
    if (!value || !*value)
        return err_set(e, PK_EPARSE, on, "missing value", "'webhook' needs a URL");
    struct url u;
    int rc = url_parse(value, on, &u, e);
    if (rc)
        return rc;
    if ((rc = grow((void **)&c->webhooks, c->nwebhooks, sizeof(char *), on, "webhooks", e)) != 0)
        return rc;
    if (!(c->webhooks[c->nwebhooks] = strdup(value)))
        return err_errno(e, -ENOMEM, on, "cannot read the configuration");
    c->nwebhooks++;
    return 0;
}

static int add_rule(struct monitor_config *c, const char *value, const char *on, struct pk_err *e)
{
    if (!value || !*value)
        return err_set(
            e, PK_EPARSE, on, "missing value",
            "'alert' needs a rule: NAME: EXPR for DUR [keep_firing_for DUR] [clear VALUE] [severity S]");
    int rc = grow((void **)&c->rules, c->nrules, sizeof(*c->rules), on, "alert rules", e);
    if (rc)
        return rc;
    struct config_rule r = { strdup(value), strdup(on) };
    if (!r.text || !r.on) {
        free(r.text);
        free(r.on);
        return err_errno(e, -ENOMEM, on, "cannot read the configuration");
    }
    c->rules[c->nrules++] = r;
    return 0;
}

static int set_key(struct monitor_config *c, const char *key, const char *value, const char *on,
                   struct pk_err *e);

int config_set(struct monitor_config *c, const char *key, const char *value, const char *on, struct pk_err *e)
{
    int rc = set_key(c, key, value, on, e);
    return rc ? rc : note_where(c, key, on, e);
}

static int set_key(struct monitor_config *c, const char *key, const char *value, const char *on,
                   struct pk_err *e)
{
    if (!strcmp(key, "listen"))
        return set_str(&c->listen, value, on, key, e);
    if (!strcmp(key, "interval"))
        return set_ms(&c->interval_ms, value, on, key, 100, INT64_C(3600) * MS_PER_S, e);
    if (!strcmp(key, "db"))
        return set_str(&c->db, value, on, key, e);
    if (!strcmp(key, "retention-raw"))
        return set_ms(&c->retention_raw_ms, value, on, key, INT64_C(60) * MS_PER_S,
                      INT64_C(3650) * 86400 * MS_PER_S, e);
    if (!strcmp(key, "retention"))
        return set_ms(&c->retention_ms, value, on, key, INT64_C(3600) * MS_PER_S,
                      INT64_C(3650) * 86400 * MS_PER_S, e);
    if (!strcmp(key, "procfs"))
        return set_str(&c->procfs, value, on, key, e);
    if (!strcmp(key, "sysfs"))
        return set_str(&c->sysfs, value, on, key, e);
    if (!strcmp(key, "probe"))
        return add_probe(c, value, on, e);
    if (!strcmp(key, "webhook"))
        return add_webhook(c, value, on, e);
    if (!strcmp(key, "on-alert"))
        return set_str(&c->on_alert, value, on, key, e);
    if (!strcmp(key, "auth-token-file"))
        return set_str(&c->auth_token_file, value, on, key, e);
    if (!strcmp(key, "tls-cert"))
        return set_str(&c->tls_cert, value, on, key, e);
    if (!strcmp(key, "tls-key"))
        return set_str(&c->tls_key, value, on, key, e);
    if (!strcmp(key, "alert"))
        return add_rule(c, value, on, e);
    if (!strcmp(key, "no-auth")) {
        if (value && *value)
            return err_set(e, PK_EPARSE, on, "unexpected value", "'no-auth' takes no value");
        c->no_auth = true;
        return 0;
    }
    if (!strcmp(key, "default-rules")) {
        if (value && !strcmp(value, "on"))
            c->default_rules = true;
        else if (value && !strcmp(value, "off"))
            c->default_rules = false;
        else
            return err_set(e, PK_EPARSE, on, "invalid value", "'default-rules' is 'on' or 'off'");
        return 0;
    }
    char q[64];
    return err_set(e, PK_EPARSE, on, "unknown setting",
                   "'%s' (expected listen, interval, db, retention-raw, retention, procfs, sysfs, probe, "
                   "webhook, on-alert, auth-token-file, no-auth, tls-cert, tls-key, default-rules or alert)",
                   err_quote(key, strlen(key), q, sizeof(q)));
}

static bool blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

int config_parse(struct monitor_config *c, const char *buf, size_t len, const char *name, struct pk_err *e)
{
    if (len > CONFIG_FILE_MAX)
        return err_set(e, PK_EPARSE, name, "configuration too large", "over %u bytes", CONFIG_FILE_MAX);
    char line[CONFIG_LINE_MAX + 1], on[512];
    size_t pos = 0;
    unsigned lineno = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t n = end - pos;
        lineno++;
        snprintf(on, sizeof(on), "%s:%u", name, lineno);
        if (n && buf[pos + n - 1] == '\r')
            n--;
        if (n > CONFIG_LINE_MAX)
            return err_set(e, PK_EPARSE, on, "line too long", "over %u bytes", CONFIG_LINE_MAX);
        memcpy(line, buf + pos, n);
        line[n] = '\0';
        pos = nl ? end + 1 : len;
        for (size_t i = 0; i < n; i++)
            if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
                return err_set(e, PK_EPARSE, on, "invalid character", "control byte 0x%02x at column %zu",
                               (unsigned char)line[i], i + 1);
        char *p = line;
        while (blank(*p))
            p++;
        char *q = p + strlen(p);
        while (q > p && blank(q[-1]))
            *--q = '\0';
        if (!*p || *p == '#')
            continue;
        char *key = p;
        while (*p && !blank(*p))
            p++;
        if (*p) {
            *p++ = '\0';
            while (blank(*p))
                p++;
        }
        int rc = config_set(c, key, *p ? p : NULL, on, e);
        if (rc)
            return rc;
    }
    return 0;
}

int config_load(struct monitor_config *c, const char *path, struct pk_err *e)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = files_read_all(path, CONFIG_FILE_MAX, &buf, &len, e);
    if (rc)
        return rc;
    rc = config_parse(c, buf, len, path, e);
    free(buf);
    if (rc == 0) {
        char *p = strdup(path);
        if (!p)
            return err_errno(e, -ENOMEM, path, "cannot read the configuration");
        free(c->path);
        c->path = p;
    }
    return rc;
}

int config_check(const struct monitor_config *c, struct pk_err *e)
{
    if (c->retention_raw_ms > c->retention_ms)
        return err_set(e, PK_EUSAGE, config_where(c, CONFIG_RETENTION_RAW), "inconsistent retention",
                       "raw samples cannot be kept longer than the rollups (--retention)");
    if (!!c->tls_cert != !!c->tls_key) {
        /* the one given, where a file gave it; else the flag that is missing */
        enum config_key given = c->tls_cert ? CONFIG_TLS_CERT : CONFIG_TLS_KEY;
        const char *on = c->where[given] && strncmp(c->where[given], "--", 2) != 0 ? c->where[given]
                         : c->tls_cert                                             ? "--tls-key"
                                                                                   : "--tls-cert";
        return err_set(e, PK_EUSAGE, on, "incomplete TLS setting", "give both --tls-cert and --tls-key");
    }
    if (c->no_auth && c->auth_token_file)
        return err_set(e, PK_EUSAGE, config_where(c, CONFIG_NO_AUTH), "contradictory settings",
                       "--no-auth and --auth-token-file together");
    return 0;
}
