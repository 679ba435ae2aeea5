/* A throwaway PostgreSQL server for tests: initdb into a temp dir, start on
 * 127.0.0.1 at a free port (socket in the temp dir), createdb, stop and
 * remove on lh_pg_stop. Runs the server binaries as user "postgres" when the
 * test runs as root (postgres refuses to run as root). Reusable by any test:
 *
 *     lh_pg_server pg;
 *     if (!lh_pg_start(&pg)) { pg.missing ? skip(pg.skip_reason) : fail(); }
 *     ... pg.uri ("postgresql://postgres@127.0.0.1:PORT/lhtest") ...
 *     lh_pg_stop(&pg);
 */
#ifndef LH_TEST_PG_SERVER_H
#define LH_TEST_PG_SERVER_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

typedef struct lh_pg_server {
    char bindir[512];
    char dir[512];
    char uri[256];
    char skip_reason[256];
    int port;
    bool as_postgres; /* binaries run through runuser -u postgres */
    bool running;
    bool missing; /* no binaries / no server user: skip, not fail */
    int watch_fd;  /* write end of the watchdog pipe */
    pid_t watchdog;
} lh_pg_server;

static int lh_pg_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Run a shell command line as the server user; 0 on success. */
static int lh_pg_sh(const lh_pg_server *pg, const char *cmd)
{
    char line[4096];
    if (pg->as_postgres)
        snprintf(line, sizeof line, "runuser -u postgres -- sh -c '%s' >>%s/setup.log 2>&1", cmd,
                 pg->dir);
    else snprintf(line, sizeof line, "sh -c '%s' >>%s/setup.log 2>&1", cmd, pg->dir);
    return system(line);
}

/* A child that stops the server and removes its directory once the pipe
 * closes: on lh_pg_stop, or when the test process dies in any way (crash,
 * sanitizer abort, kill), so no server outlives its test. */
static void lh_pg_watchdog(lh_pg_server *pg)
{
    int fds[2];
    if (pipe(fds) != 0) return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        char c;
        while (read(fds[0], &c, 1) != 0) {
        }
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s/pg_ctl -D %s/data -m immediate -w stop", pg->bindir,
                 pg->dir);
        lh_pg_sh(pg, cmd);
        snprintf(cmd, sizeof cmd, "rm -rf %s", pg->dir);
        if (system(cmd) != 0) {
        }
        _exit(0);
    }
    close(fds[0]);
    /* The server started through system() must not inherit the write end,
     * or the pipe would never close. */
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    pg->watch_fd = fds[1];
    pg->watchdog = pid;
}

static bool lh_pg_start(lh_pg_server *pg)
{
    memset(pg, 0, sizeof *pg);
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        snprintf(pg->skip_reason, sizeof pg->skip_reason,
                 "postgresql server binaries not found (/usr/lib/postgresql/*/bin/initdb); "
                 "run scripts/setup");
        pg->missing = true;
        return false;
    }
    snprintf(pg->bindir, sizeof pg->bindir, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    *strrchr(pg->bindir, '/') = 0;
    if (geteuid() == 0) {
        if (!getpwnam("postgres")) {
            snprintf(pg->skip_reason, sizeof pg->skip_reason,
                     "running as root and no \"postgres\" user to run the server");
            pg->missing = true;
            return false;
        }
        pg->as_postgres = true;
    }
    char *tmp = lh_test_tmpdir();
    snprintf(pg->dir, sizeof pg->dir, "%s", tmp);
    free(tmp);
    if (pg->as_postgres) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "chown postgres: %s && chmod 700 %s", pg->dir, pg->dir);
        if (system(cmd) != 0) {
            snprintf(pg->skip_reason, sizeof pg->skip_reason, "cannot chown %s", pg->dir);
            return false;
        }
    }
    lh_pg_watchdog(pg);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/initdb -D %s/data -U postgres -A trust --no-sync -E UTF8 "
             "--locale=C.UTF-8",
             pg->bindir, pg->dir);
    if (lh_pg_sh(pg, cmd) != 0) goto failed;
    for (int attempt = 0; attempt < 5 && !pg->running; attempt++) {
        pg->port = lh_pg_free_port();
        snprintf(cmd, sizeof cmd,
                 "%s/pg_ctl -D %s/data -l %s/server.log -w -t 60 -o \"-k %s -p %d "
                 "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100\" start",
                 pg->bindir, pg->dir, pg->dir, pg->dir, pg->port);
        pg->running = lh_pg_sh(pg, cmd) == 0;
    }
    if (!pg->running) goto failed;
    snprintf(cmd, sizeof cmd, "%s/createdb -h 127.0.0.1 -p %d -U postgres lhtest", pg->bindir,
             pg->port);
    if (lh_pg_sh(pg, cmd) != 0) goto failed;
    snprintf(pg->uri, sizeof pg->uri, "postgresql://postgres@127.0.0.1:%d/lhtest", pg->port);
    return true;
failed:
    fprintf(stderr, "postgres test server failed to start; logs in %s (setup.log, server.log)\n",
            pg->dir);
    snprintf(pg->skip_reason, sizeof pg->skip_reason, "server failed to start");
    return false;
}

static void lh_pg_stop(lh_pg_server *pg)
{
    if (pg->watchdog > 0) {
        close(pg->watch_fd);
        waitpid(pg->watchdog, NULL, 0);
        pg->watchdog = 0;
    } else if (pg->dir[0]) {
        lh_test_rmtree(pg->dir);
    }
    pg->running = false;
    pg->dir[0] = 0;
}

#endif
