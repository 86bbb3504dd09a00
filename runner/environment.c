/* The environment a run plays in: mockprov (started, or one already running), the chaos proxies
 * on the client leg and, when a scenario needs it, the upstream leg, one more mock per
 * provider the gateway's description names ({{MOCK_URL_<name>}}), and the gateway under test
 * (started from its description with the mocks' URLs filled in). mockprov and the gateway are
 * reached over HTTP, so either could run elsewhere. */
#include "environment.h"

#include <math.h>
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

/* Loads the gateway's description (or flags) with these values. */
static int load_gateway(struct runner *r, const struct placeholder_vars *vars, char *err,
                        size_t errlen)
{
    const struct run_config *cfg = r->cfg;
    return cfg->gateway_file ? gateway_load(cfg->gateway_file, vars, &r->gw, err, errlen)
                             : gateway_from_flags(cfg->gateway_cmd, cfg->gateway_url, cfg->style,
                                                  vars, &r->gw, err, errlen);
}

/* Which named mocks the gateway's description uses: read once with no mock running, so a bad
 * description stops the run before anything starts. */
static int mock_names(struct runner *r, struct placeholder_names *names, char *err, size_t errlen)
{
    memset(names, 0, sizeof *names);
    if (r->cfg->direct)
        return RUN_PASS;
    struct placeholder_vars vars = {0, "http://127.0.0.1:0", r->cfg->out_dir, NULL, 0, names};
    int rc = load_gateway(r, &vars, err, errlen);
    gateway_cleanup(&r->gw);
    if (rc != 0)
        return RUN_USAGE;
    if (names->too_many) {
        snprintf(err, errlen, "%s: more than %d named mocks ({{MOCK_URL_<name>}})",
                 r->cfg->gateway_file ? r->cfg->gateway_file : "--gateway-cmd",
                 PLACEHOLDER_MAX_MOCKS);
        return RUN_USAGE;
    }
    /* a URL for a mock the gateway does not use would be a shard's provider never reached */
    for (size_t i = 0; i < r->cfg->nnamed_mock_urls; i++) {
        size_t j = 0;
        while (j < names->n && strcmp(names->name[j], r->cfg->named_mock_name[i]) != 0)
            j++;
        if (j == names->n) {
            snprintf(err, errlen,
                     "--mock-url %s=...: the gateway description uses no {{MOCK_URL_%s}}",
                     r->cfg->named_mock_name[i], r->cfg->named_mock_name[i]);
            return RUN_USAGE;
        }
    }
    return RUN_PASS;
}

/* A scenario that sets a mock the gateway does not use would configure nothing: a fault meant
 * for a provider would never fire, and the run would pass on traffic it never made. */
static int check_scenario_mocks(const struct scenario *scs, size_t nsc,
                                const struct placeholder_names *names, char *err, size_t errlen)
{
    for (size_t i = 0; i < nsc; i++)
        for (size_t k = 0; k < scs[i].nmocks; k++) {
            const struct scenario_mock *sm = &scs[i].mocks[k];
            size_t j = 0;
            while (j < names->n && strcmp(names->name[j], sm->name) != 0)
                j++;
            if (j < names->n)
                continue;
            char list[PLACEHOLDER_MAX_MOCKS * (PLACEHOLDER_NAME_MAX + 2)] = "";
            for (j = 0; j < names->n; j++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "",
                         names->name[j]);
            snprintf(err, errlen,
                     "%s:%d: mocks.%s: the gateway description uses no {{MOCK_URL_%s}} (%s%s)",
                     scs[i].file, sm->line, sm->name, sm->name,
                     names->n ? "its named mocks: " : "it names no mock but the default", list);
            return RUN_USAGE;
        }
    return RUN_PASS;
}

/* Starts mock m and, when the upstream leg is proxied, its proxy; writes the URL the gateway
 * is given into url. */
