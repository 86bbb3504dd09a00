/* Placeholders replaced by the chaos front ends as they land. */
#include <stdio.h>

#include "cli.h"

int cli_chaos_proxy(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tailgate chaos proxy: not built yet\n");
    return EXIT_USAGE;
}
