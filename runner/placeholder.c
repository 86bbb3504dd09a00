/* The placeholders of a gateway description: {{PORT}}, the mock's URL and its parts, the run
 * folder, ${ENV}. */
#include "placeholder.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GATEWAY_MAX_OUT 65536 /* one substituted value or rendered template */

/* Appends n bytes to a growing string; returns -1 past GATEWAY_MAX_OUT. */
static int put(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > GATEWAY_MAX_OUT)
        return -1;
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        if (c > GATEWAY_MAX_OUT)
            c = GATEWAY_MAX_OUT;
        char *tmp = realloc(*out, c);
        if (tmp == NULL)
            return -1;
        *out = tmp;
        *cap = c;
    }
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
    return 0;
}

void placeholder_url_host_port(const char *url, char *host, size_t hostlen, int *port)
{
    host[0] = '\0';
    *port = 0;
    if (url == NULL)
        return;
    int tls = strncmp(url, "https://", 8) == 0;
    if (!tls && strncmp(url, "http://", 7) != 0)
        return;
    const char *h = url + (tls ? 8 : 7);
    const char *end = h[0] == '[' ? strchr(h, ']') : h + strcspn(h, ":/");
    if (end == NULL)
        return;
    if (h[0] == '[')
        end++;
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= hostlen)
        return;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = tls ? 443 : 80;
    if (*end == ':')
        *port = atoi(end + 1);
}

char *placeholder_subst(const char *in, const struct placeholder_vars *vars,
                        const char *gateway_url)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    char port[16], mock_host[256], mock_port[16];
    int mport;
    snprintf(port, sizeof port, "%d", vars->port);
    placeholder_url_host_port(vars->mock_url, mock_host, sizeof mock_host, &mport);
    snprintf(mock_port, sizeof mock_port, "%d", mport);
    /* where a mock serving TLS writes its CA (mockctl.h), whether or not this run's does */
    char ca_file[PATH_MAX + 32];
    snprintf(ca_file, sizeof ca_file, "%s/" GATEWAY_MOCK_CA_NAME,
             vars->run_dir ? vars->run_dir : ".");
    if (put(&out, &len, &cap, "", 0) != 0)
        return NULL;
    for (const char *p = in; *p;) {
        const char *val = NULL;
        size_t skip = 0;
        char envname[128];
        if (strncmp(p, "{{PORT}}", 8) == 0) {
            val = port;
            skip = 8;
        } else if (strncmp(p, "{{MOCK_URL}}", 12) == 0) {
            val = vars->mock_url ? vars->mock_url : "";
            skip = 12;
        } else if (strncmp(p, "{{MOCK_HOST}}", 13) == 0) {
            val = mock_host;
            skip = 13;
        } else if (strncmp(p, "{{MOCK_PORT}}", 13) == 0) {
            val = mock_port;
            skip = 13;
        } else if (strncmp(p, "{{GATEWAY_URL}}", 15) == 0) {
            val = gateway_url ? gateway_url : "";
            skip = 15;
        } else if (strncmp(p, "{{MOCK_CA_FILE}}", 16) == 0) {
            val = ca_file;
            skip = 16;
        } else if (strncmp(p, "{{RUN_DIR}}", 11) == 0) {
            val = vars->run_dir ? vars->run_dir : ".";
            skip = 11;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            size_t n = end ? (size_t)(end - p - 2) : 0;
            if (end && n > 0 && n < sizeof envname) {
                memcpy(envname, p + 2, n);
                envname[n] = '\0';
                val = getenv(envname);
                if (val == NULL)
                    val = "";
                skip = n + 3;
            }
        }
        if (val) {
            if (put(&out, &len, &cap, val, strlen(val)) != 0)
                goto fail;
            p += skip;
        } else {
            if (put(&out, &len, &cap, p, 1) != 0)
                goto fail;
            p++;
        }
    }
    return out;
fail:
    free(out);
    return NULL;
}
