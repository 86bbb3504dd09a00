/* Gateway descriptions: the file (docs/gateway.md) or the command-line flags, with their
 * placeholders filled in. */
#include "gateway.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jparse.h"
#include "placeholder.h"

#define GATEWAY_MAX_FILE (256 * 1024)

void gateway_cleanup(struct gateway *g)
{
    for (size_t i = 0; i < GATEWAY_MAX_ARGS && g->argv[i]; i++)
        free(g->argv[i]);
    for (size_t i = 0; i < g->nenv; i++)
        free(g->env[i]);
    for (size_t i = 0; i < g->nheaders; i++)
        free(g->headers[i]);
    for (size_t i = 0; i < g->nfiles; i++)
        free(g->files[i].text);
    memset(g->argv, 0, sizeof g->argv);
    g->nenv = g->nheaders = g->nfiles = 0;
}

struct gctx {
    const char *file;
    const char *text;
    char *err;
    size_t errlen;
};

/* The error names the line where the quoted 'near' first appears (line 1 when it does not). */
static int gfail_near(const struct gctx *c, const char *near, const char *key, const char *msg)
{
    int line = 1;
    char quoted[300];
    snprintf(quoted, sizeof quoted, "\"%s\"", near);
    const char *hit = c->text ? strstr(c->text, quoted) : NULL;
    for (const char *q = c->text; hit && q < hit; q++)
        line += *q == '\n';
    snprintf(c->err, c->errlen, "%s:%d: %s: %s", c->file, line, key, msg);
    return -1;
}

static int gfail(const struct gctx *c, const char *key, const char *msg)
{
    return gfail_near(c, key, key, msg);
}

static int copy_str(const struct gctx *c, const cJSON *root, const char *key, char *out,
                    size_t outlen, const struct placeholder_vars *vars, const char *gw_url)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v))
        return gfail(c, key, "expected a string");
    char *s = placeholder_subst(v->valuestring, vars, gw_url);
    if (s == NULL || strlen(s) >= outlen) {
        free(s);
        return gfail(c, key, "too long");
    }
    snprintf(out, outlen, "%s", s);
    free(s);
    return 0;
}

static int set_style(struct gateway *g, const char *style)
{
    int st = chaos_style_parse(style);
    if (st < 0)
        return -1;
    g->style = (enum chaos_style)st;
    return 0;
}

/* A path that stays inside the run folder: relative, no empty, "." or ".." component. */
static int inside_path(const char *p)
{
    if (p[0] == '\0' || p[0] == '/')
        return 0;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        s += n;
        if (*s == '/')
            s++;
        if (*s == '\0' && s[-1] == '/')
            return 0;
    }
    return 1;
}

/* Reads a whole text file of at most GATEWAY_MAX_FILE bytes; malloc'd, or NULL with errno. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *text = malloc(GATEWAY_MAX_FILE + 1);
    if (text == NULL) {
        fclose(f);
        errno = ENOMEM;
        return NULL;
    }
    errno = 0;
    size_t n = fread(text, 1, GATEWAY_MAX_FILE + 1, f);
    int rerr = ferror(f) ? (errno ? errno : EIO) : n > GATEWAY_MAX_FILE ? EFBIG : 0;
    fclose(f);
    if (rerr) {
        free(text);
        errno = rerr;
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* "files": [{"template": T, "path": P}]: T (relative to the description's folder) rendered with
 * the placeholders, to be written to RUN_DIR/P when the gateway starts. */
