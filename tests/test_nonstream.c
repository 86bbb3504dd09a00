/* Non-streaming requests and requests abandoned before their first token, over real loopback:
 * the mock generates a non-streaming answer on the profile's timers as it does a stream, hears
 * the client's FIN, RST or HTTP/2 RST_STREAM mid-generation (before any byte of the answer) and
 * bills it per profile; refgw (default fixed) cancels both kinds at once, and its two leak modes
 * let them run: --watch-after-first-byte (a close before the first token goes unheard) and
 * --ignore-nonstream-cancel (only streams are cancelled). Every wait polls the mock's ledger.
 * The programs are $TAILGATE_BIN and $REFGW_BIN (defaults ./tailgate, build/refgw). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "harness.h"

/* 10 tokens/s from t = 0: tokens at 0, 100, 200 ms... A close once token 2 exists lands about
 * 100 ms before token 3, so "generated before the close" is exactly 3. Jitter 0 keeps it exact. */
#define K 3
#define PERIOD_MS 100
#define TIMING "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 10\r\nx-tailgate-jitter: 0\r\n"
/* a long time to first token: a reasoning model thinking, or a queue */
#define LONG_TTFT_MS 1500
#define LONG_TTFT "x-tailgate-ttft-ms: 1500\r\nx-tailgate-tps: 100\r\nx-tailgate-jitter: 0\r\n"
/* a gateway's reaction to its client's close, on loopback: well under one token period */
#define REACTION_MS 90
#define INPUT_TOKENS 2 /* "abcdefgh": the mock bills 4 bytes a token */

static struct proc mock;

static const char *const apis[] = {"chat", "responses", "messages"};

static const char *path_of(const char *api)
{
    if (strcmp(api, "chat") == 0)
        return "/v1/chat/completions";
    if (strcmp(api, "responses") == 0)
        return "/v1/responses";
    return "/v1/messages";
}

static const char *body_of(const char *api, int stream)
{
    if (strcmp(api, "chat") == 0)
        return stream ? "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":"
                        "true},\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}"
                      : "{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":\"user\","
                        "\"content\":\"abcdefgh\"}]}";
    if (strcmp(api, "responses") == 0)
        return stream ? "{\"model\":\"m\",\"stream\":true,\"input\":\"abcdefgh\"}"
                      : "{\"model\":\"m\",\"stream\":false,\"input\":\"abcdefgh\"}";
    return stream ? "{\"model\":\"m\",\"stream\":true,\"max_tokens\":1000,\"messages\":[{\"role\":"
                    "\"user\",\"content\":\"abcdefgh\"}]}"
                  : "{\"model\":\"m\",\"max_tokens\":1000,\"messages\":[{\"role\":\"user\","
                    "\"content\":\"abcdefgh\"}]}";
}

static void print_json(const char *what, const cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    fprintf(stderr, "  %s: %s\n", what, s ? s : "(none)");
    free(s);
}

static int str_is(const cJSON *o, const char *key, const char *want)
{
    const char *v = harness_str(o, key);
    return v != NULL && strcmp(v, want) == 0;
}

static int is_null(const cJSON *o, const char *key)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Tokens the record says were generated after t_ns: the tail counted from the client's action,
 * whether or not the mock ever heard of it. */
static int tokens_after(const cJSON *rec, uint64_t t_ns)
{
    int n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(rec, "token_t_ns"))
    {
        if (cJSON_IsNumber(t) && t->valuedouble > (double)t_ns)
            n++;
    }
    return n;
}

/* Each token came on the profile's timetable: token i at ttft + i * period after the accept
 * (never before; after by at most 'slack_ms', a timing bound), and the count is generated. */
static int on_timetable(const cJSON *rec, int ttft_ms, int period_ms, int slack_ms, int *late)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(rec, "token_t_ns");
    double accept = harness_num(rec, "t_accept_ns");
    if (cJSON_GetArraySize(arr) != (int)harness_num(rec, "generated_tokens"))
        return 0;
    int i = 0;
    const cJSON *t;
    *late = 0;
    cJSON_ArrayForEach(t, arr)
    {
        double due_ms = ttft_ms + (double)i * period_ms;
        double at_ms = (t->valuedouble - accept) / 1e6;
        if (at_ms < due_ms - 0.01)
            return 0;
        if (at_ms > due_ms + slack_ms)
            *late = 1;
        i++;
    }
    return 1;
}

/* ---- one request, closed --------------------------------------------------------------------- */

struct shot {
    const char *api;
    int stream;
    const char *profile; /* NULL: the mock's */
    const char *timing;  /* x-tailgate-* lines */
    int length;          /* x-tailgate-length */
    int wait_generated;  /* close once the mock generated this many; 0: once it has the record */
    int read_tokens;     /* > 0: close once the client read this many instead */
    int rst;             /* close with an RST, else a FIN */
};

struct outcome {
    int sent;
    int generated_at_close; /* what the mock had generated when the client closed */
    int got;                /* tokens the client read */
    uint64_t t_abort_ns;
    cJSON *rec; /* the mock's finished record */
};

struct at_least {
    int n;
};

static int record_generated(const cJSON *records, void *arg)
{
    const cJSON *r = cJSON_GetArrayItem(records, 0);
    return r != NULL && harness_num(r, "generated_tokens") >= ((struct at_least *)arg)->n;
}

static void request_headers(char *buf, size_t n, const struct shot *s, const char *cid)
{
    char prof[96] = "";
    if (s->profile)
        snprintf(prof, sizeof prof, "x-tailgate-profile: %s\r\n", s->profile);
    snprintf(buf, n, "%s%sx-tailgate-length: %d\r\nX-Request-Id: %s\r\n", s->timing, prof,
             s->length, cid);
}

