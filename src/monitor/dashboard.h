/*
 * dashboard - the monitor's web page, built into the binary: one
 * self-contained HTML file (src/monitor/dashboard.html: its CSS and JavaScript
 * inline, no CDN, no external request) that polls /api/status, /api/history
 * and /api/alerts and draws the charts on canvases. cmake/embed.cmake turns
 * the file into a byte array at build time.
 *
 * dashboard_find() maps a request path to an asset, NULL when there is none;
 * assets are static and immutable: safe from any thread. The assets hold no
 * data (the page fetches everything from the API, with the token when the
 * agent has one), so the agent serves them without the token.
 *
 * dashboard_csp() writes the page's Content-Security-Policy into buf: its
 * one inline script and style allowed by their SHA-256, nothing else run or
 * loaded, requests to the agent only, no framing. 0, or -1 when cap is too
 * small (DASHBOARD_CSP_MAX suffices).
 */
#ifndef PK_MONITOR_DASHBOARD_H
#define PK_MONITOR_DASHBOARD_H

#include <stddef.h>

struct dashboard_asset {
    const char *path;
    const char *content_type;
    const void *data;
    size_t len;
};

#define DASHBOARD_CSP_MAX 320

const struct dashboard_asset *dashboard_find(const char *path);
int dashboard_csp(char *buf, size_t cap);

#endif
