/* The token scanner: counts, split points, gaps, duplicates, reordering, framing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scanner.h"

static const char *const framings[] = {
    /* SSE as mockprov sends it */
    "data: {\"choices\":[{\"delta\":{\"content\":\" tok0\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" tok1\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" tok2\"}}]}\n\ndata: [DONE]\n\n",
    /* NDJSON re-wrapped by a gateway */
    "{\"text\":\" tok0\"}\n{\"text\":\" tok1\"}\n{\"text\":\" tok2\"}\n",
    /* raw text */
    " tok0 tok1 tok2",
    /* tokens run together, and a decoy "tok" without digits, and "ttok" */
    "tok0tok1 token ttok2",
    /* Gemini: a text part, then a functionCall part whose args carry the rest whole */
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" tok0\"}]}}]}\n\n"
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":"
    "\"tailgate_lookup\",\"args\":{\"query\":\" tok1 tok2\"}}}]}}]}\n\n",
};

static void scanner_should_count_tokens_in_every_framing(void)
{
    for (size_t f = 0; f < sizeof framings / sizeof framings[0]; f++) {
        struct scanner s;
        scanner_init(&s);
        uint64_t n = scanner_feed(&s, framings[f], strlen(framings[f]));
        n += scanner_finish(&s);
        uint64_t tokens = s.tokens, gaps = s.gaps, next = s.next;
        scanner_cleanup(&s);
        CHECK_EQ_INT(n, 3);
        CHECK_EQ_INT(tokens, 3);
        CHECK_EQ_INT(gaps, 0);
        CHECK_EQ_INT(next, 3);
    }
}

static void scanner_should_give_the_same_counts_at_every_split_point(void)
{
    for (size_t f = 0; f < sizeof framings / sizeof framings[0]; f++) {
        const char *in = framings[f];
        size_t len = strlen(in);
        for (size_t cut = 0; cut <= len; cut++) {
            for (size_t cut2 = cut; cut2 <= len; cut2 += 7) {
                struct scanner s;
                scanner_init(&s);
                scanner_feed(&s, in, cut);
                scanner_feed(&s, in + cut, cut2 - cut);
                scanner_feed(&s, in + cut2, len - cut2);
                scanner_finish(&s);
                uint64_t tokens = s.tokens, last = (uint64_t)s.last;
                scanner_cleanup(&s);
                CHECK_EQ_INT(tokens, 3);
                CHECK_EQ_INT(last, 2);
            }
        }
    }
}

