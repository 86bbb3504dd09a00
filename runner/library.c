/* The scenario library: lookup of shipped scenarios and suites by name, in the folders library.h
 * lists, and of the reference gateway beside the executable. */
#include "library.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario.h"

static int add_dir(struct library *lib, const char *path, size_t len, enum library_origin o,
                   char *err, size_t errlen);
static int exe_dirs(const char *exe, char *bindir, char *prefix, size_t len);
static int is_dir(const char *path);
static int is_file(const char *path);
static int has_suffix(const char *s, const char *suffix);
static int entry_cmp(const void *a, const void *b);

int library_init(struct library *lib, const char *env, const char *exe, char *err, size_t errlen)
{
    memset(lib, 0, sizeof *lib);
    if (env) {
        for (const char *p = env; *p;) {
            size_t n = strcspn(p, ":");
            if (n > 0 && add_dir(lib, p, n, LIBRARY_FROM_ENV, err, errlen) != 0)
                return -1;
            p += n;
            if (*p == ':')
                p++;
        }
    }
    char bindir[LIBRARY_MAX_PATH], prefix[LIBRARY_MAX_PATH], path[LIBRARY_MAX_PATH + 32];
    if (exe_dirs(exe, bindir, prefix, sizeof bindir) != 0)
        return 0; /* no program to be beside: only $TAILGATE_SCENARIOS */
    snprintf(path, sizeof path, "%s/share/tailgate/scenarios", prefix);
    if (add_dir(lib, path, strlen(path), LIBRARY_INSTALLED, err, errlen) != 0)
        return -1;
    /* ./tailgate sits at the checkout's root, build-X/tailgate one folder below it */
    const char *roots[] = {bindir, prefix};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/scenarios", roots[i]);
        if (is_dir(path) && add_dir(lib, path, strlen(path), LIBRARY_CHECKOUT, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Appends a folder unless the same folder (by its real path) is already listed. */
static int add_dir(struct library *lib, const char *path, size_t len, enum library_origin o,
                   char *err, size_t errlen)
{
    if (len >= LIBRARY_MAX_PATH) {
        snprintf(err, errlen, "scenario folder too long (%zu bytes, at most %d): %.64s...", len,
                 LIBRARY_MAX_PATH - 1, path);
        return -1;
    }
    char want[LIBRARY_MAX_PATH], real_new[PATH_MAX], real_old[PATH_MAX];
    memcpy(want, path, len);
    want[len] = '\0';
    int have_real = realpath(want, real_new) != NULL;
    for (size_t i = 0; i < lib->ndirs; i++) {
        if (strcmp(lib->dirs[i].path, want) == 0)
            return 0;
        if (have_real && realpath(lib->dirs[i].path, real_old) && strcmp(real_old, real_new) == 0)
            return 0;
    }
    if (lib->ndirs == LIBRARY_MAX_DIRS) {
        snprintf(err, errlen, "%s: at most %d scenario folders", LIBRARY_ENV, LIBRARY_MAX_DIRS - 3);
        return -1;
    }
    struct library_dir *d = &lib->dirs[lib->ndirs++];
    memcpy(d->path, want, len + 1);
    d->origin = o;
    d->exists = is_dir(want);
    return 0;
}

/* The program's folder and the folder above it ("/" stays "/"). */
static int exe_dirs(const char *exe, char *bindir, char *prefix, size_t len)
{
    char self[LIBRARY_MAX_PATH];
    if (exe == NULL) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return -1;
        self[n] = '\0';
        exe = self;
    }
    const char *slash = strrchr(exe, '/');
    if (slash == NULL || strlen(exe) >= len)
        return -1;
    size_t n = (size_t)(slash - exe);
    memcpy(bindir, exe, n);
    bindir[n] = '\0';
    if (n == 0)
        snprintf(bindir, len, "/");
    snprintf(prefix, len, "%s", bindir);
    char *up = strrchr(prefix, '/');
    if (up == prefix)
        prefix[1] = '\0';
    else if (up)
        *up = '\0';
    else
        snprintf(prefix, len, "."); /* a relative program path with one part: its folder's parent */
    return 0;
}

int library_find(const struct library *lib, const char *name, char *out, size_t outlen, char *err,
                 size_t errlen)
{
    if (strchr(name, '/') || name[0] == '\0') {
        if ((size_t)snprintf(out, outlen, "%s", name) >= outlen) {
            snprintf(err, errlen, "%.64s...: path too long", name);
            return -1;
        }
        return 0;
    }
    char cand[LIBRARY_MAX_PATH * 2];
    int json = has_suffix(name, ".json");
    for (size_t i = 0; i < lib->ndirs; i++) {
        if (!lib->dirs[i].exists)
            continue;
        for (int k = 0; k < (json ? 1 : 2); k++) {
            snprintf(cand, sizeof cand, "%s/%s%s", lib->dirs[i].path, name, k ? ".json" : "");
            if (is_file(cand)) {
                if ((size_t)snprintf(out, outlen, "%s", cand) >= outlen) {
                    snprintf(err, errlen, "%.64s...: path too long", cand);
                    return -1;
                }
                return 0;
            }
        }
    }
    /* not found: say where we looked, and the nearest name we have */
    size_t used = (size_t)snprintf(err, errlen, "%s: no such file, and no shipped scenario or "
                                   "suite of that name (looked in the working folder", name);
    for (size_t i = 0; i < lib->ndirs && used < errlen; i++)
        used += (size_t)snprintf(err + used, errlen - used, ", %s (%s%s)", lib->dirs[i].path,
                                 library_origin_name(lib->dirs[i].origin),
                                 lib->dirs[i].exists ? "" : ", missing");
    if (used < errlen)
        used += (size_t)snprintf(err + used, errlen - used, "%s)",
                                 lib->ndirs ? "" : "; set " LIBRARY_ENV " to a folder of them");
    struct library_entry *e = NULL;
    int n = library_list(lib, &e, NULL, 0);
    if (n > 0 && used < errlen) {
        const char **names = calloc((size_t)n, sizeof *names);
        char base[128];
        snprintf(base, sizeof base, "%s", name);
        if (has_suffix(base, ".json"))
            base[strlen(base) - 5] = '\0';
        if (names) {
            for (int i = 0; i < n; i++)
                names[i] = e[i].name;
            const char *near = scenario_did_you_mean(base, names, (size_t)n);
            if (near)
                snprintf(err + used, errlen - used, "; did you mean '%s'?", near);
            free(names);
        }
    }
    free(e);
    return -1;
}

int library_resolve(const char *name, int as_given, char *out, size_t outlen, char *err,
                    size_t errlen)
{
    if (as_given && access(name, F_OK) == 0) {
        if ((size_t)snprintf(out, outlen, "%s", name) >= outlen) {
            snprintf(err, errlen, "%.64s...: path too long", name);
            return -1;
        }
        return 0;
    }
    struct library *lib = malloc(sizeof *lib);
    if (lib == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = library_init(lib, getenv(LIBRARY_ENV), NULL, err, errlen);
    if (rc == 0)
        rc = library_find(lib, name, out, outlen, err, errlen);
    free(lib);
    return rc;
}

int library_list(const struct library *lib, struct library_entry **out, char *err, size_t errlen)
{
    struct library_entry *list = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    for (size_t i = 0; i < lib->ndirs; i++) {
        if (!lib->dirs[i].exists)
            continue;
        DIR *d = opendir(lib->dirs[i].path);
        if (d == NULL) {
            if (err)
                snprintf(err, errlen, "%s: %s", lib->dirs[i].path, strerror(errno));
            free(list);
            return -1;
        }
        size_t first = n;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            size_t len = strlen(de->d_name);
            if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".json") ||
                len - 5 >= sizeof list[0].name)
                continue;
            if (n == LIBRARY_MAX_ENTRIES) {
                if (err)
                    snprintf(err, errlen, "more than %d scenario files in the library",
                             LIBRARY_MAX_ENTRIES);
                closedir(d);
                free(list);
                return -1;
            }
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 32;
                struct library_entry *grown = realloc(list, ncap * sizeof *list);
                if (grown == NULL) {
                    if (err)
                        snprintf(err, errlen, "out of memory");
                    closedir(d);
                    free(list);
                    return -1;
                }
                list = grown;
                cap = ncap;
            }
            struct library_entry *e = &list[n];
            memset(e, 0, sizeof *e);
            memcpy(e->name, de->d_name, len - 5);
            snprintf(e->path, sizeof e->path, "%.*s/%s", (int)(sizeof e->path / 2),
                     lib->dirs[i].path, de->d_name);
            e->dir = i;
            if (!is_file(e->path))
                continue;
            /* linear scan: at most LIBRARY_MAX_ENTRIES names */
            for (size_t k = 0; k < first && !e->shadowed; k++)
                e->shadowed = strcmp(list[k].name, e->name) == 0;
            n++;
        }
        closedir(d);
        qsort(list + first, n - first, sizeof *list, entry_cmp);
    }
    *out = list;
    return (int)n;
}