/* Sends the request to 'port' (the mock, or refgw before it), closes as the shot says, and waits
 * for the mock's record to be final. */
static void shoot(int port, const struct shot *s, const char *cid, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    char headers[512];
    request_headers(headers, sizeof headers, s, cid);
    int fd = harness_connect(port, 0);
    if (fd < 0)
        return;
    if (harness_post(fd, path_of(s->api), headers, body_of(s->api, s->stream)) != 0) {
        close(fd);
        return;
    }
    o->sent = 1;
    if (s->read_tokens > 0) {
        char *acc = NULL;
        size_t len = 0;
        o->got = harness_read_tokens(fd, s->read_tokens, 5000, &acc, &len);
        free(acc);
    } else {
        struct at_least want = {s->wait_generated};
        cJSON *recs = harness_ledger_wait(mock.port, cid, record_generated, &want, 5000);
        o->generated_at_close = (int)harness_num(cJSON_GetArrayItem(recs, 0), "generated_tokens");
        cJSON_Delete(recs);
    }
    o->t_abort_ns = clock_now_ns();
    if (s->rst)
        harness_close_rst(fd);
    else
        harness_close_fin(fd);
    o->rec = harness_ledger_done(mock.port, cid, 15000);
}

/* shoot, measured again under a new id when a late timer let one more token in before the close
 * (the premise, a close between two tokens a period apart, did not hold); twice is a failure. */
static void shoot_between_tokens(int port, const struct shot *s, const char *cid, struct outcome *o)
{
    shoot(port, s, cid, o);
    if (o->rec == NULL || s->read_tokens > 0 || o->generated_at_close == s->wait_generated ||
        check_under_valgrind())
        return;
    char again[96];
    snprintf(again, sizeof again, "%s-again", cid);
    fprintf(stderr, "  %s: %d tokens at the close, not %d (a late timer); measuring again\n", cid,
            o->generated_at_close, s->wait_generated);
    cJSON_Delete(o->rec);
    shoot(port, s, again, o);
}

static double close_lag_ms(const struct outcome *o)
{
    return (harness_num(o->rec, "t_peer_closed_ns") - (double)o->t_abort_ns) / 1e6;
}

/* ---- the mock alone: a non-streaming request ------------------------------------------------ */

struct billing_row {
    const char *profile;
    const char *bill;
    int length;    /* x-tailgate-length */
    int generated; /* after the close between token K-1 and token K */
    int tail;      /* of those, after the close */
    int billed;    /* nothing of the answer was sent: "emitted" bills nothing */
    const char *stop;
};

static const struct billing_row billing[] = {
    {"vendor-a-pre", "zero", 100, K + 1, 1, 0, "disconnect"},
    {"vendor-b-post", "emitted", 100, K + 1, 1, 0, "disconnect"},
    {"selfhosted-abort", "generated", 100, K + 1, 1, K + 1, "disconnect"},
    {"stop-at-once", "emitted-at-once", 100, K, 0, 0, "disconnect"},
    {"runaway", "generated-to-the-end", 8, 8, 8 - K, 8, "natural"},
};

/* every API x every billing semantic x {FIN, RST}, closed between token K-1 and token K */
static void mock_nonstream_should_stop_at_a_close_and_bill_per_profile_per_api(void)
{
    int n = 0;
    for (size_t a = 0; a < 3; a++) {
        for (size_t b = 0; b < sizeof billing / sizeof billing[0]; b++) {
            for (int rst = 0; rst <= 1; rst++) {
                const struct billing_row *row = &billing[b];
                char cid[96];
                snprintf(cid, sizeof cid, "ns-bill-%s-%s-%s", apis[a], row->bill,
                         rst ? "rst" : "fin");
                struct shot s = {apis[a], 0, row->profile, TIMING, row->length, K, 0, rst};
                struct outcome o;
                shoot_between_tokens(mock.port, &s, cid, &o);
                const cJSON *r = o.rec;
                if (r == NULL)
                    fprintf(stderr, "  %s: no finished record\n", cid);
                CHECK(r != NULL);
                int late = 0;
                /* nothing of the answer was sent: the close came before its one body */
                int ok = str_is(r, "close_kind", rst ? "rst" : "fin") &&
                         str_is(r, "stop_reason", row->stop) && str_is(r, "api", apis[a]) &&
                         !cJSON_IsTrue(cJSON_GetObjectItem(r, "stream")) &&
                         harness_num(r, "written_tokens") == 0 &&
                         harness_num(r, "billed_input_tokens") == INPUT_TOKENS &&
                         is_null(r, "usage_reported") &&
                         harness_num(r, "t_gen_stop_ns") >= harness_num(r, "t_peer_closed_ns") &&
                         on_timetable(r, 0, PERIOD_MS, 40, &late);
                /* the profile's lag after the close (one token, none, or to the natural end),
                 * then nothing */
                int exact = harness_num(r, "generated_tokens") == row->generated &&
                            harness_num(r, "tail_tokens") == row->tail &&
                            tokens_after(r, o.t_abort_ns) == row->tail &&
                            harness_num(r, "billed_output_tokens") == row->billed &&
                            close_lag_ms(&o) >= 0 && close_lag_ms(&o) < 20 && !late;
                if (!ok || !exact) {
                    fprintf(stderr, "  %s: close lag %.2f ms\n", cid, close_lag_ms(&o));
                    print_json(cid, r);
                }
                cJSON_Delete(o.rec);
                CHECK(ok);
                CHECK_TIMING(exact);
                n++;
            }
        }
    }
    CHECK_EQ_INT(n, 30);
}

