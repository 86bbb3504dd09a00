/* gnuplot scripts and processes. A script draws its chart twice (PNG, then SVG) so one file is
 * all a reader needs to regenerate or restyle a chart: `cd charts && gnuplot NAME.gp`. */
#include "reports/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int plot_find(char *path, size_t len)
{
    const char *env = getenv("PATH");
    const char *p = env && *env ? env : "/usr/local/bin:/usr/bin:/bin";
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t dl = colon ? (size_t)(colon - p) : strlen(p);
        /* an empty PATH entry means the current directory */
        int n = dl ? snprintf(path, len, "%.*s/gnuplot", (int)dl, p)
                   : snprintf(path, len, "./gnuplot");
        struct stat st;
        if (n > 0 && (size_t)n < len && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            access(path, X_OK) == 0)
            return 0;
        if (colon == NULL)
            break;
        p = colon + 1;
    }
    if (len)
        path[0] = '\0';
    return -1;
}

void plot_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("''", f);
        else if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('\'', f);
}

void plot_data_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('\'', f);
        else if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

/* Okabe-Ito hues: distinguishable with every kind of colour blindness; their lightness differs
 * too, and dash patterns and point shapes differ on top, for greyscale prints. */
static const char styles[] =
    "set style line 1 lc rgb '#000000' lw 2.5 dt 1 pt 7 ps 1.2\n"
    "set style line 2 lc rgb '#0072B2' lw 2.5 dt (9,5) pt 4 ps 1.2\n"
    "set style line 3 lc rgb '#E69F00' lw 3 dt (3,4) pt 8 ps 1.3\n"
    "set style line 4 lc rgb '#009E73' lw 2.5 dt (12,4,3,4) pt 6 ps 1.2\n"
    "set style line 10 lc rgb '#D55E00' lw 2 dt (10,6)\n"
    "set style line 11 lc rgb '#CC79A7' lw 2 dt (4,4)\n"
    "set style line 12 lc rgb '#D55E00' lw 2 dt (14,4,2,4)\n"
    "set style line 13 lc rgb '#CC79A7' lw 2 dt (2,3)\n"
    "set style line 20 lc rgb '#555555' lw 1.5 dt 1\n"
    "set style line 30 lc rgb '#e4e4e4' lw 1 dt 1\n"
    "set grid xtics ytics ls 30 back\n"
    "set border 3 lw 1.2\n"
    "set tics nomirror out\n"
    "set key opaque box lc rgb '#999999' samplen 3.5 spacing 1.2\n";

static int write_pass(FILE *f, const char *name, const char *term, const char *ext,
                      const char *body)
{
    fprintf(f, "\n%s\nset output '%s.%s'\nreset\n%s%s\nunset output\n", term, name, ext, styles,
            body);
    return ferror(f) ? -1 : 0;
}

int plot_write_script(const char *dir, const char *name, int width, int height, const char *body,
                      char *err, size_t errlen)
{
    char path[4096], term[256];
    if (snprintf(path, sizeof path, "%s/%s.gp", dir, name) >= (int)sizeof path) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "# tailgate chart '%s': regenerate with `gnuplot %s.gp` in this folder.\n"
               "# 'reset' does not touch the terminal, so each pass starts clean.\n"
               "set encoding utf8\n", name, name);
    snprintf(term, sizeof term,
             "set terminal pngcairo size %d,%d font 'DejaVu Sans,12' noenhanced background "
             "rgb 'white'", width, height);
    int rc = write_pass(f, name, term, "png", body);
    snprintf(term, sizeof term,
             "set terminal svg size %d,%d font 'DejaVu Sans,12' noenhanced dynamic background "
             "rgb 'white'", width, height);
    rc |= write_pass(f, name, term, "svg", body);
    if (fclose(f) != 0 || rc != 0) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}

struct job {
    pid_t pid;
    size_t idx;
    long long deadline_ms;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The last non-empty line of a gnuplot log, for the error message. */
static void last_line(const char *path, char *out, size_t len)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strspn(line, " \t^") < strlen(line))
            snprintf(out, len, "%s", line);
    }
    fclose(f);
}

static pid_t spawn(const char *gnuplot, const char *dir, const char *script, const char *log)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* the child: only async-signal-safe calls until exec */
    int in = open("/dev/null", O_RDONLY);
    if (chdir(dir) != 0)
        _exit(126);
    int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    char *const argv[] = {(char *)"gnuplot", (char *)script, NULL};
    execv(gnuplot, argv);
    _exit(127);
}

int plot_run(const char *gnuplot, const char *dir, const char *const *names, size_t n, char *err,
             size_t errlen)
{
    struct job jobs[PLOT_JOBS];
    size_t running = 0, next = 0;
    int failed = 0;
    char script[512], log[512], path[4096];
    while (next < n || running > 0) {
        while (running < PLOT_JOBS && next < n && !failed) {
            snprintf(script, sizeof script, "%s.gp", names[next]);
            snprintf(log, sizeof log, "%s.log", names[next]);
            pid_t pid = spawn(gnuplot, dir, script, log);
            if (pid < 0) {
                snprintf(err, errlen, "fork: %s", strerror(errno));
                failed = 1;
                break;
            }
            jobs[running++] = (struct job){pid, next++, now_ms() + PLOT_TIMEOUT_MS};
        }
        if (failed)
            next = n; /* start nothing more; reap what runs */
        if (running == 0)
            break;
        int reaped = 0;
        for (size_t j = 0; j < running;) {
            int st = 0;
            pid_t r = waitpid(jobs[j].pid, &st, WNOHANG);
            if (r == 0 && now_ms() > jobs[j].deadline_ms) {
                kill(jobs[j].pid, SIGKILL);
                waitpid(jobs[j].pid, &st, 0);
                if (!failed)
                    snprintf(err, errlen, "gnuplot %s.gp: no result after %d s; killed",
                             names[jobs[j].idx], PLOT_TIMEOUT_MS / 1000);
                failed = 1;
                jobs[j] = jobs[--running];
                reaped = 1;
                continue;
            } else if (r == 0) {
                j++;
                continue;
            }
            snprintf(path, sizeof path, "%s/%s.log", dir, names[jobs[j].idx]);
            if (r == jobs[j].pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                unlink(path);
            } else if (!failed) {
                char msg[600];
                last_line(path, msg, sizeof msg);
                int code = r == jobs[j].pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
                snprintf(err, errlen, "gnuplot %s.gp exited %d%s%s (log: %s)",
                         names[jobs[j].idx], code, msg[0] ? ": " : "", msg, path);
                failed = 1;
            }
            jobs[j] = jobs[--running];
            reaped = 1;
        }
        if (!reaped) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return failed ? -1 : 0;
}
