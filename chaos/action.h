/* What every user action does to its socket: one table (chaos/action.c), read by the client and
 * printed as "Socket semantics" in docs/runner.md. Measured against real browsers: CLIENTS.md. */
#ifndef CHAOS_ACTION_H
#define CHAOS_ACTION_H

#include "client.h"

/* How the client's end of a connection goes away. */
enum action_close {
    ACTION_CLOSE_NONE,   /* nothing of ours: curl's own close once the transfer ends */
    ACTION_CLOSE_FIN,    /* drain what the kernel holds, close(): FIN; later data draws an RST */
    ACTION_CLOSE_HALF,   /* shutdown(SHUT_WR): FIN; read and discard until the peer's FIN */
    ACTION_CLOSE_RST,    /* SO_LINGER 0 + close(): RST at once */
    ACTION_CLOSE_SILENT, /* as RST, but behind the proxy's blackhole: it reaches nobody */
};

struct action_row {
    enum chaos_action action;
    const char *name;
    enum action_close teardown; /* what the socket gets when the action ends it */
    int close_is_abort;         /* 1: t_abort is that close; 0: t_abort is the trigger itself */
    enum chaos_end end;         /* how an attempt that acted ends */
    enum action_close kill;     /* background with kill: the close after background_ms */
    enum chaos_end kill_end;
    /* the docs table's cells */
    const char *sends, *when, *reads_after, *t_abort;
    const char *h2; /* what it sends over HTTP/2 (http "2" or "h2c"), where users share */
};

/* The row of 'a'; NULL if 'a' is out of range. Rows live as long as the program. */
const struct action_row *action_row(enum chaos_action a);
/* Row i in table order (the enum's), NULL past the end: for listing every action. */
const struct action_row *action_at(size_t i);

#endif
