/* Escaping text for HTML and XML (the reports' pages and junit.xml). */
#ifndef TG_MARKUP_H
#define TG_MARKUP_H

#include <stdio.h>

/* Writes s with < > & " ' escaped: safe in element text and in quoted attributes of both. */
void markup_escape(FILE *f, const char *s);

#endif
