/* Tests for common/jparse and common/utf8: one JSON value from untrusted bytes, from tables of
 * accepted and rejected documents (every rejection with its exact message), every truncation of
 * a valid document, the file reader's errors, and UTF-8 validation and repair. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "jparse.h"
#include "utf8.h"

#define S(lit) lit, sizeof lit - 1 /* a literal with its length: NUL bytes count */

/* ---- accepted ------------------------------------------------------------------------------ */

static const struct {
    const char *text;
    size_t len;
    const char *printed; /* cJSON_PrintUnformatted of the tree */
} valid_rows[] = {
    {S("{}"), "{}"},
    {S(" \t\r\n[ ]\n"), "[]"},
    {S("0"), "0"},
    {S("-0.5e+3"), "-500"},
    {S("1E2"), "100"},
    {S("true"), "true"},
    {S("null"), "null"},
    {S("\"\""), "\"\""},
    {S("{\"a\":[1,{\"b\":null}],\"c\":\"d\"}"), "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}"},
    {S("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""), "\"\\\" \\\\ / \\b \\f \\n \\r \\t\""},
    /* multi-byte UTF-8, raw and escaped, 2, 3 and 4 bytes */
    {S("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
    {S("\"\\u00e9\\u20ac\\ud83d\\ude00\""), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
    /* the edges of the valid ranges */
    {S("\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""),
     "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""},
    {S("\"\x7f\""), "\"\x7f\""},
    /* a byte order mark is ignored (RFC 8259 section 8.1) */
    {S("\xef\xbb\xbf{\"a\":1}"), "{\"a\":1}"},
    {S("\xef\xbb\xbf[1]"), "[1]"},
};

static void jparse_text_should_accept_valid_documents(void)
{
    for (size_t i = 0; i < sizeof valid_rows / sizeof valid_rows[0]; i++) {
        struct jparse_error e;
        cJSON *j = jparse_text(valid_rows[i].text, valid_rows[i].len, &e);
        if (j == NULL)
            fprintf(stderr, "  row %zu: %s near '%s'\n", i, e.what, e.near);
        CHECK(j != NULL);
        char *p = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        int same = p && strcmp(p, valid_rows[i].printed) == 0;
        if (!same)
            fprintf(stderr, "  row %zu: printed %s\n", i, p ? p : "(null)");
        free(p);
        CHECK(same);
    }
}

static void jparse_text_should_read_only_len_bytes(void)
{
    const char *buf = "{\"a\":1}GARBAGE";
    struct jparse_error e;
    cJSON *j = jparse_text(buf, 7, &e);
    CHECK(cJSON_IsObject(j));
    cJSON_Delete(j);
}

static void jparse_text_should_accept_the_deepest_nesting(void)
{
    char buf[2 * JPARSE_MAX_DEPTH];
    memset(buf, '[', JPARSE_MAX_DEPTH);
    memset(buf + JPARSE_MAX_DEPTH, ']', JPARSE_MAX_DEPTH);
    struct jparse_error e;
    cJSON *j = jparse_text(buf, sizeof buf, &e);
    CHECK(cJSON_IsArray(j));
    cJSON_Delete(j);
}

/* ---- rejected ------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    const char *text;
    size_t len;
    size_t offset;
    unsigned line, column;
    int at_end;
    const char *what;
    const char *near;
} invalid_rows[] = {
    {"empty", S(""), 0, 1, 1, 1, "empty document (expected a JSON value)", ""},
    {"only whitespace", S(" \n "), 3, 2, 2, 1, "empty document (expected a JSON value)", ""},
    {"trailing garbage", S("{\"a\":1} x"), 8, 1, 9, 0, "unexpected text after the JSON value", "x"},
    {"two values", S("{\"a\":1}{\"b\":2}"), 7, 1, 8, 0, "unexpected text after the JSON value",
     "{\"b\":2}"},
    {"two values on two lines", S("1\n2\n"), 2, 2, 1, 0, "unexpected text after the JSON value",
     "2"},
    {"NUL after the value", S("{\"a\":1}\0{\"b\":2}"), 7, 1, 8, 0, "NUL byte after the JSON value",
     "\\x00{\"b\":2}"},
    {"NUL inside a string", S("{\"model\":\"gp\0t\"}"), 12, 1, 13, 0, "NUL byte in a string",
     "\\x00t\"}"},
    {"NUL between members", S("{\"a\":1\0,\"b\":2}"), 6, 1, 7, 0,
     "NUL byte; expected ',' or '}' after an object member", "\\x00,\"b\":2}"},
    {"NUL before the value", S("\0{}"), 0, 1, 1, 0, "NUL byte; expected a JSON value", "\\x00{}"},
    {"escaped NUL", S("{\"m\":\"a\\u0000b\"}"), 7, 1, 8, 0,
     "\\u0000 (NUL) is not accepted in a string", "\\u0000b\"}"},
    {"lone high surrogate", S("\"\\ud800\""), 1, 1, 2, 0,
     "lone UTF-16 high surrogate \\ud800 in a string (a \\udc00-\\udfff must follow)", "\\ud800\""},
    {"high surrogate then a non-surrogate", S("\"\\ud83d\\u0041\""), 1, 1, 2, 0,
     "lone UTF-16 high surrogate \\ud83d in a string (a \\udc00-\\udfff must follow)",
     "\\ud83d\\u0041\""},
    {"lone low surrogate", S("\"x\\uDC00\""), 2, 1, 3, 0,
     "lone UTF-16 low surrogate \\udc00 in a string", "\\uDC00\""},
    {"short \\u escape", S("\"\\u12\""), 1, 1, 2, 0, "invalid \\u escape: expected 4 hex digits",
     "\\u12\""},
    {"invalid escape", S("\"a\\qb\""), 2, 1, 3, 0,
     "invalid escape in a string (expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
     "\\qb\""},
    {"raw newline in a string", S("{\"a\":\"x\ny\"}"), 7, 1, 8, 0,
     "unescaped control character U+000A in a string", "\\n"},
    {"raw tab in a string", S("\"a\tb\""), 2, 1, 3, 0,
     "unescaped control character U+0009 in a string", "\\tb\""},
    {"invalid UTF-8 byte", S("{\"model\":\"\xff\"}"), 10, 1, 11, 0,
     "invalid UTF-8 in a string (byte that never appears in UTF-8)", "\\xff\"}"},
    {"lone continuation byte", S("\"\x80\""), 1, 1, 2, 0,
     "invalid UTF-8 in a string (unexpected continuation byte)", "\\x80\""},
    {"overlong 2-byte '/'", S("\"\xc0\xaf\""), 1, 1, 2, 0,
     "invalid UTF-8 in a string (overlong encoding)", "\\xc0\\xaf\""},
    {"overlong 3-byte", S("\"\xe0\x80\xaf\""), 1, 1, 2, 0,
     "invalid UTF-8 in a string (overlong encoding)", "\\xe0\\x80\\xaf\""},
    {"overlong 4-byte", S("\"\xf0\x80\x80\xaf\""), 1, 1, 2, 0,
     "invalid UTF-8 in a string (overlong encoding)", "\\xf0\\x80\\x80\\xaf\""},
    {"UTF-8 encoded surrogate", S("\"\xed\xa0\x80\""), 1, 1, 2, 0,
     "invalid UTF-8 in a string (encoded UTF-16 surrogate)", "\\xed\\xa0\\x80\""},
    {"above U+10FFFF", S("\"\xf4\x90\x80\x80\""), 1, 1, 2, 0,
     "invalid UTF-8 in a string (code point above U+10FFFF)", "\\xf4\\x90\\x80\\x80\""},
    {"incomplete sequence", S("\"\xe2\x82\""), 1, 1, 2, 0,
     "invalid UTF-8 in a string (incomplete sequence)", "\\xe2\\x82\""},
    {"incomplete at the end", S("\"\xe2\x82"), 1, 1, 2, 0,
     "invalid UTF-8 in a string (incomplete sequence)", "\\xe2\\x82"},
    {"invalid UTF-8 outside strings", S("[\xc3\xa9]"), 1, 1, 2, 0, "expected a JSON value",
     "\xc3\xa9]"},
    {"column counts characters", S("[\"\xc3\xa9\xc3\xa9\" x]"), 8, 1, 7, 0,
     "expected ',' or ']' after an array element", "x]"},
    {"unterminated string", S("{\"a\": \"abc"), 6, 1, 7, 0, "unterminated string (no closing '\"')",
     "\"abc"},
    {"unterminated object", S("{\"a\": 1"), 7, 1, 8, 1,
     "expected ',' or '}' after an object member", ""},
    {"trailing comma in an object", S("{\"a\":1,}"), 7, 1, 8, 0, "trailing comma before '}'", "}"},
    {"trailing comma in an array", S("[1,\n 2,\n]"), 8, 3, 1, 0, "trailing comma before ']'", "]"},
    {"missing colon", S("{\"a\" 1}"), 5, 1, 6, 0, "expected ':' after an object key", "1}"},
    {"unquoted key", S("{a:1}"), 1, 1, 2, 0, "expected '\"' to start an object key", "a:1}"},
    {"single quotes", S("['x']"), 1, 1, 2, 0, "expected a JSON value", "'x']"},
    {"leading zero", S("[01]"), 1, 1, 2, 0, "leading zero in a number", "01]"},
    {"bare minus", S("-"), 1, 1, 2, 1, "expected a digit in a number", ""},
    {"dot without digits", S("1."), 2, 1, 3, 1, "expected a digit after the decimal point", ""},
    {"exponent without digits", S("[1e]"), 3, 1, 4, 0, "expected a digit in the exponent", "]"},
    {"plus sign", S("+1"), 0, 1, 1, 0, "expected a JSON value", "+1"},
    {"bad literal", S("[tru]"), 1, 1, 2, 0, "invalid literal (expected true, false or null)",
     "tru]"},
    {"NaN", S("NaN"), 0, 1, 1, 0, "expected a JSON value", "NaN"},
    {"control character outside strings", S("\x01{}"), 0, 1, 1, 0, "expected a JSON value",
     "\\x01{}"},
    {"form feed is not whitespace", S("{}\f"), 2, 1, 3, 0, "unexpected text after the JSON value",
     "\\x0c"},
    {"too long a number", S("[1234567890123456789012345678901234567890123456789012345678901234]"),
     1, 1, 2, 0, "number longer than 63 characters", "123456789012345678901234"},
    {"excerpt stops at the line's end", S("{\"a\": x\n}"), 6, 1, 7, 0, "expected a JSON value",
     "x"},
    {"excerpt is cut", S("[x234567890123456789012345678901234567890]"), 1, 1, 2, 0,
     "expected a JSON value", "x23456789012345678901234"},
    {"CRLF lines", S("{\r\n\"a\":\r\n}"), 9, 3, 1, 0, "expected a JSON value", "}"},
};

static void jparse_text_should_reject_with_exact_errors(void)
{
    for (size_t i = 0; i < sizeof invalid_rows / sizeof invalid_rows[0]; i++) {
        struct jparse_error e;
        cJSON *j = jparse_text(invalid_rows[i].text, invalid_rows[i].len, &e);
        int ok = j == NULL && e.offset == invalid_rows[i].offset &&
                 e.line == invalid_rows[i].line && e.column == invalid_rows[i].column &&
                 e.at_end == invalid_rows[i].at_end && strcmp(e.what, invalid_rows[i].what) == 0 &&
                 strcmp(e.near, invalid_rows[i].near) == 0;
        if (!ok)
            fprintf(stderr,
                    "  %s: %s; offset %zu line %u column %u at_end %d what '%s' near "
                    "'%s'\n",
                    invalid_rows[i].name, j ? "accepted" : "rejected", e.offset, e.line, e.column,
                    e.at_end, e.what, e.near);
        cJSON_Delete(j);
        CHECK(ok);
    }
}

static void jparse_text_should_reject_nesting_past_the_limit(void)
{
    char buf[2 * (JPARSE_MAX_DEPTH + 1)];
    memset(buf, '[', JPARSE_MAX_DEPTH + 1);
    memset(buf + JPARSE_MAX_DEPTH + 1, ']', JPARSE_MAX_DEPTH + 1);
    struct jparse_error e;
    CHECK(jparse_text(buf, sizeof buf, &e) == NULL);
    CHECK_EQ_INT(e.offset, JPARSE_MAX_DEPTH);
    CHECK_EQ_STR(e.what, "nested deeper than 512 arrays and objects");
}

static void jparse_text_should_reject_every_truncation_of_a_valid_document(void)
{
    const char *doc =
        "{\"model\":\"caf\xc3\xa9\",\"n\":[1.5e3,true,null],\"s\":\"\\ud83d\\ude00\"}";
    size_t n = strlen(doc);
    for (size_t k = 0; k < n; k++) {
        struct jparse_error e;
        /* copied so ASan sees any read past the given length */
        char *cut = malloc(k ? k : 1);
        CHECK(cut != NULL);
        memcpy(cut, doc, k);
        cJSON *j = jparse_text(cut, k, &e);
        free(cut);
        if (j != NULL)
            fprintf(stderr, "  accepted the first %zu bytes\n", k);
        cJSON_Delete(j);
        CHECK(j == NULL);
        CHECK(e.what[0] != '\0');
        CHECK(e.at_end || e.near[0] != '\0'); /* never an empty excerpt */
    }
    struct jparse_error e;
    cJSON *j = jparse_text(doc, n, &e);
    CHECK(j != NULL);
    cJSON_Delete(j);
}

/* ---- messages ------------------------------------------------------------------------------ */

static void jparse_message_should_name_file_line_and_column(void)
{
    struct jparse_error e;
    char msg[256];
    CHECK(jparse_text(S("{\n  \"a\": 1,\n  \"b\": 2 x\n}"), &e) == NULL);
    jparse_message(&e, "s.json", msg, sizeof msg);
    CHECK_EQ_STR(msg, "s.json:3:10: expected ',' or '}' after an object member near 'x'");
    jparse_message(&e, NULL, msg, sizeof msg);
    CHECK_EQ_STR(msg, "line 3, column 10 (byte 21): expected ',' or '}' after an object member "
                      "near 'x'");
    CHECK(jparse_text(S("{\"a\": [1, 2"), &e) == NULL);
    jparse_message(&e, "s.json", msg, sizeof msg);
    CHECK_EQ_STR(msg, "s.json:1:12: expected ',' or ']' after an array element at end of file");
    jparse_message(&e, NULL, msg, sizeof msg);
    CHECK_EQ_STR(msg, "line 1, column 12 (byte 11): expected ',' or ']' after an array element "
                      "at end of input");
}

/* ---- files --------------------------------------------------------------------------------- */

static void jparse_file_should_say_what_is_wrong_with_the_file(void)
{
    char dir[] = "/tmp/test_jparse.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], err[512];
    cJSON *j = jparse_file(dir, 1024, "give a file", NULL, err, sizeof err);
    CHECK(j == NULL);
    char want[512];
    snprintf(want, sizeof want, "%s: is a directory (give a file)", dir);
    CHECK_EQ_STR(err, want);

    snprintf(path, sizeof path, "%s/missing.json", dir);
    CHECK(jparse_file(path, 1024, NULL, NULL, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    CHECK_EQ_STR(err, want);

    snprintf(path, sizeof path, "%s/big.json", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "[%0*d]", 2000, 0);
    fclose(f);
    CHECK(jparse_file(path, 1024, NULL, NULL, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s: larger than 1 KiB", path);
    CHECK_EQ_STR(err, want);
    unlink(path);

    snprintf(path, sizeof path, "%s/bad.json", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("{\n  \"name\": \"x\",\n  \"users\": [\n", f);
    fclose(f);
    CHECK(jparse_file(path, 1024, NULL, NULL, err, sizeof err) == NULL);
    snprintf(want, sizeof want, "%s:4:1: expected a JSON value at end of file", path);
    CHECK_EQ_STR(err, want);

    f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("{\"name\": \"x\"}\n", f);
    fclose(f);
    char *text = NULL;
    j = jparse_file(path, 1024, NULL, &text, err, sizeof err);
    CHECK(cJSON_IsObject(j));
    cJSON_Delete(j);
    CHECK(text != NULL);
    CHECK_EQ_STR(text, "{\"name\": \"x\"}\n");
    free(text);
    unlink(path);
    rmdir(dir);
}

static void jparse_read_file_should_read_a_pipe_up_to_the_cap(void)
{
    char err[256];
    size_t len = 0;
    /* /dev/zero is not a regular file: the reader grows its buffer and stops at the cap */
    char *buf = jparse_read_file("/dev/zero", 10000, NULL, &len, err, sizeof err);
    CHECK(buf == NULL);
    CHECK_EQ_STR(err, "/dev/zero: larger than 10000 bytes");
    buf = jparse_read_file("/dev/null", 10000, NULL, &len, err, sizeof err);
    CHECK(buf != NULL);
    CHECK_EQ_INT(len, 0);
    free(buf);
}

/* ---- utf8 ---------------------------------------------------------------------------------- */

static void utf8_valid_prefix_should_stop_at_the_first_bad_byte(void)
{
    CHECK_EQ_INT(utf8_valid_prefix(S("ascii")), 5);
    CHECK_EQ_INT(utf8_valid_prefix(S("caf\xc3\xa9")), 5);
    CHECK_EQ_INT(utf8_valid_prefix(S("ab\xc3")), 2);
    CHECK_EQ_INT(utf8_valid_prefix(S("ab\xc0\x80")), 2);
    CHECK_EQ_INT(utf8_valid_prefix(S("\xed\xb0\x80")), 0);
    CHECK_EQ_INT(utf8_valid_prefix(S("\xf0\x9f\x98\x80!")), 5);
}

static void utf8_repair_should_replace_each_bad_byte(void)
{
    char out[64];
    CHECK_EQ_INT(utf8_repair(out, sizeof out, "ok \xc3\xa9"), 5);
    CHECK_EQ_STR(out, "ok \xc3\xa9");
    utf8_repair(out, sizeof out,
                "a\xff"
                "b\xc0\xaf");
    CHECK_EQ_STR(out, "a\xef\xbf\xbd"
                      "b\xef\xbf\xbd\xef\xbf\xbd");
    utf8_repair(out, sizeof out, "cut \xe2\x82");
    CHECK_EQ_STR(out, "cut \xef\xbf\xbd\xef\xbf\xbd");
    /* a full buffer is cut on a character boundary */
    utf8_repair(out, 6, "ab\xe2\x82\xac");
    CHECK_EQ_STR(out, "ab\xe2\x82\xac");
    utf8_repair(out, 5, "ab\xe2\x82\xac");
    CHECK_EQ_STR(out, "ab");
    char *dup = utf8_repair_dup("\xff\xfe");
    CHECK(dup != NULL);
    CHECK_EQ_STR(dup, "\xef\xbf\xbd\xef\xbf\xbd");
    free(dup);
}

static const struct check_case cases[] = {
    CASE(jparse_text_should_accept_valid_documents),
    CASE(jparse_text_should_read_only_len_bytes),
    CASE(jparse_text_should_accept_the_deepest_nesting),
    CASE(jparse_text_should_reject_with_exact_errors),
    CASE(jparse_text_should_reject_nesting_past_the_limit),
    CASE(jparse_text_should_reject_every_truncation_of_a_valid_document),
    CASE(jparse_message_should_name_file_line_and_column),
    CASE(jparse_file_should_say_what_is_wrong_with_the_file),
    CASE(jparse_read_file_should_read_a_pipe_up_to_the_cap),
    CASE(utf8_valid_prefix_should_stop_at_the_first_bad_byte),
    CASE(utf8_repair_should_replace_each_bad_byte),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
