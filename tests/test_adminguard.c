/* Tests for common/adminguard: the admin APIs' check against web pages, from tables of requests
 * (Host, Origin, Content-Type, method, body, peer) with the verdict and the exact message. */
#include <string.h>

#include "adminguard.h"
#include "check.h"

#define OK ADMINGUARD_OK
#define HOST ADMINGUARD_BAD_HOST
#define ORIGIN ADMINGUARD_BAD_ORIGIN
#define CTYPE ADMINGUARD_BAD_CONTENT_TYPE

#define BAD_HOST(h)                                                                                \
    "admin API: refused Host '" h "': not a loopback name or address (see --admin-host)"
#define BAD_ORIGIN(o)                                                                              \
    "admin API: refused a cross-site request: Origin '" o "' is not a loopback origin (see "       \
    "--admin-host)"
#define BAD_CTYPE(m, got)                                                                          \
    "admin API: refused " m " without Content-Type application/json (got " got ")"

static const char *const allowed[] = {"example.test", "10.1.2.3", "[fd00::1]"};

static const struct {
    const char *method, *host, *origin, *ctype;
    size_t body;
    int peer_loopback;
    int with_allowed; /* the three names above allowed */
    enum adminguard_verdict want;
    const char *msg;
} rows[] = {
    /* Host: loopback names and addresses, any port */
    {"GET", "127.0.0.1:8080", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "127.0.0.1", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "127.255.3.4:1", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "localhost:8474", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "LocalHost", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "api.localhost:80", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "a.b.LOCALHOST", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "[::1]:8474", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "[::1]", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "[0:0:0:0:0:0:0:1]:9", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "[::ffff:127.0.0.1]:9", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "localhost:65535", NULL, NULL, 0, 1, 0, OK, ""},
    /* Host: foreign names (DNS rebinding), near misses and malformed values */
    {"GET", "evil.example", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("evil.example")},
    {"GET", "evil.example:8080", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("evil.example:8080")},
    {"GET", "localhost.evil.example", NULL, NULL, 0, 1, 0, HOST,
     BAD_HOST("localhost.evil.example")},
    {"GET", "evillocalhost", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("evillocalhost")},
    {"GET", ".localhost", NULL, NULL, 0, 1, 0, HOST, BAD_HOST(".localhost")},
    {"GET", "a..localhost", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("a..localhost")},
    {"GET", "localhost.", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("localhost.")},
    {"GET", "128.0.0.1", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("128.0.0.1")},
    {"GET", "10.1.2.3", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("10.1.2.3")},
    {"GET", "127.1", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("127.1")},
    {"GET", "127.0.0.1.nip.io", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("127.0.0.1.nip.io")},
    {"GET", "::1", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("::1")},
    {"GET", "[::2]", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("[::2]")},
    {"GET", "[::1", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("[::1")},
    {"GET", "[::1]x", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("[::1]x")},
    {"GET", "localhost:", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("localhost:")},
    {"GET", "localhost:65536", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("localhost:65536")},
    {"GET", "localhost:80a", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("localhost:80a")},
    {"GET", "localhost:123456", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("localhost:123456")},
    {"GET", "user@localhost", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("user@localhost")},
    {"GET", "localhost/x", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("localhost/x")},
    {"GET", "local host", NULL, NULL, 0, 1, 0, HOST, BAD_HOST("local host")},
    /* Host: missing or empty passes only from a loopback peer (HTTP/1.0) */
    {"GET", NULL, NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", "", NULL, NULL, 0, 1, 0, OK, ""},
    {"GET", NULL, NULL, NULL, 0, 0, 0, HOST,
     "admin API: refused a request without a Host header from a non-loopback peer"},
    /* Host: the allowed extra names, any port, case-insensitive; IPv6 by address */
    {"GET", "example.test", NULL, NULL, 0, 0, 1, OK, ""},
    {"GET", "EXAMPLE.test:8080", NULL, NULL, 0, 0, 1, OK, ""},
    {"GET", "10.1.2.3:80", NULL, NULL, 0, 0, 1, OK, ""},
    {"GET", "[fd00:0::1]:80", NULL, NULL, 0, 0, 1, OK, ""},
    {"GET", "localhost", NULL, NULL, 0, 0, 1, OK, ""},
    {"GET", "sub.example.test", NULL, NULL, 0, 0, 1, HOST, BAD_HOST("sub.example.test")},
    {"GET", "example.testx", NULL, NULL, 0, 0, 1, HOST, BAD_HOST("example.testx")},
    /* Origin: loopback or allowed http(s) origins pass; foreign, "null" and odd ones do not */
    {"GET", "localhost", "http://localhost:3000", NULL, 0, 1, 0, OK, ""},
    {"GET", "localhost", "https://127.0.0.1", NULL, 0, 1, 0, OK, ""},
    {"GET", "localhost", "HTTP://[::1]:5173", NULL, 0, 1, 0, OK, ""},
    {"GET", "localhost", "http://app.localhost", NULL, 0, 1, 0, OK, ""},
    {"GET", "example.test", "https://example.test:8443", NULL, 0, 1, 1, OK, ""},
    {"GET", "localhost", "http://evil.example", NULL, 0, 1, 0, ORIGIN,
     BAD_ORIGIN("http://evil.example")},
    {"GET", "localhost", "https://example.test", NULL, 0, 1, 0, ORIGIN,
     BAD_ORIGIN("https://example.test")},
    {"GET", "localhost", "null", NULL, 0, 1, 0, ORIGIN, BAD_ORIGIN("null")},
    {"GET", "localhost", "", NULL, 0, 1, 0, ORIGIN, BAD_ORIGIN("")},
    {"GET", "localhost", "file://localhost", NULL, 0, 1, 0, ORIGIN, BAD_ORIGIN("file://localhost")},
    {"GET", "localhost", "http://localhost/", NULL, 0, 1, 0, ORIGIN,
     BAD_ORIGIN("http://localhost/")},
    {"GET", "localhost", "http://evil.example@localhost", NULL, 0, 1, 0, ORIGIN,
     BAD_ORIGIN("http://evil.example@localhost")},
    {"GET", "localhost", "http://", NULL, 0, 1, 0, ORIGIN, BAD_ORIGIN("http://")},
    {"GET", "localhost", "localhost", NULL, 0, 1, 0, ORIGIN, BAD_ORIGIN("localhost")},
    /* Content-Type: state-changing methods need JSON */
    {"POST", "localhost", NULL, "application/json", 2, 1, 0, OK, ""},
    {"POST", "localhost", NULL, "Application/JSON; charset=utf-8", 2, 1, 0, OK, ""},
    {"POST", "localhost", NULL, " application/json ;charset=utf-8", 2, 1, 0, OK, ""},
    {"PATCH", "localhost", NULL, "application/json", 2, 1, 0, OK, ""},
    {"PUT", "localhost", NULL, "application/json", 2, 1, 0, OK, ""},
    {"DELETE", "localhost", NULL, "application/json", 0, 1, 0, OK, ""},
    {"POST", "localhost", "http://localhost:3000", "application/json", 2, 1, 0, OK, ""},
    {"POST", "localhost", NULL, "text/plain", 2, 1, 0, CTYPE, BAD_CTYPE("POST", "'text/plain'")},
    {"POST", "localhost", NULL, "text/plain;charset=UTF-8", 2, 1, 0, CTYPE,
     BAD_CTYPE("POST", "'text/plain;charset=UTF-8'")},
    {"POST", "localhost", NULL, "application/x-www-form-urlencoded", 0, 1, 0, CTYPE,
     BAD_CTYPE("POST", "'application/x-www-form-urlencoded'")},
    {"POST", "localhost", NULL, "multipart/form-data; boundary=x", 9, 1, 0, CTYPE,
     BAD_CTYPE("POST", "'multipart/form-data; boundary=x'")},
    {"POST", "localhost", NULL, "application/jsonx", 2, 1, 0, CTYPE,
     BAD_CTYPE("POST", "'application/jsonx'")},
    {"POST", "localhost", NULL, "application/json-patch", 2, 1, 0, CTYPE,
     BAD_CTYPE("POST", "'application/json-patch'")},
    {"POST", "localhost", NULL, NULL, 2, 1, 0, CTYPE, BAD_CTYPE("POST", "none")},
    {"PUT", "localhost", NULL, "text/plain", 2, 1, 0, CTYPE, BAD_CTYPE("PUT", "'text/plain'")},
    {"BREW", "localhost", NULL, "text/plain", 2, 1, 0, CTYPE, BAD_CTYPE("BREW", "'text/plain'")},
    {NULL, "localhost", NULL, "text/plain", 2, 1, 0, CTYPE, BAD_CTYPE("a request", "'text/plain'")},
    /* no body, no Content-Type and no Origin: nothing a browser sends; passes */
    {"POST", "localhost", NULL, NULL, 0, 1, 0, OK, ""},
    {"DELETE", "localhost", NULL, NULL, 0, 1, 0, OK, ""},
    /* ... but with an Origin, even a loopback one, a body-less POST needs JSON too */
    {"POST", "localhost", "http://localhost:3000", NULL, 0, 1, 0, CTYPE, BAD_CTYPE("POST", "none")},
    /* safe methods need no content type, whatever they carry */
    {"GET", "localhost", NULL, "text/plain", 5, 1, 0, OK, ""},
    {"HEAD", "localhost", NULL, NULL, 0, 1, 0, OK, ""},
    {"OPTIONS", "localhost", NULL, NULL, 0, 1, 0, OK, ""},
    /* the order: Host first, then Origin, then Content-Type */
    {"POST", "evil.example", "http://evil.example", "text/plain", 2, 1, 0, HOST,
     BAD_HOST("evil.example")},
    {"POST", "localhost", "http://evil.example", "text/plain", 2, 1, 0, ORIGIN,
     BAD_ORIGIN("http://evil.example")},
};

static void adminguard_should_judge_each_request_of_the_table(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct adminguard_request rq = {rows[i].method, rows[i].host, rows[i].origin,
                                        rows[i].ctype,  rows[i].body, rows[i].peer_loopback};
        char msg[300] = "junk";
        enum adminguard_verdict v = adminguard_check(
            &rq, rows[i].with_allowed ? allowed : NULL,
            rows[i].with_allowed ? sizeof allowed / sizeof allowed[0] : 0, msg, sizeof msg);
        if (v != rows[i].want || strcmp(msg, rows[i].msg) != 0)
            fprintf(stderr, "  row %zu (%s Host %s Origin %s): %d '%s'\n", i,
                    rows[i].method ? rows[i].method : "NULL", rows[i].host ? rows[i].host : "NULL",
                    rows[i].origin ? rows[i].origin : "NULL", (int)v, msg);
        CHECK_EQ_INT(v, rows[i].want);
        CHECK_EQ_STR(msg, rows[i].msg);
    }
}

