#include "load/schedule.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/units.h"

/* Room for "--stage '" + the quoted text + "'". */
#define ON_MAX (SCHEDULE_STAGE_TEXT_MAX * 4 + 16)

int schedule_plan_init(struct schedule_plan *p, uint64_t target, const char *on, struct pk_err *e)
{
    if (target > SCHEDULE_MAX_TARGET)
        return err_set(e, PK_EUSAGE, on, "target too large", "%ju is above the limit of %ju",
                       (uintmax_t)target, (uintmax_t)SCHEDULE_MAX_TARGET);
    p->n = 0;
    p->tail = target;
    p->end_ns = 0;
    p->end_cum = 0;
    return 0;
}

/* code: PK_EUSAGE for values from a program, PK_EPARSE for a --stage text. */
static int append(struct schedule_plan *p, uint64_t dur_ns, uint64_t target, int code, const char *on,
                  struct pk_err *e)
{
    if (p->n >= SCHEDULE_MAX_STAGES)
        return err_set(e, code, on, "too many stages", "at most %d", SCHEDULE_MAX_STAGES);
    if (dur_ns == 0)
        return err_set(e, code, on, "invalid stage", "a stage must last at least 1ns");
    if (target > SCHEDULE_MAX_TARGET)
        return err_set(e, code, on, "invalid stage", "target %ju is above the limit of %ju",
                       (uintmax_t)target, (uintmax_t)SCHEDULE_MAX_TARGET);
    if (dur_ns > SCHEDULE_MAX_NS - p->end_ns)
        return err_set(e, code, on, "invalid stage", "the stages last longer than %ju s in all",
                       (uintmax_t)(SCHEDULE_MAX_NS / NS_PER_S));
    struct schedule_stage *s = &p->stage[p->n];
    s->start_ns = p->end_ns;
    s->dur_ns = dur_ns;
    s->target = target;
    s->cum = p->end_cum;
    /* <= 2^40 * 2^62 per stage, 64 stages: far below 2^128. */
    p->end_cum += (schedule_u128)target * dur_ns;
    p->end_ns += dur_ns;
    p->tail = 0;
    p->n++;
    return 0;
}

int schedule_stage_append(struct schedule_plan *p, uint64_t dur_ns, uint64_t target, const char *on,
                          struct pk_err *e)
{
    return append(p, dur_ns, target, PK_EUSAGE, on, e);
}

/* A --stage text taken apart: quoted for messages and cut at its colon. */
struct stage_text {
    const char *text;
    size_t len;                              /* at most SCHEDULE_STAGE_TEXT_MAX + 1 */
    char q[SCHEDULE_STAGE_TEXT_MAX * 4 + 4]; /* the text, quoted */
    char on[ON_MAX];                         /* "--stage '<q>'" */
    char dur[SCHEDULE_STAGE_TEXT_MAX + 1];
    char target[SCHEDULE_STAGE_TEXT_MAX + 1];
};

enum { STAGE_SPLIT, STAGE_TOO_LONG, STAGE_NOT_TWO_HALVES };

static int stage_split(const char *text, struct stage_text *st)
{
    size_t len = strnlen(text, SCHEDULE_STAGE_TEXT_MAX + 1);
    st->text = text;
    st->len = len;
    err_quote(text, len, st->q, sizeof(st->q));
    if (len > SCHEDULE_STAGE_TEXT_MAX)
        return STAGE_TOO_LONG;
    const char *colon = memchr(text, ':', len);
    if (!colon || memchr(colon + 1, ':', len - (size_t)(colon - text) - 1))
        return STAGE_NOT_TWO_HALVES;
    size_t dlen = (size_t)(colon - text), tlen = len - dlen - 1;
    memcpy(st->dur, text, dlen);
    st->dur[dlen] = '\0';
    memcpy(st->target, colon + 1, tlen);
    st->target[tlen] = '\0';
    /* The option and the whole text go into `on`, so a units message about
     * one half still says which --stage it came from. */
    snprintf(st->on, sizeof(st->on), "--stage '%s'", st->q);
    return STAGE_SPLIT;
}

