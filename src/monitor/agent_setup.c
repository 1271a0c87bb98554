/*
 * agent_setup - the settings of `perfkit monitor` checked as the start needs
 * them (agent_impl.h), by one function that the start and --check-config
 * both run, so the check approves exactly what the start accepts short of
 * binding the port, writing the history and starting threads.
 */
#define _GNU_SOURCE
#include <string.h>

#include "core/err.h"
#include "core/files.h"
#include "monitor/agent.h"
#include "monitor/agent_impl.h"
#include "monitor/probe.h"
#include "monitor/store.h"

#define TOKEN_FILE_MAX 8192u
#define PEM_FILE_MAX   (1u << 20)

int agent_load_rules(const struct monitor_config *cfg, struct rules *r, struct pk_err *e)
{
    for (size_t i = 0; i < cfg->nrules; i++) {
        int rc = rules_add(r, cfg->rules[i].text, cfg->rules[i].on, e);
        if (rc)
            return rc;
    }
    if (cfg->default_rules)
        return rules_add_defaults(r, e);
    return 0;
}

/* One file of a setting, named by its flag ("--tls-cert: PATH: ...") for config_blame. */
static int read_setting_file(const char *path, size_t cap, const char *flag, char **out, size_t *len,
                             struct pk_err *e)
{
    int rc = files_read_all(path, cap, out, len, e);
    if (rc) {
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "%s: ", flag);
        err_prefix_on(e, prefix);
    }
    return rc;
}

static int read_secrets(const struct monitor_config *cfg, struct agent_setup *s, struct pk_err *e)
{
    int rc;
    size_t len;
    if (cfg->auth_token_file && (rc = read_setting_file(cfg->auth_token_file, TOKEN_FILE_MAX,
                                                        "--auth-token-file", &s->token, &s->token_len, e)))
        return rc;
    if (cfg->tls_cert &&
        ((rc = read_setting_file(cfg->tls_cert, PEM_FILE_MAX, "--tls-cert", &s->cert, &len, e)) ||
         (rc = read_setting_file(cfg->tls_key, PEM_FILE_MAX, "--tls-key", &s->key, &s->key_len, e))))
        return rc;
    return 0;
}

void agent_notify_config(const struct monitor_config *cfg, struct notify_config *nc)
{
    memset(nc, 0, sizeof(*nc));
    nc->on_alert = cfg->on_alert;
    nc->webhooks = (const char *const *)cfg->webhooks;
    nc->nwebhooks = cfg->nwebhooks;
    nc->receiver = "perfkit";
}

void agent_setup_destroy(struct agent_setup *s)
{
    rules_destroy(&s->rules);
    if (s->token) {
        explicit_bzero(s->token, s->token_len);
        free(s->token);
    }
    free(s->cert);
    if (s->key) {
        explicit_bzero(s->key, s->key_len);
        free(s->key);
    }
    memset(s, 0, sizeof(*s));
}

int agent_setup_init(struct agent_setup *s, const struct monitor_config *cfg, struct pk_err *e)
{
    memset(s, 0, sizeof(*s));
    rules_init(&s->rules);
    http_opts_init(&s->http);
    struct notify_config nc;
    agent_notify_config(cfg, &nc);
    int rc;
    if ((rc = config_check(cfg, e)) != 0 || (rc = agent_load_rules(cfg, &s->rules, e)) != 0 ||
        (rc = store_check_path(cfg->db ? cfg->db : AGENT_DB_DEFAULT, e)) != 0 ||
        (rc = prober_check(cfg->probes, cfg->nprobes, e)) != 0 || (rc = read_secrets(cfg, s, e)) != 0)
        goto fail;
    if (cfg->listen)
        s->http.listen = cfg->listen;
    s->http.no_auth = cfg->no_auth;
    s->http.auth_token = s->token;
    s->http.tls_cert_pem = s->cert;
    s->http.tls_key_pem = s->key;
    if ((rc = http_check(&s->http, e)) != 0 || (rc = notify_check(&nc, e)) != 0)
        goto fail;
    return 0;
fail:
    config_blame(cfg, e);
    agent_setup_destroy(s);
    return rc;
}

int agent_check(const struct monitor_config *cfg, size_t *nrules, struct pk_err *e)
{
    struct agent_setup s;
    int rc = agent_setup_init(&s, cfg, e);
    if (rc == 0 && nrules)
        *nrules = s.rules.nrules;
    agent_setup_destroy(&s);
    return rc;
}