/* The record's token times as offsets from its accept, in ms, into out[cap]; the count. */
static int token_offsets(const cJSON *rec, double *out, int cap)
{
    double accept = harness_num(rec, "t_accept_ns");
    int n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(rec, "token_t_ns"))
    {
        if (n < cap)
            out[n] = (t->valuedouble - accept) / 1e6;
        n++;
    }
    return n;
}

/* Sends one request with these headers and reads its answer to the end (Connection: close). */
static int read_whole(const char *api, int stream, const char *headers)
{
    int fd = harness_connect(mock.port, 0);
    if (fd < 0)
        return -1;
    if (harness_post(fd, path_of(api), headers, body_of(api, stream)) != 0) {
        close(fd);
        return -1;
    }
    char *acc = NULL;
    size_t len = 0;
    harness_read_all(fd, 10000, &acc, &len);
    int ok = acc && strncmp(acc, "HTTP/1.1 200", 12) == 0;
    free(acc);
    close(fd);
    return ok ? 0 : -1;
}

/* The same seed, the same jittered timetable: a non-streaming answer is generated token by token
 * exactly as the stream would be, only sent at the end. */
static void mock_nonstream_should_generate_on_the_same_timetable_as_a_stream_per_api(void)
{
    for (size_t a = 0; a < 3; a++) {
        double off[2][8];
        int n[2];
        for (int stream = 0; stream <= 1; stream++) {
            char cid[64], headers[512];
            snprintf(cid, sizeof cid, "ns-timetable-%s-%s", apis[a], stream ? "stream" : "body");
            snprintf(headers, sizeof headers,
                     "x-tailgate-ttft-ms: 80\r\nx-tailgate-tps: 40\r\nx-tailgate-jitter: 0.5\r\n"
                     "x-tailgate-seed: 4242\r\nx-tailgate-length: 8\r\nX-Request-Id: %s\r\n"
                     "Connection: close\r\n",
                     cid);
            CHECK(read_whole(apis[a], stream, headers) == 0);
            cJSON *r = harness_ledger_done(mock.port, cid, 5000);
            CHECK(r != NULL);
            int ok = str_is(r, "stop_reason", "natural") &&
                     harness_num(r, "generated_tokens") == 8 &&
                     harness_num(r, "billed_output_tokens") == 8;
            n[stream] = token_offsets(r, off[stream], 8);
            if (!ok)
                print_json(cid, r);
            cJSON_Delete(r);
            CHECK(ok);
        }
        CHECK_EQ_INT(n[0], 8);
        CHECK_EQ_INT(n[1], 8);
        /* jitter 0.5 at 25 ms a token moves each gap by up to 12.5 ms: equal offsets mean the
         * same draws on the same timetable. One token may be off: a pass of the mock's timers
         * that a loaded machine woke late delays that token alone, and the timetable holds. */
        int within = 0;
        for (int i = 0; i < 8; i++)
            within += off[0][i] - off[1][i] <= 5 && off[1][i] - off[0][i] <= 5;
        int same = within >= 7;
        if (!same)
            for (int i = 0; i < 8; i++)
                fprintf(stderr, "  %s token %d: body %.2f ms, stream %.2f ms\n", apis[a], i,
                        off[0][i], off[1][i]);
        CHECK_TIMING(same);
    }
}

/* The record exists and nothing was generated: the model is still "thinking". */
static void mock_nonstream_should_notice_a_close_before_the_first_token_per_api(void)
{
    for (size_t a = 0; a < 3; a++) {
        char cid[64];
        snprintf(cid, sizeof cid, "ns-ttft-%s", apis[a]);
        struct shot s = {apis[a], 0, "stop-at-once", LONG_TTFT, 10, 0, 0, 0};
        struct outcome o;
        shoot(mock.port, &s, cid, &o);
        const cJSON *r = o.rec;
        CHECK(r != NULL);
        int ok = str_is(r, "close_kind", "fin") && str_is(r, "stop_reason", "disconnect") &&
                 harness_num(r, "generated_tokens") == 0 && harness_num(r, "tail_tokens") == 0 &&
                 harness_num(r, "billed_output_tokens") == 0 && is_null(r, "t_first_token_ns");
        /* heard at once, not when the first token (1.5 s away) would have been written */
        int at_once = o.generated_at_close == 0 && close_lag_ms(&o) >= 0 && close_lag_ms(&o) < 20;
        if (!ok || !at_once) {
            fprintf(stderr, "  %s: close lag %.2f ms\n", cid, close_lag_ms(&o));
            print_json(cid, r);
        }
        cJSON_Delete(o.rec);
        CHECK(ok);
        CHECK_TIMING(at_once);
    }
}

/* The one JSON body: its text holds every token, its usage is what the ledger generated and
 * billed, and it came once the last token was due. */
