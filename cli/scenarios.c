/* `tailgate scenarios`: validates scenario and suite files and lists what they hold. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "runner/scenario.h"

int cli_scenarios(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tailgate scenarios FILE... (validates and lists)\n");
        return EXIT_USAGE;
    }
    int bad = 0;
    for (int i = 1; i < argc; i++) {
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
