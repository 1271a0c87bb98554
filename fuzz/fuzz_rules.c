/*
 * fuzz_rules - the alert rule parser on arbitrary text.
 *
 * Besides memory errors it checks the contracts: a failure is PK_EPARSE
 * with the error filled (on as given) and the output untouched; a success
 * gives a valid name and metric, caps respected, a clear level on the
 * inactive side of the threshold, and a canonical text that parses back to
 * a rule with the same canonical text. An accepted rule is then evaluated
 * twice against a small sample, so eval, export and the JSON list run on
 * whatever the parser lets through.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "monitor/metric.h"
#include "monitor/rules.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

static void evaluate(const char *text)
{
    struct rules r;
    struct rules_events ev;
    struct metric_set set, out;
    rules_init(&r);
    rules_events_init(&ev);
    metric_set_init(&set);
    metric_set_init(&out);
    CHECK(rules_add(&r, text, "fuzz", NULL) == 0);
    uint32_t fam;
    const char *metric = r.rule[0].metric;
    if (metric_name_valid(metric) && metric_family_begin(&set, metric, "h", METRIC_GAUGE, &fam, NULL) == 0) {
        struct metric_label l = { "cpu", "0" };
        metric_add(&set, fam, NULL, 0, 1, NULL);
        metric_add(&set, fam, &l, 1, -1, NULL);
        metric_add(&set, fam, &l, 1, NAN, NULL);
    }
    CHECK(rules_eval(&r, &set, 0, &ev) == 0);
    CHECK(rules_eval(&r, &set, r.rule[0].for_ms, &ev) == 0);
    for (size_t i = 0; i < ev.n; i++)
        CHECK(ev.v[i].state == RULES_FIRING);
    CHECK(rules_eval(&r, NULL, r.rule[0].for_ms + 1, &ev) == 0);
    for (size_t i = 0; i < ev.n; i++)
        CHECK(ev.v[i].state == RULES_RESOLVED || r.rule[0].keep_firing_ms > 0);
    CHECK(rules_export(&r, &out, NULL) == 0);
    json_decref(rules_alerts_json(&r));
    metric_set_destroy(&out);
    metric_set_destroy(&set);
    rules_events_destroy(&ev);
    rules_destroy(&r);
}

static void check(const char *text)
{
    struct pk_err e;
    pk_err_clear(&e);
    struct rule r;
    memset(&r, 0x5a, sizeof(r));
    int rc = rules_parse(text, "fuzz", &r, &e);
    if (rc != 0) {
        CHECK(rc == PK_EPARSE && e.code == rc && e.what[0] && e.why[0]);
        CHECK(strcmp(e.on, "fuzz") == 0);
        CHECK((unsigned char)r.name[0] == 0x5a);
        return;
    }
    size_t nl = strlen(r.name);
    CHECK(nl >= 1 && nl <= RULES_NAME_MAX && !(r.name[0] >= '0' && r.name[0] <= '9'));
    CHECK(metric_name_valid(r.metric) && strlen(r.metric) <= RULES_METRIC_MAX);
    CHECK(r.nmatch <= RULES_MATCHERS_MAX);
    for (size_t i = 0; i < r.nmatch; i++)
        CHECK(metric_label_name_valid(r.match[i].name) && strlen(r.match[i].value) <= RULES_VALUE_MAX);
    CHECK(isfinite(r.threshold));
    CHECK(r.for_ms >= 0 && r.for_ms <= RULES_DURATION_MAX_MS);
    CHECK(r.keep_firing_ms >= 0 && r.keep_firing_ms <= RULES_DURATION_MAX_MS);
    if (r.has_clear) {
        CHECK(isfinite(r.clear));
        CHECK(((r.op == RULES_GT || r.op == RULES_GE) && r.clear < r.threshold) ||
              ((r.op == RULES_LT || r.op == RULES_LE) && r.clear > r.threshold));
    }
    char a[RULES_FORMAT_MAX], b[RULES_FORMAT_MAX];
    CHECK(rules_format(&r, a, sizeof(a)) < sizeof(a));
    struct rule r2;
    CHECK(rules_parse(a, "fuzz", &r2, &e) == 0);
    rules_format(&r2, b, sizeof(b));
    CHECK(strcmp(a, b) == 0);
    evaluate(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check(text);
    free(text);
    return 0;
}
