#include "sys/mem.h"
#include "sys/sysfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/check.h"
#include "core/err.h"

void mem_info_init(struct mem_info *m)
{
    memset(m, 0, sizeof(*m));
}

void mem_info_destroy(struct mem_info *m)
{
    free(m->entries);
    mem_info_init(m);
}

const struct mem_entry *mem_find(const struct mem_info *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->entries[i].key, key) == 0)
            return &m->entries[i];
    return NULL;
}

uint64_t mem_get(const struct mem_info *m, const char *key, bool *found)
{
    const struct mem_entry *en = mem_find(m, key);
    if (found)
        *found = en != NULL;
    return en ? en->value : 0;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || sysfile_is_digit(c) || c == '_' || c == ':';
}

size_t mem_metric_name(const char *key, char *dst, size_t cap)
{
    size_t n = 0;
    for (const char *k = key; *k; k++) {
        /* node_exporter rewrites "(x)" to "_x" with a regexp; ')' just goes. */
        if (*k == ')')
            continue;
        char c = name_char(*k) ? *k : '_';
        if (dst && n + 1 < cap)
            dst[n] = c;
        n++;
    }
    if (dst && cap > 0)
        dst[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* ---- parser ------------------------------------------------------------- */

static int reject(struct pk_err *e, size_t line, const char *why)
{
    char on[32];
    snprintf(on, sizeof(on), "meminfo:%zu", line);
    return err_set(e, PK_EPARSE, on, "malformed line", "%s", why);
}

static int grow(struct mem_info *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    if (ncap > MEM_MAX_ENTRIES)
        ncap = MEM_MAX_ENTRIES;
    struct mem_entry *n = realloc(m->entries, ncap * sizeof(*n));
    if (!n)
        return -ENOMEM;
    m->entries = n;
    m->cap = ncap;
    return 0;
}

/* "Key:  123 kB" (trailing blanks already cut) into *en; 0 or a reason. */
static const char *parse_entry(const char *p, const char *end, struct mem_entry *en)
{
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon)
        return "no ':' after the key";
    size_t klen = (size_t)(colon - p);
    if (klen == 0)
        return "empty key";
    if (klen >= MEM_KEY_MAX)
        return "key too long";
    for (size_t i = 0; i < klen; i++)
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
            return "key with a blank or a non-printable byte";
    memcpy(en->key, p, klen);
    en->key[klen] = '\0';

    p = colon + 1;
    while (p < end && sysfile_is_blank(*p))
        p++;
    if (sysfile_parse_uint(&p, end, UINT64_MAX, &en->value) != 0)
        return "value is not an unsigned decimal that fits 64 bits";
    en->has_unit = false;
    if (p == end)
        return NULL;
    if (!sysfile_is_blank(*p))
        return "junk after the value";
    while (p < end && sysfile_is_blank(*p))
        p++;
    /* The kernel prints kB (KiB, in fact) or nothing; another unit would be misread. */
    if (end - p != 2 || memcmp(p, "kB", 2) != 0)
        return "unit other than kB";
    if (en->value > UINT64_MAX / 1024)
        return "value in bytes does not fit 64 bits";
    en->value *= 1024;
    en->has_unit = true;
    return NULL;
}

static void derive(struct mem_info *m)
{
    bool have_avail;
    m->total = mem_get(m, "MemTotal", NULL);
    m->free = mem_get(m, "MemFree", NULL);
    m->available = mem_get(m, "MemAvailable", &have_avail);
    m->available_estimated = !have_avail;
    if (!have_avail) {
        uint64_t est = m->free, add[2] = { mem_get(m, "Buffers", NULL), mem_get(m, "Cached", NULL) };
        for (int i = 0; i < 2; i++)
            est = add[i] > UINT64_MAX - est ? UINT64_MAX : est + add[i];
        m->available = est;
    }
    m->used_pct = 0;
    if (m->total > 0 && m->available < m->total)
        m->used_pct = 100.0 * (double)(m->total - m->available) / (double)m->total;

    m->swap_total = mem_get(m, "SwapTotal", NULL);
    m->swap_free = mem_get(m, "SwapFree", NULL);
    m->swap_used = m->swap_total > m->swap_free ? m->swap_total - m->swap_free : 0;
    m->swap_used_pct = m->swap_total ? 100.0 * (double)m->swap_used / (double)m->swap_total : 0;
}

/* Empty, keeping the entry array for the next read. */
static void reset(struct mem_info *m)
{
    struct mem_entry *entries = m->entries;
    size_t cap = m->cap;
    mem_info_init(m);
    m->entries = entries;
    m->cap = cap;
}

/* Keys seen so far, for the repeat check: open addressing over entry index + 1. */
#define SEEN_SLOTS (2 * MEM_MAX_ENTRIES)
_Static_assert((SEEN_SLOTS & (SEEN_SLOTS - 1)) == 0 && MEM_MAX_ENTRIES < UINT16_MAX,
               "a power of two, indices fit uint16_t");

static size_t key_slot(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h & (SEEN_SLOTS - 1);
}

/* Whether key is among the entries already kept (linear search was quadratic in the keys). */
static bool seen(const struct mem_info *m, const uint16_t *slots, const char *key, size_t *at)
{
    PK_ASSERT(m->n < SEEN_SLOTS); /* a free slot is left: the probe ends */
    size_t i = key_slot(key);
    while (slots[i]) {
        if (strcmp(m->entries[slots[i] - 1].key, key) == 0)
            return true;
        i = (i + 1) & (SEEN_SLOTS - 1);
    }
    *at = i;
    return false;
}

int mem_parse(const char *buf, size_t len, struct mem_info *m, struct pk_err *e)
{
    reset(m);
    uint16_t slots[SEEN_SLOTS];
    memset(slots, 0, sizeof(slots));

    struct sysfile_lines it;
    const char *s, *eol;
    int rc = 0;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &s, &eol)) {
        while (s < eol && sysfile_is_blank(*s))
            s++;
        eol = s + sysfile_rtrim_len(s, (size_t)(eol - s));
        if (s == eol)
            continue;
        struct mem_entry en;
        const char *why = parse_entry(s, eol, &en);
        if (why) {
            rc = reject(e, it.no, why);
            goto fail;
        }
        size_t at = 0;
        if (seen(m, slots, en.key, &at))
            continue;
        if (m->n == MEM_MAX_ENTRIES) {
            rc = reject(e, it.no, "more keys than MEM_MAX_ENTRIES");
            goto fail;
        }
        if (m->n == m->cap && (rc = grow(m)) < 0) {
            err_errno(e, rc, "meminfo", "cannot grow the entry table");
            goto fail;
        }
        m->entries[m->n++] = en;
        slots[at] = (uint16_t)m->n;
    }
    derive(m);
    return 0;

fail:
    reset(m);
    return rc;
}

/* ---- file --------------------------------------------------------------- */

static int parse_meminfo(const char *buf, size_t len, void *m, struct pk_err *e)
{
    return mem_parse(buf, len, m, e);
}

int mem_read(const char *procfs, struct mem_info *m, struct pk_err *e)
{
    reset(m);
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    return sysfile_parse_file(procfs, "meminfo", MEMINFO_CAP, 0, parse_meminfo, m, e);
}
