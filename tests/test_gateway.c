/* Gateway descriptions: placeholders, config files rendered from templates into the run folder,
 * and the FILE:LINE: key: message errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gateway.h"
#include "gwproc.h"

static char tmp[64];     /* the description files and templates */
static char run_dir[96]; /* a run folder, given relative to tmp to check it is made absolute */

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static const struct placeholder_vars vars = {
    .port = 18080, .mock_url = "http://127.0.0.1:4567", .run_dir = NULL};

/* Loads DESC (written to tmp/NAME) with the run folder and {{PORT}} = port; returns
 * gateway_load's code. */
static int load_port(const char *name, const char *desc, int port, struct gateway *g, char *err,
                     size_t errlen)
{
    write_file(name, desc);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    struct placeholder_vars v = vars;
    v.run_dir = run_dir;
    v.port = port;
    return gateway_load(path, &v, g, err, errlen);
}

static int load(const char *name, const char *desc, struct gateway *g, char *err, size_t errlen)
{
    return load_port(name, desc, vars.port, g, err, errlen);
}

/* A loopback listener for the readiness probe's TCP connect; returns the fd, port in *port. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void gateway_should_split_the_mock_url_into_host_and_port(void)
{
    static const struct {
        const char *url, *want;
    } rows[] = {
        {"http://127.0.0.1:4567", "127.0.0.1 4567"}, {"http://127.0.0.1:4567/v1", "127.0.0.1 4567"},
        {"http://localhost", "localhost 80"},        {"https://mock.test/x", "mock.test 443"},
        {"http://[::1]:9000", "[::1] 9000"},         {"not a url", " 0"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct placeholder_vars v = {.port = 1, .mock_url = rows[i].url, .run_dir = "/r"};
        char *s = placeholder_subst("{{MOCK_HOST}} {{MOCK_PORT}}", &v, NULL);
        CHECK_EQ_STR(s, rows[i].want);
        free(s);
    }
}

static void gateway_should_replace_every_placeholder(void)
{
    setenv("TG_TEST_GW", "envval", 1);
    struct placeholder_vars v = {
        .port = 18080, .mock_url = "http://127.0.0.1:4567", .run_dir = "/runs/a"};
    char *s = placeholder_subst("{{PORT}}|{{MOCK_URL}}|{{MOCK_HOST}}:{{MOCK_PORT}}|{{GATEWAY_URL}}|"
                                "{{RUN_DIR}}|${TG_TEST_GW}|${TG_TEST_UNSET_GW}|{{OTHER}}|$x",
                                &v, "http://127.0.0.1:18080");
    CHECK_EQ_STR(s, "18080|http://127.0.0.1:4567|127.0.0.1:4567|http://127.0.0.1:18080|"
                    "/runs/a|envval||{{OTHER}}|$x");
    free(s);
}

static void gateway_should_replace_a_named_mocks_placeholders_and_collect_its_name(void)
{
    struct placeholder_mock mocks[] = {{"primary", "http://127.0.0.1:4601"},
                                       {"fallback_2", "https://[::1]:4602"}};
    struct placeholder_names seen;
    memset(&seen, 0, sizeof seen);
    struct placeholder_vars v = {.port = 18080,
                                 .mock_url = "http://127.0.0.1:4567",
                                 .run_dir = "/runs/a",
                                 .mocks = mocks,
                                 .nmocks = 2,
                                 .seen = &seen};
    char *s = placeholder_subst("{{MOCK_URL_primary}}|{{MOCK_HOST_fallback_2}}:"
                                "{{MOCK_PORT_fallback_2}}|{{MOCK_CA_FILE_primary}}|{{MOCK_URL}}|"
                                "{{MOCK_URL_absent}}|{{MOCK_URL_}}|{{MOCK_URL_a-b}}",
                                &v, NULL);
    /* a name not among the mocks is empty (and collected); no name, or a bad one, is text */
    CHECK_EQ_STR(s, "http://127.0.0.1:4601|[::1]:4602|/runs/a/mock-ca-primary.pem|"
                    "http://127.0.0.1:4567||{{MOCK_URL_}}|{{MOCK_URL_a-b}}");
    free(s);
    CHECK_EQ_INT((int)seen.n, 3);
    CHECK_EQ_STR(seen.name[0], "primary");
    CHECK_EQ_STR(seen.name[1], "fallback_2");
    CHECK_EQ_STR(seen.name[2], "absent");
    CHECK_EQ_INT(seen.too_many, 0);
    /* past PLACEHOLDER_MAX_MOCKS names the collector says so */
    memset(&seen, 0, sizeof seen);
    s = placeholder_subst("{{MOCK_URL_a}}{{MOCK_URL_b}}{{MOCK_URL_c}}{{MOCK_URL_d}}{{MOCK_URL_e}}"
                          "{{MOCK_URL_f}}{{MOCK_URL_g}}{{MOCK_URL_h}}{{MOCK_URL_a}}{{MOCK_URL_i}}",
                          &v, NULL);
    free(s);
    CHECK_EQ_INT((int)seen.n, 8);
    CHECK_EQ_INT(seen.too_many, 1);
}

