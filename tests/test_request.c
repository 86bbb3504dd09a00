/* Tests for mockprov/request: validation per API from tables, correlation-id extraction, caps,
 * include_usage and the input token estimate. */
#include <string.h>

#include "check.h"
#include "request.h"

static int parse(enum api api, const char *body, const char *rid, struct request *out,
                 struct request_error *err)
{
    return request_parse(api, body, strlen(body), rid, out, err);
}

static void request_api_name_should_name_each_api(void)
{
    CHECK_EQ_STR(request_api_name(API_CHAT), "chat");
    CHECK_EQ_STR(request_api_name(API_RESPONSES), "responses");
    CHECK_EQ_STR(request_api_name(API_MESSAGES), "messages");
    CHECK_EQ_STR(request_api_name(API_GEMINI), "gemini");
}

/* ---- valid minimal bodies ----------------------------------------------------------------- */

static const struct {
    enum api api;
    const char *body;
    const char *model;
    int stream;
    int64_t max_tokens;
    int include_usage;
    int background;
} valid_rows[] = {
    {API_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "m", 0,
     -1, 0, 0},
    {API_CHAT,
     "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":null}]}",
     "gpt-4o", 1, -1, 0, 0},
    {API_CHAT,
     "{\"model\":\"m\",\"stream\":null,\"max_tokens\":null,\"stream_options\":null,"
     "\"messages\":[{\"role\":\"user\"}]}",
     "m", 0, -1, 0, 0},
    {API_RESPONSES, "{\"model\":\"m\",\"input\":\"hi\"}", "m", 0, -1, 1, 0},
    {API_RESPONSES, "{\"model\":\"m\",\"input\":[]}", "m", 0, -1, 1, 0},
    {API_RESPONSES,
     "{\"model\":\"o4\",\"stream\":true,\"background\":true,\"input\":[{\"role\":\"user\","
     "\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}]}",
     "o4", 1, -1, 1, 1},
    {API_RESPONSES, "{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\",\"id\":\"x\"}]}",
     "m", 0, -1, 1, 0},
    {API_MESSAGES,
     "{\"model\":\"claude\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":"
     "\"hi\"}]}",
     "claude", 0, 16, 1, 0},
    {API_MESSAGES,
     "{\"model\":\"claude\",\"max_tokens\":1,\"stream\":false,\"messages\":[{\"role\":\"user\","
     "\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}",
     "claude", 0, 1, 1, 0},
};

static void request_parse_should_accept_minimal_bodies(void)
{
    for (size_t i = 0; i < sizeof valid_rows / sizeof valid_rows[0]; i++) {
        struct request r;
        struct request_error e;
        int rc = parse(valid_rows[i].api, valid_rows[i].body, NULL, &r, &e);
        if (rc != 0)
            fprintf(stderr, "  row %zu: %s (param '%s')\n", i, e.message, e.param);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(r.api, valid_rows[i].api);
        CHECK_EQ_STR(r.model, valid_rows[i].model);
        CHECK_EQ_INT(r.stream, valid_rows[i].stream);
        CHECK_EQ_INT(r.max_tokens, valid_rows[i].max_tokens);
        CHECK_EQ_INT(r.include_usage, valid_rows[i].include_usage);
        CHECK_EQ_INT(r.background, valid_rows[i].background);
        CHECK_EQ_STR(r.cid, "");
        CHECK_EQ_STR(r.id_source, "none");
        CHECK_EQ_INT(r.input_tokens, 1);
    }
}

static void request_parse_should_accept_body_without_terminator(void)
{
    /* the body comes from an HTTP buffer: only 'len' bytes are valid */
    const char *buf = "{\"model\":\"m\",\"input\":\"hi\"}GARBAGE";
    struct request r;
    struct request_error e;
    CHECK_EQ_INT(request_parse(API_RESPONSES, buf, strlen(buf) - 7, NULL, &r, &e), 0);
    CHECK_EQ_STR(r.model, "m");
}

static void request_parse_should_accept_longest_model(void)
{
    char body[512], model[REQUEST_MODEL_MAX];
    memset(model, 'm', sizeof model - 1);
    model[sizeof model - 1] = '\0';
    snprintf(body, sizeof body, "{\"model\":\"%s\",\"input\":\"x\"}", model);
    struct request r;
    struct request_error e;
    CHECK_EQ_INT(parse(API_RESPONSES, body, NULL, &r, &e), 0);
    CHECK_EQ_STR(r.model, model);
}

/* ---- invalid bodies ----------------------------------------------------------------------- */

#define MSG_JSON REQUEST_MSG_BAD_JSON " Problem at "
#define MSG_OBJECT "The request body must be a JSON object."
#define MSG_MODEL_MISSING "Missing required parameter: 'model'."
#define MSG_MODEL_TYPE "Invalid type for 'model': expected a string (under 128 bytes)."
#define MSG_STREAM "Invalid type for 'stream': expected a boolean."
#define MSG_CAP_RANGE(k) "Invalid '" k "': expected an integer between 1 and 1000000000."
#define MSG_CAP_TYPE(k) "Invalid type for '" k "': expected an integer."
#define MSG_ELEM(p) "Invalid type for '" p "': expected an object."
#define MSG_ROLE(p) "Missing required parameter: '" p ".role'."
#define MSG_CONTENT(p)                                                                        \
    "Invalid type for '" p ".content': expected a string or an array of content parts."

#define U "{\"role\":\"user\",\"content\":\"hi\"}"
#define CHAT(extra) "{\"model\":\"m\",\"messages\":[" U "]" extra "}"
#define RESP(extra) "{\"model\":\"m\",\"input\":\"hi\"" extra "}"
#define ANTH(extra) "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[" U "]" extra "}"

