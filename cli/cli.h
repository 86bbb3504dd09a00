/* Command-line front ends: the only code that prints to the user and picks exit codes. */
#ifndef TG_CLI_H
#define TG_CLI_H

#define EXIT_GATE 1  /* a gate failed */
#define EXIT_USAGE 2 /* usage or scenario error */
#define EXIT_ENV 3   /* environment failure: port taken, gateway did not start */

/* Every getopt loop takes this optstring with opterr 0: -h as --help, and ':' so that an
 * option missing its value comes back as ':' rather than '?' (cli_bad_option words both). */
#define CLI_OPTSTRING ":h"

/* A usage error: prints one line, "tailgate CMD: WHAT; see 'tailgate CMD --help'", and returns
 * EXIT_USAGE. cmd: "run", "chaos proxy", or "" for tailgate itself. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* getopt_long returned '?' (an unknown option) or ':' (an option without its value): names it
 * in one line. Returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, int c, char **argv);

/* `tailgate chaos proxy ...`: argv[0] is "proxy". Returns the exit code. */
int cli_chaos_proxy(int argc, char **argv);
/* `tailgate run ...` and `tailgate scenarios ...`: argv[0] is the command (cli/run.c,
 * cli/scenarios.c). */
int cli_run(int argc, char **argv);
int cli_scenarios(int argc, char **argv);
/* `tailgate chaos client ...`: argv[0] is "client". Returns the exit code. */
int cli_chaos_client(int argc, char **argv);
/* `tailgate report RUN_DIR [--floor DIR]`: argv[0] is "report". Returns the exit code. */
int cli_report(int argc, char **argv);
/* `tailgate compare BASE_DIR CAND_DIR [--out DIR]`: argv[0] is "compare". Returns the exit code:
 * 0 no regression, 1 a gate regressed, 2 usage, 3 outputs not written. */
int cli_compare(int argc, char **argv);
/* `tailgate merge SHARD_DIR... [--out DIR]`: argv[0] is "merge". Returns the exit code: 0 every
 * gate passed, 1 a gate failed, 2 usage, 3 not judged. */
int cli_merge(int argc, char **argv);

#endif
