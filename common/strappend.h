/* Growing a malloc'd string by appending malloc'd pieces, where a failure anywhere ends it. */
#ifndef TG_STRAPPEND_H
#define TG_STRAPPEND_H

/* Appends 'add' to *acc (both malloc'd) and frees 'add'. When either is NULL (an earlier
 * failure) or memory runs out, frees both and leaves *acc NULL, so a chain of appends needs one
 * check at its end. */
void str_append(char **acc, char *add);

#endif
