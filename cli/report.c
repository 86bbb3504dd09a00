/* `tailgate report` and `tailgate compare`: charts and index.html from a run folder, and the
 * baseline-vs-candidate guard for pull requests. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reports/report.h"

#define CLI_TABLE_MAX (4 * 1024 * 1024) /* the printed comparison; compare.md has it all */

static void report_usage(FILE *f)
{
    fputs("usage: tailgate report RUN_DIR [--floor DIRECT_RUN_DIR]\n"
          "\n"
          "Redraws RUN_DIR/charts/ (PNG and SVG, with each chart's data and gnuplot script) and\n"
          "RUN_DIR/index.html from RUN_DIR/results.json. --floor names a 'tailgate run --direct'\n"
          "folder whose close lags are drawn for reference.\n"
          "Exit codes: 0 written, 1 gnuplot missing (all but the images written), 2 usage or\n"
          "unreadable results, 3 a chart or the page could not be written.\n",
          f);
}

static void compare_usage(FILE *f)
{
    fputs("usage: tailgate compare BASE_DIR CAND_DIR [--out DIR]\n"
          "\n"
          "Compares two run folders' results.json: every gate and metric with the change. Writes\n"
          "DIR/compare.md, DIR/index.html and overlay charts in DIR/charts/ (DIR defaults to\n"
          "CAND_DIR/compare).\n"
          "Exit codes: 0 no regression, 1 a gate the baseline passed fails (or is gone) in the\n"
          "candidate, 2 usage or unreadable results, 3 the outputs could not be written.\n",
          f);
}

int cli_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"floor", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *floor_dir = NULL;
    int c;
    optind = 1;
    opterr = 0; /* one line per error, ours */
    while ((c = getopt_long(argc, argv, CLI_OPTSTRING, opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            floor_dir = optarg;
            break;
        case 'h':
            report_usage(stdout);
            return 0;
        default:
            return cli_bad_option("report", c, argv);
        }
    }
    if (argc - optind < 1)
        return cli_usage_error("report", "name the run folder (RUN_DIR)");
    if (argc - optind > 1)
        return cli_usage_error("report", "one run folder, got also '%s'", argv[optind + 1]);
    const char *dir = argv[optind];
    char note[4096];
    int rc = reports_render(dir, floor_dir, note, sizeof note);
    if (rc == 0) {
        printf("tailgate report: %s\n", note);
        return 0;
    }
    fprintf(stderr, "tailgate report: %s\n", note);
    if (rc == 1)
        return 1;
    /* nothing written means the input was the problem; a page without a chart means output */
    char index[4200];
    snprintf(index, sizeof index, "%s/index.html", dir);
    FILE *f = fopen(index, "r");
    if (f)
        fclose(f);
    return f ? EXIT_ENV : EXIT_USAGE;
}

int cli_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int c;
    optind = 1;
    opterr = 0; /* one line per error, ours */
    while ((c = getopt_long(argc, argv, CLI_OPTSTRING, opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            compare_usage(stdout);
            return 0;
        default:
            return cli_bad_option("compare", c, argv);
        }
    }
    if (argc - optind < 2)
        return cli_usage_error("compare", "name two run folders, BASE_DIR and CAND_DIR");
    if (argc - optind > 2)
        return cli_usage_error("compare", "two run folders, got also '%s'", argv[optind + 2]);
    const char *base = argv[optind], *cand = argv[optind + 1];
    char def[4200];
    if (out == NULL) {
        snprintf(def, sizeof def, "%s/compare", cand);
        out = def;
    }
    char *table = malloc(CLI_TABLE_MAX);
    if (table == NULL) {
        fprintf(stderr, "tailgate compare: out of memory\n");
        return EXIT_ENV;
    }
    char err[2048];
    int rc = reports_compare(base, cand, out, table, CLI_TABLE_MAX, err, sizeof err);
    fputs(table, stdout);
    fflush(stdout);
    int code = rc;
    if (rc < 0) {
        fprintf(stderr, "tailgate compare: %s\n", err);
        /* a table means both runs were read: what failed was writing the outputs */
        code = table[0] ? EXIT_ENV : EXIT_USAGE;
    } else {
        fprintf(stderr, "tailgate compare: %s; written to %s/ (compare.md, index.html)\n",
                rc ? "a gate REGRESSED" : "no regression", out);
    }
    free(table);
    return code;
}