/* PK_EUSAGE with a formatted `what`: "<on>: <what>[: <why>]" is the text
 * perfkit load has always printed for these. */
__attribute__((format(printf, 4, 5))) static int usage(struct pk_err *e, const char *on, const char *why,
                                                       const char *fmt, ...)
{
    char what[sizeof(e->what)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return err_set(e, PK_EUSAGE, on, what, "%s", why);
}

int schedule_stage_option(struct schedule_plan *p, const char *text, bool *rate, struct pk_err *e)
{
    struct stage_text st;
    /* Quoted again to fit e->what with the words around it (a text of
     * SCHEDULE_STAGE_TEXT_MAX + 1 printable bytes whole): one full of
     * control bytes is cut with "...", not the message. */
    char q[sizeof(e->what) - sizeof("'' is longer than 128 bytes") + 1];
    switch (stage_split(text, &st)) {
    case STAGE_TOO_LONG:
        err_quote(st.text, st.len, q, sizeof(q));
        return usage(e, "--stage", "", "'%s' is longer than %d bytes", q, SCHEDULE_STAGE_TEXT_MAX);
    case STAGE_NOT_TWO_HALVES:
        err_quote(st.text, st.len, q, sizeof(q));
        return usage(e, "--stage",
                     "expected DUR:TARGET, e.g. 30s:200 (connections) or 30s:5000/s (requests/s)",
                     "invalid stage '%s'", q);
    }
    size_t tlen = strlen(st.target);
    bool is_rate = tlen >= 2 && strcmp(st.target + tlen - 2, "/s") == 0;
    if (is_rate)
        st.target[tlen - 2] = '\0';
    double seconds;
    uint64_t target;
    int rc;
    if ((rc = units_parse_duration(st.dur, st.on, &seconds, e)) ||
        (rc = units_parse_count(st.target, st.on, &target, e)))
        return rc;
    if (!(seconds * 1e9 >= 1))
        return usage(e, st.on, "", "the duration must be longer than 0");
    if (!(seconds * 1e9 < (double)SCHEDULE_MAX_NS))
        return usage(e, st.on, "", "the duration is too long");
    if ((rc = append(p, (uint64_t)(seconds * 1e9 + 0.5), target, PK_EPARSE, st.on, e)))
        return rc;
    *rate = is_rate;
    return 0;
}

int schedule_plan_stages(struct schedule_plan *p, const char *const *texts, size_t n, bool *rate,
                         struct pk_err *e)
{
    schedule_plan_init(p, 0, "--stage", NULL);
    bool rates = false;
    for (size_t i = 0; i < n; i++) {
        bool is_rate = false;
        int rc = schedule_stage_option(p, texts[i], &is_rate, e);
        if (rc)
            return rc;
        if (i > 0 && is_rate != rates)
            return usage(e, "--stage", "",
                         "all stages are connections (30s:200) or all are rates (30s:5000/s), not both");
        rates = is_rate;
    }
    *rate = rates;
    return 0;
}

uint64_t schedule_duration(const struct schedule_plan *p)
{
    return p->end_ns;
}

int schedule_run_end(const struct schedule_plan *p, uint64_t d_ns, uint64_t warmup_ns, uint64_t *end_ns,
                     struct pk_err *e)
{
    uint64_t end;
    if (p->n > 0) {
        if (d_ns)
            return err_set(e, PK_EUSAGE, "-d", "conflicts with --stage",
                           "the stages define the duration; give one or the other");
        end = p->end_ns;
    } else {
        end = d_ns;
    }
    if (end && warmup_ns >= end)
        return err_set(e, PK_EUSAGE, "--warmup", "warmup not shorter than the run",
                       "nothing would be measured");
    *end_ns = end;
    return 0;
}

/* The stage holding t (start <= t < start + dur); n when t is past the last. */
static unsigned stage_of_time(const struct schedule_plan *p, uint64_t t)
{
    if (t >= p->end_ns)
        return p->n;
    unsigned lo = 0, hi = p->n - 1; /* answer in [lo, hi] */
    while (lo < hi) {
        unsigned mid = lo + (hi - lo + 1) / 2;
        if (p->stage[mid].start_ns <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

uint64_t schedule_target_at(const struct schedule_plan *p, uint64_t t_ns)
{
    unsigned j = stage_of_time(p, t_ns);
    return j < p->n ? p->stage[j].target : p->tail;
}

/* The first stage whose end integral reaches K (cum[j] < K <= cum[j+1]);
 * n when K lies past the last stage. Zero-rate stages never qualify, since
 * their start and end integrals are equal. */
static unsigned stage_of_integral(const struct schedule_plan *p, schedule_u128 K)
{
    if (K > p->end_cum)
        return p->n;
    unsigned lo = 0, hi = p->n - 1;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        schedule_u128 mid_end = mid + 1 < p->n ? p->stage[mid + 1].cum : p->end_cum;
        if (mid_end >= K)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int schedule_send_time(const struct schedule_plan *p, uint64_t k, uint64_t *t_ns)
{
    if (k == 0)
        return -ERANGE;
    schedule_u128 K = (schedule_u128)k * NS_PER_S;
    uint64_t start, rate;
    schedule_u128 base;
    unsigned j = p->n ? stage_of_integral(p, K) : 0;
    if (j < p->n) {
        start = p->stage[j].start_ns;
        rate = p->stage[j].target;
        base = p->stage[j].cum;
    } else {
        start = p->end_ns;
        rate = p->tail;
        base = p->end_cum;
    }
    if (rate == 0)
        return -ERANGE;
    schedule_u128 need = K - base; /* > 0: base < K by the search */
    schedule_u128 dt = (need + rate - 1) / rate;
    if (dt > UINT64_MAX - start)
        return -ERANGE;
    *t_ns = start + (uint64_t)dt;
    return 0;
}

static schedule_u128 integral_at(const struct schedule_plan *p, uint64_t t)
{
    unsigned j = stage_of_time(p, t);
    if (j < p->n)
        return p->stage[j].cum + (schedule_u128)p->stage[j].target * (t - p->stage[j].start_ns);
    return p->end_cum + (schedule_u128)p->tail * (t - p->end_ns);
}

uint64_t schedule_due(const struct schedule_plan *p, uint64_t t_ns)
{
    schedule_u128 d = integral_at(p, t_ns) / NS_PER_S;
    return d > UINT64_MAX ? UINT64_MAX : (uint64_t)d;
}

int schedule_thread_seq(unsigned thread, unsigned nthreads, uint64_t j, uint64_t *k)
{
    if (thread >= nthreads)
        return -EINVAL;
    if (j > (UINT64_MAX - thread - 1) / nthreads)
        return -ERANGE;
    *k = (uint64_t)thread + 1 + j * nthreads;
    return 0;
}

uint64_t schedule_thread_due(const struct schedule_plan *p, unsigned thread, unsigned nthreads, uint64_t t_ns)
{
    if (thread >= nthreads)
        return 0;
    uint64_t d = schedule_due(p, t_ns);
    if (d < (uint64_t)thread + 1)
        return 0;
    return (d - thread - 1) / nthreads + 1;
}

bool schedule_in_warmup(const struct schedule_plan *p, uint64_t warmup_ns, uint64_t k)
{
    return k <= schedule_due(p, warmup_ns);
}

void schedule_account(uint64_t intended_ns, uint64_t written_ns, uint64_t done_ns,
                      struct schedule_sample *out)
{
    uint64_t from = intended_ns < written_ns ? intended_ns : written_ns;
    out->corrected_ns = done_ns > from ? done_ns - from : 0;
    out->uncorrected_ns = done_ns > written_ns ? done_ns - written_ns : 0;
    out->lateness_ns = written_ns > intended_ns ? written_ns - intended_ns : 0;
    out->late = out->lateness_ns > SCHEDULE_LATE_NS;
}
