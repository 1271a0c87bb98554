#include "monitor/dashboard.h"

#include <string.h>

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
