/* A token-event template's holes and filling them. */
#include "holes.h"

#include "decimal.h"

#include <string.h>

/* The bytes that stand for holes, for strcspn: a template is mostly literal JSON. */
static const char hole_bytes[] = {WIRE_HOLE_SEQ, WIRE_HOLE_TEXT, WIRE_HOLE_COUNT, WIRE_HOLE_TOTAL,
                                  '\0'};

int holes_fill(const char *tmpl, const struct holes *h, char *buf, size_t len)
{
    if (len == 0)
        return -1;
    size_t o = 0;
    for (const char *p = tmpl;;) {
        size_t run = strcspn(p, hole_bytes);
        if (o + run >= len)
            return -1;
        memcpy(buf + o, p, run);
        o += run;
        p += run;
        if (*p == '\0')
            break;
        char digits[DECIMAL_U64_MAX + 1];
        const char *ins = digits;
        size_t il;
        switch (*p++) {
        case WIRE_HOLE_SEQ:
            if (h->seq < 0) {
                digits[0] = '-';
                il = 1 + decimal_u64(-(uint64_t)h->seq, digits + 1);
            } else {
                il = decimal_u64((uint64_t)h->seq, digits);
            }
            break;
        case WIRE_HOLE_TEXT:
            ins = h->text;
            il = strlen(h->text);
            break;
        case WIRE_HOLE_COUNT:
            il = decimal_u64(h->count, digits);
            break;
        default: /* WIRE_HOLE_TOTAL */
            il = decimal_u64(h->total, digits);
            break;
        }
        if (o + il >= len)
            return -1;
        memcpy(buf + o, ins, il);
        o += il;
    }
    buf[o] = '\0';
    return (int)o;
}
