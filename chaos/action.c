/* The socket semantics of every user action, in one place. A browser that leaves closes its
 * socket (a FIN, then nothing read: its kernel answers further data with an RST); a killed one
 * resets it; a lost network says nothing (CLIENTS.md). */
#include "action.h"

#include <stddef.h>

static const struct action_row rows[] = {
    {CHAOS_COMPLETE, "complete", ACTION_CLOSE_NONE, 0, CHAOS_END_COMPLETE, ACTION_CLOSE_NONE,
     CHAOS_END_COMPLETE, "nothing of its own: the connection closes after the last byte", "never",
     "reads to the end", "none",
     "nothing of its own: the stream ends with the server's END_STREAM; the connection stays "
     "open for the others"},
    {CHAOS_TAB_CLOSE, "tab_close", ACTION_CLOSE_FIN, 1, CHAOS_END_FIN, ACTION_CLOSE_NONE,
     CHAOS_END_FIN,
     "a FIN: drains what the kernel already holds (recv MSG_DONTWAIT, at most 1 MiB), then "
     "close(); the kernel answers any later data with an RST, so the gateway's second write "
     "after the FIN fails (EPIPE)",
     "at the trigger", "no", "the close()",
     "RST_STREAM(CANCEL) on its own stream, as Chromium sends it, on the socket at the "
     "trigger; the connection stays open and keeps carrying the others"},
    {CHAOS_RESET, "reset", ACTION_CLOSE_RST, 1, CHAOS_END_RST, ACTION_CLOSE_NONE, CHAOS_END_RST,
     "an RST at once: SO_LINGER 0 + close() (a killed browser, a lost NAT entry)", "at the trigger",
     "no", "the close()",
     "an RST of the whole TCP connection (connect(AF_UNSPEC): the kernel resets it), no "
     "RST_STREAM, no GOAWAY, as a killed browser; every stream on it ends (the others as "
     "`error`)"},
    {CHAOS_NETWORK_DROP, "network_drop", ACTION_CLOSE_SILENT, 0, CHAOS_END_DROP, ACTION_CLOSE_NONE,
     CHAOS_END_DROP,
     "nothing reaches the gateway: the proxy blackholes the connection (and resets it after "
     "drop_rst_after_ms if set); after give_up_ms our SO_LINGER 0 close() goes nowhere",
     "at the trigger; the client gives up after give_up_ms",
     "yes, until give_up_ms (nothing comes)", "the drop",
     "as over HTTP/1.1, so every stream on the connection goes silent; after give_up_ms an RST "
     "of the connection into the blackhole"},
    {CHAOS_BACKGROUND, "background", ACTION_CLOSE_NONE, 0, CHAOS_END_COMPLETE, ACTION_CLOSE_RST,
     CHAOS_END_KILLED,
     "nothing at first: it stops reading, the windows fill (backpressure); after background_ms "
     "it resumes reading, or with kill sends an RST (SO_LINGER 0 + close())",
     "at the trigger; resume or kill background_ms later",
     "after background_ms (resume: every token, in order); kill: no",
     "the moment it stopped reading",
     "its stream stops being read (no WINDOW_UPDATE for it: its 6 MiB window fills, the "
     "others flow); kill resets the whole connection like reset"},
    {CHAOS_STOP_BUTTON, "stop_button", ACTION_CLOSE_FIN, 1, CHAOS_END_FIN, ACTION_CLOSE_NONE,
     CHAOS_END_FIN,
     "a FIN exactly like tab_close; with cancel, the cancel call then goes out on a new "
     "connection",
     "at the trigger", "no", "the close()",
     "RST_STREAM like tab_close; with cancel, the cancel call goes out as a new stream (on the "
     "same connection while it has room)"},
    {CHAOS_SUPERSEDE, "supersede", ACTION_CLOSE_FIN, 1, CHAOS_END_SUPERSEDED, ACTION_CLOSE_NONE,
     CHAOS_END_SUPERSEDED,
     "the replacement request first, on a new connection; then a FIN on the old one exactly "
     "like tab_close",
     "at the trigger it stops reading; the old socket closes as the replacement's request goes "
     "out (at most 2 s later)",
     "no", "the close() of the old socket",
     "the replacement as a new stream (on the same connection while it has room), then "
     "RST_STREAM on the old stream"},
    {CHAOS_HALF_CLOSE, "half_close", ACTION_CLOSE_HALF, 1, CHAOS_END_FIN, ACTION_CLOSE_NONE,
     CHAOS_END_FIN,
     "a FIN by shutdown(SHUT_WR) while the socket stays open for reading (the rare client that "
     "half-closes)",
     "at the trigger",
     "yes, discarding, until the peer's FIN (at most 2 s between reads and 30 s in all), then "
     "close()",
     "the shutdown()",
     "refused: every HTTP/2 request half-closes its stream already (END_STREAM)"},
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