static void mock_nonstream_should_answer_with_usage_equal_to_the_ledger_per_api(void)
{
    for (size_t a = 0; a < 3; a++) {
        char cid[64], headers[256];
        snprintf(cid, sizeof cid, "ns-done-%s", apis[a]);
        /* 6 tokens, the first after 100 ms, then one each 20 ms: due at 100 ... 200 ms */
        snprintf(headers, sizeof headers,
                 "x-tailgate-ttft-ms: 100\r\nx-tailgate-tps: 50\r\nx-tailgate-jitter: 0\r\n"
                 "x-tailgate-length: 6\r\nX-Request-Id: %s\r\nConnection: close\r\n",
                 cid);
        int fd = harness_connect(mock.port, 0);
        CHECK(fd >= 0);
        uint64_t t0 = clock_now_ns();
        CHECK(harness_post(fd, path_of(apis[a]), headers, body_of(apis[a], 0)) == 0);
        char *acc = NULL;
        size_t len = 0;
        harness_read_all(fd, 10000, &acc, &len);
        uint64_t t_body = clock_now_ns();
        close(fd);
        const char *body = acc ? strstr(acc, "\r\n\r\n") : NULL;
        cJSON *j = body ? cJSON_Parse(body + 4) : NULL;
        int status_ok = acc && strncmp(acc, "HTTP/1.1 200", 12) == 0 &&
                        strstr(acc, "Content-Type: application/json") != NULL;
        free(acc);
        CHECK(status_ok);
        CHECK(j != NULL);
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
        const char *text = NULL;
        double out_tokens, in_tokens;
        if (strcmp(apis[a], "chat") == 0) {
            const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
            text = harness_str(cJSON_GetObjectItem(choice, "message"), "content");
            out_tokens = harness_num(usage, "completion_tokens");
            in_tokens = harness_num(usage, "prompt_tokens");
        } else if (strcmp(apis[a], "responses") == 0) {
            const cJSON *item = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "output"), 0);
            text = harness_str(cJSON_GetArrayItem(cJSON_GetObjectItem(item, "content"), 0), "text");
            out_tokens = harness_num(usage, "output_tokens");
            in_tokens = harness_num(usage, "input_tokens");
        } else {
            text = harness_str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "content"), 0), "text");
            out_tokens = harness_num(usage, "output_tokens");
            in_tokens = harness_num(usage, "input_tokens");
        }
        int body_ok = text && strcmp(text, " tok0 tok1 tok2 tok3 tok4 tok5") == 0 &&
                      out_tokens == 6 && in_tokens == INPUT_TOKENS;
        if (!body_ok)
            print_json("body", j);
        cJSON_Delete(j);
        CHECK(body_ok);
        cJSON *r = harness_ledger_done(mock.port, cid, 5000);
        CHECK(r != NULL);
        int late = 0;
        int ok =
            str_is(r, "stop_reason", "natural") && is_null(r, "close_kind") &&
            harness_num(r, "generated_tokens") == out_tokens &&
            harness_num(r, "billed_output_tokens") == out_tokens &&
            harness_num(r, "usage_reported") == out_tokens && str_is(r, "usage_via", "usage") &&
            harness_num(r, "billed_input_tokens") == in_tokens &&
            !cJSON_IsTrue(cJSON_GetObjectItem(r, "stream")) && on_timetable(r, 100, 20, 40, &late);
        /* the body waited for the last token: never sooner than its due time */
        int waited = (double)(t_body - t0) / 1e6 >= 200;
        if (!ok || !waited || late)
            print_json(cid, r);
        cJSON_Delete(r);
        CHECK(ok);
        CHECK(waited);
        CHECK_TIMING(!late);
    }
}

/* ---- the mock over h2c: raw frames, so the test decides when the stream is reset ---------- */

#define H2_HEADERS 0x1
#define H2_DATA 0x0
#define H2_RST_STREAM 0x3
#define H2_SETTINGS 0x4
#define H2_END_STREAM 0x1
#define H2_END_HEADERS 0x4
#define H2_ACK 0x1
#define H2_CANCEL 8

static int h2_frame(int fd, int type, int flags, uint32_t stream, const void *payload, size_t len)
{
    unsigned char hd[9] = {(unsigned char)(len >> 16),
                           (unsigned char)(len >> 8),
                           (unsigned char)len,
                           (unsigned char)type,
                           (unsigned char)flags,
                           (unsigned char)(stream >> 24 & 0x7f),
                           (unsigned char)(stream >> 16),
                           (unsigned char)(stream >> 8),
                           (unsigned char)stream};
    if (harness_send_all(fd, (const char *)hd, sizeof hd) != 0)
        return -1;
    return len ? harness_send_all(fd, payload, len) : 0;
}

static int read_exact(int fd, unsigned char *buf, size_t n, int timeout_ms)
{
    while (n > 0) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) != 1)
            return -1;
        ssize_t r = recv(fd, buf, n, 0);
        if (r <= 0)
            return -1;
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

/* HPACK (RFC 7541 5.1): an integer with an N-bit prefix. */
static size_t hpack_int(unsigned char *out, unsigned first, int bits, size_t v)
{
    size_t max = (1u << bits) - 1, n = 0;
    if (v < max) {
        out[n++] = (unsigned char)(first | v);
        return n;
    }
    out[n++] = (unsigned char)(first | max);
    v -= max;
    while (v >= 128) {
        out[n++] = (unsigned char)(v % 128 + 128);
        v /= 128;
    }
    out[n++] = (unsigned char)v;
    return n;
}

/* A literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2). */
static size_t hpack_field(unsigned char *out, size_t cap, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (nl + vl + 16 > cap)
        return 0;
    size_t n = 0;
    out[n++] = 0x00;
    n += hpack_int(out + n, 0, 7, nl);
    memcpy(out + n, name, nl);
    n += nl;
    n += hpack_int(out + n, 0, 7, vl);
    memcpy(out + n, value, vl);
    return n + vl;
}

