/*
 * schedule - the request schedule of `perfkit load`: stages, the intended
 * send times of the open model, the per-thread split, the warmup boundary and
 * late-send accounting. Pure integer arithmetic: no syscalls, no allocation,
 * no clock reads; the engine reads CLOCK_MONOTONIC, sleeps (clock_nanosleep
 * with TIMER_ABSTIME to run_start + schedule_send_time()) and writes.
 *
 * Time. Every time is in nanoseconds since the start of the run (t = 0),
 * warmup included, as a uint64_t.
 *
 * Plans. A plan is either a constant target held for ever
 * (schedule_plan_init(): `-R N`, or `-c N` in the closed model) or a list of
 * stages (one per `--stage DUR:TARGET`, in order: schedule_plan_stages(),
 * or schedule_stage_option() for one).
 * Stages are STEPPED, as the issue says ("ramps ... in steps"): a stage's
 * target applies from its first nanosecond to its last, and the target jumps
 * at the start of the next stage; there is no linear interpolation. For a
 * linear ramp, give several short stages. After the last stage the target
 * is 0: the stages define the run's duration, and schedule_run_end() makes
 * `-d` together with `--stage` a usage error rather than silently picking one.
 * Whether the targets are rates (requests per second, open model) or
 * connections (closed model) is the caller's choice; the plan does not care.
 *
 * Open model. Requests are numbered k = 1, 2, 3 ... over the whole run (all
 * threads). Request k is due when the integral of the rate from 0 reaches k:
 *     schedule_send_time(k) = the smallest integer t with  integral(0, t) >= k
 *     schedule_due(t)       = floor(integral(0, t)) = #{ k : send_time(k) <= t }
 * so at 1000/s request k is due at exactly k ms, and across stages the
 * integral simply continues (100/s for 2 s then 300/s: request 200 at 2 s,
 * request 201 at 2 s + 1/300 s rounded up to the nanosecond). The integral is
 * kept in 128-bit request-nanoseconds (rate x ns), so nothing is rounded
 * except that one final ceiling per request, and nothing drifts however
 * large k gets. The two functions are exact inverses:
 *     due(t) >= k  <=>  t >= send_time(k).
 * Each request stands for the interval of the schedule that ends at its
 * intended time, so a window of D ns at R/s holds exactly R*D/1e9 requests
 * (no extra request at t = 0), and a run of -d D sends due(D) requests.
 *
 * Threads. Thread i of T (0-based) takes requests k = i + 1 + j*T, j = 0, 1,
 * ... (schedule_thread_seq()): every T-th request of the global sequence, so
 * T threads together keep the global rate and every k is sent exactly once
 * without any coordination between threads; their shares differ by at most
 * one request at any time.
 *
 * Warmup. `--warmup W` excludes requests whose intended time is <= W, i.e.
 * k <= schedule_due(plan, W): with the convention above that is exactly the
 * rate x W requests that belong to the warmup window. In the closed model
 * there are no intended times; the actual write time plays their part.
 *
 * Late sends. schedule_account() classifies a send as late when it was
 * written more than SCHEDULE_LATE_NS (1 ms) after its intended time. 1 ms is
 * an order of magnitude above the wake-up latency of clock_nanosleep on an
 * idle Linux machine (tens of microseconds, timer slack 50 us), so only
 * sends that fell behind because the generator itself was busy count.
 *
 * Errors: 0, PK_EPARSE (a --stage text, message names the option and the
 * text), PK_EUSAGE (a bad combination or an out-of-range value), -ERANGE
 * (no such request: past the end of a staged plan, or past 2^64-1 ns).
 *
 * Threads and ownership: a plan is a caller-owned value (no destroy); once
 * built it is read-only and may be shared by every engine thread.
 */
#ifndef PK_LOAD_SCHEDULE_H
#define PK_LOAD_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

#define SCHEDULE_MAX_STAGES 64
/* Keep rate x duration far inside 128 bits, and a plan's length inside 63. */
#define SCHEDULE_MAX_TARGET UINT64_C(1000000000000) /* 10^12 per second */
#define SCHEDULE_MAX_NS     (UINT64_C(1) << 62)     /* about 146 years */
#define SCHEDULE_LATE_NS    UINT64_C(1000000)       /* 1 ms */
/* Longest --stage text accepted. */
#define SCHEDULE_STAGE_TEXT_MAX 128

__extension__ typedef unsigned __int128 schedule_u128;

struct schedule_stage {
    uint64_t start_ns;
    uint64_t dur_ns;
    uint64_t target;
    schedule_u128 cum; /* integral of the rate before this stage, request-ns x 1e9 */
};

struct schedule_plan {
    unsigned n;            /* stages; 0 = a constant target for ever */
    uint64_t tail;         /* target after the last stage (0 when n > 0) */
    uint64_t end_ns;       /* end of the last stage; 0 when n == 0 */
    schedule_u128 end_cum; /* integral at end_ns */
    struct schedule_stage stage[SCHEDULE_MAX_STAGES];
};

