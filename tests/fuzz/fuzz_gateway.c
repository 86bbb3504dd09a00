/* Fuzz target: gateway description files (runner/gateway.c), placeholders and 'files' templates
 * included. The description is named as if it sat in examples/gateways/, so its relative
 * templates (nginx/..., haproxy/...) render when run from the project's top folder. */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "gateway.h"

#define FUZZ_FILE "examples/gateways/fuzz.json"

/* Templates are read from disk: keep the target to the shipped ones. An absolute path or a '..'
 * could name /dev/stdin or a FIFO and block the run (the loader reads what its writer names). */
static int templates_tame(const uint8_t *data, size_t size)
{
    /* the loader parses up to the first NUL, as it would a file's text */
    size_t n = strnlen((const char *)data, size);
    cJSON *root = cJSON_ParseWithLength((const char *)data, n);
    int ok = 1;
    const cJSON *files;
    cJSON_ArrayForEach(files, root)
    {
        if (files->string == NULL || strcmp(files->string, "files") != 0)
            continue;
        const cJSON *f;
        cJSON_ArrayForEach(f, files)
        {
            const cJSON *t;
            cJSON_ArrayForEach(t, f)
            {
                if (t->string && strcmp(t->string, "template") == 0 && cJSON_IsString(t) &&
                    (t->valuestring[0] == '/' || strstr(t->valuestring, "..")))
                    ok = 0;
            }
        }
    }
    cJSON_Delete(root);
    return ok;
}

/* relative, and no component empty, "." or ".." (a name such as "a..cfg" is fine) */
static int inside(const char *p)
{
    if (p[0] == '\0' || p[0] == '/')
        return 0;
    for (;;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (p[n] == '\0')
            return 1;
        p += n + 1;
    }
}

static void check_gateway(const struct gateway *g)
{
    /* http://, or https:// for a gateway that serves TLS (its "tls" block says whom to trust) */
    FUZZ_CHECK(strncmp(g->url, "http://", 7) == 0 || strncmp(g->url, "https://", 8) == 0);
    FUZZ_CHECK(memchr(g->name, '\0', sizeof g->name) != NULL);
    FUZZ_CHECK(g->nenv <= GATEWAY_MAX_ENV);
    FUZZ_CHECK(g->nheaders <= CHAOS_MAX_HEADERS);
    FUZZ_CHECK(g->nfiles <= GATEWAY_MAX_FILES);
    FUZZ_CHECK(g->argv[GATEWAY_MAX_ARGS] == NULL);
    for (size_t i = 0; i < g->nenv; i++)
        FUZZ_CHECK(strchr(g->env[i], '=') != NULL);
    for (size_t i = 0; i < g->nheaders; i++)
        FUZZ_CHECK(strstr(g->headers[i], ": ") != NULL);
    for (size_t i = 0; i < g->nfiles; i++) {
        FUZZ_CHECK(inside(g->files[i].path));
        FUZZ_CHECK(g->files[i].text != NULL);
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(g->files[k].path, g->files[i].path) != 0);
    }
    if (g->metering_file[0] || g->metering_url[0]) {
        FUZZ_CHECK(!g->metering_file[0] != !g->metering_url[0]);
        FUZZ_CHECK(g->metering_id_field[0] && g->metering_tokens_field[0]);
    }
    FUZZ_CHECK(g->ready_timeout_ms >= 100 && g->ready_timeout_ms <= 600000);
    FUZZ_CHECK(g->pid == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!templates_tame(data, size))
        return 0;
    struct placeholder_vars vars = {
        .port = 18080, .mock_url = "http://127.0.0.1:18081", .run_dir = NULL};
    struct gateway g;
    char err[2048];
    err[0] = '\0';
    if (gateway_parse_buffer(FUZZ_FILE, (const char *)data, size, &vars, &g, err, sizeof err) ==
        0) {
        check_gateway(&g);
    } else {
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
        FUZZ_CHECK(strncmp(err, FUZZ_FILE ":", strlen(FUZZ_FILE ":")) == 0);
    }
    gateway_cleanup(&g);
    return 0;
}
