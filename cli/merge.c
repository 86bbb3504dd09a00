/* `tailgate merge`: a sharded run's folders into one run folder (runner/merge.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runner/merge.h"

static void merge_usage(FILE *f)
{
    fputs("usage: tailgate merge SHARD_DIR... [--out DIR]\n"
          "\n"
          "Joins the run folders of 'tailgate run --shard I/N' (one per shard, all N of them)\n"
          "into one run folder, DIR (default tailgate-merged): each shard's client and ledger\n"
          "records are joined as the run joins them, the requests put together, and the\n"
          "metrics and gates computed on the union, with every artifact a run writes.\n"
          "A shard that could not judge, is missing or unreadable makes the merge not judged.\n"
          "Exit codes: 0 every gate passed, 1 a gate failed, 2 usage (a folder that is not a\n"
          "shard's, shards of different runs, a shard given twice), 3 not judged.\n",
          f);
}

int cli_merge(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = "tailgate-merged";
    int c;
    optind = 1;
    opterr = 0; /* one line per error, ours */
    while ((c = getopt_long(argc, argv, CLI_OPTSTRING, opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            merge_usage(stdout);
            return 0;
        default:
            return cli_bad_option("merge", c, argv);
        }
    }
    if (argc - optind < 1)
        return cli_usage_error("merge", "name the shard run folders (SHARD_DIR...)");
    char note[1024], err[2048];
    int rc = merge_execute(out, argv + optind, (size_t)(argc - optind), note, sizeof note, err,
                           sizeof err);
    if (note[0])
        fprintf(stderr, "tailgate merge: %s\n", note);
    if (rc == EXIT_USAGE)
        fprintf(stderr, "tailgate merge: %s\n", err);
    else if (rc == EXIT_ENV && strncmp(err, "not judged", 10) == 0)
        fprintf(stderr,
                "tailgate merge: %s; written to %s/ (results.json, junit.xml, "
                "summary.md, index.html)\n",
                err, out);
    else if (rc == EXIT_ENV)
        fprintf(stderr, "tailgate merge: %s\n", err);
    else
        fprintf(stderr,
                "tailgate merge: %s; report in %s/index.html (and results.json, "
                "junit.xml, summary.md)\n",
                rc == 0 ? "every gate passed" : "a gate FAILED", out);
    return rc;
}