static int parse_files(const struct gctx *c, const cJSON *root, const struct placeholder_vars *vars,
                       struct gateway *g)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
    if (files == NULL)
        return 0;
    if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) > GATEWAY_MAX_FILES)
        return gfail(c, "files",
                     "expected an array of at most 8 {\"template\": FILE, "
                     "\"path\": NAME} objects");
    const char *slash = strrchr(c->file, '/');
    int dirlen = slash ? (int)(slash - c->file) : 1;
    const char *dir = slash ? c->file : ".";
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        size_t i = g->nfiles;
        char key[64], msg[1400];
        const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(f, "template");
        const cJSON *dst = cJSON_GetObjectItemCaseSensitive(f, "path");
        snprintf(key, sizeof key, "files[%zu]", i);
        if (!cJSON_IsObject(f) || cJSON_GetArraySize(f) != 2 || !cJSON_IsString(tpl) ||
            !cJSON_IsString(dst))
            return gfail(c, "files",
                         "each entry is {\"template\": FILE, \"path\": NAME}, "
                         "two strings");
        snprintf(key, sizeof key, "files[%zu].path", i);
        if (!inside_path(dst->valuestring) || strlen(dst->valuestring) >= sizeof g->files[i].path)
            return gfail_near(c, dst->valuestring, key,
                              "expected a relative path inside the run folder (no '..', "
                              "not absolute, under 256 bytes)");
        for (size_t k = 0; k < i; k++)
            if (strcmp(g->files[k].path, dst->valuestring) == 0)
                return gfail_near(c, dst->valuestring, key, "the same path twice");
        snprintf(key, sizeof key, "files[%zu].template", i);
        char tpath[1024];
        if (tpl->valuestring[0] == '/')
            snprintf(tpath, sizeof tpath, "%s", tpl->valuestring);
        else
            snprintf(tpath, sizeof tpath, "%.*s/%s", dirlen, dir, tpl->valuestring);
        char *text = tpl->valuestring[0] ? slurp(tpath) : NULL;
        if (text == NULL) {
            snprintf(msg, sizeof msg, "%s: %s", tpath,
                     tpl->valuestring[0] ? strerror(errno) : "empty name");
            return gfail_near(c, tpl->valuestring, key, msg);
        }
        char *out = placeholder_subst(text, vars, g->url);
        free(text);
        if (out == NULL) {
            snprintf(msg, sizeof msg, "%s: larger than 64 KiB once rendered", tpath);
            return gfail_near(c, tpl->valuestring, key, msg);
        }
        snprintf(g->files[i].path, sizeof g->files[i].path, "%s", dst->valuestring);
        g->files[i].text = out;
        g->nfiles++;
    }
    return 0;
}

static const char *const gw_keys[] = {
    "name",     "command",         "cwd",      "env",         "url",
    "ready",    "style",           "path",     "headers",     "cancel",
    "metering", "body_template",   "method",   "description", "passthrough",
    "files",    "terminal_marker", "mock_tls", "tls",         "http"};