static void gateway_should_render_files_into_the_run_folder_at_start(void)
{
    write_file("nginx.conf.in", "listen 127.0.0.1:{{PORT}};\n"
                                "proxy_pass http://{{MOCK_HOST}}:{{MOCK_PORT}};\n"
                                "pid {{RUN_DIR}}/nginx.pid; $host\n");
    write_file("extra.in", "upstream {{MOCK_URL}}\n");
    int port = 0, lfd = listener(&port);
    CHECK(lfd >= 0);
    struct gateway g;
    char err[512] = "";
    /* the command copies the file as it finds it when it starts */
    int rc = load_port("files.json",
                       "{\"name\": \"n\", \"url\": \"http://127.0.0.1:{{PORT}}\",\n"
                       " \"command\": [\"sh\", \"-c\", \"cp {{RUN_DIR}}/nginx.conf "
                       "{{RUN_DIR}}/seen.conf; exec sleep 30\"],\n"
                       " \"files\": [{\"template\": \"nginx.conf.in\", \"path\": \"nginx.conf\"},\n"
                       "   {\"template\": \"extra.in\", \"path\": \"conf.d/extra.conf\"}]}\n",
                       port, &g, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(g.nfiles, 2);
    char abs[512];
    CHECK(realpath(run_dir, abs) != NULL);
    CHECK_EQ_STR(g.run_dir, abs);
    /* nothing is written before the gateway starts */
    char path[700];
    snprintf(path, sizeof path, "%s/nginx.conf", abs);
    CHECK(access(path, F_OK) != 0);
    rc = gateway_start(&g, "/dev/null", err, sizeof err);
    close(lfd);
    if (rc != 0)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(rc, 0);
    char want[900];
    snprintf(want, sizeof want,
             "listen 127.0.0.1:%d;\nproxy_pass http://127.0.0.1:4567;\npid %s/nginx.pid; "
             "$host\n",
             port, abs);
    char *got = slurp(path);
    CHECK_EQ_STR(got, want);
    free(got);
    /* the copy appears once sh ran; the probe may have answered before that */
    char seen[700];
    snprintf(seen, sizeof seen, "%s/seen.conf", abs);
    for (int i = 0; i < 200 && (got = slurp(seen)) == NULL; i++)
        usleep(10000);
    int same = got && strcmp(got, want) == 0;
    free(got);
    if (!same)
        gateway_stop(&g);
    CHECK(same);
    snprintf(path, sizeof path, "%s/conf.d/extra.conf", abs);
    got = slurp(path);
    CHECK_EQ_STR(got, "upstream http://127.0.0.1:4567\n");
    free(got);
    gateway_stop(&g);
    gateway_cleanup(&g);
}

static void gateway_should_name_file_line_and_key_for_bad_files(void)
{
    static const struct {
        const char *files, *want;
    } rows[] = {
        {"\"files\": {\"template\": \"a.in\", \"path\": \"a\"}", ":3: files: expected an array"},
        {"\"files\": [\"a.in\"]", ":3: files: each entry is"},
        {"\"files\": [{\"template\": \"a.in\"}]", ":3: files: each entry is"},
        {"\"files\": [{\"template\": \"a.in\", \"path\": \"a\", \"mode\": 1}]",
         ":3: files: each entry is"},
        {"\"files\": [\n{\"template\": \"missing.in\", \"path\": \"a\"}]",
         ":4: files[0].template: "},
        {"\"files\": [{\"template\": \"a.in\", \"path\": \"a\"},\n"
         "{\"template\": \"a.in\", \"path\": \"../escape\"}]",
         ":4: files[1].path: expected a relative path inside the run folder"},
        {"\"files\": [{\"template\": \"a.in\", \"path\": \"/etc/x\"}]",
         ":3: files[0].path: expected a relative path"},
        {"\"files\": [{\"template\": \"a.in\", \"path\": \"sub/../../x\"}]",
         ":3: files[0].path: expected a relative path"},
        {"\"files\": [{\"template\": \"a.in\", \"path\": \"dir/\"}]",
         ":3: files[0].path: expected a relative path"},
        {"\"files\": [{\"template\": \"a.in\", \"path\": \"\"}]",
         ":3: files[0].path: expected a relative path"},
        {"\"files\": [{\"template\": \"a.in\", \"path\": \"a\"},\n"
         "{\"template\": \"b.in\", \"path\": \"a\"}]",
         ":3: files[1].path: the same path twice"},
        {"\"files\": [{\"template\": \"big.in\", \"path\": \"a\"}]", ":3: files[0].template: "},
    };
    write_file("a.in", "x\n");
    /* under the 256 KiB read limit, over the 64 KiB rendered one */
    char *big = malloc(70001);
    CHECK(big != NULL);
    memset(big, 'x', 70000);
    big[70000] = '\0';
    write_file("big.in", big);
    free(big);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char desc[512];
        snprintf(desc, sizeof desc, "{\"name\": \"n\",\n \"url\": \"http://127.0.0.1:1\",\n %s}\n",
                 rows[i].files);
        struct gateway g;
        char err[1024] = "";
        CHECK_EQ_INT(load("bad.json", desc, &g, err, sizeof err), -1);
        if (strstr(err, rows[i].want) == NULL || strstr(err, "bad.json:") == NULL) {
            fprintf(stderr, "  row %zu: '%s' does not contain '%s'\n", i, err, rows[i].want);
            CHECK(0);
        }
        CHECK_EQ_INT(g.nfiles, 0); /* cleaned up */
    }
    /* the template's own path is named, so the reader knows which file is missing */
    struct gateway g;
    char err[1024] = "";
    load("bad.json",
         "{\"url\": \"http://127.0.0.1:1\", \"files\": [{\"template\": \"gone.in\", \"path\": "
         "\"a\"}]}",
         &g, err, sizeof err);
    CHECK(strstr(err, "/gone.in: No such file or directory") != NULL);
}

