/* The placeholders a gateway description may hold (docs/gateway.md), and their values. */
#ifndef RUNNER_PLACEHOLDER_H
#define RUNNER_PLACEHOLDER_H

#include <stddef.h>

/* The file a mock serving TLS writes its CA certificate to, in the run folder */
#define GATEWAY_MOCK_CA_NAME "mock-ca.pem"

/* Values for the placeholders. {{MOCK_HOST}} and {{MOCK_PORT}} are read from mock_url, so the
 * three always name the same upstream. */
struct placeholder_vars {
    int port;
    const char *mock_url; /* http://HOST:PORT or http://[V6]:PORT */
    const char *run_dir;  /* made absolute by gateway_load when it exists */
};

/* Replaces {{PORT}}, {{MOCK_URL}}, {{MOCK_HOST}}, {{MOCK_PORT}}, {{MOCK_CA_FILE}} (RUN_DIR/
 * mock-ca.pem), {{GATEWAY_URL}}, {{RUN_DIR}} and ${ENV}; malloc'd, or NULL past 64 KiB or out
 * of memory. */
char *placeholder_subst(const char *in, const struct placeholder_vars *vars,
                        const char *gateway_url);

/* The host (brackets kept for IPv6, as a config file needs them) and port of an http:// or
 * https:// URL; the scheme's port when it names none. Empty host and port 0 when it is no URL. */
void placeholder_url_host_port(const char *url, char *host, size_t hostlen, int *port);

#endif
