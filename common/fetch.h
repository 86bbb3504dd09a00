/* One blocking HTTP call, for short control traffic on loopback: admin APIs, readiness probes,
 * the proxy's drop hook. Not for load: that is the chaos client's job. */
#ifndef TG_FETCH_H
#define TG_FETCH_H

#define FETCH_MAX_BODY (256u * 1024 * 1024) /* the biggest answer read (a large ledger) */

/* Sends 'method' to 'url' with 'body' (JSON, or NULL) and the extra "Name: value" headers
 * (NULL-terminated list, or NULL). Returns the HTTP status, or -1 when no answer came within
 * timeout_ms. *body_out and *headers_out (each may be NULL) receive malloc'd text, "" when
 * empty; the caller frees them. */
long fetch(const char *method, const char *url, const char *const *headers, const char *body,
           long timeout_ms, char **body_out, char **headers_out);
/* fetch, trusting the CA certificates (PEM) in ca_file alone for an https URL, verification
 * on; ca_file NULL: the system's store, as fetch does. */
long fetch_ca(const char *method, const char *url, const char *const *headers, const char *body,
              long timeout_ms, const char *ca_file, char **body_out, char **headers_out);

#endif
