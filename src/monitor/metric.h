/*
 * metric - one sample of the monitor: a set of metric families (name, help,
 * type), each with its series (label pairs and a value). The collectors fill
 * a set once per interval (monitor/collect.h); the exposition renders it
 * (monitor/expo.h), the store keeps some of its series, the rules read it.
 *
 * Names and labels follow Prometheus' data model: a name matches
 * [a-zA-Z_:][a-zA-Z0-9_:]*, a label name [a-zA-Z_][a-zA-Z0-9_]*, label
 * values are any UTF-8 (escaped by the exposition). Families keep the order
 * they were begun in and series the order they were added, so output is
 * deterministic; a family's name appears once per set (metric_family_begin
 * on an existing name continues that family, it does not duplicate it).
 *
 * Ownership: struct metric_set is caller-owned: metric_set_init() /
 * metric_set_destroy(); metric_set_clear() empties it keeping its memory,
 * so a sampler reuses one set per interval without allocating. Every string
 * is copied into the set. A set is not thread-safe; the agent publishes a
 * finished set read-only to other threads.
 *
 * A set refilled after metric_set_clear() with what it held before (a
 * sampler's families and series come in the same order every interval)
 * keeps its strings: a family begun at the position it had, with the same
 * name, help and type, and a series added at the position it had, in the
 * same family with the same labels, only compare their strings and take the
 * new value; nothing is validated, copied or allocated again. Anything else
 * takes the general path. Strings left behind by such changes are reclaimed
 * by a later clear, once they take more room than a whole fresh sample.
 *
 * Strings are stored as valid UTF-8: a byte that is not part of a valid
 * sequence becomes U+FFFD, because Prometheus rejects a whole scrape over
 * one label value that is not UTF-8 (mount points and interface names can
 * hold any byte). Label names starting with "__" are reserved to Prometheus
 * and refused. A series with the same label values as another of its family
 * is not detected (that would cost a search per add): callers must not add one.
 *
 * Errors: 0, -ENOMEM, -EINVAL (an invalid name or label name, a label given
 * twice in one series, more than METRIC_LABELS_MAX labels, a family begun
 * again with another type: a programming error, the set is unchanged) with a
 * message in the pk_err when given.
 */
#ifndef PK_MONITOR_METRIC_H
#define PK_MONITOR_METRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perfkit.h"

#define METRIC_LABELS_MAX 8

enum metric_type { METRIC_GAUGE, METRIC_COUNTER, METRIC_UNTYPED };

struct metric_label {
    const char *name;
    const char *value;
};

struct metric_series {
    uint32_t family; /* index in set->fam */
    uint8_t nlabels;
    struct metric_label labels[METRIC_LABELS_MAX];
    double value;
};

struct metric_family {
    const char *name;
    const char *help;
    enum metric_type type;
    uint32_t hash; /* of name (private) */
    /* series of this family, in the order added: set->series[idx[0..n)] */
    uint32_t *idx;
    size_t n, cap;
};

struct metric_set {
    int64_t ts_ms; /* when the sample was taken (epoch ms) */
    struct metric_family *fam;
    size_t nfam, capfam;
    /* family index by name (private): open addressing, slot = family index + 1,
     * 0 empty; capacity a power of two, at least twice nfam */
    uint32_t *fhash;
    size_t fhash_cap;
    struct metric_series *series;
    size_t nseries, capseries;
    /* string arena (private): blocks of blocksize bytes, kept by
     * metric_set_clear and refilled from the first; cur is the block being
     * filled, used the bytes taken in it. Strings too long for a block are
     * allocated one by one in big[] and freed by metric_set_clear. */
    char **blocks;
    size_t nblocks, capblocks, cur, used, blocksize;
    char **big;
    size_t nbig, capbig;
    /* what the set held before metric_set_clear (private): families and
     * series at these positions may be taken again as they are */
    size_t prev_nfam, prev_nseries;
    size_t arena_total; /* bytes taken from blocks since the strings were last reset */
    size_t arena_base;  /* ... by the first sample built after that reset */
    bool arena_fresh;   /* no sample was measured since the reset */
};

void metric_set_init(struct metric_set *s);
/* Frees everything and leaves s as metric_set_init does; a no-op on a zeroed struct or NULL. */
void metric_set_destroy(struct metric_set *s);
void metric_set_clear(struct metric_set *s);

/* Starts (or continues) the family `name`; its index in *fam_out. */
int metric_family_begin(struct metric_set *s, const char *name, const char *help, enum metric_type type,
                        uint32_t *fam_out, struct pk_err *e);
/* Adds a series to family fam: nlabels pairs in labels[] (names must be
 * valid, values any text). */
int metric_add(struct metric_set *s, uint32_t fam, const struct metric_label *labels, size_t nlabels,
               double value, struct pk_err *e);
/* Convenience: a family with one unlabelled series. */
int metric_add1(struct metric_set *s, const char *name, const char *help, enum metric_type type, double value,
                struct pk_err *e);

/* Lookup (a hash of family names, then linear in the series of the family). NULL if absent.
 * labels may be NULL/0 for the first series of the family. */
const struct metric_family *metric_find_family(const struct metric_set *s, const char *name);
const struct metric_series *metric_find(const struct metric_set *s, const char *name,
                                        const struct metric_label *labels, size_t nlabels);
/* The value of a label of a series, NULL when it has none by that name. */
const char *metric_label(const struct metric_series *m, const char *name);

bool metric_name_valid(const char *name);
bool metric_label_name_valid(const char *name);

/* A canonical text of a series' identity, `name{a="x",b="y"}` with labels
 * sorted by name and values escaped as in the text format; the key the store
 * and the rules use. Returns the length written (truncated to cap-1, NUL
 * always written when cap > 0); a return >= cap means it did not fit. */
size_t metric_key(const struct metric_set *s, const struct metric_series *m, char *buf, size_t cap);
/* v escaped as a label value of the text format ('\\', '"' and newline),
 * appended at off of buf with core/text.h's text_append contract: returns
 * off plus the escaped length, writes nothing past cap-1, NUL-terminates. */
size_t metric_escape_value(char *buf, size_t cap, size_t off, const char *v);

#endif
