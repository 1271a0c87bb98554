#include "monitor/metric.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/text.h"

/* A block holds the strings of a few hundred series; clear keeps them all. */
#define ARENA_BLOCK (16u << 10)
/* Strings longer than this get their own allocation, so one long help text
 * does not waste the rest of a block. */
#define ARENA_BIG (ARENA_BLOCK / 4)

void metric_set_init(struct metric_set *s)
{
    memset(s, 0, sizeof(*s));
    s->blocksize = ARENA_BLOCK;
    s->arena_fresh = true;
}

void metric_set_destroy(struct metric_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->capfam; i++)
        free(s->fam[i].idx);
    free(s->fam);
    free(s->fhash);
    free(s->series);
    for (size_t i = 0; i < s->nblocks; i++)
        free(s->blocks[i]);
    free(s->blocks);
    for (size_t i = 0; i < s->nbig; i++)
        free(s->big[i]);
    free(s->big);
    metric_set_init(s);
}

void metric_set_clear(struct metric_set *s)
{
    /*
     * The strings stay, for the next sample to take again (see metric.h),
     * unless strings it left behind take more room than a whole sample
     * needed, or long strings (each allocated by itself) are in the set:
     * then everything is reset and the next sample builds from scratch.
     */
    if (s->arena_fresh) {
        s->arena_base = s->arena_total;
        s->arena_fresh = s->nfam == 0;
    }
    if (s->nbig > 0 || s->arena_total > 2 * s->arena_base + s->blocksize) {
        s->cur = 0;
        s->used = 0;
        s->arena_total = 0;
        s->arena_fresh = true;
        for (size_t i = 0; i < s->nbig; i++)
            free(s->big[i]);
        s->nbig = 0;
        s->prev_nfam = s->prev_nseries = 0;
    } else {
        s->prev_nfam = s->nfam;
        s->prev_nseries = s->nseries;
    }
    /* Family slots keep their idx arrays: the next sample has the same
     * families in the same order, so it allocates nothing. */
    for (size_t i = 0; i < s->nfam; i++)
        s->fam[i].n = 0;
    s->nfam = 0;
    if (s->fhash)
        memset(s->fhash, 0, s->fhash_cap * sizeof(*s->fhash));
    s->nseries = 0;
    s->ts_ms = 0;
}

/* ---- strings ---------------------------------------------------------------- */

/*
 * Bytes needed for src with every invalid UTF-8 byte replaced by U+FFFD.
 * Prometheus refuses a whole scrape over one label value that is not UTF-8,
 * and a mount point or an interface name can hold any byte, so the set
 * stores only valid text.
 */
static size_t utf8_clean_len(const char *src, size_t n, bool *clean)
{
    size_t out = 0;
    *clean = true;
    for (size_t i = 0; i < n;) {
        size_t l = text_utf8_seq((const unsigned char *)src + i, n - i);
        if (l == 0) {
            *clean = false;
            out += 3;
            i++;
        } else {
            out += l;
            i += l;
        }
    }
    return out;
}

static void utf8_clean_copy(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = text_utf8_seq((const unsigned char *)src + i, n - i);
        if (l == 0) {
            memcpy(dst, "\xef\xbf\xbd", 3);
            dst += 3;
            i++;
        } else {
            memcpy(dst, src + i, l);
            dst += l;
            i += l;
        }
    }
    *dst = '\0';
}

static char *arena_alloc(struct metric_set *s, size_t need)
{
    if (need > ARENA_BIG) {
        if (s->nbig == s->capbig) {
            size_t cap = s->capbig ? 2 * s->capbig : 8;
            char **v = realloc(s->big, cap * sizeof(*v));
            if (!v)
                return NULL;
            s->big = v;
            s->capbig = cap;
        }
        char *p = malloc(need);
        if (p)
            s->big[s->nbig++] = p;
        return p;
    }
    if (s->blocksize == 0)
        s->blocksize = ARENA_BLOCK;
    if (s->nblocks == 0 || s->used + need > s->blocksize) {
        size_t next = s->nblocks == 0 ? 0 : s->cur + 1;
        if (next == s->nblocks) {
            if (s->nblocks == s->capblocks) {
                size_t cap = s->capblocks ? 2 * s->capblocks : 4;
                char **v = realloc(s->blocks, cap * sizeof(*v));
                if (!v)
                    return NULL;
                s->blocks = v;
                s->capblocks = cap;
            }
            char *b = malloc(s->blocksize);
            if (!b)
                return NULL;
            s->blocks[s->nblocks++] = b;
        }
        s->cur = next;
        s->used = 0;
    }
    char *p = s->blocks[s->cur] + s->used;
    s->used += need;
    s->arena_total += need;
    return p;
}