static void scanner_should_count_gaps_duplicates_and_reorders(void)
{
    struct {
        const char *in;
        uint64_t tokens, gaps, dups, reorders;
    } rows[] = {
        {" tok0 tok1 tok2 tok3 ", 4, 0, 0, 0},
        {" tok0 tok2 tok3 ", 3, 1, 0, 0},     /* tok1 never came */
        {" tok0 tok5 ", 2, 4, 0, 0},          /* four missing */
        {" tok0 tok1 tok1 tok2 ", 4, 0, 1, 0}, /* a duplicate */
        {" tok0 tok2 tok1 tok3 ", 4, 0, 0, 1}, /* tok1 late: a reorder, not a gap */
        {" tok1 tok0 ", 2, 0, 0, 1},
        {" tok12345 ", 1, 12345, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct scanner s;
        scanner_init(&s);
        scanner_feed(&s, rows[i].in, strlen(rows[i].in));
        scanner_finish(&s);
        uint64_t t = s.tokens, g = s.gaps, d = s.dups, r = s.reorders;
        scanner_cleanup(&s);
        if (t != rows[i].tokens || g != rows[i].gaps || d != rows[i].dups || r != rows[i].reorders)
            fprintf(stderr, "  row %zu '%s': %llu %llu %llu %llu\n", i, rows[i].in,
                    (unsigned long long)t, (unsigned long long)g, (unsigned long long)d,
                    (unsigned long long)r);
        CHECK_EQ_INT(t, rows[i].tokens);
        CHECK_EQ_INT(g, rows[i].gaps);
        CHECK_EQ_INT(d, rows[i].dups);
        CHECK_EQ_INT(r, rows[i].reorders);
    }
}

static void scanner_should_complete_a_token_at_the_end_only_on_finish(void)
{
    struct scanner s;
    scanner_init(&s);
    uint64_t a = scanner_feed(&s, " tok4", 5);
    uint64_t b = scanner_feed(&s, "2", 1); /* still the same token: tok42 */
    uint64_t c = scanner_finish(&s);
    int64_t last = s.last;
    scanner_cleanup(&s);
    CHECK_EQ_INT(a, 0);
    CHECK_EQ_INT(b, 0);
    CHECK_EQ_INT(c, 1);
    CHECK_EQ_INT(last, 42);
}

static void scanner_should_find_the_offset_of_the_kth_token(void)
{
    const char *in = "xx tok0\"yy tok1\" tok2";
    struct scanner s;
    scanner_init(&s);
    size_t o0 = scanner_offset_of(&s, in, strlen(in), 0);
    size_t o1 = scanner_offset_of(&s, in, strlen(in), 1);
    size_t o2 = scanner_offset_of(&s, in, strlen(in), 2);
    size_t o3 = scanner_offset_of(&s, in, strlen(in), 3); /* tok2 ends with the buffer */
    /* state carries over: after feeding " tok", "7 " completes at offset 2 */
    scanner_feed(&s, " tok", 4);
    size_t carry = scanner_offset_of(&s, "7 ", 2, 1);
    uint64_t tokens = s.tokens;
    scanner_cleanup(&s);
    CHECK_EQ_INT(o0, 0);
    CHECK_EQ_INT(o1, 8);  /* through the '"' after tok0 */
    CHECK_EQ_INT(o2, 16); /* through the '"' after tok1 */
    CHECK_EQ_INT(o3, strlen(in) + 1);
    CHECK_EQ_INT(carry, 2);
    CHECK_EQ_INT(tokens, 0); /* offset_of never changes the scanner */
}

static const char *const openai_end[] = {"[DONE]"};
static const char *const responses_end[] = {"response.completed", "response.incomplete"};
static const char *const anthropic_end[] = {"message_stop"};
/* 64 bytes: the longest marker there is room for */
static const char *const long_end[] = {
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF"};

static const struct {
    const char *in;
    const char *const *markers;
    size_t nmarkers;
    int seen;
} marker_rows[] = {
    {"data: {\"choices\":[{\"delta\":{\"content\":\" tok0\"}}]}\n\ndata: [DONE]\n\n", openai_end,
     1, 1},
    {"data: {\"choices\":[{\"delta\":{\"content\":\" tok0\"}}]}\n\n", openai_end, 1, 0},
    {"data: [DONE", openai_end, 1, 0}, /* cut one byte short */
    {"event: response.output_text.delta\ndata: {\"delta\":\" tok0\"}\n\n"
     "event: response.completed\ndata: {}\n\n",
     responses_end, 2, 1},
    {"event: response.incomplete\ndata: {}\n\n", responses_end, 2, 1},
    {"event: response.created\ndata: {}\n\nevent: response.in_progress\n\n", responses_end, 2,
     0},
    {"event: content_block_stop\ndata: {}\n\nevent: message_stop\ndata: "
     "{\"type\":\"message_stop\"}\n\n",
     anthropic_end, 1, 1},
    {"event: message_delta\ndata: {}\n\n", anthropic_end, 1, 0},
    {"xx0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeFyy", long_end, 1, 1},
    {"xx0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefyy", long_end, 1, 0},
};

static int marker_seen_split(size_t row, size_t cut, size_t cut2)
{
    const char *in = marker_rows[row].in;
    size_t len = strlen(in);
    struct scanner s;
    scanner_init(&s);
    scanner_watch(&s, marker_rows[row].markers, marker_rows[row].nmarkers);
    scanner_feed(&s, in, cut);
    scanner_feed(&s, in + cut, cut2 - cut);
    scanner_feed(&s, in + cut2, len - cut2);
    int seen = s.marker_seen;
    scanner_cleanup(&s);
    return seen;
}

static void scanner_should_see_a_terminal_marker_split_at_every_byte(void)
{
    for (size_t r = 0; r < sizeof marker_rows / sizeof marker_rows[0]; r++) {
        size_t len = strlen(marker_rows[r].in);
        for (size_t cut = 0; cut <= len; cut++) {
            for (size_t cut2 = cut; cut2 <= len; cut2++) {
                int seen = marker_seen_split(r, cut, cut2);
                if (seen != marker_rows[r].seen)
                    fprintf(stderr, "  row %zu cut %zu,%zu: seen %d\n", r, cut, cut2, seen);
                CHECK_EQ_INT(seen, marker_rows[r].seen);
            }
        }
        /* a byte at a time: the tail carries the whole marker but its last byte */
        struct scanner s;
        scanner_init(&s);
        scanner_watch(&s, marker_rows[r].markers, marker_rows[r].nmarkers);
        for (size_t i = 0; i < len; i++)
            scanner_feed(&s, marker_rows[r].in + i, 1);
        int seen = s.marker_seen;
        scanner_cleanup(&s);
        CHECK_EQ_INT(seen, marker_rows[r].seen);
    }
}

static void scanner_should_not_watch_without_markers_and_reject_bad_ones(void)
{
    struct scanner s;
    scanner_init(&s);
    scanner_feed(&s, "data: [DONE]\n\n", 14);
    int unwatched = s.marker_seen;
    static const char *const empty[] = {""};
    static const char *const too_long[] = {
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX"};
    static const char *const three[] = {"a", "b", "c"};
    int e = scanner_watch(&s, empty, 1);
    int l = scanner_watch(&s, too_long, 1);
    int t = scanner_watch(&s, three, 3);
    size_t n = s.nmarkers;
    scanner_cleanup(&s);
    CHECK_EQ_INT(unwatched, 0);
    CHECK_EQ_INT(e, -1);
    CHECK_EQ_INT(l, -1);
    CHECK_EQ_INT(t, -1);
    CHECK_EQ_INT(n, 0);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(scanner_should_count_tokens_in_every_framing),
        CASE(scanner_should_give_the_same_counts_at_every_split_point),
        CASE(scanner_should_count_gaps_duplicates_and_reorders),
        CASE(scanner_should_complete_a_token_at_the_end_only_on_finish),
        CASE(scanner_should_find_the_offset_of_the_kth_token),
        CASE(scanner_should_see_a_terminal_marker_split_at_every_byte),
        CASE(scanner_should_not_watch_without_markers_and_reject_bad_ones),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
