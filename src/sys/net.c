#include "sys/net.h"
#include "sys/sysfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/check.h"
#include "core/err.h"
#include "core/text.h"

/* A tcp6 line is about 180 bytes; a chunk holds a few hundred of them. */
#define TCP_CHUNK    (64u * 1024)
#define DEV_COUNTERS 16

/* ---- shared ------------------------------------------------------------- */

static void skip_blanks(const char **p, const char *end)
{
    while (*p < end && sysfile_is_blank(**p))
        (*p)++;
}

static int reject(struct pk_err *e, const char *name, size_t line, const char *why)
{
    char on[48];
    snprintf(on, sizeof(on), "%s:%zu", name, line);
    return err_set(e, PK_EPARSE, on, "malformed line", "%s", why);
}

/* ---- net/dev ------------------------------------------------------------ */

void net_dev_list_destroy(struct net_dev_list *l)
{
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

const struct net_dev *net_dev_find(const struct net_dev_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

/* "  eth0: 62397217    1238    0 ..." (old kernels: "eth0:62397217" with no blank) */
static const char *dev_line(const char *p, const char *end, struct net_dev *d)
{
    skip_blanks(&p, end);
    const char *name = p;
    while (p < end && *p != ':' && !sysfile_is_blank(*p))
        p++;
    size_t nlen = (size_t)(p - name);
    if (p == end || *p != ':')
        return "no \"name:\"";
    if (nlen == 0 || nlen >= sizeof(d->name))
        return "interface name empty or longer than 15 bytes";
    /* Linux allows any byte but '/', ':', blanks and NUL (UTF-8 names exist); control bytes
     * and a NUL, which would cut the C string, come only from a broken file */
    for (size_t i = 0; i < nlen; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return "control byte in the interface name";
    memcpy(d->name, name, nlen);
    d->name[nlen] = '\0';
    p++;
    uint64_t c[DEV_COUNTERS];
    for (int i = 0; i < DEV_COUNTERS; i++) {
        const char *start = p;
        skip_blanks(&p, end);
        if (i > 0 && p == start)
            return "no blank between counters";
        if (sysfile_parse_uint(&p, end, UINT64_MAX, &c[i]) != 0)
            return p == end ? "fewer than 16 counters" : "a counter is not a number";
    }
    if (p < end && !sysfile_is_blank(*p))
        return "a counter is not a number";
    d->rx_bytes = c[0];
    d->rx_packets = c[1];
    d->rx_errs = c[2];
    d->rx_drop = c[3];
    d->rx_fifo = c[4];
    d->rx_frame = c[5];
    d->rx_compressed = c[6];
    d->rx_multicast = c[7];
    d->tx_bytes = c[8];
    d->tx_packets = c[9];
    d->tx_errs = c[10];
    d->tx_drop = c[11];
    d->tx_fifo = c[12];
    d->tx_colls = c[13];
    d->tx_carrier = c[14];
    d->tx_compressed = c[15];
    return NULL;
}

int net_parse_dev(const char *buf, size_t len, struct net_dev_list *l, struct pk_err *e)
{
    l->v = NULL;
    l->n = 0;
    l->v = calloc(sysfile_count_lines(buf, len), sizeof(*l->v));
    if (!l->v)
        return err_errno(e, -ENOMEM, "dev", "cannot parse");
    struct sysfile_lines it;
    const char *p, *eol;
    sysfile_lines_init(&it, buf, len);
    while (sysfile_lines_next(&it, &p, &eol)) {
        const char *why = NULL;
        if (it.no <= 2) {
            /* "Inter-|   Receive ..." and " face |bytes    packets ..." */
            if (!memchr(p, '|', (size_t)(eol - p)))
                why = "not the header";
        } else {
            const char *le = p + sysfile_rtrim_len(p, (size_t)(eol - p));
            const char *s = p;
            skip_blanks(&s, le);
            if (s < le) {
                PK_ASSERT(l->n < it.no); /* l->v has one entry per line */
                why = dev_line(p, le, &l->v[l->n]);
                if (!why)
                    l->n++;
            }
        }
        if (why) {
            net_dev_list_destroy(l);
            return reject(e, "dev", it.no, why);
        }
    }
    if (it.no < 2) {
        net_dev_list_destroy(l);
        return reject(e, "dev", it.no + 1, "no header");
    }
    return 0;
}

static int parse_dev(const char *buf, size_t len, void *l, struct pk_err *e)
{
    return net_parse_dev(buf, len, l, e);
}

int net_read_dev(const char *procfs, struct net_dev_list *l, struct pk_err *e)
{
    l->v = NULL;
    l->n = 0;
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    return sysfile_parse_file(procfs, "net/dev", NET_DEV_CAP, 0, parse_dev, l, e);
}

/* ---- net/tcp ------------------------------------------------------------ */

const char *net_tcp_state_name(int state)
{
    static const char *const names[NET_TCP_NSTATES] = {
        NULL,        "established", "syn_sent",   "syn_recv", "fin_wait1", "fin_wait2",
        "time_wait", "close",       "close_wait", "last_ack", "listen",    "closing",
    };
    return state > 0 && state < NET_TCP_NSTATES ? names[state] : "unknown";
}

/* Hex digits at *p (at most 16: a 64-bit value) up to a non-hex byte. */
static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int n = 0;
    for (; s < end && text_hexval((unsigned char)*s) >= 0; s++, n++) {
        if (n == 16)
            return false;
        v = v << 4 | (uint64_t)text_hexval((unsigned char)*s);
    }
    if (n == 0)
        return false;
    *p = s;
    *out = v;
    return true;
}

/* An address "0100007F:0CEA" (IPv6: 32 hex digits before the colon): shape only. */
static bool hex_address(const char *p, const char *end)
{
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon || colon == p || colon + 1 == end)
        return false;
    for (const char *s = p; s < end; s++)
        if (s != colon && text_hexval((unsigned char)*s) < 0)
            return false;
    return true;
}

/* "hex:hex" filling the token [p, end) exactly. */
static bool hex_pair(const char *p, const char *end, uint64_t *a, uint64_t *b)
{
    if (!parse_hex(&p, end, a) || p == end || *p != ':')
        return false;
    p++;
    return parse_hex(&p, end, b) && p == end;
}

static bool next_token(const char **p, const char *end, const char **tok, const char **tend)
{
    skip_blanks(p, end);
    if (*p == end)
        return false;
    *tok = *p;
    while (*p < end && !sysfile_is_blank(**p))
        (*p)++;
    *tend = *p;
    return true;
}

/* "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 ..." */
static const char *tcp_line(const char *p, const char *end, struct net_tcp *t)
{
    const char *tok[5], *tend[5];
    for (int i = 0; i < 5; i++)
        if (!next_token(&p, end, &tok[i], &tend[i]))
            return "fewer than 5 fields";
    const char *s = tok[0];
    uint64_t v;
    if (sysfile_parse_uint(&s, tend[0], UINT64_MAX, &v) != 0 || s + 1 != tend[0] || *s != ':')
        return "no slot number \"N:\"";
    if (!hex_address(tok[1], tend[1]) || !hex_address(tok[2], tend[2]))
        return "addresses are not hex:hex";
    s = tok[3];
    uint64_t st;
    if (!parse_hex(&s, tend[3], &st) || s != tend[3] || st > 0xff)
        return "state is not a hex byte";
    uint64_t tx, rx;
    if (!hex_pair(tok[4], tend[4], &tx, &rx))
        return "queues are not tx:rx in hex";
    if (st > 0 && st < NET_TCP_NSTATES)
        t->states[st]++;
    else
        t->unknown++;
    t->tx_queued += tx;
    t->rx_queued += rx;
    return NULL;
}

int net_parse_tcp(const char *buf, size_t len, size_t *line, struct net_tcp *t, struct pk_err *e)
{
    struct sysfile_lines it;
    const char *s, *eol;
    sysfile_lines_init(&it, buf, len);
    it.no = *line; /* the file comes in chunks: numbers go on from the last one */
    while (sysfile_lines_next(&it, &s, &eol)) {
        *line = it.no;
        const char *why = NULL;
        skip_blanks(&s, eol);
        if (*line == 1) {
            /* "  sl  local_address rem_address   st tx_queue ..." */
            if (eol - s < 3 || s[0] != 's' || s[1] != 'l' || !sysfile_is_blank(s[2]))
                why = "not the header";
        } else if (s < eol && sysfile_rtrim_len(s, (size_t)(eol - s)) > 0) {
            why = tcp_line(s, eol, t);
        }
        if (why)
            return reject(e, "tcp", *line, why);
    }
    return 0;
}

/* One tcp file in chunks of whole lines: the line that straddles a chunk is carried over. */
static int read_tcp_file(int procfd, const char *rel, struct net_tcp *t, struct pk_err *e)
{
    int fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char *buf = malloc(TCP_CHUNK);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t have = 0, line = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, TCP_CHUNK - have);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0) {
            if (have > 0)
                rc = net_parse_tcp(buf, have, &line, t, e);
            break;
        }
        have += (size_t)r;
        PK_ASSERT(have <= TCP_CHUNK);
        size_t whole = have;
        while (whole > 0 && buf[whole - 1] != '\n')
            whole--;
        if (whole == 0) {
            if (have == TCP_CHUNK) {
                rc = reject(e, "tcp", line + 1, "line longer than 64 KiB");
                break;
            }
            continue;
        }
        rc = net_parse_tcp(buf, whole, &line, t, e);
        if (rc < 0)
            break;
        memmove(buf, buf + whole, have - whole);
        have -= whole;
    }
    free(buf);
    close(fd);
    return rc;
}

