/*
 * monitor_floor - the least a process can be that does what perfkit monitor
 * does with the two libraries it must use: libmicrohttpd answering HTTP on
 * 127.0.0.1 (a fixed text, like a pre-rendered /metrics) and SQLite in WAL
 * mode taking one transaction of N rows every second. Nothing else: no
 * collectors, rules or JSON. bench/monitor_node_exporter.sh measures its
 * resident memory next to the agents', as the floor under perfkit's figure.
 *
 * usage: monitor_floor PORT DB SECONDS [ROWS [CACHE_KIB]]
 * (CACHE_KIB: SQLite's page cache; SQLite's default, 2 MiB, when absent)
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char body[32768];

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size, (void)state;
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof(body) - 1, body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: monitor_floor PORT DB SECONDS [ROWS [CACHE_KIB]]\n");
        return 2;
    }
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    long seconds = strtol(argv[3], NULL, 10);
    int rows = argc > 4 ? atoi(argv[4]) : 300;
    int cache_kib = argc > 5 ? atoi(argv[5]) : 0;
    memset(body, 'x', sizeof(body) - 1);

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, answer,
                         NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "monitor_floor: cannot listen on 127.0.0.1:%u\n", port);
        return 1;
    }
    sqlite3 *db;
    sqlite3_stmt *ins;
    if (sqlite3_open(argv[2], &db) != SQLITE_OK ||
        sqlite3_exec(
            db,
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            "CREATE TABLE IF NOT EXISTS s(series INTEGER, ts INTEGER, v REAL, PRIMARY KEY(series, ts))"
            " WITHOUT ROWID",
            NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO s VALUES(?,?,?)", -1, &ins, NULL) != SQLITE_OK) {
        fprintf(stderr, "monitor_floor: %s: %s\n", argv[2], sqlite3_errmsg(db));
        return 1;
    }
    if (cache_kib > 0) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", cache_kib);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    for (long t = 0; t < seconds; t++) {
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (int i = 0; i < rows; i++) {
            sqlite3_bind_int(ins, 1, i);
            sqlite3_bind_int64(ins, 2, t);
            sqlite3_bind_double(ins, 3, (double)i * t);
            sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        sleep(1);
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
    MHD_stop_daemon(d);
    return 0;
}
