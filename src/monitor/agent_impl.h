/*
 * agent_impl - what the parts of the agent share (agent.h is the contract;
 * this is private to src/monitor/agent*.c):
 *   agent.c        snapshots, the HTTP provider, a sample, open, run, close;
 *   agent_setup.c  the settings checked, and read as the start needs them:
 *                  one function, agent_setup_init(), that agent_open() and
 *                  agent_check() (--check-config) both run.
 */
#ifndef PK_MONITOR_AGENT_IMPL_H
#define PK_MONITOR_AGENT_IMPL_H

#include <stddef.h>

#include "monitor/config.h"
#include "monitor/http.h"
#include "monitor/notify.h"
#include "monitor/rules.h"
#include "perfkit.h"

/*
 * Everything the start needs that the settings alone do not say, checked:
 * the parsed rules, and what --auth-token-file, --tls-cert and --tls-key
 * hold, with the server's options pointing at them. The token and the key
 * are wiped by agent_setup_destroy (http_start keeps a digest of the token
 * and its own copy of the key), on every path.
 */
struct agent_setup {
    struct rules rules;
    char *token, *cert, *key;
    size_t token_len, key_len;
    struct http_opts http; /* points into the config and the texts above */
};

/*
 * Runs every check the start makes short of binding, opening the history
 * and starting threads, in the start's order: the settings together
 * (config_check), the rules, the history's path (store_check_path), libcurl
 * for http probes, the token and TLS files read and checked with the
 * listen address (http_check), the notifications (notify_check). Errors
 * name the setting where the config file set it (config_blame). On failure
 * s is destroyed.
 */
int agent_setup_init(struct agent_setup *s, const struct monitor_config *cfg, struct pk_err *e);
/* The rules of cfg (its own, then the defaults unless disabled) appended
 * to r, as the start and SIGHUP's reload read them. */
int agent_load_rules(const struct monitor_config *cfg, struct rules *r, struct pk_err *e);
/* Wipes the secrets and frees what is left; safe on a zeroed struct. */
void agent_setup_destroy(struct agent_setup *s);
/* The notifier's settings of cfg: the command, the webhooks, the receiver's
 * name (the caller adds the agent's URL and instance label once known). */
void agent_notify_config(const struct monitor_config *cfg, struct notify_config *nc);

#endif
