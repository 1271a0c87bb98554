/* badserver: a small HTTP/1.1 server that misbehaves on purpose, for the
 * integration tests of `perfkit load`.
 *
 *   pk_badserver --mode MODE --port-file FILE [--max-seconds N] [--requests-file FILE]
 *                [--connections-file FILE]
 *
 * It listens on 127.0.0.1 only, on a port the kernel picks, and writes that
 * port (decimal, newline) to --port-file once listening (tmp file + rename, so
 * a reader never sees a partial number). It exits by itself after
 * --max-seconds (default 120) or on SIGTERM/SIGINT; exit status 0. With
 * --requests-file it writes the number of requests read so far (decimal,
 * newline; a request counts once its header block is complete) every second
 * and on exit, again atomically; --connections-file likewise the number of
 * connections accepted. Usage errors exit 2, runtime failures 1.
 *
 * Each connection gets a thread (at most 4096 at once, like the test nginx's
 * worker_connections; past that a new connection is closed at once, which a
 * client sees as EOF before any response byte). A connection reads requests: a header block
 * ending in "\r\n\r\n" (at most 64 KiB, or the connection is closed) and a
 * body of Content-Length bytes (chunked request bodies are not supported).
 * Requests may be pipelined. Where a mode "closes", it closes gracefully: it
 * shuts down its write side (FIN) and drains what the client still sends for
 * up to 1 s, so the client reads everything that was sent before the FIN.
 *
 * MODE, what goes on the wire, and what a correct client must report:
 *
 *   ok          Every request gets "HTTP/1.1 200 OK", Content-Length: 2, body
 *               "ok" (no body for HEAD); keep-alive; pipelining works.
 *               Client: 200s, no errors, 2 body bytes per response.
 *   status      Request number i (one counter over all connections) gets
 *               status [200, 404, 500][i % 3] with Content-Length: 0;
 *               keep-alive. Client: a status map of about 1/3 each.
 *   close       A valid 200 "ok" with "Connection: close", then closes after
 *               that one response. Client: 200s, reconnecting for each
 *               request; no errors (a client that reuses the connection
 *               without honouring "Connection: close" sees EOF on its write
 *               or before any response byte).
 *   reset       Reads one request, then closes with RST (SO_LINGER {1, 0})
 *               without answering. Client: a read error, ECONNRESET (or EOF
 *               if the reset races the read); never a response.
 *   close-mid   Sends "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" and 10
 *               body bytes, then closes (FIN). Client: EOF inside the body
 *               (truncated response), not a success.
 *   close-head  Sends "HTTP/1.1 200 OK\r\nContent-Le" and closes (FIN).
 *               Client: EOF inside the headers, not a success.
 *   slow-body   Sends headers with Content-Length: 50, then one body byte
 *               every 200 ms (10 s for the body). Client: a timeout when its
 *               request timeout is shorter than 10 s (e.g. 1 s).
 *   hang        Reads (and counts) requests, never answers, keeps the
 *               connection open until the client closes it or the server
 *               exits. Client: a timeout.
 *   bad-chunk   Sends "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
 *               then "zz\r\n" (not a hex chunk size) and more bytes, and keeps
 *               the connection open. Client: a parse error (bad chunk size),
 *               promptly, not a timeout.
 *   garbage     On accept, sends "SSH-2.0-OpenSSH_9.2\r\n" like an SSH server,
 *               then reads and ignores requests, keeping the connection open.
 *               Client: a parse error (not an HTTP status line).
 *   oversized   Every request gets a 200 whose one header line "X-Oversized:
 *               aaa..." is 100 KiB long (without its CRLF), then
 *               Content-Length: 2 and "ok". Client: a parse error (header too
 *               large) unless its header cap is above 100 KiB.
 *   no-accept   Listens (backlog 128) and never calls accept: connects
 *               succeed through the backlog, the request sits in the kernel,
 *               nothing ever answers. Client: a timeout. The request count
 *               stays 0.
 *   delay       As ok, but each response is sent 10 ms after its request
 *               was read: one connection answers at most 100 requests/s.
 *               Client: in the open model with fewer connections than rate
 *               x 10 ms, requests wait for a free connection, and those never
 *               sent are dropped.
 *   extra       Every request gets the ok response twice, in one send:
 *               the second answers nothing that was asked. Client: an error
 *               for the unsolicited bytes on each connection (it cannot
 *               trust the connection any more), never a silent drop.
 *   stall       As ok, but request number i (one counter over all
 *               connections, from 1) with i % 100 == 0 is answered after
 *               500 ms. Client: with one connection at a fixed rate, the
 *               requests due during a stall wait behind it; the latency from
 *               their intended send time shows it, the one from the write
 *               does not (coordinated omission).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode {
    M_OK,
    M_STATUS,
    M_CLOSE,
    M_RESET,
    M_CLOSE_MID,
    M_CLOSE_HEAD,
    M_SLOW_BODY,
    M_HANG,
    M_BAD_CHUNK,
    M_GARBAGE,
    M_OVERSIZED,
    M_NO_ACCEPT,
    M_STALL,
    M_EXTRA,
    M_DELAY,
};

static const char *const mode_names[] = {
    "ok",        "status",  "close",     "reset",     "close-mid", "close-head", "slow-body", "hang",
    "bad-chunk", "garbage", "oversized", "no-accept", "stall",     "extra",      "delay",
};

#define MAX_CONNS      4096
#define HEADER_CAP     (64 * 1024)
#define OVERSIZED_LINE (100 * 1024)

static enum mode g_mode;
static volatile sig_atomic_t g_stop;
static atomic_ulong g_requests;
static atomic_ulong g_connections;
static atomic_ulong g_status_counter;
static atomic_int g_active;
static char *g_oversized; /* the whole oversized response, built once */
static size_t g_oversized_len;

