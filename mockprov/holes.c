/* A token-event template's holes and filling them. */
#include "holes.h"

#include <stdio.h>
#include <string.h>

int holes_fill(const char *tmpl, const struct holes *h, char *buf, size_t len)
{
    char seq[32], count[32], total[32];
    int tl = (int)strlen(h->text);
    int sl = snprintf(seq, sizeof seq, "%lld", (long long)h->seq);
    int cl = snprintf(count, sizeof count, "%llu", (unsigned long long)h->count);
    int ttl = snprintf(total, sizeof total, "%llu", (unsigned long long)h->total);
    if (sl < 0 || cl < 0 || ttl < 0 || len == 0)
        return -1;
    const char *p = tmpl;
    size_t o = 0;
    for (; *p; p++) {
        const char *ins = NULL;
        size_t il = 0;
        if (*p == WIRE_HOLE_SEQ) {
            ins = seq;
            il = (size_t)sl;
        } else if (*p == WIRE_HOLE_TEXT) {
            ins = h->text;
            il = (size_t)tl;
        } else if (*p == WIRE_HOLE_COUNT) {
            ins = count;
            il = (size_t)cl;
        } else if (*p == WIRE_HOLE_TOTAL) {
            ins = total;
            il = (size_t)ttl;
        }
        if (ins) {
            if (o + il >= len)
                return -1;
            memcpy(buf + o, ins, il);
            o += il;
        } else {
            if (o + 1 >= len)
                return -1;
            buf[o++] = *p;
        }
    }
    buf[o] = '\0';
    return (int)o;
}
