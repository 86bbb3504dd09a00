/* The sockets the chaos client owns: curl opens and closes every HTTP/1.1 socket through these
 * hooks, so an abort is a clean FIN, an RST, a half close or nothing, as the action's row says. */
#ifndef CHAOS_TEARDOWN_H
#define CHAOS_TEARDOWN_H

#include <curl/curl.h>

struct chaos_client;

/* CURLOPT_OPENSOCKETFUNCTION; 'arg' is the attempt (struct xfer). */
curl_socket_t teardown_open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *addr);
/* CURLOPT_CLOSESOCKETFUNCTION; 'arg' is the attempt. Closes as x->teardown says. */
int teardown_close_cb(void *arg, curl_socket_t fd);
/* Closes and frees every half-closed socket still waiting for its peer's FIN. */
void teardown_free_all(struct chaos_client *c);

#endif
