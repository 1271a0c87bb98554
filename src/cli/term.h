/*
 * term - terminal output for the CLI: TTY detection, colours, progress bar.
 *
 * Colours are used only when the stream is a TTY and NO_COLOR is unset (or
 * empty); TERM=dumb also disables them. The progress bar draws on stderr only
 * when stderr is a TTY, and only once an operation has run for about a
 * second, so short runs leave no trace; it redraws at most 10 times a second.
 */
#ifndef PK_CLI_TERM_H
#define PK_CLI_TERM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct term {
    FILE *fp;
    bool tty;
    bool color;
    int width; /* columns; 80 when unknown */
};

enum term_style {
    TERM_RESET,
    TERM_BOLD,
    TERM_DIM,
    TERM_RED,
    TERM_GREEN,
    TERM_YELLOW,
    TERM_BLUE,
    TERM_MAGENTA,
    TERM_CYAN
};

/* Decides tty/color for fp from isatty(fileno(fp)), NO_COLOR and TERM. */
void term_init(struct term *t, FILE *fp);
/* The escape sequence for s, or "" when colours are off. */
const char *term_style(const struct term *t, enum term_style s);

struct progress {
    struct term *t;
    char label[64];
    uint64_t total; /* 0: unknown (shows a count, no bar) */
    uint64_t start_ns;
    uint64_t last_draw_ns;
    double eta_hint_s; /* estimated total seconds, if the caller knows better than done/total */
    bool drawn;
};

void progress_start(struct progress *p, struct term *t, const char *label, uint64_t total);
/* Cheap when nothing is drawn: one clock read. */
void progress_update(struct progress *p, uint64_t done);
/* Erases the bar if it was drawn. */
void progress_finish(struct progress *p);

#endif
