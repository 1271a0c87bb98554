/*
 * fuzz_schedule - the request schedule on arbitrary plans and indices.
 *
 * Input: `--stage` texts separated by '\n', then a NUL, then a mode byte, an
 * 8-byte constant target and 8-byte words used as request numbers, times
 * and thread shapes. Besides memory errors and undefined behaviour it checks
 * the contracts: a rejected stage leaves the plan as it was and says why;
 * send_time and due are inverse (due(t) >= k <=> t >= send_time(k)) and
 * monotone; send_time fails exactly for the requests the plan never issues;
 * the stepped target matches a plain walk over the stages; the per-thread
 * split adds up to the global count; the latency pair never wraps.
 */
#include <errno.h>
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

static uint64_t word(const uint8_t **p, size_t *n)
{
    uint64_t v = 0;
    for (int i = 0; i < 8 && *n; i++, (*p)++, (*n)--)
        v |= (uint64_t) * *p << (8 * i);
    return v;
}

static uint64_t target_ref(const struct schedule_plan *p, uint64_t t)
{
    uint64_t start = 0;
    for (unsigned j = 0; j < p->n; j++) {
        if (t - start < p->stage[j].dur_ns)
            return p->stage[j].target;
        start += p->stage[j].dur_ns;
    }
    return p->tail;
}

static void check_k(const struct schedule_plan *p, uint64_t k, uint64_t last)
{
    uint64_t t;
    int rc = schedule_send_time(p, k, &t);
    if (rc) {
        CHECK(rc == -ERANGE);
        CHECK(k == 0 || k > last);
        return;
    }
    CHECK(k >= 1 && k <= last);
    CHECK(schedule_due(p, t) >= k);
    if (t > 0)
        CHECK(schedule_due(p, t - 1) < k);
    if (p->n)
        CHECK(t <= schedule_duration(p));
    uint64_t t2;
    if (k < UINT64_MAX && schedule_send_time(p, k + 1, &t2) == 0)
        CHECK(t2 >= t);
    if (k > 1) {
        CHECK(schedule_send_time(p, k - 1, &t2) == 0);
        CHECK(t2 <= t);
    }
}

static void check_t(const struct schedule_plan *p, uint64_t t)
{
    uint64_t d = schedule_due(p, t);
    if (t > 0)
        CHECK(schedule_due(p, t - 1) <= d);
    uint64_t st;
    if (d > 0) {
        CHECK(schedule_send_time(p, d, &st) == 0);
        CHECK(st <= t);
    }
    if (d < UINT64_MAX && schedule_send_time(p, d + 1, &st) == 0)
        CHECK(st > t);
    CHECK(schedule_target_at(p, t) == target_ref(p, t));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    const uint8_t *rest = nul ? nul + 1 : data + size;
    size_t rn = nul ? size - tlen - 1 : 0;

    uint8_t mode = rn ? *rest : 0;
    if (rn) {
        rest++;
        rn--;
    }
    uint64_t c = word(&rest, &rn);
    /* Small rates most of the time: they exercise the rounding. */
    c = (mode & 1) ? c % (SCHEDULE_MAX_TARGET + 2) : c % 5000;

    struct schedule_plan p;
    struct pk_err e;
    pk_err_clear(&e);
    int rc = schedule_plan_init(&p, c, "-R", &e);
    if (rc) {
        CHECK(rc == PK_EUSAGE && c > SCHEDULE_MAX_TARGET && e.code == rc);
        CHECK(schedule_plan_init(&p, c % 5000, "-R", &e) == 0);
    }

    /* Each line is one --stage text. */
    char text[512];
    size_t pos = 0;
    while (pos < tlen) {
        const uint8_t *nl = memchr(data + pos, '\n', tlen - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) : tlen - pos;
        size_t cp = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
        memcpy(text, data + pos, cp);
        text[cp] = '\0';
        pos += len + 1;
        struct schedule_plan before;
        memcpy(&before, &p, sizeof(p));
        pk_err_clear(&e);
        bool rate;
        rc = schedule_stage_option(&p, text, &rate, &e);
        if (rc) {
            CHECK((rc == PK_EPARSE || rc == PK_EUSAGE || rc > -4096) && e.code == rc && e.what[0]);
            CHECK(strncmp(e.on, "--stage", 7) == 0);
            CHECK(memcmp(&before, &p, sizeof(p)) == 0);
        } else {
            CHECK(p.n == before.n + 1 && p.stage[p.n - 1].dur_ns > 0);
            CHECK(schedule_duration(&p) > schedule_duration(&before));
            CHECK(schedule_duration(&p) <= SCHEDULE_MAX_NS);
        }
    }

    uint64_t last = schedule_due(&p, UINT64_MAX);
    uint64_t end = schedule_duration(&p);
    check_k(&p, 1, last);
    check_k(&p, last, last);
    if (last < UINT64_MAX)
        check_k(&p, last + 1, last);
    check_t(&p, 0);
    check_t(&p, end);
    if (end)
        check_t(&p, end - 1);
    check_t(&p, UINT64_MAX);

    while (rn >= 8) {
        uint64_t v = word(&rest, &rn);
        check_k(&p, v, last);
        check_k(&p, last ? 1 + v % last : 1, last);
        check_t(&p, v);
        check_t(&p, end ? v % (end + 1) : v % UINT64_C(100000000000));

        /* per-thread split: seq round trip and counts adding up */
        unsigned T = 1 + (unsigned)(v >> 56) % 16;
        uint64_t t = end ? v % (end + 1) : v % UINT64_C(10000000000);
        uint64_t sum = 0;
        for (unsigned i = 0; i < T; i++) {
            uint64_t d = schedule_thread_due(&p, i, T, t);
            sum += d;
            uint64_t k;
            if (schedule_thread_seq(i, T, d, &k) == 0) {
                CHECK(k % T == (i + 1) % T);
                CHECK(k > schedule_due(&p, t));
            }
        }
        CHECK(sum == schedule_due(&p, t));

        /* warmup and run end */
        uint64_t w = v % (end + 2);
        uint64_t wc = schedule_due(&p, w);
        CHECK(!schedule_in_warmup(&p, w, wc + 1) || wc == UINT64_MAX);
        CHECK(wc == 0 || schedule_in_warmup(&p, w, wc));
        uint64_t run = 7;
        pk_err_clear(&e);
        rc = schedule_run_end(&p, v & 1 ? v >> 1 : 0, w, &run, &e);
        if (rc == 0)
            CHECK(run == 0 || run > w);
        else
            CHECK(rc == PK_EUSAGE && e.code == rc && run == 7);

        /* accounting on the next words */
        if (rn >= 16) {
            uint64_t a = word(&rest, &rn), b = word(&rest, &rn);
            struct schedule_sample s;
            schedule_account(v, a, b, &s);
            CHECK(s.corrected_ns >= s.uncorrected_ns);
            CHECK(s.late == (s.lateness_ns > SCHEDULE_LATE_NS));
            CHECK(s.lateness_ns == (a > v ? a - v : 0));
            CHECK(s.uncorrected_ns == (b > a ? b - a : 0));
        }
    }
    return 0;
}