/* Whether src[0..n) is ASCII, 8 bytes at a time: names and help texts are, and most values. */
static bool all_ascii(const char *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        if (w & 0x8080808080808080ull)
            return false;
    }
    for (; i < n; i++)
        if ((unsigned char)src[i] & 0x80)
            return false;
    return true;
}

static const char *arena_str(struct metric_set *s, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    bool clean = all_ascii(src, n);
    size_t need = (clean ? n : utf8_clean_len(src, n, &clean)) + 1;
    char *p = arena_alloc(s, need);
    if (!p)
        return NULL;
    if (clean)
        memcpy(p, src, n + 1);
    else
        utf8_clean_copy(p, src, n);
    return p;
}

/* ---- names -------------------------------------------------------------------- */

static bool name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (colon && c == ':')
        return true;
    return !first && c >= '0' && c <= '9';
}

bool metric_name_valid(const char *name)
{
    if (!name || !name[0])
        return false;
    for (size_t i = 0; name[i]; i++)
        if (!name_char(name[i], i == 0, true))
            return false;
    return true;
}

bool metric_label_name_valid(const char *name)
{
    if (!name || !name[0])
        return false;
    /* "__" names are Prometheus' own (__name__, __address__): never exposed */
    if (name[0] == '_' && name[1] == '_')
        return false;
    for (size_t i = 0; name[i]; i++)
        if (!name_char(name[i], i == 0, false))
            return false;
    return true;
}

/* ---- families and series ------------------------------------------------------ */

static uint32_t name_hash(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/*
 * A sample begins some 150 families, and a search of the ones begun before
 * (most share "node_" and more) was the largest cost of building a set.
 */
static const struct metric_family *find_family(const struct metric_set *s, const char *name, uint32_t *idx)
{
    if (!s->fhash_cap)
        return NULL;
    size_t mask = s->fhash_cap - 1;
    for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
        uint32_t v = s->fhash[i];
        if (v == 0)
            return NULL;
        if (strcmp(s->fam[v - 1].name, name) == 0) {
            if (idx)
                *idx = v - 1;
            return &s->fam[v - 1];
        }
    }
}

static void fhash_put_hash(uint32_t *tab, size_t cap, uint32_t hash, uint32_t fam)
{
    size_t mask = cap - 1;
    size_t i = hash & mask;
    while (tab[i])
        i = (i + 1) & mask;
    tab[i] = fam + 1;
}

/* Room in the name index for one more family. */
static int fhash_reserve(struct metric_set *s)
{
    if ((s->nfam + 1) * 2 <= s->fhash_cap)
        return 0;
    size_t cap = s->fhash_cap ? 2 * s->fhash_cap : 256;
    uint32_t *tab = calloc(cap, sizeof(*tab));
    if (!tab)
        return -ENOMEM;
    for (size_t i = 0; i < s->nfam; i++)
        fhash_put_hash(tab, cap, s->fam[i].hash, (uint32_t)i);
    free(s->fhash);
    s->fhash = tab;
    s->fhash_cap = cap;
    return 0;
}

static const char *type_name(enum metric_type t)
{
    return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "untyped";
}

/* The family at position nfam of the previous fill, if it is this one and not begun yet. */
static bool family_again(struct metric_set *s, const char *name, const char *help, enum metric_type type,
                         uint32_t *fam_out)
{
    if (s->nfam >= s->prev_nfam || !name || !s->fhash_cap)
        return false;
    struct metric_family *f = &s->fam[s->nfam];
    if (f->type != type || strcmp(f->name, name) != 0 || strcmp(f->help, help ? help : "") != 0)
        return false;
    /* a name is in a set once: not if this fill began it at another position already */
    size_t mask = s->fhash_cap - 1;
    for (size_t i = f->hash & mask; s->fhash[i]; i = (i + 1) & mask)
        if (strcmp(s->fam[s->fhash[i] - 1].name, name) == 0)
            return false;
    f->n = 0;
    fhash_put_hash(s->fhash, s->fhash_cap, f->hash, (uint32_t)s->nfam);
    if (fam_out)
        *fam_out = (uint32_t)s->nfam;
    s->nfam++;
    return true;
}

