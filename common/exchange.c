/* The exchange's transport-neutral calls (exchange.h). */
#include "exchange.h"

const char *exchange_header(const struct exchange *x, const char *name)
{
    return x->ops->header(x, name);
}

void exchange_add_header(struct exchange *x, const char *name, const char *value)
{
    if (!x->answered)
        x->ops->add_header(x, name, value);
}

void exchange_reply(struct exchange *x, int status, const char *body, size_t len)
{
    if (x->answered)
        return;
    x->answered = 1;
    x->ops->reply(x, status, body, len);
}

struct sink *exchange_take_sink(struct exchange *x)
{
    if (x->answered)
        return NULL;
    struct sink *s = x->ops->take_sink(x);
    if (s != NULL)
        x->answered = 1;
    return s;
}

void exchange_tune(struct exchange *x, int sndbuf, int watch_close)
{
    if (x->ops->tune != NULL)
        x->ops->tune(x, sndbuf, watch_close);
}
