/* Shared front-end helpers. */
#include <event2/event.h>

#include "cli.h"

/* Token timers need sub-millisecond precision: plain epoll timeouts are whole milliseconds and
 * round up to the kernel tick (4 ms seen here); timerfd does not. */
struct event_base *cli_new_base(void)
{
    struct event_config *cfg = event_config_new();
    if (cfg == NULL)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}