static int start_mock(struct runner *r, struct mockctl *m, const char *mock_url, int proxied,
                      struct proxy **proxy, char *url, size_t urllen, char *err, size_t errlen)
{
    const struct run_config *cfg = r->cfg;
    if (mockctl_start(m, mock_url, cfg->self_exe, cfg->out_dir, err, errlen) != 0)
        return RUN_ENV;
    snprintf(url, urllen, "%s", m->url);
    if (!proxied)
        return RUN_PASS;
    char mock_hp[128];
    host_port(m->url, mock_hp, sizeof mock_hp);
    char pname[PLACEHOLDER_NAME_MAX + 16];
    snprintf(pname, sizeof pname, "%s%s%s", "upstream", m->name[0] ? "-" : "", m->name);
    *proxy = proxy_new(r->base, pname, "127.0.0.1:0", mock_hp, err, errlen);
    if (*proxy == NULL)
        return RUN_ENV;
    snprintf(url, urllen, "%s://127.0.0.1:%d", m->tls ? "https" : "http",
             proxy_listen_port(*proxy));
    return RUN_PASS;
}

int environment_setup(struct runner *r, struct scenario *scs, size_t nsc, char *err, size_t errlen)
{
    const struct run_config *cfg = r->cfg;
    struct placeholder_names names;
    int rc = mock_names(r, &names, err, errlen);
    if (rc == RUN_PASS)
        rc = check_scenario_mocks(scs, nsc, &names, err, errlen);
    if (rc != RUN_PASS)
        return rc;
    if (cfg->mock_token)
        snprintf(r->mock.auth, sizeof r->mock.auth, "Authorization: Bearer %.256s",
                 cfg->mock_token);
    r->mock.tls = cfg->mock_tls || (cfg->gateway_file && gateway_file_mock_tls(cfg->gateway_file));
    /* the upstream leg goes through a proxy only when some scenario has upstream toxics (the
     * gateway's upstream address is fixed for the whole run); every mock's leg then has one */
    int proxied = cfg->via_proxies || any_upstream_toxics(scs, nsc);
    char upstream_url[128], named_url[PLACEHOLDER_MAX_MOCKS][128];
    rc = start_mock(r, &r->mock, cfg->mock_url, proxied, &r->upstream_proxy, upstream_url,
                    sizeof upstream_url, err, errlen);
    if (rc != RUN_PASS)
        return rc;
    mockctl_clock(&r->mock, &r->rr.clock_offset_ns, &r->rr.clock_uncertainty_ns);
    struct placeholder_mock mocks[PLACEHOLDER_MAX_MOCKS];
    for (size_t i = 0; i < names.n; i++) {
        /* started here, or reached at its --mock-url NAME=URL */
        struct mockctl *m = &r->named[r->nnamed++];
        snprintf(m->name, sizeof m->name, "%s", names.name[i]);
        m->tls = r->mock.tls;
        snprintf(m->scope, sizeof m->scope, "%s", r->mock.scope);
        snprintf(m->auth, sizeof m->auth, "%s", r->mock.auth);
        const char *url = NULL;
        for (size_t k = 0; k < cfg->nnamed_mock_urls; k++)
            if (strcmp(cfg->named_mock_name[k], m->name) == 0)
                url = cfg->named_mock_url[k];
        rc = start_mock(r, m, url, proxied, &r->named_proxy[i], named_url[i], sizeof named_url[i],
                        err, errlen);
        if (rc != RUN_PASS)
            return rc;
        /* its records are joined on the default mock's clock: how far its own is from that */
        double off, unc;
        mockctl_clock(m, &off, &unc);
        r->named_clock_delta_ns[i] = off - r->rr.clock_offset_ns;
        if (isnan(unc) || unc > r->rr.clock_uncertainty_ns)
            r->rr.clock_uncertainty_ns = unc;
        snprintf(mocks[i].name, sizeof mocks[i].name, "%s", names.name[i]);
        mocks[i].url = named_url[i];
    }
    char mock_hp[128], gw_hp[128];
    host_port(r->mock.url, mock_hp, sizeof mock_hp);
    if (!cfg->direct) {
        char log[600];
        snprintf(log, sizeof log, "%s/gateway.log", cfg->out_dir);
        struct placeholder_vars vars = {
            gateway_free_port(), upstream_url, cfg->out_dir, mocks, names.n, NULL};
        if (load_gateway(r, &vars, err, errlen) != 0)
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
    for (size_t i = 0; i < r->nnamed; i++) {
        proxy_free(r->named_proxy[i]);
        r->named_proxy[i] = NULL;
        mockctl_stop(&r->named[i]);
    }
    mockctl_stop(&r->mock);
}