static const struct {
    const char *what;
    enum api api;
    const char *body;
    const char *param;
    const char *message;
} invalid_rows[] = {
    /* shared checks, each API */
    {"malformed json", API_CHAT, "{\"model\":", "",
     MSG_JSON "line 1, column 10 (byte 9): expected a JSON value at end of input"},
    {"malformed json", API_RESPONSES, "{\"model\":\"m\",}", "",
     MSG_JSON "line 1, column 14 (byte 13): trailing comma before '}' near '}'"},
    {"malformed json", API_MESSAGES, "", "",
     MSG_JSON "line 1, column 1 (byte 0): empty document (expected a JSON value) at end of input"},
    {"not an object", API_CHAT, "[]", "", MSG_OBJECT},
    {"not an object", API_RESPONSES, "\"hi\"", "", MSG_OBJECT},
    {"not an object", API_MESSAGES, "42", "", MSG_OBJECT},
    {"missing model", API_CHAT, "{\"messages\":[" U "]}", "model", MSG_MODEL_MISSING},
    {"missing model", API_RESPONSES, "{\"input\":\"hi\"}", "model", MSG_MODEL_MISSING},
    {"missing model", API_MESSAGES, "{\"max_tokens\":8,\"messages\":[" U "]}", "model",
     MSG_MODEL_MISSING},
    {"model not a string", API_CHAT, "{\"model\":7,\"messages\":[" U "]}", "model",
     MSG_MODEL_TYPE},
    {"model null", API_RESPONSES, "{\"model\":null,\"input\":\"hi\"}", "model", MSG_MODEL_TYPE},
    {"model not a string", API_MESSAGES, "{\"model\":[\"m\"],\"max_tokens\":8,\"messages\":[" U
                                         "]}", "model", MSG_MODEL_TYPE},
    {"stream not a bool", API_CHAT, CHAT(",\"stream\":\"true\""), "stream", MSG_STREAM},
    {"stream not a bool", API_RESPONSES, RESP(",\"stream\":1"), "stream", MSG_STREAM},
    {"stream not a bool", API_MESSAGES, ANTH(",\"stream\":{}"), "stream", MSG_STREAM},

    /* chat */
    {"messages missing", API_CHAT, "{\"model\":\"m\"}", "messages",
     "Missing required parameter: 'messages'."},
    {"messages empty", API_CHAT, "{\"model\":\"m\",\"messages\":[]}", "messages",
     "Invalid 'messages': expected a non-empty array."},
    {"messages not an array", API_CHAT, "{\"model\":\"m\",\"messages\":" U "}", "messages",
     "Invalid 'messages': expected a non-empty array."},
    {"messages null", API_CHAT, "{\"model\":\"m\",\"messages\":null}", "messages",
     "Invalid 'messages': expected a non-empty array."},
    {"element not object", API_CHAT, "{\"model\":\"m\",\"messages\":[\"hi\"]}", "messages[0]",
     MSG_ELEM("messages[0]")},
    {"second element not object", API_CHAT, "{\"model\":\"m\",\"messages\":[" U ",null]}",
     "messages[1]", MSG_ELEM("messages[1]")},
    {"role missing", API_CHAT, "{\"model\":\"m\",\"messages\":[{\"content\":\"hi\"}]}",
     "messages[0].role", MSG_ROLE("messages[0]")},
    {"role not a string", API_CHAT,
     "{\"model\":\"m\",\"messages\":[" U ",{\"role\":1,\"content\":\"hi\"}]}",
     "messages[1].role", MSG_ROLE("messages[1]")},
    {"content a number", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0]",
     MSG_CONTENT("messages[0]")},
    {"content an object", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":{\"text\":\"hi\"}}]}",
     "messages[0]", MSG_CONTENT("messages[0]")},
    {"content part not object", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[\"hi\"]}]}", "messages[0]",
     MSG_CONTENT("messages[0]")},
    {"max_tokens 0", API_CHAT, CHAT(",\"max_tokens\":0"), "max_tokens",
     MSG_CAP_RANGE("max_tokens")},
    {"max_tokens -1", API_CHAT, CHAT(",\"max_tokens\":-1"), "max_tokens",
     MSG_CAP_RANGE("max_tokens")},
    {"max_tokens 1.5", API_CHAT, CHAT(",\"max_tokens\":1.5"), "max_tokens",
     MSG_CAP_TYPE("max_tokens")},
    {"max_tokens \"10\"", API_CHAT, CHAT(",\"max_tokens\":\"10\""), "max_tokens",
     MSG_CAP_TYPE("max_tokens")},
    {"max_tokens too big", API_CHAT, CHAT(",\"max_tokens\":1000000001"), "max_tokens",
     MSG_CAP_RANGE("max_tokens")},
    {"max_completion_tokens 0", API_CHAT, CHAT(",\"max_completion_tokens\":0"),
     "max_completion_tokens", MSG_CAP_RANGE("max_completion_tokens")},
    {"max_completion_tokens 1.5", API_CHAT, CHAT(",\"max_completion_tokens\":1.5"),
     "max_completion_tokens", MSG_CAP_TYPE("max_completion_tokens")},
    {"stream_options not object", API_CHAT, CHAT(",\"stream_options\":true"), "stream_options",
     "Invalid type for 'stream_options': expected an object."},
    {"include_usage not bool", API_CHAT, CHAT(",\"stream_options\":{\"include_usage\":1}"),
     "stream_options.include_usage",
     "Invalid type for 'stream_options.include_usage': expected a boolean."},

    /* responses */
    {"input missing", API_RESPONSES, "{\"model\":\"m\"}", "input",
     "Missing required parameter: 'input'."},
    {"input a number", API_RESPONSES, "{\"model\":\"m\",\"input\":3}", "input",
     "Invalid type for 'input': expected a string or an array."},
    {"input an object", API_RESPONSES, "{\"model\":\"m\",\"input\":{\"role\":\"user\"}}", "input",
     "Invalid type for 'input': expected a string or an array."},
    {"input null", API_RESPONSES, "{\"model\":\"m\",\"input\":null}", "input",
     "Invalid type for 'input': expected a string or an array."},
    {"input element not object", API_RESPONSES, "{\"model\":\"m\",\"input\":[\"hi\"]}",
     "input[0]", MSG_ELEM("input[0]")},
    {"input content wrong type", API_RESPONSES,
     "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":true}]}", "input[0]",
     MSG_CONTENT("input[0]")},
    {"max_output_tokens 0", API_RESPONSES, RESP(",\"max_output_tokens\":0"), "max_output_tokens",
     MSG_CAP_RANGE("max_output_tokens")},
    {"max_output_tokens -1", API_RESPONSES, RESP(",\"max_output_tokens\":-1"),
     "max_output_tokens", MSG_CAP_RANGE("max_output_tokens")},
    {"max_output_tokens 1.5", API_RESPONSES, RESP(",\"max_output_tokens\":1.5"),
     "max_output_tokens", MSG_CAP_TYPE("max_output_tokens")},
    {"max_output_tokens \"10\"", API_RESPONSES, RESP(",\"max_output_tokens\":\"10\""),
     "max_output_tokens", MSG_CAP_TYPE("max_output_tokens")},
    {"background not bool", API_RESPONSES, RESP(",\"background\":\"yes\""), "background",
     "Invalid type for 'background': expected a boolean."},

    /* anthropic messages */
    {"messages missing", API_MESSAGES, "{\"model\":\"m\",\"max_tokens\":8}", "messages",
     "messages: Field required"},
    {"messages empty", API_MESSAGES, "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[]}",
     "messages", "messages: expected a non-empty array"},
    {"messages not an array", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"messages\":\"hi\"}", "messages",
     "messages: expected a non-empty array"},
    {"element not object", API_MESSAGES, "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[1]}",
     "messages[0]", MSG_ELEM("messages[0]")},
    {"role missing", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[{\"content\":\"hi\"}]}",
     "messages[0].role", MSG_ROLE("messages[0]")},
    {"content wrong type", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":1}]}",
     "messages[0]", MSG_CONTENT("messages[0]")},
    {"max_tokens missing", API_MESSAGES, "{\"model\":\"m\",\"messages\":[" U "]}", "max_tokens",
     "max_tokens: Field required"},
    {"max_tokens 0", API_MESSAGES, "{\"model\":\"m\",\"max_tokens\":0,\"messages\":[" U "]}",
     "max_tokens", MSG_CAP_RANGE("max_tokens")},
    {"max_tokens -1", API_MESSAGES, "{\"model\":\"m\",\"max_tokens\":-1,\"messages\":[" U "]}",
     "max_tokens", MSG_CAP_RANGE("max_tokens")},
    {"max_tokens 1.5", API_MESSAGES, "{\"model\":\"m\",\"max_tokens\":1.5,\"messages\":[" U "]}",
     "max_tokens", MSG_CAP_TYPE("max_tokens")},
    {"max_tokens \"10\"", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":\"10\",\"messages\":[" U "]}", "max_tokens",
     MSG_CAP_TYPE("max_tokens")},
};

static void check_invalid_row(size_t i)
{
    struct request r;
    memset(&r, 0x5a, sizeof r);
    struct request_error e;
    int rc = parse(invalid_rows[i].api, invalid_rows[i].body, NULL, &r, &e);
    if (rc != -1 || strcmp(e.param, invalid_rows[i].param) != 0 ||
        strcmp(e.message, invalid_rows[i].message) != 0)
        fprintf(stderr, "  row %zu (%s, %s)\n", i, request_api_name(invalid_rows[i].api),
                invalid_rows[i].what);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(e.status, 400);
    CHECK_EQ_STR(e.type, "invalid_request_error");
    CHECK_EQ_STR(e.param, invalid_rows[i].param);
    CHECK_EQ_STR(e.message, invalid_rows[i].message);
    /* OpenAI sends code null for a body-level error, a code when a parameter is at fault */
    if (invalid_rows[i].param[0])
        CHECK_EQ_STR(e.code, strstr(invalid_rows[i].message, "Missing required")
                                 ? "missing_required_parameter"
                                 : "invalid_value");
    else
        CHECK(e.code == NULL);
    /* 'out' is untouched on failure */
    CHECK_EQ_INT(r.stream, 0x5a5a5a5a);
}

static void request_parse_should_reject_invalid_chat_bodies(void)
{
    for (size_t i = 0; i < sizeof invalid_rows / sizeof invalid_rows[0]; i++)
        if (invalid_rows[i].api == API_CHAT)
            check_invalid_row(i);
}

static void request_parse_should_reject_invalid_responses_bodies(void)
{
    for (size_t i = 0; i < sizeof invalid_rows / sizeof invalid_rows[0]; i++)
        if (invalid_rows[i].api == API_RESPONSES)
            check_invalid_row(i);
}

static void request_parse_should_reject_invalid_messages_bodies(void)
{
    for (size_t i = 0; i < sizeof invalid_rows / sizeof invalid_rows[0]; i++)
        if (invalid_rows[i].api == API_MESSAGES)
            check_invalid_row(i);
}

static void request_parse_should_reject_too_long_model(void)
{
    char body[512], model[REQUEST_MODEL_MAX + 1];
    memset(model, 'm', sizeof model - 1);
    model[sizeof model - 1] = '\0'; /* 128 bytes: one over */
    snprintf(body, sizeof body, "{\"model\":\"%s\",\"input\":\"x\"}", model);
    struct request r;
    struct request_error e;
    CHECK_EQ_INT(parse(API_RESPONSES, body, NULL, &r, &e), -1);
    CHECK_EQ_INT(e.status, 400);
    CHECK_EQ_STR(e.param, "model");
    CHECK_EQ_STR(e.message, MSG_MODEL_TYPE);
}

static void request_parse_should_reject_every_truncation_of_a_valid_body(void)
{
    /* every proper prefix of a valid body is malformed JSON (or, for the empty prefix, none) */
    const char *body = "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\","
                       "\"content\":\"[tg:job-1] hi\"}]}";
    size_t len = strlen(body);
    for (size_t cut = 0; cut < len; cut++) {
        struct request r;
        struct request_error e;
        int rc = request_parse(API_MESSAGES, body, cut, NULL, &r, &e);
        if (rc != -1)
            fprintf(stderr, "  prefix of %zu bytes accepted\n", cut);
        CHECK_EQ_INT(rc, -1);
        CHECK_EQ_INT(e.status, 400);
        CHECK_EQ_STR(e.param, "");
        CHECK(strncmp(e.message, MSG_JSON, strlen(MSG_JSON)) == 0);
    }
    struct request r;
    struct request_error e;
    CHECK_EQ_INT(request_parse(API_MESSAGES, body, len, NULL, &r, &e), 0);
}

/* ---- correlation id ----------------------------------------------------------------------- */

#define LONG127                                                                              \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG128 LONG127 "a"

static const struct {
    const char *what;
    enum api api;
    const char *body;
    const char *header;
    const char *cid;
    const char *source;
} cid_rows[] = {
    /* the header wins over every body source */
    {"header over user", API_CHAT,
     "{\"model\":\"m\",\"user\":\"u-1\",\"messages\":[{\"role\":\"user\",\"content\":"
     "\"[tg:mk]\"}]}",
     "h-1", "h-1", "header"},
    {"header over metadata", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"metadata\":{\"user_id\":\"u-2\"},\"messages\":[" U "]}",
     "h-2", "h-2", "header"},
    {"header over responses user", API_RESPONSES,
     "{\"model\":\"m\",\"user\":\"u-3\",\"input\":\"[tg:mk]\"}", "req_abc123", "req_abc123",
     "header"},
    /* then the body's user field */
    {"chat user", API_CHAT,
     "{\"model\":\"m\",\"user\":\"u-1\",\"messages\":[{\"role\":\"user\",\"content\":"
     "\"[tg:mk]\"}]}",
     NULL, "u-1", "user"},
    {"responses user", API_RESPONSES, "{\"model\":\"m\",\"user\":\"u-3\",\"input\":\"[tg:mk]\"}",
     NULL, "u-3", "user"},
    {"anthropic metadata.user_id", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"metadata\":{\"user_id\":\"u-2\"},\"messages\":[{"
     "\"role\":\"user\",\"content\":\"[tg:mk]\"}]}",
     NULL, "u-2", "metadata"},
    {"anthropic top-level user is not a source", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"user\":\"u-9\",\"messages\":[" U "]}", NULL, "",
     "none"},
    /* then the marker in the last user message */
    {"chat marker in string", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"please [tg:job-42] go\"}]}",
     NULL, "job-42", "marker"},
    {"chat marker in parts", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
     "\"text\":\"[tg:job-43] hi\"}]}]}",
     NULL, "job-43", "marker"},
    {"chat marker from last user message", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"[tg:old]\"},{\"role\":"
     "\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"[tg:new]\"},{\"role\":"
     "\"assistant\",\"content\":\"[tg:asst]\"}]}",
     NULL, "new", "marker"},
    {"chat marker only in earlier user message", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"[tg:old]\"},{\"role\":"
     "\"user\",\"content\":\"no marker\"}]}",
     NULL, "", "none"},
    {"chat marker in system message", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"[tg:sys]\"},{\"role\":"
     "\"user\",\"content\":\"hi\"}]}",
     NULL, "", "none"},
    {"responses marker in string input", API_RESPONSES,
     "{\"model\":\"m\",\"input\":\"x [tg:r-1]\"}", NULL, "r-1", "marker"},
    {"responses marker in input parts", API_RESPONSES,
     "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\","
     "\"text\":\"[tg:r-2]\"}]}]}",
     NULL, "r-2", "marker"},
    {"anthropic marker in string", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":"
     "\"[tg:a-1]\"}]}",
     NULL, "a-1", "marker"},
    {"anthropic marker in parts", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
     "\"text\",\"text\":\"[tg:a-2]\"}]}]}",
     NULL, "a-2", "marker"},
    /* invalid ids are ignored, and the next source is tried */
    {"header with space", API_CHAT, "{\"model\":\"m\",\"user\":\"u-1\",\"messages\":[" U "]}",
     "bad id", "u-1", "user"},
    {"empty header", API_CHAT, "{\"model\":\"m\",\"user\":\"u-1\",\"messages\":[" U "]}", "",
     "u-1", "user"},
    {"header of 128 bytes", API_CHAT, "{\"model\":\"m\",\"user\":\"u-1\",\"messages\":[" U "]}",
     LONG128, "u-1", "user"},
    {"header of 127 bytes", API_CHAT, "{\"model\":\"m\",\"user\":\"u-1\",\"messages\":[" U "]}",
     LONG127, LONG127, "header"},
    {"header with quote", API_CHAT, "{\"model\":\"m\",\"messages\":[" U "]}", "a\"b", "", "none"},
    {"user with space", API_CHAT,
     "{\"model\":\"m\",\"user\":\"a b\",\"messages\":[{\"role\":\"user\",\"content\":"
     "\"[tg:mk]\"}]}",
     NULL, "mk", "marker"},
    {"user too long", API_RESPONSES,
     "{\"model\":\"m\",\"user\":\"" LONG128 "\",\"input\":\"[tg:mk]\"}", NULL, "mk", "marker"},
    {"user not a string", API_CHAT,
     "{\"model\":\"m\",\"user\":7,\"messages\":[{\"role\":\"user\",\"content\":\"[tg:mk]\"}]}",
     NULL, "mk", "marker"},
    {"metadata user_id with tab", API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"metadata\":{\"user_id\":\"a\\tb\"},\"messages\":[{"
     "\"role\":\"user\",\"content\":\"[tg:mk]\"}]}",
     NULL, "mk", "marker"},
    {"marker with space", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"[tg:a b]\"}]}", NULL, "",
     "none"},
    {"empty marker", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"[tg:]\"}]}", NULL, "",
     "none"},
    {"unclosed marker", API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"[tg:abc\"}]}", NULL, "",
     "none"},
    {"marker of 128 bytes", API_RESPONSES, "{\"model\":\"m\",\"input\":\"[tg:" LONG128 "]\"}",
     NULL, "", "none"},
    {"marker of 127 bytes", API_RESPONSES, "{\"model\":\"m\",\"input\":\"[tg:" LONG127 "]\"}",
     NULL, LONG127, "marker"},
    {"no source at all", API_RESPONSES, "{\"model\":\"m\",\"input\":\"hi\"}", NULL, "", "none"},
};

/* ---- exactly one JSON value, valid UTF-8 ------------------------------------------------- */

#define B(lit) lit, sizeof lit - 1 /* a literal with its length: NUL bytes count */

static const struct {
    const char *what;
    const char *body;
    size_t len;
    const char *where; /* after MSG_JSON */
} bytes_rows[] = {
    {"trailing garbage", B("{\"model\":\"m\",\"input\":\"hi\"}x"),
     "line 1, column 27 (byte 26): unexpected text after the JSON value near 'x'"},
    {"two concatenated values", B("{\"model\":\"m\",\"input\":\"hi\"}{\"model\":\"m\"}"),
     "line 1, column 27 (byte 26): unexpected text after the JSON value near '{\"model\":\"m\"}'"},
    {"a NUL then more after the value", B("{\"model\":\"m\",\"input\":\"hi\"}\0{\"x\":1}"),
     "line 1, column 27 (byte 26): NUL byte after the JSON value near '\\x00{\"x\":1}'"},
    {"cut at an embedded NUL", B("{\"model\":\"gp\0t\",\"input\":\"hi\"}"),
     "line 1, column 13 (byte 12): NUL byte in a string near '\\x00t\",\"input\":\"hi\"}'"},
    {"escaped NUL in the model", B("{\"model\":\"a\\u0000b\",\"input\":\"hi\"}"),
     "line 1, column 12 (byte 11): \\u0000 (NUL) is not accepted in a string near "
     "'\\u0000b\",\"input\":\"hi\"}'"},
    {"invalid UTF-8 in the model", B("{\"model\":\"m\xff\",\"input\":\"hi\"}"),
     "line 1, column 12 (byte 11): invalid UTF-8 in a string (byte that never appears in "
     "UTF-8) near '\\xff\",\"input\":\"hi\"}'"},
    {"overlong encoding in the input", B("{\"model\":\"m\",\"input\":\"\xc0\xaf\"}"),
     "line 1, column 23 (byte 22): invalid UTF-8 in a string (overlong encoding) near "
     "'\\xc0\\xaf\"}'"},
    {"lone surrogate escape in the model", B("{\"model\":\"\\ud800\",\"input\":\"hi\"}"),
     "line 1, column 11 (byte 10): lone UTF-16 high surrogate \\ud800 in a string (a "
     "\\udc00-\\udfff must follow) near '\\ud800\",\"input\":\"hi\"}'"},
};

static void request_parse_should_reject_bodies_that_are_not_exactly_one_json_value(void)
{
    for (size_t i = 0; i < sizeof bytes_rows / sizeof bytes_rows[0]; i++) {
        for (int api = API_CHAT; api <= API_MESSAGES; api++) {
            struct request r;
            struct request_error e;
            int rc = request_parse((enum api)api, bytes_rows[i].body, bytes_rows[i].len, NULL, &r,
                                   &e);
            char want[512];
            snprintf(want, sizeof want, "%s%s", MSG_JSON, bytes_rows[i].where);
            if (rc != -1 || strcmp(e.message, want) != 0)
                fprintf(stderr, "  %s (%s): %s\n", bytes_rows[i].what,
                        request_api_name((enum api)api), rc == -1 ? e.message : "accepted");
            CHECK_EQ_INT(rc, -1);
            CHECK_EQ_INT(e.status, 400);
            CHECK_EQ_STR(e.type, "invalid_request_error");
            CHECK_EQ_STR(e.param, "");
            CHECK(e.code == NULL);
            CHECK_EQ_STR(e.message, want);
        }
    }
}

static void request_parse_should_keep_a_multibyte_model_exactly(void)
{
    struct request r;
    struct request_error e;
    const char *raw = "{\"model\":\"caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80\",\"input\":\"hi\"}";
    CHECK_EQ_INT(parse(API_RESPONSES, raw, NULL, &r, &e), 0);
    CHECK_EQ_STR(r.model, "caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80");
    /* the same characters as \u escapes, the emoji as a surrogate pair */
    const char *esc = "{\"model\":\"caf\\u00e9-\\u20ac-\\ud83d\\ude00\",\"input\":\"hi\"}";
    CHECK_EQ_INT(parse(API_RESPONSES, esc, NULL, &r, &e), 0);
    CHECK_EQ_STR(r.model, "caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80");
}

static void request_cid_should_follow_source_order(void)
{
    for (size_t i = 0; i < sizeof cid_rows / sizeof cid_rows[0]; i++) {
        struct request r;
        struct request_error e;
        int rc = parse(cid_rows[i].api, cid_rows[i].body, cid_rows[i].header, &r, &e);
        if (rc != 0 || strcmp(r.cid, cid_rows[i].cid) != 0 ||
            strcmp(r.id_source, cid_rows[i].source) != 0)
            fprintf(stderr, "  row %zu (%s)\n", i, cid_rows[i].what);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_STR(r.cid, cid_rows[i].cid);
        CHECK_EQ_STR(r.id_source, cid_rows[i].source);
    }
}

/* The doc says "a [tg:<id>] marker in the last user message"; a message made of several text
 * parts carries it in whichever part the client put it. */
static void request_cid_should_find_marker_in_any_part_of_last_user_message(void)
{
    static const struct {
        enum api api;
        const char *body;
    } rows[] = {
        {API_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                   "\"text\",\"text\":\"[tg:job-44]\"},{\"type\":\"text\",\"text\":\"question\"}"
                   "]}]}"},
        {API_MESSAGES, "{\"model\":\"m\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\","
                       "\"content\":[{\"type\":\"text\",\"text\":\"[tg:job-44]\"},{\"type\":"
                       "\"text\",\"text\":\"question\"}]}]}"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct request r;
        struct request_error e;
        CHECK_EQ_INT(parse(rows[i].api, rows[i].body, NULL, &r, &e), 0);
        CHECK_EQ_STR(r.cid, "job-44");
        CHECK_EQ_STR(r.id_source, "marker");
    }
}

static void request_id_ok_should_accept_printable_ids_only(void)
{
    static const struct {
        const char *s;
        int ok;
    } rows[] = {
        {"job-1", 1},   {"req_abc:123/x", 1}, {"a", 1},   {LONG127, 1}, {"", 0},
        {LONG128, 0},   {"a b", 0},           {"a\tb", 0}, {"a\"b", 0}, {"a\\b", 0},
        {"caf\xc3\xa9", 0}, {"a\x7f", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK_EQ_INT(request_id_ok(rows[i].s, strlen(rows[i].s)), rows[i].ok);
}

/* ---- caps and include_usage --------------------------------------------------------------- */

static const struct {
    enum api api;
    const char *body;
    int64_t max_tokens;
    int include_usage;
} cap_rows[] = {
    {API_CHAT, CHAT(""), -1, 0},
    {API_CHAT, CHAT(",\"max_tokens\":10"), 10, 0},
    {API_CHAT, CHAT(",\"max_completion_tokens\":20"), 20, 0},
    /* both set: max_completion_tokens, the current name, wins */
    {API_CHAT, CHAT(",\"max_tokens\":10,\"max_completion_tokens\":20"), 20, 0},
    {API_CHAT, CHAT(",\"max_completion_tokens\":20,\"max_tokens\":10"), 20, 0},
    {API_CHAT, CHAT(",\"max_tokens\":1000000000"), 1000000000, 0},
    {API_CHAT, CHAT(",\"max_tokens\":1"), 1, 0},
    {API_CHAT, CHAT(",\"max_output_tokens\":5"), -1, 0},
    {API_CHAT, CHAT(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"), -1, 1},
    {API_CHAT, CHAT(",\"stream\":true,\"stream_options\":{\"include_usage\":false}"), -1, 0},
    {API_CHAT, CHAT(",\"stream\":true,\"stream_options\":{}"), -1, 0},
    {API_CHAT, CHAT(",\"stream\":true,\"stream_options\":{\"include_usage\":null}"), -1, 0},
    {API_RESPONSES, RESP(",\"max_output_tokens\":30"), 30, 1},
    {API_RESPONSES, RESP(",\"max_tokens\":30"), -1, 1},
    {API_RESPONSES, RESP(",\"max_output_tokens\":null"), -1, 1},
    {API_MESSAGES, ANTH(""), 8, 1},
    {API_MESSAGES, "{\"model\":\"m\",\"max_tokens\":1000000000,\"messages\":[" U "]}",
     1000000000, 1},
};

static void request_caps_should_come_from_the_api_field(void)
{
    for (size_t i = 0; i < sizeof cap_rows / sizeof cap_rows[0]; i++) {
        struct request r;
        struct request_error e;
        int rc = parse(cap_rows[i].api, cap_rows[i].body, NULL, &r, &e);
        if (rc != 0)
            fprintf(stderr, "  row %zu: %s\n", i, e.message);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(r.max_tokens, cap_rows[i].max_tokens);
        CHECK_EQ_INT(r.include_usage, cap_rows[i].include_usage);
    }
}

/* ---- input tokens ------------------------------------------------------------------------- */

static const struct {
    enum api api;
    const char *body;
    uint64_t tokens;
} input_rows[] = {
    /* ceil(bytes / 4), minimum 1 */
    {API_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}", 1},
    {API_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}", 1},
    {API_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"abcd\"}]}", 1},
    {API_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"abcde\"}]}", 2},
    {API_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}",
     2},
    {API_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"abcdefghi\"}]}",
     3},
    /* every message counts, whatever its role */
    {API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"abcd\"},{\"role\":"
     "\"user\",\"content\":\"abcde\"}]}",
     3},
    /* text parts are summed; parts without text count nothing */
    {API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
     "\"text\":\"abc\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},{\"type\":"
     "\"text\",\"text\":\"defgh\"}]}]}",
     2},
    /* bytes, not characters: three 2-byte characters */
    {API_CHAT,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}"
     "]}",
     2},
    {API_RESPONSES, "{\"model\":\"m\",\"input\":\"abcdefghijklmnopq\"}", 5},
    {API_RESPONSES, "{\"model\":\"m\",\"input\":\"abcde\",\"instructions\":\"abc\"}", 2},
    {API_RESPONSES,
     "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"abcd\"},{\"role\":"
     "\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"abcde\"}]}]}",
     3},
    {API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"system\":\"abcd\",\"messages\":[{\"role\":\"user\","
     "\"content\":\"abcd\"}]}",
     2},
    {API_MESSAGES,
     "{\"model\":\"m\",\"max_tokens\":8,\"system\":[{\"type\":\"text\",\"text\":\"abcd\"}],"
     "\"messages\":[{\"role\":\"user\",\"content\":\"abcde\"}]}",
     3},
};

static void request_input_tokens_should_be_ceil_bytes_over_four(void)
{
    for (size_t i = 0; i < sizeof input_rows / sizeof input_rows[0]; i++) {
        struct request r;
        struct request_error e;
        int rc = parse(input_rows[i].api, input_rows[i].body, NULL, &r, &e);
        if (rc != 0 || r.input_tokens != input_rows[i].tokens)
            fprintf(stderr, "  row %zu\n", i);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(r.input_tokens, input_rows[i].tokens);
    }
}

/* ---- Gemini: the model and the method come from the path ---------------------------------- */

static int gparse(const char *body, const char *rid, struct request *out,
                  struct request_error *err)
{
    return request_parse_gemini("gemini-2.5-flash", 1, 0, body, strlen(body), rid, out, err);
}

static void request_parse_gemini_should_take_contents_caps_and_the_marker(void)
{
    struct request r;
    struct request_error e;
    /* the marker is in the last user content; a model turn after it does not hide it */
    const char *body =
        "{\"systemInstruction\":{\"parts\":[{\"text\":\"be brief\"}]},"
        "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"old [tg:old-1]\"}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"ok\"}]},"
        "{\"role\":\"user\",\"parts\":[{\"inlineData\":{}},{\"text\":\"new [tg:gem-7]\"}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"[tg:model-9]\"}]}],"
        "\"generationConfig\":{\"maxOutputTokens\":12,\"temperature\":0}}";
    CHECK_EQ_INT(gparse(body, NULL, &r, &e), 0);
    CHECK_EQ_INT(r.api, API_GEMINI);
    CHECK_EQ_STR(r.model, "gemini-2.5-flash");
    CHECK_EQ_INT(r.stream, 1);
    CHECK_EQ_INT(r.json_stream, 0);
    CHECK_EQ_INT(r.max_tokens, 12);
    CHECK_EQ_INT(r.include_usage, 1);
    CHECK_EQ_STR(r.cid, "gem-7");
    CHECK_EQ_STR(r.id_source, "marker");
    /* 8 + 14 + 2 + 14 + 12 text bytes = 50: 13 tokens */
    CHECK_EQ_INT(r.input_tokens, 13);
    /* the header comes first; snake_case fields work as in Google's JSON mapping */
    const char *snake = "{\"contents\":[{\"parts\":[{\"text\":\"[tg:x]\"}]}],"
                        "\"generation_config\":{\"max_output_tokens\":3}}";
    CHECK_EQ_INT(request_parse_gemini("m", 1, 1, snake, strlen(snake), "hdr-1", &r, &e), 0);
    CHECK_EQ_STR(r.cid, "hdr-1");
    CHECK_EQ_STR(r.id_source, "header");
    CHECK_EQ_INT(r.max_tokens, 3);
    CHECK_EQ_INT(r.json_stream, 1);
    /* generateContent: not a stream, whatever alt said */
    const char *one = "{\"contents\":[{\"parts\":[{\"text\":\"a\"}]}]}";
    CHECK_EQ_INT(request_parse_gemini("m", 0, 1, one, strlen(one), NULL, &r, &e), 0);
    CHECK_EQ_INT(r.stream, 0);
    CHECK_EQ_INT(r.json_stream, 0);
    CHECK_EQ_INT(r.max_tokens, -1);
}

static const struct {
    const char *body;
    int status;
    const char *message; /* a prefix */
} gemini_invalid_rows[] = {
    {"{bad", 400, "Invalid JSON payload received. line 1, column 2"},
    {"[]", 400, "Invalid JSON payload received. Expected an object"},
    {"{}", 400, "* GenerateContentRequest.contents: contents is not specified\n"},
    {"{\"contents\":[]}", 400, "* GenerateContentRequest.contents: contents is not specified"},
    {"{\"contents\":null}", 400, "* GenerateContentRequest.contents: contents is not specified"},
    {"{\"contents\":\"hi\"}", 400, "Invalid value at 'contents'"},
    {"{\"contents\":[1]}", 400, "Invalid value at 'contents[0]'"},
    {"{\"contents\":[{\"role\":\"user\"}]}", 400,
     "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty."},
    {"{\"contents\":[{\"parts\":[]}]}", 400, "* GenerateContentRequest.contents[0].parts"},
    {"{\"contents\":[{\"role\":\"assistant\",\"parts\":[{\"text\":\"x\"}]}]}", 400,
     "Please use a valid role: user, model."},
    {"{\"contents\":[{\"parts\":[{\"text\":1}]}]}", 400,
     "Invalid value at 'contents[0].parts[0].text'"},
    {"{\"contents\":[{\"parts\":[\"x\"]}]}", 400, "Invalid value at 'contents[0].parts[0]'"},
    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"generationConfig\":5}", 400,
     "Invalid value at 'generation_config'"},
    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
     "\"generationConfig\":{\"maxOutputTokens\":0}}",
     400, "Invalid value at 'generation_config.max_output_tokens'"},
    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
     "\"generationConfig\":{\"maxOutputTokens\":1.5}}",
     400, "Invalid value at 'generation_config.max_output_tokens'"},
    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"systemInstruction\":{\"parts\":[]}}", 400,
     "* GenerateContentRequest.system_instruction.parts"},
};

