#include "load/request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/text.h"

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

int request_split_header(char *text, const char *on, struct load_header *h, struct pk_err *e)
{
    char q[96];
    char *colon = strchr(text, ':');
    if (!colon)
        return err_set(e, PK_EPARSE, on, "invalid header", "'%s' has no ':' (expected 'Name: value')",
                       err_quote(text, strlen(text), q, sizeof(q)));
    if (colon == text)
        return err_set(e, PK_EPARSE, on, "invalid header", "'%s' has an empty name before ':'",
                       err_quote(text, strlen(text), q, sizeof(q)));
    *colon = '\0';
    char *v = colon + 1;
    while (is_blank(*v))
        v++;
    char *end = v + strlen(v);
    while (end > v && is_blank(end[-1]))
        *--end = '\0';
    h->name = text;
    h->value = v;
    return 0;
}

static bool name_is(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

static int check_header(const struct load_header *h, const char *on, struct pk_err *e)
{
    char q[96];
    size_t n = strlen(h->name);
    if (n == 0)
        return err_set(e, PK_EPARSE, on, "invalid header", "empty header name");
    for (size_t i = 0; i < n; i++)
        if (!text_is_tchar(h->name[i]))
            return err_set(e, PK_EPARSE, on, "invalid header",
                           "name '%s' is not a token (letters, digits, !#$%%&'*+-.^_`|~)",
                           err_quote(h->name, n, q, sizeof(q)));
    for (const char *v = h->value; *v; v++)
        if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
            return err_set(e, PK_EPARSE, on, "invalid header", "value of '%s' holds a control byte",
                           err_quote(h->name, n, q, sizeof(q)));
    static const char *const owned[] = { "Content-Length", "Transfer-Encoding", "Connection" };
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        if (name_is(h->name, owned[i]))
            return err_set(e, PK_EUSAGE, on, "invalid header",
                           "'%s' is set by perfkit load (from the body and --no-keepalive)", owned[i]);
    if (name_is(h->name, "Host") && !h->value[0])
        return err_set(e, PK_EPARSE, on, "invalid header", "an empty 'Host'");
    return 0;
}

int request_build(struct load_request *r, const char *method, const struct url *u,
                  const struct load_header *h, size_t nh, const char *body, size_t body_len, bool keepalive,
                  const char *on, struct pk_err *e)
{
    char q[64];
    size_t mlen = strlen(method);
    if (mlen == 0)
        return err_set(e, PK_EPARSE, on, "invalid method", "the method is empty");
    for (size_t i = 0; i < mlen; i++)
        if (!text_is_tchar(method[i]))
            return err_set(e, PK_EPARSE, on, "invalid method",
                           "'%s' is not a token (letters, digits, !#$%%&'*+-.^_`|~)",
                           err_quote(method, mlen, q, sizeof(q)));
    /* A Host of the user's (a virtual host on an address) replaces the URL's. */
    const char *host = u->authority;
    bool host_given = false;
    for (size_t i = 0; i < nh; i++) {
        int rc = check_header(&h[i], on, e);
        if (rc)
            return rc;
        if (name_is(h[i].name, "Host")) {
            if (host_given)
                return err_set(e, PK_EUSAGE, on, "invalid header", "'Host' given twice");
            host = h[i].value;
            host_given = true;
        }
    }

    /* The cap makes an add past it fail with -E2BIG; adds after a failure
     * do nothing, and the first error is the one reported. */
    struct buf b;
    buf_init(&b, REQUEST_BYTES_MAX);
    buf_adds(&b, method);
    buf_addc(&b, ' ');
    buf_adds(&b, u->target);
    buf_adds(&b, " HTTP/1.1\r\nHost: ");
    buf_adds(&b, host);
    buf_adds(&b, "\r\n");
    for (size_t i = 0; i < nh; i++) {
        if (name_is(h[i].name, "Host"))
            continue;
        buf_adds(&b, h[i].name);
        buf_adds(&b, ": ");
        buf_adds(&b, h[i].value);
        buf_adds(&b, "\r\n");
    }
    bool wants_length = body || name_is(method, "POST") || name_is(method, "PUT") || name_is(method, "PATCH");
    if (wants_length)
        buf_printf(&b, "Content-Length: %zu\r\n", body ? body_len : 0);
    if (!keepalive)
        buf_adds(&b, "Connection: close\r\n");
    buf_adds(&b, "\r\n");
    if (body && body_len)
        buf_add(&b, body, body_len);
    size_t len;
    char *bytes = buf_take(&b, &len);
    if (!bytes) {
        if (b.err == -E2BIG)
            return err_set(e, -E2BIG, on, "request too large", "over %u MiB", REQUEST_BYTES_MAX >> 20);
        return err_errno(e, -ENOMEM, on, "cannot build the request");
    }
    memset(r, 0, sizeof(*r));
    r->url = *u;
    r->weight = u->weight ? u->weight : 1;
    r->head = strcmp(method, "HEAD") == 0;
    r->bytes = bytes;
    r->len = len;
    return 0;
}

void request_destroy(struct load_request *r)
{
    free(r->bytes);
    free(r->name);
    r->bytes = NULL;
    r->name = NULL;
    r->len = 0;
}