/* A constant target (requests per second or connections), no stages.
 * PK_EUSAGE when target > SCHEDULE_MAX_TARGET (on = "-R" or "-c", for the message). */
int schedule_plan_init(struct schedule_plan *p, uint64_t target, const char *on, struct pk_err *e);

/* Appends a stage of dur_ns at target (on names the source in messages);
 * the first stage replaces the constant target of schedule_plan_init(). On
 * error the plan is unchanged. */
int schedule_stage_append(struct schedule_plan *p, uint64_t dur_ns, uint64_t target, const char *on,
                          struct pk_err *e);

/* perfkit load's `--stage DUR:TARGET`, appended to p: DUR by
 * units_parse_duration (above 0), TARGET by units_parse_count, connections
 * ("30s:200") or, with "/s", requests per second ("30s:5000/s"); *rate says
 * which. Messages name the option and the text ("--stage '30s:x': ...").
 * PK_EUSAGE when the text is not DUR:TARGET, is longer than
 * SCHEDULE_STAGE_TEXT_MAX or its duration is 0 or too long; PK_EPARSE (or
 * core/units' error) when a half does not parse or the stage does not fit
 * the plan. On error the plan is unchanged. */
int schedule_stage_option(struct schedule_plan *p, const char *text, bool *rate, struct pk_err *e);
/* The plan of every --stage, in order (p is initialised here): all of them
 * connections or all rates, *rate says which (a mix is PK_EUSAGE); the
 * errors of schedule_stage_option() otherwise. On error p is not to be used. */
int schedule_plan_stages(struct schedule_plan *p, const char *const *texts, size_t n, bool *rate,
                         struct pk_err *e);

/* Total duration of the stages; 0 without stages (unbounded). */
uint64_t schedule_duration(const struct schedule_plan *p);

/* The end of the run (ns since start, warmup included) from the plan, `-d`
 * (d_ns, 0 = not given) and `--warmup` (warmup_ns, 0 = none). Stages give the
 * end; -d with stages is PK_EUSAGE. Without either the run is unbounded
 * (*end_ns = 0; it ends on -n or Ctrl-C). A warmup not shorter than a bounded
 * run is PK_EUSAGE: nothing would be measured. */
int schedule_run_end(const struct schedule_plan *p, uint64_t d_ns, uint64_t warmup_ns, uint64_t *end_ns,
                     struct pk_err *e);

/* The target (rate, or connections for the closed model) in force at t. */
uint64_t schedule_target_at(const struct schedule_plan *p, uint64_t t_ns);

/* Intended send time of request k >= 1 of the whole run. -ERANGE when the
 * plan never issues request k (k == 0, beyond a staged plan's last request,
 * a zero constant rate) or its time exceeds 2^64-1 ns. O(log stages). */
int schedule_send_time(const struct schedule_plan *p, uint64_t k, uint64_t *t_ns);

/* Number of requests of the whole run due by t (intended time <= t),
 * saturating at UINT64_MAX. O(log stages). */
uint64_t schedule_due(const struct schedule_plan *p, uint64_t t_ns);

/* The j-th (0-based) request of thread `thread` of `nthreads`: k = thread+1+j*nthreads.
 * -EINVAL when thread >= nthreads, -ERANGE on overflow. */
int schedule_thread_seq(unsigned thread, unsigned nthreads, uint64_t j, uint64_t *k);
/* How many of that thread's requests are due by t. */
uint64_t schedule_thread_due(const struct schedule_plan *p, unsigned thread, unsigned nthreads,
                             uint64_t t_ns);

/* Whether request k falls in a warmup of warmup_ns (k <= due(warmup_ns)). On
 * the hot path, compute warmup_count = schedule_due(p, warmup_ns) once and
 * compare k <= warmup_count instead. */
bool schedule_in_warmup(const struct schedule_plan *p, uint64_t warmup_ns, uint64_t k);

struct schedule_sample {
    uint64_t corrected_ns;   /* done - intended: what the user waited (coordinated omission corrected) */
    uint64_t uncorrected_ns; /* done - written: what the server took once asked */
    uint64_t lateness_ns;    /* written - intended, 0 when on time or early */
    bool late;               /* lateness_ns > SCHEDULE_LATE_NS */
};

/* Latency pair and lateness of one request, from its intended send time, the
 * time its first byte was written and the time its response ended (all on
 * CLOCK_MONOTONIC, same origin). An early write (before the intended time)
 * is measured from the write, so corrected >= uncorrected always; a done
 * before the write (impossible on one monotonic clock) yields 0, never a
 * wrapped-around value. */
void schedule_account(uint64_t intended_ns, uint64_t written_ns, uint64_t done_ns,
                      struct schedule_sample *out);

#endif
