/* The placeholders of a gateway description: {{PORT}}, the mock's URL and its parts (the
 * default mock's, or a named one's), the run folder, ${ENV}. */
#include "placeholder.h"

#include <ctype.h>
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

/* A named mock's placeholder at p ("{{MOCK_URL_openai}}"): which part (0 URL, 1 host, 2 port,
 * 3 CA file), its name in 'name', and its length; 0 when p holds none. */
static size_t named(const char *p, int *part, char *name)
{
    static const char *const prefix[] = {"{{MOCK_URL_", "{{MOCK_HOST_", "{{MOCK_PORT_",
                                         "{{MOCK_CA_FILE_"};
    for (int k = 0; k < 4; k++) {
        size_t n = strlen(prefix[k]);
        if (strncmp(p, prefix[k], n) != 0)
            continue;
        size_t m = 0;
        while (m < PLACEHOLDER_NAME_MAX - 1 &&
               (isalnum((unsigned char)p[n + m]) || p[n + m] == '_'))
            m++;
        if (m == 0 || strncmp(p + n + m, "}}", 2) != 0)
            return 0;
        memcpy(name, p + n, m);
        name[m] = '\0';
        *part = k;
        return n + m + 2;
    }
    return 0;
}

static void note_name(struct placeholder_names *seen, const char *name)
{
    if (seen == NULL)
        return;
    for (size_t i = 0; i < seen->n; i++)
        if (strcmp(seen->name[i], name) == 0)
            return;
    if (seen->n == PLACEHOLDER_MAX_MOCKS) {
        seen->too_many = 1;
        return;
    }
    snprintf(seen->name[seen->n++], PLACEHOLDER_NAME_MAX, "%s", name);
}

/* The value of part 'part' of the named mock 'name' into buf; "" for a mock not in vars. */
static const char *named_value(const struct placeholder_vars *vars, int part, const char *name,
                               char *buf, size_t len)
{
    const char *url = NULL;
    for (size_t i = 0; i < vars->nmocks && url == NULL; i++)
        if (strcmp(vars->mocks[i].name, name) == 0)
            url = vars->mocks[i].url;
    note_name(vars->seen, name);
    char host[256];
    int port;
    buf[0] = '\0';
    if (part == 3) {
        snprintf(buf, len, "%s/mock-ca-%s.pem", vars->run_dir ? vars->run_dir : ".", name);
    } else if (url && part == 0) {
        snprintf(buf, len, "%s", url);
    } else if (url) {
        placeholder_url_host_port(url, host, sizeof host, &port);
        if (part == 1)
            snprintf(buf, len, "%s", host);
        else
            snprintf(buf, len, "%d", port);
    }
    return buf;
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
        char envname[128], name[PLACEHOLDER_NAME_MAX], nval[PATH_MAX + 64];
        int part;
        if ((skip = named(p, &part, name)) > 0) {
            val = named_value(vars, part, name, nval, sizeof nval);
        } else if (strncmp(p, "{{PORT}}", 8) == 0) {
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
