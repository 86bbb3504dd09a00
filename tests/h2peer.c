/* nghttpd as the tests' HTTP/2 peer (h2peer.h). */
#include "h2peer.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* A free port found by binding port 0 and letting go: nghttpd does not report the port it got
 * for 0. -1 if none. */
static int free_port(void)
{
    int port = -1;
    int fd = harness_listen(&port);
    if (fd >= 0)
        close(fd);
    return fd >= 0 ? port : -1;
}

int h2peer_start(struct h2peer *p, const char *dir, const char *name)
{
    /* the port may be taken between the probe and nghttpd's bind: a few attempts */
    for (int attempt = 0; attempt < 3; attempt++) {
        p->port = free_port();
        snprintf(p->log, sizeof p->log, "%s/%s.log", dir, name);
        char port_s[16], htdocs[96], key[96], cert[96];
        snprintf(port_s, sizeof port_s, "%d", p->port);
        snprintf(htdocs, sizeof htdocs, "%s/htdocs", dir);
        snprintf(key, sizeof key, "%s/key.pem", dir);
        snprintf(cert, sizeof cert, "%s/cert.pem", dir);
        p->pid = fork();
        if (p->pid == 0) {
            int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int null = open("/dev/null", O_RDONLY);
            if (fd < 0 || null < 0)
                _exit(127);
            dup2(null, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            execlp("nghttpd", "nghttpd", "-v", "-a", "127.0.0.1", "-d", htdocs, port_s, key,
                   cert, (char *)NULL);
            _exit(127);
        }
        if (p->pid < 0)
            return -1;
        for (int i = 0; i < 200; i++) { /* 10 s */
            int fd = harness_connect(p->port, 0);
            if (fd >= 0) {
                close(fd);
                return 0;
            }
            if (waitpid(p->pid, NULL, WNOHANG) == p->pid)
                break;
            harness_sleep_ms(50);
        }
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    return -1;
}

char *h2peer_stop(struct h2peer *p)
{
    kill(p->pid, SIGTERM);
    waitpid(p->pid, NULL, 0);
    FILE *f = fopen(p->log, "r");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        s[fread(s, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return s;
}

int h2peer_session_at(const char *log, const char *at)
{
    while (at > log && at[-1] != '\n')
        at--;
    return strncmp(at, "[id=", 4) == 0 ? atoi(at + 4) : 0;
}