static void request_parse_gemini_should_reject_bad_bodies_in_google_words(void)
{
    for (size_t i = 0; i < sizeof gemini_invalid_rows / sizeof gemini_invalid_rows[0]; i++) {
        struct request r;
        struct request_error e;
        int rc = gparse(gemini_invalid_rows[i].body, NULL, &r, &e);
        const char *want = gemini_invalid_rows[i].message;
        int ok = rc == -1 && e.status == gemini_invalid_rows[i].status &&
                 strncmp(e.message, want, strlen(want)) == 0 &&
                 strcmp(e.type, "INVALID_ARGUMENT") == 0;
        if (!ok)
            fprintf(stderr, "  row %zu: rc %d status %d '%s'\n", i, rc, e.status, e.message);
        CHECK(ok);
    }
    /* no model in the path, or one too long: Google's 404 */
    struct request r;
    struct request_error e;
    char longest[REQUEST_MODEL_MAX + 1];
    memset(longest, 'm', REQUEST_MODEL_MAX);
    longest[REQUEST_MODEL_MAX] = '\0';
    CHECK_EQ_INT(request_parse_gemini("", 1, 0, "{}", 2, NULL, &r, &e), -1);
    CHECK_EQ_INT(e.status, 404);
    CHECK_EQ_STR(e.type, "NOT_FOUND");
    CHECK_EQ_INT(request_parse_gemini(longest, 1, 0, "{}", 2, NULL, &r, &e), -1);
    CHECK_EQ_INT(e.status, 404);
    longest[REQUEST_MODEL_MAX - 1] = '\0';
    CHECK_EQ_INT(request_parse_gemini(longest, 1, 0, "{\"contents\":[{\"parts\":[{}]}]}", 29,
                                      NULL, &r, &e),
                 0);
    CHECK_EQ_STR(r.model, longest);
    /* request_parse cannot take Gemini: the model would be missing */
    CHECK_EQ_INT(request_parse(API_GEMINI, "{}", 2, NULL, &r, &e), -1);
}