/* An h2c connection by prior knowledge: the preface, our SETTINGS, and the ACK of the server's. */
static int h2_connect(int port)
{
    int fd = harness_connect(port, 0);
    if (fd < 0)
        return -1;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (harness_send_all(fd, preface, sizeof preface - 1) != 0 ||
        h2_frame(fd, H2_SETTINGS, 0, 0, NULL, 0) != 0)
        goto fail;
    for (int frames = 0; frames < 16; frames++) {
        unsigned char hd[9], payload[1024];
        if (read_exact(fd, hd, 9, 5000) != 0)
            goto fail;
        size_t len = (size_t)hd[0] << 16 | (size_t)hd[1] << 8 | hd[2];
        if (len > sizeof payload || (len && read_exact(fd, payload, len, 5000) != 0))
            goto fail;
        if (hd[3] == H2_SETTINGS && !(hd[4] & H2_ACK))
            return h2_frame(fd, H2_SETTINGS, H2_ACK, 0, NULL, 0) == 0 ? fd : (close(fd), -1);
    }
fail:
    close(fd);
    return -1;
}

/* A POST on stream 'id': HEADERS (the pseudo-headers, then the shot's x-tailgate-* lines as
 * fields), then the body as one DATA with END_STREAM. */
static int h2_post(int fd, uint32_t id, const struct shot *s, const char *cid)
{
    const char *body = body_of(s->api, s->stream);
    char clen[24], length[24];
    snprintf(clen, sizeof clen, "%zu", strlen(body));
    snprintf(length, sizeof length, "%d", s->length);
    const char *fields[][2] = {
        {":method", "POST"},
        {":scheme", "http"},
        {":path", path_of(s->api)},
        {":authority", "127.0.0.1"},
        {"content-type", "application/json"},
        {"content-length", clen},
        {"x-request-id", cid},
        {"x-tailgate-length", length},
        {"x-tailgate-profile", s->profile ? s->profile : "vendor-a-pre"},
    };
    unsigned char block[2048];
    size_t n = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t w = hpack_field(block + n, sizeof block - n, fields[i][0], fields[i][1]);
        if (w == 0)
            return -1;
        n += w;
    }
    /* the timing lines, "name: value\r\n" each (names already lower case) */
    for (const char *line = s->timing; *line;) {
        const char *colon = strstr(line, ": "), *eol = strstr(line, "\r\n");
        if (colon == NULL || eol == NULL || colon > eol)
            return -1;
        char name[64], value[64];
        snprintf(name, sizeof name, "%.*s", (int)(colon - line), line);
        snprintf(value, sizeof value, "%.*s", (int)(eol - colon - 2), colon + 2);
        size_t w = hpack_field(block + n, sizeof block - n, name, value);
        if (w == 0)
            return -1;
        n += w;
        line = eol + 2;
    }
    if (h2_frame(fd, H2_HEADERS, H2_END_HEADERS, id, block, n) != 0)
        return -1;
    return h2_frame(fd, H2_DATA, H2_END_STREAM, id, body, strlen(body));
}

static int h2_reset(int fd, uint32_t id, uint32_t code)
{
    unsigned char c[4] = {(unsigned char)(code >> 24), (unsigned char)(code >> 16),
                          (unsigned char)(code >> 8), (unsigned char)code};
    return h2_frame(fd, H2_RST_STREAM, 0, id, c, sizeof c);
}

/* Over HTTP/2 a closed tab resets its stream (CANCEL) on a connection that stays; a killed
 * client's connection ends. Each is heard mid-generation, before any byte of the answer. */
static void mock_nonstream_should_record_an_h2_stream_reset_and_connection_close_per_api(void)
{
    for (size_t a = 0; a < 3; a++) {
        for (int how = 0; how < 3; how++) { /* 0 RST_STREAM, 1 FIN, 2 RST */
            static const char *const kinds[] = {"rst_stream", "fin", "rst"};
            char cid[96];
            snprintf(cid, sizeof cid, "ns-h2-%s-%s", apis[a], kinds[how]);
            struct shot s = {apis[a], 0, "selfhosted-abort", TIMING, 100, K, 0, how == 2};
            int fd = h2_connect(mock.port);
            CHECK(fd >= 0);
            CHECK(h2_post(fd, 1, &s, cid) == 0);
            struct at_least want = {K};
            cJSON *recs = harness_ledger_wait(mock.port, cid, record_generated, &want, 5000);
            int at_close = (int)harness_num(cJSON_GetArrayItem(recs, 0), "generated_tokens");
            cJSON_Delete(recs);
            uint64_t t_abort = clock_now_ns();
            if (how == 0) {
                CHECK(h2_reset(fd, 1, H2_CANCEL) == 0);
            } else if (how == 1) {
                harness_close_fin(fd);
                fd = -1;
            } else {
                harness_close_rst(fd);
                fd = -1;
            }
            cJSON *r = harness_ledger_done(mock.port, cid, 10000);
            if (fd >= 0)
                close(fd); /* after the record: the reset alone must have ended it */
            CHECK(r != NULL);
            double lag = (harness_num(r, "t_peer_closed_ns") - (double)t_abort) / 1e6;
            int ok =
                str_is(r, "close_kind", kinds[how]) && str_is(r, "protocol", "h2") &&
                str_is(r, "stop_reason", "disconnect") && harness_num(r, "written_tokens") == 0 &&
                (how == 0 ? harness_num(r, "close_code") == H2_CANCEL : is_null(r, "close_code")) &&
                harness_num(r, "billed_output_tokens") == harness_num(r, "generated_tokens");
            int exact = at_close == K && harness_num(r, "generated_tokens") == K + 1 &&
                        harness_num(r, "tail_tokens") == 1 && lag >= 0 && lag < 20;
            if (!ok || !exact) {
                fprintf(stderr, "  %s: close lag %.2f ms, %d at the close\n", cid, lag, at_close);
                print_json(cid, r);
            }
            cJSON_Delete(r);
            CHECK(ok);
            CHECK_TIMING(exact);
        }
    }
}

