/*
 * fuzz_stage - perfkit load's --stage options (schedule_stage_option,
 * schedule_plan_stages) on arbitrary bytes: one option text per line.
 *
 * Besides memory errors it checks the contracts: a refusal is PK_EUSAGE,
 * PK_EPARSE or a negative errno with the error filled and naming --stage,
 * and leaves the plan as it was; an accepted stage lasts at least 1 ns, is
 * a rate exactly when its text ends in "/s", and is the same stage, as
 * connections, for the text without it; a plan of all the lines is accepted
 * exactly when every line is and they are all rates or all connections.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "load/schedule.h"

#define CHECK(cond)  \
    do {             \
        if (!(cond)) \
            abort(); \
    } while (0)

#define LINES_MAX (SCHEDULE_MAX_STAGES + 2)
#define LINE_MAX  (SCHEDULE_STAGE_TEXT_MAX + 64)

static void check_error(int rc, const struct pk_err *e)
{
    CHECK(rc < 0 && e->code == rc && e->what[0]);
    CHECK(rc == PK_EUSAGE || rc == PK_EPARSE || rc > -4096);
    CHECK(strncmp(e->on, "--stage", 7) == 0);
}

static bool ends_in_per_s(const char *t)
{
    size_t n = strlen(t);
    return n >= 2 && strcmp(t + n - 2, "/s") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char lines[LINES_MAX][LINE_MAX];
    const char *texts[LINES_MAX];
    size_t n = 0, pos = 0;
    while (pos < size && n < LINES_MAX) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
        size_t cp = len < LINE_MAX - 1 ? len : LINE_MAX - 1;
        memcpy(lines[n], data + pos, cp);
        lines[n][cp] = '\0';
        texts[n] = lines[n];
        n++;
        pos += len + 1;
    }

    /* One at a time, into one plan. */
    struct schedule_plan p, before;
    struct pk_err e;
    schedule_plan_init(&p, 0, "--stage", NULL);
    bool all_ok = true, mixed = false, first_rate = false;
    for (size_t i = 0; i < n; i++) {
        memcpy(&before, &p, sizeof(p));
        pk_err_clear(&e);
        bool rate = false;
        int rc = schedule_stage_option(&p, texts[i], &rate, &e);
        if (rc) {
            check_error(rc, &e);
            CHECK(memcmp(&before, &p, sizeof(p)) == 0);
            all_ok = false;
            continue;
        }
        CHECK(p.n == before.n + 1);
        const struct schedule_stage *s = &p.stage[p.n - 1];
        CHECK(s->dur_ns >= 1 && s->target <= SCHEDULE_MAX_TARGET);
        CHECK(schedule_duration(&p) > schedule_duration(&before));
        CHECK(schedule_duration(&p) <= SCHEDULE_MAX_NS);
        CHECK(rate == ends_in_per_s(texts[i]));
        if (i == 0)
            first_rate = rate;
        else if (rate != first_rate)
            mixed = true;

        /* Without "/s", the same stage in connections. */
        if (rate) {
            char plain[LINE_MAX];
            strcpy(plain, texts[i]);
            plain[strlen(plain) - 2] = '\0';
            struct schedule_plan q;
            bool qrate = true;
            schedule_plan_init(&q, 0, "--stage", NULL);
            pk_err_clear(&e);
            CHECK(schedule_stage_option(&q, plain, &qrate, &e) == 0 && !qrate);
            CHECK(q.stage[0].dur_ns == s->dur_ns && q.stage[0].target == s->target);
        }
    }

    /* All of them as a plan: the same verdict, and the same stages. */
    struct schedule_plan all;
    bool rates = !first_rate;
    pk_err_clear(&e);
    int rc = schedule_plan_stages(&all, texts, n, &rates, &e);
    bool fits = n <= SCHEDULE_MAX_STAGES;
    if (rc) {
        check_error(rc, &e);
        CHECK(!all_ok || mixed || !fits);
    } else {
        CHECK(all_ok && !mixed && fits);
        CHECK(all.n == n && p.n == n);
        CHECK(rates == (n ? first_rate : false));
        for (size_t i = 0; i < n; i++)
            CHECK(all.stage[i].dur_ns == p.stage[i].dur_ns && all.stage[i].target == p.stage[i].target);
        CHECK(schedule_duration(&all) == schedule_duration(&p));
    }
    return 0;
}