static void gateway_should_read_templates_beside_the_description(void)
{
    char sub[128];
    snprintf(sub, sizeof sub, "%s/desc", tmp);
    mkdir(sub, 0755);
    write_file("desc/t.in", "beside {{PORT}}");
    write_file("t.in", "wrong folder");
    struct gateway g;
    char err[512] = "";
    int rc = load("desc/d.json",
                  "{\"url\": \"http://127.0.0.1:1\", \"files\": [{\"template\": \"t.in\", "
                  "\"path\": \"t.conf\"}]}",
                  &g, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(g.files[0].text, "beside 18080");
    gateway_cleanup(&g);
}

static void gateway_should_reject_an_unknown_key_naming_files_among_the_valid_ones(void)
{
    struct gateway g;
    char err[512] = "";
    CHECK_EQ_INT(
        load("unk.json", "{\"url\": \"http://127.0.0.1:1\",\n \"file\": []}", &g, err, sizeof err),
        -1);
    CHECK(strstr(err, "unk.json:2: file: unknown key") != NULL);
    CHECK(strstr(err, "passthrough, files, terminal_marker)") != NULL);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(gateway_should_split_the_mock_url_into_host_and_port),
        CASE(gateway_should_replace_every_placeholder),
        CASE(gateway_should_replace_a_named_mocks_placeholders_and_collect_its_name),
        CASE(gateway_should_render_files_into_the_run_folder_at_start),
        CASE(gateway_should_name_file_line_and_key_for_bad_files),
        CASE(gateway_should_read_templates_beside_the_description),
        CASE(gateway_should_reject_an_unknown_key_naming_files_among_the_valid_ones),
    };
    snprintf(tmp, sizeof tmp, "/tmp/tggw.XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
    mkdir(run_dir, 0755);
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
