/* The gateway process: started in its own process group (stopping it stops everything it
 * spawned), probed until ready, watched while the run goes on. */
#include "gwproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cliutil.h"
#include "clock.h"
#include "fetch.h"
#include "placeholder.h"

int gateway_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
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

/* 1 when the gateway answers: a 2xx on the readiness path, or a TCP connect. */
static int probe(const struct gateway *g)
{
    if (g->ready_path[0] == '\0') {
        char host[256];
        int port = 0;
        placeholder_url_host_port(g->url, host, sizeof host, &port);
        if (host[0] == '\0')
            return 0;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        int ok = fd >= 0 &&
                 inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host,
                           &a.sin_addr) == 1 &&
                 connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        return ok;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s%s", g->url, g->ready_path);
    long status = fetch_ca("GET", url, NULL, NULL, 1000, g->tls_ca_file[0] ? g->tls_ca_file : NULL,
                           NULL, NULL);
    return status >= 200 && status < 300;
}

int gateway_alive(struct gateway *g)
{
    if (g->pid <= 0)
        return g->argv[0] == NULL;
    int st;
    pid_t r = waitpid(g->pid, &st, WNOHANG);
    if (r == g->pid) {
        g->pid = 0;
        return 0;
    }
    return 1;
}

/* Writes each rendered file to RUN_DIR/path, making the folders on the way. */
static int write_files(const struct gateway *g, char *err, size_t errlen)
{
    for (size_t i = 0; i < g->nfiles; i++) {
        char sub[1300];
        snprintf(sub, sizeof sub, "%s/%s", g->run_dir, g->files[i].path);
        for (char *q = sub + strlen(g->run_dir) + 1; (q = strchr(q, '/')) != NULL; q++) {
            *q = '\0';
            int rc = mkdir(sub, 0755);
            *q = '/';
            if (rc != 0 && errno != EEXIST) {
                snprintf(err, errlen, "files: mkdir %s: %s", sub, strerror(errno));
                return -1;
            }
        }
        char werr[1400];
        if (cliutil_write_text(g->run_dir, g->files[i].path, g->files[i].text, werr, sizeof werr) !=
            0) {
            snprintf(err, errlen, "files: %s", werr);
            return -1;
        }
    }
    return 0;
}

/* " (see LOG)" when the log exists: a gateway we did not start (no command) has none, and a
 * message must not send anyone to a file that is not there. */
static void log_note(const struct gateway *g, const char *log_path, char *out, size_t len)
{
    if (g->argv[0] && log_path && access(log_path, F_OK) == 0)
        snprintf(out, len, " (see %s)", log_path);
    else
        out[0] = '\0';
}

int gateway_start(struct gateway *g, const char *log_path, char *err, size_t errlen)
{
    if (write_files(g, err, errlen) != 0)
        return -1;
    if (g->argv[0]) {
        fflush(NULL);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(err, errlen, "fork: %s", strerror(errno));
            return -1;
        }
        if (pid == 0) {
            setpgid(0, 0); /* its own group: stopping it stops its children too */
            /* a runner that dies without its cleanup (a crash, SIGKILL) must not leave the
             * gateway holding its port: the group leader gets SIGTERM and stops the rest */
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(125);
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
            int devnull = open("/dev/null", O_RDONLY);
            if (devnull >= 0)
                dup2(devnull, 0);
            for (size_t i = 0; i < g->nenv; i++)
                putenv(g->env[i]);
            if (g->cwd[0] && chdir(g->cwd) != 0) {
                fprintf(stderr, "gateway: cwd %s: %s\n", g->cwd, strerror(errno));
                _exit(126);
            }
            execvp(g->argv[0], g->argv);
            fprintf(stderr, "gateway: cannot run %s: %s\n", g->argv[0], strerror(errno));
            _exit(127);
        }
        setpgid(pid, pid);
        g->pid = pid;
    }
    uint64_t deadline = clock_now_ns() + (uint64_t)g->ready_timeout_ms * 1000000ull;
    while (clock_now_ns() < deadline) {
        if (g->interrupted && *g->interrupted) {
            snprintf(err, errlen, "interrupted while waiting for gateway '%s'", g->name);
            gateway_stop(g);
            return -1;
        }
        if (!gateway_alive(g)) {
            char note[1100];
            log_note(g, log_path, note, sizeof note);
            snprintf(err, errlen, "gateway '%s' exited before it was ready%s", g->name, note);
            return -1;
        }
        if (probe(g))
            return 0;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    char note[1100];
    log_note(g, log_path, note, sizeof note);
    snprintf(err, errlen, "gateway '%s' not ready at %s%s within %u ms%s", g->name, g->url,
             g->ready_path, g->ready_timeout_ms, note);
    gateway_stop(g);
    return -1;
}

void gateway_stop(struct gateway *g)
{
    if (g->pid <= 0)
        return;
    cliutil_stop_child(g->pid, 1, 3000);
    g->pid = 0;
}
