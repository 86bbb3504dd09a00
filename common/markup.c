/* Markup escaping. */
#include "markup.h"

#include <stdlib.h>

#include "utf8.h"

void markup_escape(FILE *f, const char *s)
{
    char *fixed = utf8_repair_dup(s);
    for (const char *p = fixed ? fixed : s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        case '\t':
        case '\n':
        case '\r':
            /* in an attribute a raw newline is normalized to a space: keep it a reference */
            fprintf(f, "&#%d;", c);
            break;
        default:
            fputc(c < 0x20 ? '?' : (int)c, f);
        }
    }
    free(fixed);
}
