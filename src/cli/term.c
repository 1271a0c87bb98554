/*
 * term - TTY detection, colours and the progress bar (term.h).
 *
 * The bar is redrawn in place with '\r' and padded with spaces to the
 * terminal width instead of using erase sequences, so it also works where
 * TERM=dumb; it stays one column short of the width because writing the
 * last column makes many terminals wrap, and a wrapped line cannot be
 * redrawn with '\r'.
 */
#include "cli/term.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/clock.h"

#define DRAW_AFTER_NS 1000000000ull /* runs shorter than this leave no trace */
#define REDRAW_NS     100000000ull
#define MIN_WIDTH     20
#define MAX_WIDTH     400
#define BAR_MAX       40
#define BAR_MIN       10

/* COLUMNS as a plain positive number, else 0. */
static int env_columns(void)
{
    const char *s = getenv("COLUMNS");
    if (!s || !*s)
        return 0;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000)
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

void term_init(struct term *t, FILE *fp)
{
    memset(t, 0, sizeof(*t));
    t->fp = fp;
    t->width = 80;
    int fd = fp ? fileno(fp) : -1;
    t->tty = fd >= 0 && isatty(fd);
    const char *no_color = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    /* no-color.org: set and not empty disables colour, whatever the value. */
    t->color = t->tty && !(no_color && no_color[0]) && !(term && strcmp(term, "dumb") == 0);
    struct winsize ws;
    int cols;
    if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        t->width = ws.ws_col;
    else if ((cols = env_columns()) > 0)
        t->width = cols;
}

const char *term_style(const struct term *t, enum term_style s)
{
    static const char *const seq[] = {
        [TERM_RESET] = "\x1b[0m", [TERM_BOLD] = "\x1b[1m",     [TERM_DIM] = "\x1b[2m",
        [TERM_RED] = "\x1b[31m",  [TERM_GREEN] = "\x1b[32m",   [TERM_YELLOW] = "\x1b[33m",
        [TERM_BLUE] = "\x1b[34m", [TERM_MAGENTA] = "\x1b[35m", [TERM_CYAN] = "\x1b[36m",
    };
    if (!t || !t->color || (unsigned)s >= sizeof(seq) / sizeof(seq[0]))
        return "";
    return seq[s];
}

/* ---- progress --------------------------------------------------------- */

/* Columns taken by UTF-8 text, counting each code point as one. */
static size_t text_cols(const char *s, size_t n)
{
    size_t cols = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            cols++;
    return cols;
}

/* Bytes of s that fit in `cols` columns, not splitting a code point. */
static size_t fit_cols(const char *s, size_t n, size_t cols)
{
    size_t i = 0, c = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && ((unsigned char)s[j] & 0xc0) == 0x80)
            j++;
        if (c + 1 > cols)
            break;
        c++;
        i = j;
    }
    return i;
}

void progress_start(struct progress *p, struct term *t, const char *label, uint64_t total)
{
    memset(p, 0, sizeof(*p));
    p->t = t;
    p->total = total;
    p->start_ns = clock_mono_ns();
    if (!label)
        label = "";
    /* Labels may come from the command line: a newline or an escape in one
     * would break the in-place redraw. */
    size_t n = strnlen(label, sizeof(p->label) - 1);
    while (n > 0 && ((unsigned char)label[n] & 0xc0) == 0x80)
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)label[i];
        p->label[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    p->label[n] = '\0';
}

static void fmt_secs(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, len, "--");
        return;
    }
    if (s > 359999.0)
        s = 359999.0; /* 99h59m59s: a longer estimate means nothing anyway */
    unsigned v = (unsigned)(s + 0.5);
    if (v < 60)
        snprintf(buf, len, "%us", v);
    else if (v < 3600)
        snprintf(buf, len, "%um%02us", v / 60, v % 60);
    else
        snprintf(buf, len, "%uh%02um", v / 3600, v / 60 % 60);
}

static void draw(struct progress *p, uint64_t done, uint64_t now)
{
    double elapsed = (double)(now - p->start_ns) / 1e9;
    char right[96], tbuf[32];
    if (p->total) {
        double left = NAN;
        if (p->eta_hint_s > 0)
            left = p->eta_hint_s > elapsed ? p->eta_hint_s - elapsed : 0;
        else if (done >= p->total)
            left = 0;
        else if (done > 0)
            left = elapsed * (double)(p->total - done) / (double)done;
        fmt_secs(left, tbuf, sizeof(tbuf));
        snprintf(right, sizeof(right), "  %" PRIu64 "/%" PRIu64 "  ETA %s", done, p->total, tbuf);
    } else {
        fmt_secs(elapsed, tbuf, sizeof(tbuf));
        snprintf(right, sizeof(right), "  %" PRIu64 "  elapsed %s", done, tbuf);
    }

    size_t width = (size_t)p->t->width;
    width = width < MIN_WIDTH ? MIN_WIDTH : width > MAX_WIDTH ? MAX_WIDTH : width;
    width--;
    size_t rlen = strlen(right), llen = strlen(p->label);
    size_t lcols = text_cols(p->label, llen);
    if (rlen > width)
        rlen = width;
    if (lcols + rlen > width) {
        llen = fit_cols(p->label, llen, width - rlen);
        lcols = text_cols(p->label, llen);
    }
    size_t bar = 0;
    if (p->total && width > lcols + rlen + 4 + BAR_MIN) {
        bar = width - lcols - rlen - 4;
        if (bar > BAR_MAX)
            bar = BAR_MAX;
    }

    char line[MAX_WIDTH + sizeof(p->label) + 8];
    size_t o = 0;
    line[o++] = '\r';
    memcpy(line + o, p->label, llen);
    o += llen;
    size_t cols = lcols;
    if (bar) {
        uint64_t d = done < p->total ? done : p->total;
        size_t fill = (size_t)((double)bar * (double)d / (double)p->total);
        memcpy(line + o, "  [", 3);
        o += 3;
        memset(line + o, '#', fill);
        memset(line + o + fill, '.', bar - fill);
        o += bar;
        line[o++] = ']';
        cols += bar + 4;
    }
    memcpy(line + o, right, rlen);
    o += rlen;
    cols += rlen;
    while (cols < width) { /* covers whatever a longer previous line left */
        line[o++] = ' ';
        cols++;
    }
    fwrite(line, 1, o, p->t->fp);
    fflush(p->t->fp);
    p->drawn = true;
    p->last_draw_ns = now;
}

void progress_update(struct progress *p, uint64_t done)
{
    if (!p->t || !p->t->tty || !p->t->fp)
        return;
    uint64_t now = clock_mono_ns();
    if (now - p->start_ns < DRAW_AFTER_NS)
        return;
    if (p->drawn && now - p->last_draw_ns < REDRAW_NS)
        return;
    draw(p, done, now);
}

void progress_finish(struct progress *p)
{
    if (!p->drawn || !p->t || !p->t->fp)
        return;
    size_t width = (size_t)p->t->width;
    width = width < MIN_WIDTH ? MIN_WIDTH : width > MAX_WIDTH ? MAX_WIDTH : width;
    char line[MAX_WIDTH + 2];
    line[0] = '\r';
    memset(line + 1, ' ', width - 1);
    line[width] = '\r';
    fwrite(line, 1, width + 1, p->t->fp);
    fflush(p->t->fp);
    p->drawn = false;
}
