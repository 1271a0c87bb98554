#include "sys/psi.h"
#include "sys/sysfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

static const char *const res_names[PSI_NRES] = { "cpu", "memory", "io", "irq" };

const char *psi_resource_name(enum psi_resource r)
{
    return (unsigned)r < PSI_NRES ? res_names[r] : NULL;
}

double psi_seconds(const struct psi_line *l)
{
    /* Two divisions, as node_exporter does, so the doubles are identical. */
    return (double)l->total_us / 1000.0 / 1000.0;
}

/* ---- parser ------------------------------------------------------------- */

static int reject(struct pk_err *e, enum psi_resource res, size_t line, const char *why)
{
    char on[48];
    const char *name = psi_resource_name(res);
    snprintf(on, sizeof(on), "pressure/%s:%zu", name ? name : "?", line);
    return err_set(e, PK_EPARSE, on, "malformed line", "%s", why);
}

enum { HAVE_AVG10 = 1, HAVE_AVG60 = 2, HAVE_AVG300 = 4, HAVE_TOTAL = 8, HAVE_ALL = 15 };

/* "avg10=0.00 avg60=0.00 avg300=0.00 total=0" (trailing blanks cut); NULL or a reason. */
static const char *parse_fields(const char *p, const char *end, struct psi_line *l)
{
    unsigned have = 0;
    for (;;) {
        const char *start = p;
        while (p < end && sysfile_is_blank(*p))
            p++;
        if (p == end)
            break;
        if (p == start)
            return "no blank between fields";
        const char *k = p;
        while (p < end && *p != '=' && !sysfile_is_blank(*p))
            p++;
        if (p == end || *p != '=')
            return "field without '='";
        size_t klen = (size_t)(p - k);
        p++;
        double *avg = NULL;
        unsigned bit = 0;
        if (klen == 5 && memcmp(k, "avg10", 5) == 0) {
            avg = &l->avg10;
            bit = HAVE_AVG10;
        } else if (klen == 5 && memcmp(k, "avg60", 5) == 0) {
            avg = &l->avg60;
            bit = HAVE_AVG60;
        } else if (klen == 6 && memcmp(k, "avg300", 6) == 0) {
            avg = &l->avg300;
            bit = HAVE_AVG300;
        } else if (klen == 5 && memcmp(k, "total", 5) == 0) {
            bit = HAVE_TOTAL;
        } else {
            /* A future kernel's field: skip its value. */
            while (p < end && !sysfile_is_blank(*p))
                p++;
            continue;
        }
        if (have & bit)
            return "repeated field";
        have |= bit;
        int r =
            avg ? sysfile_parse_decimal(&p, end, avg) : sysfile_parse_uint(&p, end, UINT64_MAX, &l->total_us);
        if (r != 0 || (p < end && !sysfile_is_blank(*p)))
            return avg ? "average is not a decimal" : "total is not an unsigned 64-bit decimal";
    }
    if (have != HAVE_ALL)
        return "missing one of avg10, avg60, avg300, total";
    l->known = true;
    return NULL;
}

int psi_parse(const char *buf, size_t len, enum psi_resource res, struct psi_res *out, struct pk_err *e)
{
    memset(out, 0, sizeof(*out));
    struct sysfile_lines it;
    const char *s, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &s, &eol)) {
        eol = s + sysfile_rtrim_len(s, (size_t)(eol - s));
        const char *k = s;
        while (s < eol && !sysfile_is_blank(*s))
            s++;
        size_t klen = (size_t)(s - k);
        struct psi_line *l;
        if (klen == 4 && memcmp(k, "some", 4) == 0)
            l = &out->some;
        else if (klen == 4 && memcmp(k, "full", 4) == 0)
            l = &out->full;
        else
            continue;
        if (l->known) {
            memset(out, 0, sizeof(*out));
            return reject(e, res, it.no, "repeated line");
        }
        struct psi_line tmp;
        memset(&tmp, 0, sizeof(tmp));
        const char *why = parse_fields(s, eol, &tmp);
        if (why) {
            memset(out, 0, sizeof(*out));
            return reject(e, res, it.no, why);
        }
        *l = tmp;
    }
    out->available = true;
    return 0;
}

/* ---- files -------------------------------------------------------------- */

/* What psi_parse needs besides the bytes, for sysfile_parse_file. */
struct parse_arg {
    enum psi_resource res;
    struct psi_res *out;
};

static int parse_file(const char *buf, size_t len, void *arg, struct pk_err *e)
{
    struct parse_arg *a = arg;
    return psi_parse(buf, len, a->res, a->out, e);
}

int psi_read(const char *procfs, struct psi_info *p, struct pk_err *e)
{
    memset(p, 0, sizeof(*p));
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    int rc = 0;
    for (int i = 0; i < PSI_NRES && rc == 0; i++) {
        char rel[32];
        snprintf(rel, sizeof(rel), "pressure/%s", res_names[i]);
        struct parse_arg a = { (enum psi_resource)i, &p->res[i] };
        /* No PSI here (old kernel, container, psi=0): unavailable, not broken. */
        rc = sysfile_parse_file(procfs, rel, PSI_FILE_CAP, SYSFILE_OPTIONAL | SYSFILE_EXACT, parse_file, &a,
                                e);
        if (rc > 0)
            rc = 0;
    }
    if (rc != 0)
        memset(p, 0, sizeof(*p));
    return rc;
}
