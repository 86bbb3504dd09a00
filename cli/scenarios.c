/* `tailgate scenarios`: lists the scenario library (every shipped scenario and suite, with the
 * folder it came from), or validates scenario and suite files and lists what they hold. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/jparse.h"
#include "runner/library.h"
#include "runner/scenario.h"

static int list_library(int names_only);
static int validate(int argc, char **argv);

static void scenarios_usage(FILE *f)
{
    fputs("usage: tailgate scenarios [--names]\n"
          "       tailgate scenarios SCENARIO|SUITE...\n"
          "\n"
          "With no argument, lists every scenario and suite of the library with the folder it\n"
          "came from; --names prints only the names 'tailgate run' takes, one a line. With\n"
          "arguments, validates each file or name (a suite's members too) and lists what it\n"
          "holds.\n"
          "\n"
          "A name that is not a file is looked up as NAME, then NAME.json, in each folder of\n"
          "$TAILGATE_SCENARIOS (colon-separated), then the installed share/tailgate/scenarios\n"
          "beside the program, then the checkout's scenarios/ beside the program. A suite's\n"
          "member missing beside the suite is looked up the same way.\n"
          "\n"
          "Exit codes: 0 every file valid, 2 usage error or an invalid or missing file.\n",
          f);
}

int cli_scenarios(int argc, char **argv)
{
    static const struct option opts[] = {
        {"names", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int names_only = 0;
    int c;
    optind = 1;
    opterr = 0; /* one line per error, ours */
    while ((c = getopt_long(argc, argv, CLI_OPTSTRING, opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            names_only = 1;
            break;
        case 'h':
            scenarios_usage(stdout);
            return 0;
        default:
            return cli_bad_option("scenarios", c, argv);
        }
    }
    if (optind < argc) {
        if (names_only)
            return cli_usage_error("scenarios", "--names takes no file, got '%s'", argv[optind]);
        return validate(argc - optind, argv + optind);
    }
    return list_library(names_only);
}

static int validate(int argc, char **argv)
{
    int bad = 0;
    for (int i = 0; i < argc; i++) {
        char *paths[SUITE_MAX_SCENARIOS];
        char err[1024];
        int k = suite_expand(argv[i], paths, SUITE_MAX_SCENARIOS, err, sizeof err);
        if (k < 0) {
            fprintf(stderr, "%s\n", err);
            bad = 1;
            continue;
        }
        for (int j = 0; j < k; j++) {
            struct scenario s;
            if (scenario_load(paths[j], &s, err, sizeof err) != 0) {
                fprintf(stderr, "%s\n", err);
                bad = 1;
            } else {
                printf("%-28s %-16s %4u req  %zu gates  %s\n", s.name,
                       s.schedule[0] ? "(schedule)" : s.profile, s.requests, s.ngates,
                       s.description);
                scenario_cleanup(&s);
            }
            free(paths[j]);
        }
    }
    return bad ? EXIT_USAGE : 0;
}

/* One line per file: its name, whether it is a suite (and of how many) or a scenario, and its
 * description; a file an earlier folder shadows says so, since `run NAME` never reaches it. */
static int list_library(int names_only)
{
    struct library lib;
    struct library_entry *e = NULL;
    char err[1024];
    if (library_init(&lib, getenv(LIBRARY_ENV), NULL, err, sizeof err) != 0) {
        fprintf(stderr, "tailgate scenarios: %s\n", err);
        return EXIT_USAGE;
    }
    int n = library_list(&lib, &e, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "tailgate scenarios: %s\n", err);
        return EXIT_USAGE;
    }
    int bad = 0;
    if (names_only) {
        for (int i = 0; i < n; i++)
            if (!e[i].shadowed)
                printf("%s\n", e[i].name);
        free(e);
        return 0;
    }
    if (n == 0) {
        fprintf(stderr, "tailgate scenarios: no scenario library found (looked in");
        for (size_t d = 0; d < lib.ndirs; d++)
            fprintf(stderr, "%s %s (%s)", d ? "," : "", lib.dirs[d].path,
                    library_origin_name(lib.dirs[d].origin));
        fprintf(stderr, "%s); set %s to a folder of scenario files\n",
                lib.ndirs ? "" : " no folder", LIBRARY_ENV);
        return EXIT_USAGE;
    }
    size_t shown = lib.ndirs;
    for (int i = 0; i < n; i++) {
        if (e[i].dir != shown) {
            shown = e[i].dir;
            printf("%s%s (%s):\n", i ? "\n" : "", lib.dirs[shown].path,
                   library_origin_name(lib.dirs[shown].origin));
        }
        char *paths[SUITE_MAX_SCENARIOS];
        char kind[32], desc[512] = "";
        int k = suite_expand(e[i].path, paths, SUITE_MAX_SCENARIOS, err, sizeof err);
        if (k < 0) {
            fprintf(stderr, "%s\n", err);
            bad = 1;
            continue;
        }
        /* suite_expand gives a single scenario back as its own path: a suite is anything else */
        int suite = !(k == 1 && strcmp(paths[0], e[i].path) == 0);
        for (int j = 0; j < k; j++)
            free(paths[j]);
        if (suite) {
            snprintf(kind, sizeof kind, "suite of %d", k);
            cJSON *root = jparse_file(e[i].path, SCENARIO_MAX_FILE, NULL, NULL, err, sizeof err);
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "description");
            if (cJSON_IsString(d))
                snprintf(desc, sizeof desc, "%s", d->valuestring);
            cJSON_Delete(root);
        } else {
            struct scenario s;
            if (scenario_load(e[i].path, &s, err, sizeof err) != 0) {
                fprintf(stderr, "%s\n", err);
                bad = 1;
                continue;
            }
            snprintf(kind, sizeof kind, "scenario");
            snprintf(desc, sizeof desc, "%s", s.description);
            scenario_cleanup(&s);
        }
        printf("  %-24s %-12s %s%s\n", e[i].name, kind, desc,
               e[i].shadowed ? " (shadowed by an earlier folder)" : "");
    }
    free(e);
    return bad ? EXIT_USAGE : 0;
}