/* ---- through refgw --------------------------------------------------------------------------- */

static char mock_url[64];

/* Starts `$REFGW_BIN --mode fixed --upstream MOCK --metering-log DIR/metering.jsonl flags...`.
 * Returns 0 or -1. */
static int start_refgw(struct proc *p, const char *const *flags)
{
    if (harness_proc_init(p) != 0)
        return -1;
    char port_file[128], log[128];
    snprintf(port_file, sizeof port_file, "%s/port", p->dir);
    snprintf(log, sizeof log, "%s/metering.jsonl", p->dir);
    const char *bin = getenv("REFGW_BIN") ? getenv("REFGW_BIN") : "build/refgw";
    const char *argv[32] = {bin,           "--mode",         "fixed",   "--listen",
                            "127.0.0.1:0", "--port-file",    port_file, "--upstream",
                            mock_url,      "--metering-log", log};
    size_t n = 11;
    for (int i = 0; flags && flags[i] && n < 31; i++)
        argv[n++] = flags[i];
    argv[n] = NULL;
    return harness_start(p, argv, port_file);
}

/* The gateway cancelled: the mock heard the close within the gateway's reaction, and generation
 * stopped as the profile says. */
static int cancelled(const struct outcome *o)
{
    const cJSON *r = o->rec;
    return r != NULL && str_is(r, "close_kind", "fin") && str_is(r, "stop_reason", "disconnect");
}

/* The gateway let it run: the mock never heard a close and generated the whole answer, every
 * token after the client's close counted in the tail. */
static int ran_to_completion(const struct outcome *o, int length)
{
    const cJSON *r = o->rec;
    return r != NULL && is_null(r, "close_kind") && str_is(r, "stop_reason", "natural") &&
           harness_num(r, "generated_tokens") == length;
}

static void report(const char *cid, const struct outcome *o)
{
    fprintf(stderr, "  %s: read %d, %d generated at the close, close lag %.2f ms, %d after it\n",
            cid, o->got, o->generated_at_close, o->rec ? close_lag_ms(o) : -1.0,
            o->rec ? tokens_after(o->rec, o->t_abort_ns) : -1);
    print_json(cid, o->rec);
}

/* Default refgw: a non-streaming request closed mid-generation, per API, and a stream and a
 * non-streaming request closed during a long time to first token: each reaches the mock as a
 * close within the gateway's reaction. */
static void refgw_fixed_should_cancel_nonstream_and_before_first_token_closes(void)
{
    struct proc gw;
    CHECK(start_refgw(&gw, NULL) == 0);
    int bad = 0;
    for (size_t a = 0; a < 3; a++) {
        char cid[64];
        snprintf(cid, sizeof cid, "gw-fixed-ns-%s", apis[a]);
        struct shot s = {apis[a], 0, "vendor-a-pre", TIMING, 40, K, 0, 0};
        struct outcome o;
        shoot_between_tokens(gw.port, &s, cid, &o);
        int ok = cancelled(&o) && harness_num(o.rec, "written_tokens") == 0 &&
                 harness_num(o.rec, "billed_output_tokens") == 0;
        int exact = ok && harness_num(o.rec, "generated_tokens") == K + 1 &&
                    harness_num(o.rec, "tail_tokens") == 1 && close_lag_ms(&o) >= 0 &&
                    close_lag_ms(&o) < REACTION_MS;
        if (!ok || !exact)
            report(cid, &o);
        bad += !ok;
        if (!check_under_valgrind())
            bad += !exact;
        cJSON_Delete(o.rec);
    }
    for (int stream = 0; stream <= 1; stream++) {
        const char *cid = stream ? "gw-fixed-ttft-stream" : "gw-fixed-ttft-nonstream";
        struct shot s = {"chat", stream, "stop-at-once", LONG_TTFT, 10, 0, 0, 0};
        struct outcome o;
        shoot(gw.port, &s, cid, &o);
        int ok = cancelled(&o) && harness_num(o.rec, "generated_tokens") == 0 &&
                 harness_num(o.rec, "tail_tokens") == 0;
        int fast = ok && close_lag_ms(&o) >= 0 && close_lag_ms(&o) < REACTION_MS;
        if (!ok || !fast)
            report(cid, &o);
        bad += !ok;
        if (!check_under_valgrind())
            bad += !fast;
        cJSON_Delete(o.rec);
    }
    CHECK_EQ_INT(harness_stop(&gw), 0);
    CHECK_EQ_INT(bad, 0);
}

/* --watch-after-first-byte: a close during the time to first token goes unheard and the whole
 * answer is generated after it (stream and non-stream alike); a close after the first token is
 * cancelled. */