int metric_family_begin(struct metric_set *s, const char *name, const char *help, enum metric_type type,
                        uint32_t *fam_out, struct pk_err *e)
{
    if (type != METRIC_GAUGE && type != METRIC_COUNTER && type != METRIC_UNTYPED)
        return err_set(e, -EINVAL, name ? name : "(null)", "invalid metric type", "%d", (int)type);
    if (family_again(s, name, help, type, fam_out))
        return 0;
    uint32_t idx;
    /* a name in the set was valid when it was added */
    const struct metric_family *f = name ? find_family(s, name, &idx) : NULL;
    if (!f && !metric_name_valid(name))
        return err_set(e, -EINVAL, name ? name : "(null)", "invalid metric name",
                       "a name matches [a-zA-Z_:][a-zA-Z0-9_:]*");
    if (f) {
        if (f->type != type)
            return err_set(e, -EINVAL, name, "metric family begun twice with different types", "%s, then %s",
                           type_name(f->type), type_name(type));
        if (fam_out)
            *fam_out = idx;
        return 0;
    }
    if (s->nfam >= UINT32_MAX)
        return err_set(e, -ENOMEM, name, "too many metric families", NULL);
    if (s->nfam == s->capfam) {
        size_t cap = s->capfam ? 2 * s->capfam : 64;
        struct metric_family *v = realloc(s->fam, cap * sizeof(*v));
        if (!v)
            return err_errno(e, -ENOMEM, name, "cannot add metric family");
        memset(v + s->capfam, 0, (cap - s->capfam) * sizeof(*v));
        s->fam = v;
        s->capfam = cap;
    }
    const char *n = arena_str(s, name);
    const char *h = arena_str(s, help);
    if (!n || !h || fhash_reserve(s) < 0)
        return err_errno(e, -ENOMEM, name, "cannot add metric family");
    struct metric_family *nf = &s->fam[s->nfam];
    nf->name = n;
    nf->help = h;
    nf->type = type;
    nf->n = 0; /* idx and cap survive metric_set_clear */
    nf->hash = name_hash(n);
    fhash_put_hash(s->fhash, s->fhash_cap, nf->hash, (uint32_t)s->nfam);
    if (fam_out)
        *fam_out = (uint32_t)s->nfam;
    s->nfam++;
    return 0;
}

/* The series at position nseries of the previous fill, if it is this one: its strings are kept. */
static bool series_again(struct metric_set *s, uint32_t fam, const struct metric_label *labels,
                         size_t nlabels, double value)
{
    if (s->nseries >= s->prev_nseries || nlabels > METRIC_LABELS_MAX || (nlabels > 0 && !labels))
        return false;
    struct metric_series *m = &s->series[s->nseries];
    struct metric_family *f = &s->fam[fam];
    if (m->family != fam || m->nlabels != nlabels || f->n == f->cap)
        return false;
    for (size_t i = 0; i < nlabels; i++)
        if (!labels[i].name || strcmp(m->labels[i].name, labels[i].name) != 0 ||
            strcmp(m->labels[i].value, labels[i].value ? labels[i].value : "") != 0)
            return false;
    m->value = value;
    f->idx[f->n++] = (uint32_t)s->nseries;
    s->nseries++;
    return true;
}

