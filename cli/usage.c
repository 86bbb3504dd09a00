/* Usage errors, worded one way for every command: one line on stderr naming the problem and
 * where the command's options are described, exit code 2. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fprintf(stderr, "tailgate%s%s: %s; see 'tailgate%s%s --help'\n", cmd[0] ? " " : "", cmd, what,
            cmd[0] ? " " : "", cmd);
    return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
    /* getopt_long has stepped past the offending word: a long option is argv[optind - 1]; a
     * short one may sit inside a cluster ("-hx"), so optopt names it */
    const char *word = optind > 0 ? argv[optind - 1] : "";
    char shortopt[3] = {'-', (char)optopt, '\0'};
    int is_long = strncmp(word, "--", 2) == 0;
    const char *opt = is_long || optopt == 0 ? word : shortopt;
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value", opt);
    if (is_long && strchr(word, '=') != NULL)
        return cli_usage_error(cmd, "unknown option, or one that takes no value: '%s'", opt);
    return cli_usage_error(cmd, "unknown option '%s'", opt);
}
