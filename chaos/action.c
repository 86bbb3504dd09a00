/* The socket semantics of every user action, in one place. A browser that leaves closes its
 * socket (a FIN, then nothing read: its kernel answers further data with an RST); a killed one
 * resets it; a lost network says nothing (CLIENTS.md). */
#include "action.h"

#include <stddef.h>

static const struct action_row rows[] = {
    {CHAOS_COMPLETE, "complete", ACTION_CLOSE_NONE, 0, CHAOS_END_COMPLETE, ACTION_CLOSE_NONE,
     CHAOS_END_COMPLETE, "nothing of its own: the connection closes after the last byte", "never",
     "reads to the end", "none"},
    {CHAOS_TAB_CLOSE, "tab_close", ACTION_CLOSE_FIN, 1, CHAOS_END_FIN, ACTION_CLOSE_NONE,
     CHAOS_END_FIN,
     "a FIN: drains what the kernel already holds (recv MSG_DONTWAIT, at most 1 MiB), then "
     "close(); the kernel answers any later data with an RST, so the gateway's second write "
     "after the FIN fails (EPIPE)",
     "at the trigger", "no", "the close()"},
    {CHAOS_RESET, "reset", ACTION_CLOSE_RST, 1, CHAOS_END_RST, ACTION_CLOSE_NONE, CHAOS_END_RST,
     "an RST at once: SO_LINGER 0 + close() (a killed browser, a lost NAT entry)", "at the trigger",
     "no", "the close()"},
    {CHAOS_NETWORK_DROP, "network_drop", ACTION_CLOSE_SILENT, 0, CHAOS_END_DROP, ACTION_CLOSE_NONE,
     CHAOS_END_DROP,
     "nothing reaches the gateway: the proxy blackholes the connection (and resets it after "
     "drop_rst_after_ms if set); after give_up_ms our SO_LINGER 0 close() goes nowhere",
     "at the trigger; the client gives up after give_up_ms",
     "yes, until give_up_ms (nothing comes)", "the drop"},
    {CHAOS_BACKGROUND, "background", ACTION_CLOSE_NONE, 0, CHAOS_END_COMPLETE, ACTION_CLOSE_RST,
     CHAOS_END_KILLED,
     "nothing at first: it stops reading, the windows fill (backpressure); after background_ms "
     "it resumes reading, or with kill sends an RST (SO_LINGER 0 + close())",
     "at the trigger; resume or kill background_ms later",
     "after background_ms (resume: every token, in order); kill: no",
     "the moment it stopped reading"},
    {CHAOS_STOP_BUTTON, "stop_button", ACTION_CLOSE_FIN, 1, CHAOS_END_FIN, ACTION_CLOSE_NONE,
     CHAOS_END_FIN,
     "a FIN exactly like tab_close; with cancel, the cancel call then goes out on a new "
     "connection",
     "at the trigger", "no", "the close()"},
    {CHAOS_SUPERSEDE, "supersede", ACTION_CLOSE_FIN, 1, CHAOS_END_SUPERSEDED, ACTION_CLOSE_NONE,
     CHAOS_END_SUPERSEDED,
     "the replacement request first, on a new connection; then a FIN on the old one exactly "
     "like tab_close",
     "at the trigger it stops reading; the old socket closes as the replacement's request goes "
     "out (at most 2 s later)",
     "no", "the close() of the old socket"},
    {CHAOS_HALF_CLOSE, "half_close", ACTION_CLOSE_HALF, 1, CHAOS_END_FIN, ACTION_CLOSE_NONE,
     CHAOS_END_FIN,
     "a FIN by shutdown(SHUT_WR) while the socket stays open for reading (the rare client that "
     "half-closes)",
     "at the trigger",
     "yes, discarding, until the peer's FIN (at most 2 s between reads and 30 s in all), then "
     "close()",
     "the shutdown()"},
};

_Static_assert(sizeof rows / sizeof rows[0] == CHAOS_ACTION_COUNT, "one row per action");

const struct action_row *action_row(enum chaos_action a)
{
    /* the rows are in enum order; the check keeps a reordering from going unnoticed */
    if ((unsigned)a >= sizeof rows / sizeof rows[0] || rows[a].action != a)
        return NULL;
    return &rows[a];
}

const struct action_row *action_at(size_t i)
{
    return i < sizeof rows / sizeof rows[0] ? &rows[i] : NULL;
}
