/* The placeholders a gateway description may hold (docs/gateway.md), and their values. */
#ifndef RUNNER_PLACEHOLDER_H
#define RUNNER_PLACEHOLDER_H

#include <stddef.h>

/* The file a mock serving TLS writes its CA certificate to, in the run folder */
#define GATEWAY_MOCK_CA_NAME "mock-ca.pem"

#define PLACEHOLDER_MAX_MOCKS 8 /* named mocks a description may use, besides the default */
#define PLACEHOLDER_NAME_MAX 32 /* a mock's name: 1 to 31 of A-Z a-z 0-9 _ */

/* A named mock ({{MOCK_URL_<name>}}): one per provider a gateway routes to. */
struct placeholder_mock {
    char name[PLACEHOLDER_NAME_MAX];
    const char *url;
};

/* The mock names a description uses, in the order first met. */
struct placeholder_names {
    char name[PLACEHOLDER_MAX_MOCKS][PLACEHOLDER_NAME_MAX];
    size_t n;
    int too_many; /* a name past PLACEHOLDER_MAX_MOCKS was met */
};

/* Values for the placeholders. {{MOCK_HOST}} and {{MOCK_PORT}} are read from mock_url, so the
 * three always name the same upstream; {{MOCK_HOST_<name>}} and {{MOCK_PORT_<name>}} likewise
 * from that mock's url. */
struct placeholder_vars {
    int port;
    const char *mock_url;                 /* http://HOST:PORT or http://[V6]:PORT */
    const char *run_dir;                  /* made absolute by gateway_load when it exists */
    const struct placeholder_mock *mocks; /* the named mocks; a name not among them is "" */
    size_t nmocks;
    struct placeholder_names *seen; /* when set, every mock name met is added to it */
};

/* Replaces {{PORT}}, {{MOCK_URL}}, {{MOCK_HOST}}, {{MOCK_PORT}}, {{MOCK_CA_FILE}} (RUN_DIR/
 * mock-ca.pem), the same four of a named mock ({{MOCK_URL_<name>}}, ..., {{MOCK_CA_FILE_<name>}}
 * for RUN_DIR/mock-ca-<name>.pem), {{GATEWAY_URL}}, {{RUN_DIR}} and ${ENV}; malloc'd, or NULL
 * past 64 KiB or out of memory. */
char *placeholder_subst(const char *in, const struct placeholder_vars *vars,
                        const char *gateway_url);

/* The host (brackets kept for IPv6, as a config file needs them) and port of an http:// or
 * https:// URL; the scheme's port when it names none. Empty host and port 0 when it is no URL. */
void placeholder_url_host_port(const char *url, char *host, size_t hostlen, int *port);

#endif