static void adminguard_should_truncate_its_message_to_the_buffer(void)
{
    struct adminguard_request rq = {"GET", "evil.example", NULL, NULL, 0, 1};
    char msg[16];
    CHECK_EQ_INT(adminguard_check(&rq, NULL, 0, msg, sizeof msg), HOST);
    CHECK_EQ_STR(msg, "admin API: refu");
    /* a long foreign value is cut at 100 characters in the message */
    char host[300];
    memset(host, 'a', 250);
    strcpy(host + 250, ".example");
    rq.host = host;
    char big[400];
    CHECK_EQ_INT(adminguard_check(&rq, NULL, 0, big, sizeof big), HOST);
    CHECK_EQ_INT(strlen(big), strlen(BAD_HOST("")) + 100);
}

static void adminguard_should_tell_loopback_peer_addresses(void)
{
    static const struct {
        const char *addr;
        int want;
    } addrs[] = {
        {"127.0.0.1", 1}, {"127.9.8.7", 1},
        {"::1", 1},       {"::ffff:127.0.0.1", 1},
        {"10.0.0.1", 0},  {"::ffff:10.0.0.1", 0},
        {"::2", 0},       {"128.0.0.1", 0},
        {"localhost", 0}, {"", 0},
        {NULL, 0},        {"127.0.0.1:80", 0},
    };
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        if (adminguard_addr_is_loopback(addrs[i].addr) != addrs[i].want)
            fprintf(stderr, "  addr %s\n", addrs[i].addr ? addrs[i].addr : "NULL");
        CHECK_EQ_INT(adminguard_addr_is_loopback(addrs[i].addr), addrs[i].want);
    }
    CHECK_EQ_INT(adminguard_host_is_loopback("localhost:1"), 1);
    CHECK_EQ_INT(adminguard_host_is_loopback("[::1]:1"), 1);
    CHECK_EQ_INT(adminguard_host_is_loopback("example.test"), 0);
    CHECK_EQ_INT(adminguard_host_is_loopback(NULL), 0);
}