static int parse_desc(const struct gctx *c, const cJSON *root, const struct placeholder_vars *vars,
                      struct gateway *g)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        size_t i = 0;
        while (i < sizeof gw_keys / sizeof gw_keys[0] && strcmp(gw_keys[i], it->string) != 0)
            i++;
        if (i == sizeof gw_keys / sizeof gw_keys[0])
            return gfail(c, it->string,
                         "unknown key (expected name, command, cwd, env, url, http, "
                         "ready, style, path, headers, cancel, metering, "
                         "body_template, method, mock_tls, tls, passthrough, files, "
                         "terminal_marker)");
    }
    if (copy_str(c, root, "name", g->name, sizeof g->name, vars, NULL) != 0 ||
        copy_str(c, root, "url", g->url, sizeof g->url, vars, NULL) != 0 ||
        copy_str(c, root, "cwd", g->cwd, sizeof g->cwd, vars, NULL) != 0 ||
        copy_str(c, root, "path", g->path, sizeof g->path, vars, NULL) != 0 ||
        copy_str(c, root, "body_template", g->body_template, sizeof g->body_template, vars,
                 g->url) != 0 ||
        copy_str(c, root, "method", g->method, sizeof g->method, vars, NULL) != 0 ||
        copy_str(c, root, "terminal_marker", g->terminal_marker, sizeof g->terminal_marker, vars,
                 NULL) != 0)
        return -1;
    if (g->url[0] == '\0' ||
        (strncmp(g->url, "http://", 7) != 0 && strncmp(g->url, "https://", 8) != 0))
        return gfail(c, "url", "required: the gateway's base URL, http://HOST:PORT or https://");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "mock_tls");
    if (mt && !cJSON_IsBool(mt))
        return gfail(c, "mock_tls", "expected true or false");
    g->mock_tls = cJSON_IsTrue(mt);
    const cJSON *tls = cJSON_GetObjectItemCaseSensitive(root, "tls");
    if (tls) {
        const cJSON *ins = cJSON_GetObjectItemCaseSensitive(tls, "insecure");
        if (!cJSON_IsObject(tls) || (ins && !cJSON_IsBool(ins)))
            return gfail(c, "tls", "expected {\"ca_file\": PATH, \"insecure\": false}");
        if (copy_str(c, tls, "ca_file", g->tls_ca_file, sizeof g->tls_ca_file, vars, NULL) != 0)
            return -1;
        g->tls_insecure = cJSON_IsTrue(ins);
    }
    const cJSON *http = cJSON_GetObjectItemCaseSensitive(root, "http");
    int hv = http ? chaos_http_parse(cJSON_GetStringValue(http)) : CHAOS_HTTP_1_1;
    if (hv < 0)
        return gfail(c, "http", "expected \"1.1\", \"2\" (HTTP/2 over TLS) or \"h2c\"");
    g->http = (enum chaos_http)hv;
    const cJSON *style = cJSON_GetObjectItemCaseSensitive(root, "style");
    if (style && (!cJSON_IsString(style) || set_style(g, style->valuestring) != 0))
        return gfail(c, "style",
                     "expected openai-chat, responses, anthropic, gemini, completions, ollama, "
                     "azure, bedrock, bedrock-invoke or custom");
    if (g->style == CHAOS_STYLE_CUSTOM && g->body_template[0] == '\0')
        return gfail(c, "body_template", "required for the custom style");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(root, "passthrough");
    if (pt && !cJSON_IsBool(pt))
        return gfail(c, "passthrough", "expected true or false");
    g->passthrough = cJSON_IsTrue(pt);
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(root, "command");
    if (cmd) {
        if (!cJSON_IsArray(cmd) || cJSON_GetArraySize(cmd) == 0 ||
            cJSON_GetArraySize(cmd) > GATEWAY_MAX_ARGS)
            return gfail(c, "command", "expected an array of 1 to 64 strings (argv, no shell)");
        size_t n = 0;
        const cJSON *a;
        cJSON_ArrayForEach(a, cmd)
        {
            if (!cJSON_IsString(a))
                return gfail(c, "command", "expected strings");
            g->argv[n] = placeholder_subst(a->valuestring, vars, g->url);
            if (g->argv[n] == NULL)
                return gfail(c, "command", "argument too long");
            n++;
        }
    }
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(root, "env");
    if (env) {
        if (!cJSON_IsObject(env) || cJSON_GetArraySize(env) > GATEWAY_MAX_ENV)
            return gfail(c, "env", "expected an object of at most 32 NAME: value pairs");
        const cJSON *e;
        cJSON_ArrayForEach(e, env)
        {
            if (!cJSON_IsString(e))
                return gfail(c, "env", "values must be strings");
            char *v = placeholder_subst(e->valuestring, vars, g->url);
            size_t l = strlen(e->string) + (v ? strlen(v) : 0) + 2;
            char *kv = v ? malloc(l) : NULL;
            if (kv == NULL) {
                free(v);
                return gfail(c, "env", "out of memory");
            }
            snprintf(kv, l, "%s=%s", e->string, v);
            free(v);
            g->env[g->nenv++] = kv;
        }
    }
    const cJSON *hdrs = cJSON_GetObjectItemCaseSensitive(root, "headers");
    if (hdrs) {
        if (!cJSON_IsObject(hdrs) || cJSON_GetArraySize(hdrs) > CHAOS_MAX_HEADERS - 8)
            return gfail(c, "headers", "expected an object of at most 24 Name: value pairs");
        const cJSON *h;
        cJSON_ArrayForEach(h, hdrs)
        {
            if (!cJSON_IsString(h))
                return gfail(c, "headers", "values must be strings");
            char *v = placeholder_subst(h->valuestring, vars, g->url);
            size_t l = strlen(h->string) + (v ? strlen(v) : 0) + 3;
            char *kv = v ? malloc(l) : NULL;
            if (kv == NULL) {
                free(v);
                return gfail(c, "headers", "out of memory");
            }
            snprintf(kv, l, "%s: %s", h->string, v);
            free(v);
            g->headers[g->nheaders++] = kv;
        }
    }
    const cJSON *ready = cJSON_GetObjectItemCaseSensitive(root, "ready");
    if (ready) {
        if (!cJSON_IsObject(ready))
            return gfail(c, "ready", "expected {\"path\": \"/healthz\", \"timeout_ms\": N}");
        if (copy_str(c, ready, "path", g->ready_path, sizeof g->ready_path, vars, NULL) != 0)
            return -1;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(ready, "timeout_ms");
        if (t && (!cJSON_IsNumber(t) || t->valuedouble < 100 || t->valuedouble > 600000))
            return gfail(c, "ready", "timeout_ms: expected 100 to 600000");
        if (t)
            g->ready_timeout_ms = (unsigned)t->valuedouble;
    }
    const cJSON *cancel = cJSON_GetObjectItemCaseSensitive(root, "cancel");
    if (cancel) {
        if (!cJSON_IsObject(cancel))
            return gfail(c, "cancel", "expected {\"method\": ..., \"url\": ...}");
        if (copy_str(c, cancel, "method", g->cancel_method, sizeof g->cancel_method, vars,
                     g->url) != 0 ||
            copy_str(c, cancel, "url", g->cancel_url, sizeof g->cancel_url, vars, g->url) != 0)
            return -1;
    }
    const cJSON *met = cJSON_GetObjectItemCaseSensitive(root, "metering");
    if (met) {
        if (!cJSON_IsObject(met))
            return gfail(c, "metering",
                         "expected {\"file\" or \"url\", \"id_field\", "
                         "\"output_tokens_field\"}");
        if (copy_str(c, met, "file", g->metering_file, sizeof g->metering_file, vars, g->url) !=
                0 ||
            copy_str(c, met, "url", g->metering_url, sizeof g->metering_url, vars, g->url) != 0 ||
            copy_str(c, met, "id_field", g->metering_id_field, sizeof g->metering_id_field, vars,
                     NULL) != 0 ||
            copy_str(c, met, "output_tokens_field", g->metering_tokens_field,
                     sizeof g->metering_tokens_field, vars, NULL) != 0)
            return -1;
        if (!g->metering_file[0] == !g->metering_url[0])
            return gfail(c, "metering", "give one of file (JSON lines) or url (an endpoint)");
        if (!g->metering_id_field[0])
            snprintf(g->metering_id_field, sizeof g->metering_id_field, "request_id");
        if (!g->metering_tokens_field[0])
            snprintf(g->metering_tokens_field, sizeof g->metering_tokens_field, "output_tokens");
    }
    return parse_files(c, root, vars, g);
}