/* every proper prefix of a valid Gemini body is a 400, never a crash or an accept */
static void request_parse_gemini_should_reject_every_truncation(void)
{
    const char *body = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi [tg:t-1]\"}]}],"
                       "\"generationConfig\":{\"maxOutputTokens\":4}}";
    size_t len = strlen(body);
    struct request r;
    struct request_error e;
    CHECK_EQ_INT(request_parse_gemini("m", 1, 0, body, len, NULL, &r, &e), 0);
    for (size_t cut = 0; cut < len; cut++) {
        int rc = request_parse_gemini("m", 1, 0, body, cut, NULL, &r, &e);
        if (rc != -1 || e.status != 400)
            fprintf(stderr, "  cut %zu: rc %d\n", cut, rc);
        CHECK(rc == -1 && e.status == 400);
    }
}

static const struct check_case cases[] = {
    CASE(request_api_name_should_name_each_api),
    CASE(request_parse_should_accept_minimal_bodies),
    CASE(request_parse_should_accept_body_without_terminator),
    CASE(request_parse_should_accept_longest_model),
    CASE(request_parse_should_reject_invalid_chat_bodies),
    CASE(request_parse_should_reject_invalid_responses_bodies),
    CASE(request_parse_should_reject_invalid_messages_bodies),
    CASE(request_parse_should_reject_too_long_model),
    CASE(request_parse_should_reject_every_truncation_of_a_valid_body),
    CASE(request_parse_should_reject_bodies_that_are_not_exactly_one_json_value),
    CASE(request_parse_should_keep_a_multibyte_model_exactly),
    CASE(request_cid_should_follow_source_order),
    CASE(request_cid_should_find_marker_in_any_part_of_last_user_message),
    CASE(request_id_ok_should_accept_printable_ids_only),
    CASE(request_caps_should_come_from_the_api_field),
    CASE(request_input_tokens_should_be_ceil_bytes_over_four),
    CASE(request_parse_gemini_should_take_contents_caps_and_the_marker),
    CASE(request_parse_gemini_should_reject_bad_bodies_in_google_words),
    CASE(request_parse_gemini_should_reject_every_truncation),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