const char *library_origin_name(enum library_origin o)
{
    switch (o) {
    case LIBRARY_FROM_ENV:
        return LIBRARY_ENV;
    case LIBRARY_INSTALLED:
        return "installed";
    case LIBRARY_CHECKOUT:
        return "checkout";
    }
    return "?";
}

int library_refgw(const char *exe, char *out, size_t outlen)
{
    char bindir[LIBRARY_MAX_PATH], prefix[LIBRARY_MAX_PATH], cand[LIBRARY_MAX_PATH + 32];
    if (exe_dirs(exe, bindir, prefix, sizeof bindir) != 0)
        return -1;
    /* installed: PREFIX/libexec/tailgate/refgw; a build folder: beside it; ./tailgate: build/ */
    const char *const where[][2] = {
        {prefix, strcmp(prefix, "/") == 0 ? "libexec/tailgate/refgw" : "/libexec/tailgate/refgw"},
        {bindir, "/refgw"},
        {bindir, "/build/refgw"},
    };
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        snprintf(cand, sizeof cand, "%s%s", where[i][0], where[i][1]);
        if (is_file(cand) && access(cand, X_OK) == 0) {
            if ((size_t)snprintf(out, outlen, "%s", cand) >= outlen)
                return -1;
            return 0;
        }
    }
    return -1;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a > b && strcmp(s + a - b, suffix) == 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct library_entry *x = a, *y = b;
    return strcmp(x->name, y->name);
}
