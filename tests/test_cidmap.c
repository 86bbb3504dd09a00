/* Tests for runner/cidmap: every id finds its own number among many alike, a replaced value,
 * the entry limit, and ids it never had. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cidmap.h"

#define N 5000

static char ids[N][32];

static void cidmap_should_find_each_of_many_similar_ids(void)
{
    struct cidmap m;
    CHECK_EQ_INT(cidmap_init(&m, N), 0);
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "scenario-tab-close-%zu", i);
        CHECK_EQ_INT(cidmap_put(&m, ids[i], i * 3), 0);
    }
    size_t wrong = 0;
    for (size_t i = 0; i < N; i++) {
        char probe[32]; /* another copy: the map compares the text, not the pointer */
        snprintf(probe, sizeof probe, "scenario-tab-close-%zu", i);
        wrong += cidmap_get(&m, probe) != i * 3;
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(m.n, N);
    CHECK(cidmap_get(&m, "scenario-tab-close-5000") == CIDMAP_NONE);
    CHECK(cidmap_get(&m, "scenario-tab-close-") == CIDMAP_NONE);
    CHECK(cidmap_get(&m, "") == CIDMAP_NONE);
    CHECK(cidmap_get(&m, NULL) == CIDMAP_NONE);
    cidmap_free(&m);
}

static void cidmap_should_replace_a_value_without_a_new_entry(void)
{
    struct cidmap m;
    CHECK_EQ_INT(cidmap_init(&m, 2), 0);
    CHECK_EQ_INT(cidmap_put(&m, "a", 1), 0);
    CHECK_EQ_INT(cidmap_put(&m, "a", 7), 0);
    CHECK_EQ_INT(m.n, 1);
    CHECK_EQ_INT(cidmap_get(&m, "a"), 7);
    cidmap_free(&m);
}

static void cidmap_should_refuse_an_entry_past_its_limit(void)
{
    struct cidmap m;
    CHECK_EQ_INT(cidmap_init(&m, 2), 0);
    CHECK_EQ_INT(cidmap_put(&m, "a", 0), 0);
    CHECK_EQ_INT(cidmap_put(&m, "b", 1), 0);
    CHECK_EQ_INT(cidmap_put(&m, "c", 2), -1);
    CHECK_EQ_INT(cidmap_put(&m, "b", 5), 0); /* an id it has is still replaced */
    CHECK(cidmap_get(&m, "c") == CIDMAP_NONE);
    CHECK_EQ_INT(cidmap_get(&m, "b"), 5);
    CHECK_EQ_INT(cidmap_put(&m, NULL, 0), -1);
    cidmap_free(&m);
}

static void cidmap_should_take_none_when_made_for_none(void)
{
    struct cidmap m;
    CHECK_EQ_INT(cidmap_init(&m, 0), 0);
    CHECK_EQ_INT(cidmap_put(&m, "a", 0), -1);
    CHECK(cidmap_get(&m, "a") == CIDMAP_NONE);
    cidmap_free(&m);
    cidmap_free(&m); /* twice is harmless */
}

static const struct check_case cases[] = {
    CASE(cidmap_should_find_each_of_many_similar_ids),
    CASE(cidmap_should_replace_a_value_without_a_new_entry),
    CASE(cidmap_should_refuse_an_entry_past_its_limit),
    CASE(cidmap_should_take_none_when_made_for_none),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
