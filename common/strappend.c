/* Appending malloc'd pieces to a malloc'd string. */
#include "strappend.h"

#include <stdlib.h>
#include <string.h>

void str_append(char **acc, char *add)
{
    if (*acc == NULL || add == NULL) {
        free(*acc);
        free(add);
        *acc = NULL;
        return;
    }
    size_t a = strlen(*acc), b = strlen(add);
    char *tmp = realloc(*acc, a + b + 1);
    if (tmp == NULL) {
        free(*acc);
        free(add);
        *acc = NULL;
        return;
    }
    memcpy(tmp + a, add, b + 1);
    free(add);
    *acc = tmp;
}