int net_read_tcp(const char *procfs, struct net_tcp *t, struct pk_err *e)
{
    memset(t, 0, sizeof(*t));
    if (!procfs)
        return err_set(e, -EINVAL, NULL, "no procfs root given", NULL);
    int procfd = open(procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0)
        return err_errno(e, -errno, procfs, "cannot open procfs root");
    static const char *const files[2] = { "net/tcp", "net/tcp6" };
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        rc = read_tcp_file(procfd, files[i], t, e);
        if (rc == PK_EPARSE) {
            sysfile_name_err(e, procfs, files[i]);
        } else if (rc == -ENOENT && i == 1) {
            rc = 0; /* no IPv6 */
        } else if (rc < 0) {
            char on[512];
            snprintf(on, sizeof(on), "%s/%s", procfs, files[i]);
            err_errno(e, rc, on, "cannot read TCP sockets");
        } else if (i == 1) {
            t->have_tcp6 = true;
        }
    }
    close(procfd);
    if (rc < 0)
        memset(t, 0, sizeof(*t));
    return rc;
}

/* ---- rates -------------------------------------------------------------- */

double net_rate(uint64_t before, uint64_t after, double seconds)
{
    if (!(seconds > 0) || after < before)
        return -1;
    return (double)(after - before) / seconds;
}

int net_dev_rates(const struct net_dev *before, const struct net_dev *after, double seconds,
                  struct net_dev_rates *r)
{
    if (!(seconds > 0) || strcmp(before->name, after->name) != 0)
        return -EINVAL;
    const uint64_t *b[8] = { &before->rx_bytes, &before->rx_packets, &before->rx_errs, &before->rx_drop,
                             &before->tx_bytes, &before->tx_packets, &before->tx_errs, &before->tx_drop };
    const uint64_t *a[8] = { &after->rx_bytes, &after->rx_packets, &after->rx_errs, &after->rx_drop,
                             &after->tx_bytes, &after->tx_packets, &after->tx_errs, &after->tx_drop };
    double *out[8] = { &r->rx_bytes, &r->rx_packets, &r->rx_errs, &r->rx_drop,
                       &r->tx_bytes, &r->tx_packets, &r->tx_errs, &r->tx_drop };
    int rc = 0;
    for (int i = 0; i < 8; i++) {
        *out[i] = net_rate(*b[i], *a[i], seconds);
        if (*out[i] < 0)
            rc = -ERANGE;
    }
    return rc;
}