static void adminguard_should_accept_only_names_and_addresses_as_extra_hosts(void)
{
    static const struct {
        const char *name;
        int want;
    } names[] = {
        {"example.test", 1},
        {"gw-1.internal", 1},
        {"mock_a", 1},
        {"10.0.0.5", 1},
        {"fd00::1", 1},
        {"[fd00::1]", 1},
        {"EXAMPLE.TEST", 1},
        {"", 0},
        {"example.test:80", 0},
        {"http://example.test", 0},
        {"a b", 0},
        {"a/b", 0},
        {".example", 0},
        {"example.", 0},
        {"a..b", 0},
        {"300.1.1.1", 0},
        {"[fd00::1", 0},
        {"[]", 0},
        {"fd00::g", 0},
        {NULL, 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (adminguard_valid_name(names[i].name) != names[i].want)
            fprintf(stderr, "  name '%s'\n", names[i].name ? names[i].name : "NULL");
        CHECK_EQ_INT(adminguard_valid_name(names[i].name), names[i].want);
    }
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(adminguard_should_judge_each_request_of_the_table),
        CASE(adminguard_should_truncate_its_message_to_the_buffer),
        CASE(adminguard_should_tell_loopback_peer_addresses),
        CASE(adminguard_should_accept_only_names_and_addresses_as_extra_hosts),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