int metric_add(struct metric_set *s, uint32_t fam, const struct metric_label *labels, size_t nlabels,
               double value, struct pk_err *e)
{
    if (fam >= s->nfam)
        return err_set(e, -EINVAL, "metric_add", "no such metric family", "%u", fam);
    if (series_again(s, fam, labels, nlabels, value))
        return 0;
    struct metric_family *f = &s->fam[fam];
    if (nlabels > METRIC_LABELS_MAX || (nlabels > 0 && !labels))
        return err_set(e, -EINVAL, f->name, "too many labels", "%zu, at most %d", nlabels, METRIC_LABELS_MAX);
    /* Series of a family mostly repeat their neighbour's label names and many
     * of its values (node_cpu_seconds_total: cpu="3" eight times): those are
     * shared, and a name the neighbour has was checked when it was added. */
    const struct metric_series *prev = f->n ? &s->series[f->idx[f->n - 1]] : NULL;
    const char *same[METRIC_LABELS_MAX];
    for (size_t i = 0; i < nlabels; i++) {
        same[i] =
            prev && i < prev->nlabels && labels[i].name && strcmp(prev->labels[i].name, labels[i].name) == 0
                ? prev->labels[i].name
                : NULL;
        if (!same[i] && !metric_label_name_valid(labels[i].name))
            return err_set(e, -EINVAL, f->name, "invalid label name", "'%s'",
                           labels[i].name ? labels[i].name : "(null)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i].name, labels[j].name) == 0)
                return err_set(e, -EINVAL, f->name, "label given twice", "'%s'", labels[i].name);
    }
    if (s->nseries >= UINT32_MAX)
        return err_set(e, -ENOMEM, f->name, "too many series", NULL);
    if (s->nseries == s->capseries) {
        size_t cap = s->capseries ? 2 * s->capseries : 256;
        struct metric_series *v = realloc(s->series, cap * sizeof(*v));
        if (!v)
            return err_errno(e, -ENOMEM, f->name, "cannot add series");
        s->series = v;
        s->capseries = cap;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        uint32_t *v = realloc(f->idx, cap * sizeof(*v));
        if (!v)
            return err_errno(e, -ENOMEM, f->name, "cannot add series");
        f->idx = v;
        f->cap = cap;
    }
    prev = f->n ? &s->series[f->idx[f->n - 1]] : NULL; /* the array may have moved */
    struct metric_series *m = &s->series[s->nseries];
    m->family = fam;
    m->nlabels = (uint8_t)nlabels;
    m->value = value;
    for (size_t i = 0; i < nlabels; i++) {
        const char *ln = same[i], *lv = NULL;
        if (prev && i < prev->nlabels && labels[i].value &&
            strcmp(prev->labels[i].value, labels[i].value) == 0)
            lv = prev->labels[i].value;
        if (!ln)
            ln = arena_str(s, labels[i].name);
        if (!lv)
            lv = arena_str(s, labels[i].value);
        if (!ln || !lv)
            return err_errno(e, -ENOMEM, f->name, "cannot add series");
        m->labels[i].name = ln;
        m->labels[i].value = lv;
    }
    f->idx[f->n++] = (uint32_t)s->nseries;
    s->nseries++;
    return 0;
}

int metric_add1(struct metric_set *s, const char *name, const char *help, enum metric_type type, double value,
                struct pk_err *e)
{
    uint32_t fam;
    int rc = metric_family_begin(s, name, help, type, &fam, e);
    return rc < 0 ? rc : metric_add(s, fam, NULL, 0, value, e);
}

/* ---- lookup ------------------------------------------------------------------- */

const struct metric_family *metric_find_family(const struct metric_set *s, const char *name)
{
    return name ? find_family(s, name, NULL) : NULL;
}

const char *metric_label(const struct metric_series *m, const char *name)
{
    for (size_t i = 0; i < m->nlabels; i++)
        if (strcmp(m->labels[i].name, name) == 0)
            return m->labels[i].value;
    return NULL;
}

const struct metric_series *metric_find(const struct metric_set *s, const char *name,
                                        const struct metric_label *labels, size_t nlabels)
{
    const struct metric_family *f = metric_find_family(s, name);
    if (!f || f->n == 0)
        return NULL;
    if (!labels || nlabels == 0)
        return &s->series[f->idx[0]];
    for (size_t i = 0; i < f->n; i++) {
        const struct metric_series *m = &s->series[f->idx[i]];
        if (m->nlabels != nlabels)
            continue;
        size_t k;
        for (k = 0; k < nlabels; k++) {
            const char *v = metric_label(m, labels[k].name);
            if (!v || strcmp(v, labels[k].value ? labels[k].value : "") != 0)
                break;
        }
        if (k == nlabels)
            return m;
    }
    return NULL;
}

/* ---- key ---------------------------------------------------------------------- */

struct keybuf {
    char *buf;
    size_t cap, len;
};

static void kb_putc(struct keybuf *k, char c)
{
    if (k->len + 1 < k->cap)
        k->buf[k->len] = c;
    k->len++;
}

static void kb_puts(struct keybuf *k, const char *s)
{
    while (*s)
        kb_putc(k, *s++);
}

size_t metric_escape_value(char *buf, size_t cap, size_t off, const char *v)
{
    struct keybuf k = { buf, cap, off };
    for (; *v; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n') {
            kb_putc(&k, '\\');
            kb_putc(&k, *v == '\n' ? 'n' : *v);
        } else {
            kb_putc(&k, *v);
        }
    }
    if (cap > 0)
        buf[k.len < cap ? k.len : cap - 1] = '\0';
    return k.len;
}

size_t metric_key(const struct metric_set *s, const struct metric_series *m, char *buf, size_t cap)
{
    struct keybuf k = { buf, cap, 0 };
    kb_puts(&k, s->fam[m->family].name);
    if (m->nlabels > 0) {
        /* selection sort of at most METRIC_LABELS_MAX indices */
        uint8_t ord[METRIC_LABELS_MAX];
        for (uint8_t i = 0; i < m->nlabels; i++)
            ord[i] = i;
        for (size_t i = 0; i < m->nlabels; i++)
            for (size_t j = i + 1; j < m->nlabels; j++)
                if (strcmp(m->labels[ord[j]].name, m->labels[ord[i]].name) < 0) {
                    uint8_t t = ord[i];
                    ord[i] = ord[j];
                    ord[j] = t;
                }
        kb_putc(&k, '{');
        for (size_t i = 0; i < m->nlabels; i++) {
            const struct metric_label *l = &m->labels[ord[i]];
            if (i)
                kb_putc(&k, ',');
            kb_puts(&k, l->name);
            kb_puts(&k, "=\"");
            k.len = metric_escape_value(k.buf, k.cap, k.len, l->value);
            kb_putc(&k, '"');
        }
        kb_putc(&k, '}');
    }
    if (cap > 0)
        buf[k.len < cap ? k.len : cap - 1] = '\0';
    return k.len;
}
