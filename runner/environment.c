/* The environment a run plays in: mockprov (started, or one already running), the chaos proxies
 * on the client leg and, when a scenario needs it, the upstream leg, and the gateway under test
 * (started from its description with the mock's URL filled in). mockprov and the gateway are
 * reached over HTTP, so either could run elsewhere. */
#include "environment.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gwproc.h"

static int host_port(const char *url, char *out, size_t len)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= len)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    if (strncmp(out, "localhost:", 10) == 0) {
        char tmp[128];
        snprintf(tmp, sizeof tmp, "127.0.0.1:%s", out + 10);
        snprintf(out, len, "%s", tmp);
    }
    return 0;
}

static int any_upstream_toxics(struct scenario *scs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cJSON_GetArraySize(scs[i].toxics_upstream) > 0)
            return 1;
    return 0;
}

int environment_setup(struct runner *r, struct scenario *scs, size_t nsc, char *err, size_t errlen)
{
    const struct run_config *cfg = r->cfg;
    if (cfg->mock_token)
        snprintf(r->mock.auth, sizeof r->mock.auth, "Authorization: Bearer %.256s",
                 cfg->mock_token);
    r->mock.tls = cfg->mock_tls || (cfg->gateway_file && gateway_file_mock_tls(cfg->gateway_file));
    if (mockctl_start(&r->mock, cfg->mock_url, cfg->self_exe, cfg->out_dir, err, errlen) != 0)
        return RUN_ENV;
    mockctl_clock(&r->mock, &r->rr.clock_offset_ns, &r->rr.clock_uncertainty_ns);
    char mock_hp[128], gw_hp[128];
    host_port(r->mock.url, mock_hp, sizeof mock_hp);
    /* the upstream leg goes through a proxy only when some scenario has upstream toxics (the
     * gateway's upstream address is fixed for the whole run) */
    char upstream_url[128];
    snprintf(upstream_url, sizeof upstream_url, "%s", r->mock.url);
    if (cfg->via_proxies || any_upstream_toxics(scs, nsc)) {
        r->upstream_proxy = proxy_new(r->base, "upstream", "127.0.0.1:0", mock_hp, err, errlen);
        if (r->upstream_proxy == NULL)
            return RUN_ENV;
        snprintf(upstream_url, sizeof upstream_url, "%s://127.0.0.1:%d",
                 r->mock.tls ? "https" : "http", proxy_listen_port(r->upstream_proxy));
    }
    if (!cfg->direct) {
        char log[600];
        snprintf(log, sizeof log, "%s/gateway.log", cfg->out_dir);
        struct placeholder_vars vars = {gateway_free_port(), upstream_url, cfg->out_dir};
        int rc = cfg->gateway_file ? gateway_load(cfg->gateway_file, &vars, &r->gw, err, errlen)
                                   : gateway_from_flags(cfg->gateway_cmd, cfg->gateway_url,
                                                        cfg->style, &vars, &r->gw, err, errlen);
        if (rc != 0)
            return RUN_USAGE;
        r->have_gw = 1;
        r->gw.interrupted = cfg->interrupted;
        snprintf(r->rr.gateway, sizeof r->rr.gateway, "%s", r->gw.name);
        /* the proxies do not forward during this probe: a gateway must not need its upstream
         * to become ready */
        if (gateway_start(&r->gw, log, err, errlen) != 0)
            return RUN_ENV;
        host_port(r->gw.url, gw_hp, sizeof gw_hp);
        snprintf(r->target_url, sizeof r->target_url, "%s://%s",
                 strncmp(r->gw.url, "https://", 8) == 0 ? "https" : "http", gw_hp);
    } else {
        snprintf(r->rr.gateway, sizeof r->rr.gateway, "direct (no gateway)");
        snprintf(gw_hp, sizeof gw_hp, "%s", mock_hp);
        snprintf(r->target_url, sizeof r->target_url, "%s", r->mock.url);
    }
    r->client_proxy = proxy_new(r->base, "client", "127.0.0.1:0", gw_hp, err, errlen);
    if (r->client_proxy == NULL)
        return RUN_ENV;
    /* the proxy passes TLS through untouched: the client speaks the target's scheme to it */
    snprintf(r->client_url, sizeof r->client_url, "%s://127.0.0.1:%d",
             strncmp(r->target_url, "https://", 8) == 0 ? "https" : "http",
             proxy_listen_port(r->client_proxy));
    return RUN_PASS;
}

void environment_teardown(struct runner *r)
{
    if (r->have_gw) {
        gateway_stop(&r->gw);
        gateway_cleanup(&r->gw);
        r->have_gw = 0;
    }
    proxy_free(r->client_proxy);
    proxy_free(r->upstream_proxy);
    r->client_proxy = r->upstream_proxy = NULL;
    mockctl_stop(&r->mock);
}