static void refgw_watch_after_first_byte_should_leak_only_closes_before_the_first_token(void)
{
    const char *flags[] = {"--watch-after-first-byte", NULL};
    struct proc gw;
    CHECK(start_refgw(&gw, flags) == 0);
    int bad = 0;
    for (int stream = 0; stream <= 1; stream++) {
        const char *cid = stream ? "gw-watch-ttft-stream" : "gw-watch-ttft-nonstream";
        struct shot s = {"chat", stream, "stop-at-once", LONG_TTFT, 10, 0, 0, 0};
        struct outcome o;
        shoot(gw.port, &s, cid, &o);
        int ok = ran_to_completion(&o, 10) && harness_num(o.rec, "billed_output_tokens") == 10;
        /* the tail is every token: the first came LONG_TTFT_MS after the close */
        int exact = ok && o.generated_at_close == 0 && tokens_after(o.rec, o.t_abort_ns) == 10;
        if (!ok || !exact)
            report(cid, &o);
        bad += !ok;
        if (!check_under_valgrind())
            bad += !exact;
        cJSON_Delete(o.rec);
    }
    {
        const char *cid = "gw-watch-mid-stream";
        struct shot s = {"chat", 1, "vendor-a-pre", TIMING, 40, 0, K, 0};
        struct outcome o;
        shoot(gw.port, &s, cid, &o);
        int ok = cancelled(&o) && harness_num(o.rec, "tail_tokens") <= 1;
        int exact = ok && o.got == K && harness_num(o.rec, "generated_tokens") == K + 1 &&
                    harness_num(o.rec, "tail_tokens") == 1 && close_lag_ms(&o) >= 0 &&
                    close_lag_ms(&o) < REACTION_MS;
        if (!ok || !exact)
            report(cid, &o);
        bad += !ok;
        if (!check_under_valgrind())
            bad += !exact;
        cJSON_Delete(o.rec);
    }
    CHECK_EQ_INT(harness_stop(&gw), 0);
    CHECK_EQ_INT(bad, 0);
}

/* --ignore-nonstream-cancel: a non-streaming request closed mid-generation runs to its end, per
 * API; a stream closed mid-stream or before its first token is cancelled. */
static void refgw_ignore_nonstream_cancel_should_leak_only_nonstream_closes(void)
{
    const char *flags[] = {"--ignore-nonstream-cancel", NULL};
    struct proc gw;
    CHECK(start_refgw(&gw, flags) == 0);
    int bad = 0;
    /* 20 tokens/s: 12 tokens in 550 ms, the close once 3 exist (at 100 ms) */
    const char *timing = "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 20\r\nx-tailgate-jitter: 0\r\n";
    for (size_t a = 0; a < 3; a++) {
        char cid[64];
        snprintf(cid, sizeof cid, "gw-ignore-ns-%s", apis[a]);
        struct shot s = {apis[a], 0, "vendor-a-pre", timing, 12, K, 0, 0};
        struct outcome o;
        shoot_between_tokens(gw.port, &s, cid, &o);
        int ok = ran_to_completion(&o, 12) && harness_num(o.rec, "billed_output_tokens") == 12 &&
                 harness_num(o.rec, "usage_reported") == 12;
        int exact = ok && o.generated_at_close == K && tokens_after(o.rec, o.t_abort_ns) == 12 - K;
        if (!ok || !exact)
            report(cid, &o);
        bad += !ok;
        if (!check_under_valgrind())
            bad += !exact;
        cJSON_Delete(o.rec);
    }
    for (size_t a = 0; a < 3; a++) {
        char cid[64];
        snprintf(cid, sizeof cid, "gw-ignore-stream-%s", apis[a]);
        struct shot s = {apis[a], 1, "vendor-a-pre", TIMING, 40, 0, K, 0};
        struct outcome o;
        shoot(gw.port, &s, cid, &o);
        int ok = cancelled(&o) && harness_num(o.rec, "tail_tokens") <= 1;
        int exact = ok && o.got == K && harness_num(o.rec, "generated_tokens") == K + 1 &&
                    close_lag_ms(&o) >= 0 && close_lag_ms(&o) < REACTION_MS;
        if (!ok || !exact)
            report(cid, &o);
        bad += !ok;
        if (!check_under_valgrind())
            bad += !exact;
        cJSON_Delete(o.rec);
    }
    {
        const char *cid = "gw-ignore-ttft-stream";
        struct shot s = {"messages", 1, "stop-at-once", LONG_TTFT, 10, 0, 0, 0};
        struct outcome o;
        shoot(gw.port, &s, cid, &o);
        int ok = cancelled(&o) && harness_num(o.rec, "generated_tokens") == 0;
        int fast = ok && close_lag_ms(&o) >= 0 && close_lag_ms(&o) < REACTION_MS;
        if (!ok || !fast)
            report(cid, &o);
        bad += !ok;
        if (!check_under_valgrind())
            bad += !fast;
        cJSON_Delete(o.rec);
    }
    CHECK_EQ_INT(harness_stop(&gw), 0);
    CHECK_EQ_INT(bad, 0);
}

/* shoot over h2c: the request on stream 1 of its own connection, the close a RST_STREAM
 * (CANCEL) of that stream while the connection stays open. */
static void h2_shoot(int port, const struct shot *s, const char *cid, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    int fd = h2_connect(port);
    if (fd < 0)
        return;
    if (h2_post(fd, 1, s, cid) != 0) {
        close(fd);
        return;
    }
    o->sent = 1;
    struct at_least want = {s->wait_generated};
    cJSON *recs = harness_ledger_wait(mock.port, cid, record_generated, &want, 5000);
    o->generated_at_close = (int)harness_num(cJSON_GetArrayItem(recs, 0), "generated_tokens");
    cJSON_Delete(recs);
    o->t_abort_ns = clock_now_ns();
    int reset = h2_reset(fd, 1, H2_CANCEL);
    o->rec = reset == 0 ? harness_ledger_done(mock.port, cid, 15000) : NULL;
    close(fd); /* after the record: the reset alone must have ended the upstream */
}

/* A closed tab over HTTP/2 (RST_STREAM on a connection that stays): default refgw cancels a
 * non-streaming request and a stream still waiting for its first token; each leak mode lets the
 * one it leaks run to its end. */
