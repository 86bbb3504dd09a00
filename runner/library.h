/* The scenario library: where a scenario or suite named without a folder is found, and where the
 * shipped reference gateway (refgw) is, from any working folder. Folders are searched in order:
 * $TAILGATE_SCENARIOS (colon-separated), the installed share/tailgate/scenarios beside the
 * executable (bin/../share/tailgate/scenarios), the checkout's scenarios/ beside the executable. */
#ifndef RUNNER_LIBRARY_H
#define RUNNER_LIBRARY_H

#include <stddef.h>

#define LIBRARY_MAX_DIRS 16
#define LIBRARY_MAX_PATH 1024
#define LIBRARY_MAX_ENTRIES 1024 /* files listed over all folders */
#define LIBRARY_ENV "TAILGATE_SCENARIOS"

enum library_origin { LIBRARY_FROM_ENV, LIBRARY_INSTALLED, LIBRARY_CHECKOUT };

struct library_dir {
    char path[LIBRARY_MAX_PATH];
    enum library_origin origin;
    int exists; /* a folder when the library was made */
};

struct library {
    struct library_dir dirs[LIBRARY_MAX_DIRS];
    size_t ndirs;
};

/* One .json file of a library folder. */
struct library_entry {
    char name[128];              /* the file name without .json: what `run NAME` takes */
    char path[LIBRARY_MAX_PATH]; /* folder/name.json */
    size_t dir;                  /* index in library.dirs */
    int shadowed;                /* an earlier folder has the same name: lookups never reach it */
};

/* Fills 'lib' from 'env' (a $TAILGATE_SCENARIOS value; NULL or "" for none; empty items are
 * skipped) and 'exe' (the running program's path; NULL reads /proc/self/exe, and a program
 * that cannot be found adds no folder). The installed folder is always kept (an error lists it
 * as looked in); the checkout's only when it exists. Returns 0, or -1 with err filled (too many
 * folders, a folder path too long). */
int library_init(struct library *lib, const char *env, const char *exe, char *err, size_t errlen);

/* Resolves 'name' into 'out': NAME, then NAME.json, in each existing folder in order; a name
 * with a '/' (or empty) is copied as it is (its reader reports what is wrong with it). Returns
 * 0, or -1 with err naming every place looked in (and the nearest shipped name). */
int library_find(const struct library *lib, const char *name, char *out, size_t outlen, char *err,
                 size_t errlen);

/* With 'as_given', a path that exists as given is used as it is; otherwise library_init from
 * the environment and /proc/self/exe, then library_find. */
int library_resolve(const char *name, int as_given, char *out, size_t outlen, char *err,
                    size_t errlen);

/* Every .json file of the existing folders, by folder order then name, into '*out' (malloc'd,
 * the caller frees it; NULL when there are none). Returns the count, or -1 with err filled. */
int library_list(const struct library *lib, struct library_entry **out, char *err, size_t errlen);

/* A short word for where a folder came from: "TAILGATE_SCENARIOS", "installed", "checkout". */
const char *library_origin_name(enum library_origin o);

/* The reference gateway shipped with this program: 'exe' (NULL: /proc/self/exe) dir's
 * ../libexec/tailgate/refgw when installed, else refgw beside it (a build folder), else
 * build/refgw beside it (the checkout's ./tailgate). Returns 0 with 'out' filled, or -1 when none
 * is an executable file. */
int library_refgw(const char *exe, char *out, size_t outlen);

#endif
