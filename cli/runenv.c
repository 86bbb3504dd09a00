/* `tailgate run` settings from environment variables (runenv.h). */
#include "runenv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/library.h"

static const char *env(const char *name);
static int flag_given(int argc, char *const *argv, const char *flag);
static int check_url(const char *name, const char *v, char *err, size_t errlen);

int runenv_apply(struct run_config *cfg, int argc, char *const *argv, char *err, size_t errlen)
{
    const char *v;
    if ((v = env("TAILGATE_OUT")) != NULL)
        cfg->out_dir = v;
    if ((v = env("TAILGATE_SEED")) != NULL) {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(v, &end, 10);
        if (*v == '-' || *v == '+' || *v == ' ' || *end || errno) {
            snprintf(err, errlen, "TAILGATE_SEED: expected an unsigned integer, got '%.64s'", v);
            return -1;
        }
        cfg->seed = seed;
    }
    if ((v = env("TAILGATE_MOCK_URL")) != NULL) {
        if (check_url("TAILGATE_MOCK_URL", v, err, errlen) != 0)
            return -1;
        cfg->mock_url = v;
    }
    /* the admin token of a mock reached across hosts (tailgate mock --admin-token): from the
     * environment only, so it stays out of process listings */
    if ((v = env("TAILGATE_MOCK_TOKEN")) != NULL) {
        if (strpbrk(v, " \t\r\n") || strlen(v) > 256) {
            snprintf(err, errlen,
                     "TAILGATE_MOCK_TOKEN: expected at most 256 bytes without "
                     "spaces or line breaks");
            return -1;
        }
        cfg->mock_token = v;
    }
    if ((v = env("TAILGATE_FLOOR")) != NULL)
        cfg->floor_dir = v;
    int mode_flag = flag_given(argc, argv, "gateway") || flag_given(argc, argv, "gateway-url") ||
                    flag_given(argc, argv, "direct");
    const char *file = mode_flag || flag_given(argc, argv, "gateway-cmd") ? NULL
                                                                          : env("TAILGATE_GATEWAY");
    const char *url = mode_flag ? NULL : env("TAILGATE_GATEWAY_URL");
    if (file && url) {
        snprintf(err, errlen, "TAILGATE_GATEWAY and TAILGATE_GATEWAY_URL are both set: set one "
                              "(a description file, or the URL of a gateway already running)");
        return -1;
    }
    if (url && check_url("TAILGATE_GATEWAY_URL", url, err, errlen) != 0)
        return -1;
    if (file)
        cfg->gateway_file = file;
    if (url)
        cfg->gateway_url = url;
    /* the refgw descriptions run ${TAILGATE_REFGW}: the one shipped beside this program, or the
     * checkout's build/refgw from its root as before */
    if (env("TAILGATE_REFGW") == NULL) {
        char refgw[LIBRARY_MAX_PATH];
        if (library_refgw(NULL, refgw, sizeof refgw) != 0)
            snprintf(refgw, sizeof refgw, "build/refgw");
        if (setenv("TAILGATE_REFGW", refgw, 1) != 0) {
            snprintf(err, errlen, "setenv TAILGATE_REFGW: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

/* Whether argv holds --FLAG (or --FLAG=..., or an abbreviation getopt_long would take for it)
 * before a "--". An ambiguous abbreviation counts too: getopt_long then rejects it anyway. */
static int flag_given(int argc, char *const *argv, const char *flag)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return 0;
        if (strncmp(a, "--", 2) != 0)
            continue;
        a += 2;
        size_t n = strcspn(a, "=");
        if (n > 0 && n <= strlen(flag) && strncmp(a, flag, n) == 0)
            return 1;
    }
    return 0;
}

static int check_url(const char *name, const char *v, char *err, size_t errlen)
{
    size_t skip = strncmp(v, "http://", 7) == 0 ? 7 : strncmp(v, "https://", 8) == 0 ? 8 : 0;
    if (skip == 0 || v[skip] == '\0' || v[skip] == '/' || strpbrk(v, " \t\r\n")) {
        snprintf(err, errlen, "%s: expected an http:// or https:// URL, got '%.64s'", name, v);
        return -1;
    }
    return 0;
}