static void refgw_should_treat_an_h2_stream_reset_before_the_answer_as_its_mode_says(void)
{
    static const struct {
        const char *flag; /* NULL: default fixed */
        int stream;
        int leaks;
    } rows[] = {
        {NULL, 0, 0},
        {NULL, 1, 0},
        {"--ignore-nonstream-cancel", 0, 1},
        {"--ignore-nonstream-cancel", 1, 0},
        {"--watch-after-first-byte", 0, 1},
        {"--watch-after-first-byte", 1, 1},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *flags[] = {rows[i].flag, NULL};
        struct proc gw;
        CHECK(start_refgw(&gw, rows[i].flag ? flags : NULL) == 0);
        char cid[96];
        snprintf(cid, sizeof cid, "gw-h2-%s-%s", rows[i].flag ? rows[i].flag + 2 : "fixed",
                 rows[i].stream ? "ttft-stream" : "nonstream");
        /* the non-stream reset once K tokens exist; the stream's during its time to first token */
        struct shot s = rows[i].stream
                            ? (struct shot){"chat", 1, "stop-at-once", LONG_TTFT, 10, 0, 0, 0}
                            : (struct shot){"chat", 0, "vendor-a-pre", TIMING, 12, K, 0, 0};
        struct outcome o;
        h2_shoot(gw.port, &s, cid, &o);
        int length = s.length;
        int ok, exact;
        if (rows[i].leaks) {
            ok = ran_to_completion(&o, length);
            exact = ok && tokens_after(o.rec, o.t_abort_ns) == length - o.generated_at_close;
        } else {
            /* refgw's upstream is HTTP/1.1: the mock hears the abort as a FIN */
            ok =
                cancelled(&o) && harness_num(o.rec, "generated_tokens") <= o.generated_at_close + 1;
            exact = ok && close_lag_ms(&o) >= 0 && close_lag_ms(&o) < REACTION_MS;
        }
        if (!ok || !exact)
            report(cid, &o);
        bad += !ok;
        if (!check_under_valgrind())
            bad += !exact;
        cJSON_Delete(o.rec);
        CHECK_EQ_INT(harness_stop(&gw), 0);
    }
    CHECK_EQ_INT(bad, 0);
}

/* The leak flags belong to a gateway that cancels; --help names both. */
static void refgw_should_refuse_the_leak_flags_without_a_cancelling_mode(void)
{
    const char *bin = getenv("REFGW_BIN") ? getenv("REFGW_BIN") : "build/refgw";
    static const char *const cases[][2] = {
        {"--mode naive --upstream http://127.0.0.1:1 --watch-after-first-byte",
         "refgw: --watch-after-first-byte: only with --mode fixed, slow or retry, not naive"},
        {"--mode strip-headers --upstream http://127.0.0.1:1 --ignore-nonstream-cancel",
         "refgw: --ignore-nonstream-cancel: only with --mode fixed, slow or retry, not "
         "strip-headers"},
        {"--mode fixed --upstream http://127.0.0.1:1 --watch-after-first-byte=1",
         "refgw: --watch-after-first-byte=1: unknown option (see --help)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%s %s 2>&1 >/dev/null", bin, cases[i][0]);
        FILE *f = popen(cmd, "r");
        CHECK(f != NULL);
        char line[512] = "";
        char *got = fgets(line, sizeof line, f);
        int more = fgetc(f) != EOF;
        int st = pclose(f);
        line[strcspn(line, "\n")] = '\0';
        if (got == NULL || strcmp(line, cases[i][1]) != 0 || more)
            fprintf(stderr, "  '%s' said '%s'\n", cases[i][0], line);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
        CHECK_EQ_STR(line, cases[i][1]);
        CHECK(!more);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s --help", bin);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    char *all = NULL;
    size_t len = 0;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        char *tmp = realloc(all, len + n + 1);
        if (tmp == NULL)
            break;
        all = tmp;
        memcpy(all + len, buf, n);
        len += n;
        all[len] = '\0';
    }
    int st = pclose(f);
    int named = all && strstr(all, "[--watch-after-first-byte] [--ignore-nonstream-cancel]") &&
                strstr(all, "\n--watch-after-first-byte (fixed, slow, retry)") &&
                strstr(all, "\n--ignore-nonstream-cancel (fixed, slow, retry)");
    free(all);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(named);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(mock_nonstream_should_stop_at_a_close_and_bill_per_profile_per_api),
        CASE(mock_nonstream_should_notice_a_close_before_the_first_token_per_api),
        CASE(mock_nonstream_should_answer_with_usage_equal_to_the_ledger_per_api),
        CASE(mock_nonstream_should_generate_on_the_same_timetable_as_a_stream_per_api),
        CASE(mock_nonstream_should_record_an_h2_stream_reset_and_connection_close_per_api),
        CASE(refgw_fixed_should_cancel_nonstream_and_before_first_token_closes),
        CASE(refgw_watch_after_first_byte_should_leak_only_closes_before_the_first_token),
        CASE(refgw_ignore_nonstream_cancel_should_leak_only_nonstream_closes),
        CASE(refgw_should_treat_an_h2_stream_reset_before_the_answer_as_its_mode_says),
        CASE(refgw_should_refuse_the_leak_flags_without_a_cancelling_mode),
    };
    if (harness_start_mock(&mock, NULL) != 0) {
        printf("FAIL nonstream_should_start_the_mock (could not start it)\n");
        return 1;
    }
    snprintf(mock_url, sizeof mock_url, "http://127.0.0.1:%d", mock.port);
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    int exit_status = harness_stop(&mock);
    printf("%s nonstream_should_shut_the_mock_down_cleanly\n", exit_status == 0 ? "PASS" : "FAIL");
    return rc || exit_status != 0;
}