static void defaults(struct gateway *g)
{
    memset(g, 0, sizeof *g);
    g->ready_timeout_ms = 10000;
    g->style = CHAOS_STYLE_OPENAI_CHAT;
    snprintf(g->name, sizeof g->name, "gateway");
}

static int load_text(const char *path, const char *text, size_t len,
                     const struct placeholder_vars *in_vars, struct gateway *g, char *err,
                     size_t errlen);

int gateway_load(const char *path, const struct placeholder_vars *in_vars, struct gateway *g,
                 char *err, size_t errlen)
{
    size_t len;
    char *text = jparse_read_file(path, GATEWAY_MAX_FILE,
                                  "give a gateway description file, e.g. examples/gateways/*.json",
                                  &len, err, errlen);
    if (text == NULL) {
        defaults(g);
        return -1;
    }
    int rc = load_text(path, text, len, in_vars, g, err, errlen);
    free(text);
    return rc;
}

int gateway_parse_buffer(const char *path, const char *data, size_t len,
                         const struct placeholder_vars *vars, struct gateway *g, char *err,
                         size_t errlen)
{
    /* the file's text as gateway_load reads it: at most GATEWAY_MAX_FILE bytes, then a NUL (the
     * key locator reads C strings; the parse rejects a NUL inside) */
    char *text = len <= GATEWAY_MAX_FILE ? malloc(len + 1) : NULL;
    if (text == NULL) {
        defaults(g);
        snprintf(err, errlen, "%s: %s", path,
                 len > GATEWAY_MAX_FILE ? "larger than 256 KiB" : "out of memory");
        return -1;
    }
    memcpy(text, data, len);
    text[len] = '\0';
    int rc = load_text(path, text, len, vars, g, err, errlen);
    free(text);
    return rc;
}

