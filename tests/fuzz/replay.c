/* A libFuzzer-free driver for any fuzz target: runs LLVMFuzzerTestOneInput once per file named on
 * the command line (a folder: every regular file in it), so the corpora replay under gcc with
 * ASan and UBSan where clang's libFuzzer is not installed. Names each input on stderr before it
 * runs, and prints one line on stdout at the end: how many inputs. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (16u << 20) /* larger than any seed: a bigger file is a mistake */

/* Runs one file. Returns 0, or -1 with a message on stderr. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(REPLAY_MAX_INPUT + 1);
    size_t n = buf ? fread(buf, 1, REPLAY_MAX_INPUT + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > REPLAY_MAX_INPUT;
    fclose(f);
    if (bad) {
        fprintf(stderr, "replay: %s: %s\n", path,
                buf == NULL            ? "out of memory"
                : n > REPLAY_MAX_INPUT ? "too large"
                                       : "read error");
        free(buf);
        return -1;
    }
    /* an exact-size copy, so ASan sees a read past the input as libFuzzer would */
    uint8_t *exact = malloc(n ? n : 1);
    if (exact == NULL) {
        free(buf);
        fprintf(stderr, "replay: %s: out of memory\n", path);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    /* named first: if the input crashes the target, the last line on stderr says which */
    fprintf(stderr, "replay: %s\n", path);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of a folder, in name order. Adds to *count; returns 0 or -1. */
static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **tmp = realloc(names, nc * sizeof *names);
            if (tmp == NULL) {
                rc = -1;
                break;
            }
            names = tmp;
            cap = nc;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (names[n] == NULL) {
            rc = -1;
            break;
        }
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i]) != 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    if (rc != 0)
        fprintf(stderr, "replay: %s: failed\n", dir);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = run_dir(argv[i], &count);
        } else if (run_file(argv[i]) == 0) {
            count++;
        } else {
            rc = -1;
        }
    }
    printf("replayed %zu inputs\n", count);
    return rc == 0 ? 0 : 1;
}
