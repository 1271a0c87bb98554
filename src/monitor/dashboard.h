/*
 * dashboard - the monitor's web page, built into the binary: one
 * self-contained HTML file (src/monitor/dashboard.html: its CSS and JavaScript
 * inline, no CDN, no external request) that polls /api/status, /api/history
 * and /api/alerts and draws the charts on canvases. cmake/embed.cmake turns
 * the file into a byte array at build time.
 *
 * dashboard_find() maps a request path to an asset, NULL when there is none;
 * assets are static and immutable: safe from any thread.
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

const struct dashboard_asset *dashboard_find(const char *path);

#endif
