/* Tests for mockprov/holes and common/decimal: a token template's holes filled with exact
 * bytes, the buffer boundary, and decimal digits at their edges. */
#include <stdint.h>
#include <string.h>

#include "decimal.h"
#include "check.h"
#include "holes.h"

static void decimal_should_write_digits_without_terminator(void)
{
    static const struct {
        uint64_t v;
        const char *s;
    } rows[] = {{0, "0"}, {9, "9"}, {10, "10"}, {1000000, "1000000"},
                {UINT64_MAX, "18446744073709551615"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[DECIMAL_U64_MAX + 1];
        memset(out, 'x', sizeof out);
        size_t n = decimal_u64(rows[i].v, out);
        CHECK_EQ_INT(n, strlen(rows[i].s));
        CHECK_EQ_INT(out[n], 'x');
        out[n] = '\0';
        CHECK_EQ_STR(out, rows[i].s);
    }
}

static void holes_should_fill_every_hole_in_place(void)
{
    const char tmpl[] = "{\"n\":\x01,\"t\":\"\x02\",\"c\":\x03,\"a\":\x04}\x03";
    struct holes h = {7, " tok6", 7, 19};
    char buf[128];
    int n = holes_fill(tmpl, &h, buf, sizeof buf);
    CHECK_EQ_STR(buf, "{\"n\":7,\"t\":\" tok6\",\"c\":7,\"a\":19}7");
    CHECK_EQ_INT(n, strlen(buf));
}

static void holes_should_print_negative_sequence_numbers(void)
{
    struct holes h = {INT64_MIN, "", 0, UINT64_MAX};
    char buf[64];
    CHECK_EQ_INT(holes_fill("\x01|\x04", &h, buf, sizeof buf), 41);
    CHECK_EQ_STR(buf, "-9223372036854775808|18446744073709551615");
}

static void holes_should_fail_when_buffer_too_small(void)
{
    struct holes h = {12, "ab", 3, 4};
    char buf[16];
    /* "x12ab3" is 6 bytes: it needs 7 with the terminator */
    CHECK_EQ_INT(holes_fill("x\x01\x02\x03", &h, buf, 7), 6);
    CHECK_EQ_STR(buf, "x12ab3");
    CHECK_EQ_INT(holes_fill("x\x01\x02\x03", &h, buf, 6), -1);
    CHECK_EQ_INT(holes_fill("x\x01\x02\x03", &h, buf, 3), -1);
    CHECK_EQ_INT(holes_fill("abc", &h, buf, 3), -1);
    CHECK_EQ_INT(holes_fill("", &h, buf, 1), 0);
    CHECK_EQ_STR(buf, "");
    CHECK_EQ_INT(holes_fill("", &h, buf, 0), -1);
}

static const struct check_case cases[] = {
    CASE(decimal_should_write_digits_without_terminator),
    CASE(holes_should_fill_every_hole_in_place),
    CASE(holes_should_print_negative_sequence_numbers),
    CASE(holes_should_fail_when_buffer_too_small),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
