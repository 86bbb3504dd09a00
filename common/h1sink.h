/* The HTTP/1.1 sink (sink.h) on an evhttp request: direct writes to the socket while nothing
 * waits, chunk framing of its own (so the last chunk can carry a trailer), drain counting on
 * the connection's output buffer, and a peer's close seen at once, FIN told from RST. */
#ifndef TG_H1SINK_H
#define TG_H1SINK_H

struct evbuffer;
struct evhttp_request;
struct sink;

/* A sink over 'req', hooked to its connection's close and the request's completion (through
 * the guard, httpguard_on_complete). 'scratch' is borrowed: a buffer the owner lends every sink
 * for framing, emptied before each use. No callbacks are set (sink_set_callbacks). NULL: out
 * of memory. A request the peer's close left to us is freed with the sink. */
struct sink *h1sink_new(struct evhttp_request *req, struct evbuffer *scratch);

#endif