/* What a connection does after answering a request. */
enum next { N_CONTINUE, N_CLOSE, N_RESET };

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* FIN, then read what the client still sends (for up to 1 s) so that
 * closing does not turn into an RST that could destroy unread response bytes
 * in the client's receive queue. */
static void close_graceful(int fd)
{
    char buf[4096];
    struct timeval tv = { 1, 0 };
    shutdown(fd, SHUT_WR);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (int i = 0; i < 256; i++) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno != EINTR))
            break;
    }
    close(fd);
}

static void close_reset(int fd)
{
    struct linger lg = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/* Finds "\r\n\r\n" in p[0..n); returns the header block length including it,
 * or 0 if absent. */
static size_t header_end(const char *p, size_t n)
{
    const char *e = memmem(p, n, "\r\n\r\n", 4);
    return e ? (size_t)(e - p) + 4 : 0;
}

/* Reads Content-Length from a header block of n bytes. Returns 0 and sets
 * *len (0 when absent), or -1 when the value is malformed or absurd. */
static int content_length(const char *p, size_t n, unsigned long long *len)
{
    static const char name[] = "content-length:";
    const size_t nl = sizeof(name) - 1;
    *len = 0;
    const char *line = memchr(p, '\n', n); /* skip the request line */
    while (line && (size_t)(line + 1 - p) < n) {
        line++;
        size_t left = n - (size_t)(line - p);
        if (left > nl && strncasecmp(line, name, nl) == 0) {
            size_t i = nl;
            while (i < left && (line[i] == ' ' || line[i] == '\t'))
                i++;
            if (i >= left || line[i] < '0' || line[i] > '9')
                return -1;
            unsigned long long v = 0;
            while (i < left && line[i] >= '0' && line[i] <= '9') {
                v = v * 10 + (unsigned)(line[i] - '0');
                if (v > (1ULL << 40))
                    return -1;
                i++;
            }
            *len = v;
        }
        line = memchr(line, '\n', left);
    }
    return 0;
}

/* Appends to a growable output buffer; returns -1 when out of memory. */
static int out_add(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        char *nb = realloc(*buf, c);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

/* Answers one complete request. Responses that keep the connection are
 * appended to out (sent once per read, so pipelined requests share a send);
 * the others are sent here, after flushing what out already holds. */
static enum next respond(int fd, int head, char **out, size_t *olen, size_t *ocap)
{
    static const char ok_resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    static const char ok_close[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    static const char *const st[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
    };
    static const char mid[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
    static const char half[] = "HTTP/1.1 200 OK\r\nContent-Le";
    static const char slow[] = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n";
    static const char chunk[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";

    /* Modes that send directly keep the order of earlier pipelined answers. */
    if (g_mode != M_OK && g_mode != M_STALL && g_mode != M_STATUS && g_mode != M_OVERSIZED &&
        g_mode != M_EXTRA && g_mode != M_DELAY && *olen) {
        if (send_all(fd, *out, *olen) < 0)
            return N_CLOSE;
        *olen = 0;
    }

    switch (g_mode) {
    case M_DELAY:
        sleep_ms(10); /* then as ok */
        /* fall through */
    case M_STALL:
        if (g_mode == M_STALL && (atomic_fetch_add(&g_status_counter, 1) + 1) % 100 == 0) {
            if (*olen) {
                if (send_all(fd, *out, *olen) < 0)
                    return N_CLOSE;
                *olen = 0;
            }
            sleep_ms(500);
        }
        /* fall through */
    case M_OK:
        return out_add(out, olen, ocap, ok_resp, sizeof(ok_resp) - 1 - (head ? 2 : 0)) < 0 ? N_CLOSE
                                                                                           : N_CONTINUE;
    case M_EXTRA: {
        size_t n = sizeof(ok_resp) - 1 - (head ? 2 : 0);
        return out_add(out, olen, ocap, ok_resp, n) < 0 || out_add(out, olen, ocap, ok_resp, n) < 0
                   ? N_CLOSE
                   : N_CONTINUE;
    }
    case M_STATUS: {
        const char *s = st[atomic_fetch_add(&g_status_counter, 1) % 3];
        return out_add(out, olen, ocap, s, strlen(s)) < 0 ? N_CLOSE : N_CONTINUE;
    }
    case M_OVERSIZED:
        return out_add(out, olen, ocap, g_oversized, g_oversized_len - (head ? 2 : 0)) < 0 ? N_CLOSE
                                                                                           : N_CONTINUE;
    case M_CLOSE: send_all(fd, ok_close, sizeof(ok_close) - 1 - (head ? 2 : 0)); return N_CLOSE;
    case M_RESET: return N_RESET;
    case M_CLOSE_MID: send_all(fd, mid, sizeof(mid) - 1); return N_CLOSE;
    case M_CLOSE_HEAD: send_all(fd, half, sizeof(half) - 1); return N_CLOSE;
    case M_SLOW_BODY:
        if (send_all(fd, slow, sizeof(slow) - 1) < 0)
            return N_CLOSE;
        for (int i = 0; i < 50 && !g_stop; i++) {
            sleep_ms(200);
            if (send_all(fd, "x", 1) < 0)
                return N_CLOSE;
        }
        return N_CONTINUE;
    case M_BAD_CHUNK: return send_all(fd, chunk, sizeof(chunk) - 1) < 0 ? N_CLOSE : N_CONTINUE;
    case M_HANG:
    case M_GARBAGE:
    case M_NO_ACCEPT: break;
    }
    return N_CONTINUE;
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *in = malloc(HEADER_CAP);
    char *out = NULL;
    size_t len = 0, olen = 0, ocap = 0;
    unsigned long long body_left = 0;
    int pending = 0, pending_head = 0;
    enum next next = N_CONTINUE;

    if (!in)
        goto done;
    if (g_mode == M_GARBAGE) {
        static const char banner[] = "SSH-2.0-OpenSSH_9.2\r\n";
        if (send_all(fd, banner, sizeof(banner) - 1) < 0)
            goto done;
    }

    while (next == N_CONTINUE) {
        ssize_t r = recv(fd, in + len, HEADER_CAP - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;

        size_t pos = 0;
        while (next == N_CONTINUE) {
            if (body_left > 0) {
                size_t take = len - pos < body_left ? len - pos : (size_t)body_left;
                pos += take;
                body_left -= take;
                if (body_left > 0)
                    break;
            }
            if (pending) {
                pending = 0;
                next = respond(fd, pending_head, &out, &olen, &ocap);
                continue;
            }
            size_t h = header_end(in + pos, len - pos);
            if (h == 0) {
                if (pos == 0 && len == HEADER_CAP)
                    next = N_CLOSE; /* header block over the cap */
                break;
            }
            atomic_fetch_add(&g_requests, 1);
            if (content_length(in + pos, h, &body_left) < 0) {
                next = N_CLOSE;
                break;
            }
            pending = 1;
            pending_head = h >= 5 && memcmp(in + pos, "HEAD ", 5) == 0;
            pos += h;
        }
        if (olen) {
            if (send_all(fd, out, olen) < 0)
                next = N_CLOSE;
            olen = 0;
        }
        memmove(in, in + pos, len - pos);
        len -= pos;
    }

done:
    if (next == N_RESET)
        close_reset(fd);
    else
        close_graceful(fd);
    free(in);
    free(out);
    atomic_fetch_sub(&g_active, 1);
    return NULL;
}

static int write_atomic(const char *path, unsigned long value)
{
    char tmp[4096], text[32];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    int tl = snprintf(text, sizeof(text), "%lu\n", value);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int bad = fwrite(text, 1, (size_t)tl, f) != (size_t)tl;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: pk_badserver --mode MODE --port-file FILE [--max-seconds N]"
                    " [--requests-file FILE] [--connections-file FILE]\nmodes:");
    for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        fprintf(stderr, " %s", mode_names[i]);
    fputc('\n', stderr);
    exit(2);
}

static void build_oversized(void)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nX-Oversized: ";
    static const char tail[] = "\r\nContent-Length: 2\r\n\r\nok";
    size_t line = OVERSIZED_LINE; /* "X-Oversized: " plus padding */
    size_t pad = line - (sizeof("X-Oversized: ") - 1);
    g_oversized_len = (sizeof(head) - 1) + pad + (sizeof(tail) - 1);
    g_oversized = malloc(g_oversized_len);
    if (!g_oversized) {
        perror("pk_badserver: malloc");
        exit(1);
    }
    memcpy(g_oversized, head, sizeof(head) - 1);
    memset(g_oversized + sizeof(head) - 1, 'a', pad);
    memcpy(g_oversized + sizeof(head) - 1 + pad, tail, sizeof(tail) - 1);
}

struct args {
    const char *mode, *port_file, *req_file, *conn_file;
    long max_seconds;
};

/* The options, or usage() (exit 2); sets g_mode. */
static void parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof(*a));
    a->max_seconds = 120;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (i + 1 >= argc)
            usage();
        if (strcmp(o, "--mode") == 0) {
            a->mode = argv[++i];
        } else if (strcmp(o, "--port-file") == 0) {
            a->port_file = argv[++i];
        } else if (strcmp(o, "--requests-file") == 0) {
            a->req_file = argv[++i];
        } else if (strcmp(o, "--connections-file") == 0) {
            a->conn_file = argv[++i];
        } else if (strcmp(o, "--max-seconds") == 0) {
            char *end;
            errno = 0;
            a->max_seconds = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || a->max_seconds <= 0 || a->max_seconds > 86400)
                usage();
        } else {
            usage();
        }
    }
    if (!a->mode || !a->port_file)
        usage();
    size_t nmodes = sizeof(mode_names) / sizeof(mode_names[0]), m;
    for (m = 0; m < nmodes; m++)
        if (strcmp(a->mode, mode_names[m]) == 0)
            break;
    if (m == nmodes)
        usage();
    g_mode = (enum mode)m;
}