/* Parses a description's text (len bytes, then a NUL) into 'g'. */
static int load_text(const char *path, const char *text, size_t len,
                     const struct placeholder_vars *in_vars, struct gateway *g, char *err,
                     size_t errlen)
{
    defaults(g);
    /* absolute, so a config file means the same folder whatever the gateway's cwd */
    struct placeholder_vars abs_vars = *in_vars;
    char run_dir[PATH_MAX];
    if (in_vars->run_dir && realpath(in_vars->run_dir, run_dir) != NULL)
        abs_vars.run_dir = run_dir;
    const struct placeholder_vars *vars = &abs_vars;
    if (snprintf(g->run_dir, sizeof g->run_dir, "%s", vars->run_dir ? vars->run_dir : ".") >=
        (int)sizeof g->run_dir) {
        snprintf(err, errlen, "%s: the run folder's path is longer than 1023 bytes", path);
        return -1;
    }
    struct gctx c = {path, text, err, errlen};
    struct jparse_error je;
    cJSON *root = jparse_text(text, len, &je);
    int rc;
    if (root == NULL) {
        jparse_message(&je, path, err, errlen);
        rc = -1;
    } else if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: expected a JSON object (a gateway description)", path);
        rc = -1;
    } else {
        rc = parse_desc(&c, root, vars, g);
    }
    cJSON_Delete(root);
    if (rc != 0)
        gateway_cleanup(g);
    return rc;
}

int gateway_from_flags(const char *cmd, const char *url, const char *style,
                       const struct placeholder_vars *vars, struct gateway *g, char *err,
                       size_t errlen)
{
    defaults(g);
    if (url == NULL) {
        snprintf(err, errlen, "--gateway-url: required with --gateway-cmd");
        return -1;
    }
    char *u = placeholder_subst(url, vars, NULL);
    if (u == NULL || strlen(u) >= sizeof g->url || strncmp(u, "http://", 7) != 0) {
        free(u);
        snprintf(err, errlen, "--gateway-url: expected http://HOST:PORT");
        return -1;
    }
    snprintf(g->url, sizeof g->url, "%s", u);
    free(u);
    if (style && set_style(g, style) != 0) {
        snprintf(err, errlen,
                 "--style: expected openai-chat, responses, anthropic, gemini, "
                 "completions, ollama, azure, bedrock or bedrock-invoke");
        return -1;
    }
    if (cmd) {
        char *work = placeholder_subst(cmd, vars, g->url);
        if (work == NULL) {
            snprintf(err, errlen, "--gateway-cmd: too long");
            return -1;
        }
        size_t n = 0;
        char *save = NULL;
        for (char *t = strtok_r(work, " ", &save); t && n < GATEWAY_MAX_ARGS;
             t = strtok_r(NULL, " ", &save))
            g->argv[n++] = strdup(t);
        free(work);
        if (n == 0) {
            snprintf(err, errlen, "--gateway-cmd: empty");
            return -1;
        }
    }
    return 0;
}

int gateway_file_mock_tls(const char *path)
{
    size_t len;
    char err[64];
    char *text = jparse_read_file(path, GATEWAY_MAX_FILE, "", &len, err, sizeof err);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    int on = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "mock_tls"));
    cJSON_Delete(j);
    free(text);
    return on;
}
