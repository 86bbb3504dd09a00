/* What an attempt reads: the body's tokens counted (through the Bedrock event-stream framing
 * when there is one), their arrival traced, and the action fired at a token or first-byte
 * trigger, within the chunk that brings it. */
#ifndef CHAOS_READER_H
#define CHAOS_READER_H

#include <stddef.h>

/* CURLOPT_WRITEFUNCTION, and HTTP/2's data callback; 'arg' is the attempt. Returns what curl's
 * write callback returns (len, 0 to fail, CURL_WRITEFUNC_PAUSE). */
size_t reader_write_cb(char *data, size_t size, size_t nmemb, void *arg);

#endif