int main(int argc, char **argv)
{
    struct args a;
    parse_args(argc, argv, &a);
    const char *port_file = a.port_file, *req_file = a.req_file, *conn_file = a.conn_file;
    long max_seconds = a.max_seconds;
    if (g_mode == M_OVERSIZED)
        build_oversized();

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* One descriptor per connection: take the whole hard limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("pk_badserver: socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t alen = sizeof(addr);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(lfd, g_mode == M_NO_ACCEPT ? 128 : 4096) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
        perror("pk_badserver: bind/listen");
        return 1;
    }
    if (write_atomic(port_file, ntohs(addr.sin_port)) < 0) {
        perror("pk_badserver: port file");
        return 1;
    }
    if (req_file)
        write_atomic(req_file, 0);
    if (conn_file)
        write_atomic(conn_file, 0);

    /* Connection threads never take the signals: the main loop does. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);

    double deadline = now_s() + (double)max_seconds, next_write = now_s() + 1.0;
    while (!g_stop) {
        double t = now_s();
        if (t >= deadline)
            break;
        if ((req_file || conn_file) && t >= next_write) {
            if (req_file)
                write_atomic(req_file, atomic_load(&g_requests));
            if (conn_file)
                write_atomic(conn_file, atomic_load(&g_connections));
            next_write = t + 1.0;
        }
        struct pollfd p = { lfd, POLLIN, 0 };
        int pr = g_mode == M_NO_ACCEPT ? poll(NULL, 0, 200) : poll(&p, 1, 200);
        if (pr <= 0)
            continue;
        int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0) {
            /* Out of descriptors: the connection stays queued and poll would
             * spin; wait for a connection to end. Other errors: keep serving. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                sleep_ms(20);
            continue;
        }
        atomic_fetch_add(&g_connections, 1);
        if (atomic_fetch_add(&g_active, 1) >= MAX_CONNS) {
            atomic_fetch_sub(&g_active, 1);
            close(cfd);
            continue;
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_t th;
        pthread_sigmask(SIG_BLOCK, &block, &old);
        int err = pthread_create(&th, &attr, conn_main, (void *)(intptr_t)cfd);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (err) {
            atomic_fetch_sub(&g_active, 1);
            close(cfd);
        }
    }

    close(lfd);
    if (req_file)
        write_atomic(req_file, atomic_load(&g_requests));
    if (conn_file)
        write_atomic(conn_file, atomic_load(&g_connections));
    fflush(NULL);
    _exit(0);
}
