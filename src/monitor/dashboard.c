#include "monitor/dashboard.h"

#include <gnutls/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/base64.h"

/* generated at build time from src/monitor/dashboard.html (CMakeLists.txt) */
#include "dashboard_html.inc"

static const struct dashboard_asset assets[] = {
    { "/", "text/html; charset=utf-8", dashboard_html, sizeof(dashboard_html) - 1 },
    { "/index.html", "text/html; charset=utf-8", dashboard_html, sizeof(dashboard_html) - 1 },
};

const struct dashboard_asset *dashboard_find(const char *path)
{
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
        if (strcmp(path, assets[i].path) == 0)
            return &assets[i];
    return NULL;
}

/* 'sha256-BASE64' of the text between the page's first <tag> and </tag>, in out[64]. */
static int inline_hash(const char *tag, char *out)
{
    char open[16], close[16];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *page = (const char *)dashboard_html;
    const char *a = strstr(page, open), *b = a ? strstr(a, close) : NULL;
    if (!b)
        return -1;
    a += strlen(open);
    unsigned char d[32];
    char b64[48];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, a, (size_t)(b - a), d) < 0)
        return -1;
    base64_encode(d, sizeof(d), b64);
    snprintf(out, 64, "'sha256-%s'", b64);
    return 0;
}

int dashboard_csp(char *buf, size_t cap)
{
    char script[64], style[64];
    if (inline_hash("script", script) || inline_hash("style", style))
        return -1;
    int n = snprintf(buf, cap,
                     "default-src 'none'; script-src %s; style-src %s; connect-src 'self'; base-uri 'none'; "
                     "form-action 'none'; frame-ancestors 'none'",
                     script, style);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
