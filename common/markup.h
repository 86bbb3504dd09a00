/* Escaping text for HTML and XML (the reports' pages and junit.xml). */
#ifndef TG_MARKUP_H
#define TG_MARKUP_H

#include <stdio.h>

/* Writes s as XML 1.0 (and HTML) text, safe in element text and in quoted attributes of both:
 * < > & " ' escaped, tab, LF and CR as character references, each byte that is not UTF-8 as
 * U+FFFD, and the other C0 controls (which XML forbids even as references) as '?'. */
void markup_escape(FILE *f, const char *s);

#endif
