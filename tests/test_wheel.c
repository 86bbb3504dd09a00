/* The timing wheel: due order, batches, far deadlines, removal. */
#include <string.h>

#include "check.h"
#include "wheel.h"

#define MS 1000000ull

static size_t chain_len(struct wheel_node *n)
{
    size_t k = 0;
    for (; n; n = n->next)
        k++;
    return k;
}

static void wheel_should_expire_only_what_is_due(void)
{
    static struct wheel w;
    struct wheel_node a = {0}, b = {0}, c = {0};
    wheel_init(&w, 1000 * MS);
    wheel_add(&w, &a, 1000 * MS + 500000); /* 0.5 ms later */
    wheel_add(&w, &b, 1002 * MS);
    wheel_add(&w, &c, 1010 * MS);
    int more;
    CHECK(wheel_expire(&w, 1000 * MS + 400000, 100, &more) == NULL);
    struct wheel_node *n = wheel_expire(&w, 1000 * MS + 600000, 100, &more);
    CHECK(n == &a && n->next == NULL && !more);
    n = wheel_expire(&w, 1005 * MS, 100, &more);
    CHECK(n == &b && n->next == NULL);
    CHECK_EQ_INT(w.count, 1);
    n = wheel_expire(&w, 1010 * MS, 100, &more);
    CHECK(n == &c);
    CHECK_EQ_INT(w.count, 0);
}

static void wheel_should_hand_out_a_backlog_in_bounded_batches(void)
{
    static struct wheel w;
    static struct wheel_node nodes[1000];
    memset(nodes, 0, sizeof nodes);
    wheel_init(&w, 0);
    for (int i = 0; i < 1000; i++)
        wheel_add(&w, &nodes[i], (uint64_t)(i % 7) * MS);
    size_t total = 0, calls = 0;
    int more = 1;
    while (more && calls < 100) {
        size_t k = chain_len(wheel_expire(&w, 10 * MS, 256, &more));
        CHECK(k <= 256);
        total += k;
        calls++;
    }
    CHECK_EQ_INT(total, 1000);
    CHECK_EQ_INT(calls, 4);
    CHECK_EQ_INT(w.count, 0);
}

static void wheel_should_keep_deadlines_beyond_one_revolution(void)
{
    static struct wheel w;
    struct wheel_node far = {0}, near = {0};
    wheel_init(&w, 0);
    wheel_add(&w, &far, (WHEEL_SLOTS + 5) * MS); /* same slot as 5 ms, a round later */
    wheel_add(&w, &near, 5 * MS);
    int more;
    struct wheel_node *n = wheel_expire(&w, 6 * MS, 10, &more);
    CHECK(n == &near && n->next == NULL);
    for (uint64_t t = 7; t < WHEEL_SLOTS + 5; t += 100)
        CHECK(wheel_expire(&w, t * MS, 10, &more) == NULL);
    n = wheel_expire(&w, (WHEEL_SLOTS + 5) * MS, 10, &more);
    CHECK(n == &far);
}

static void wheel_should_take_a_past_deadline_at_the_next_expiry(void)
{
    static struct wheel w;
    struct wheel_node late = {0};
    wheel_init(&w, 100 * MS);
    int more;
    CHECK(wheel_expire(&w, 200 * MS, 10, &more) == NULL);
    wheel_add(&w, &late, 50 * MS); /* before the cursor */
    CHECK(wheel_expire(&w, 200 * MS, 10, &more) == &late);
}

static void wheel_should_forget_a_removed_node(void)
{
    static struct wheel w;
    struct wheel_node a = {0};
    wheel_init(&w, 0);
    wheel_add(&w, &a, 3 * MS);
    wheel_remove(&w, &a);
    wheel_remove(&w, &a); /* twice is fine */
    int more;
    CHECK(wheel_expire(&w, 10 * MS, 10, &more) == NULL);
    CHECK_EQ_INT(w.count, 0);
    CHECK_EQ_INT(a.armed, 0);
}

static void wheel_should_name_the_earliest_due_time(void)
{
    static struct wheel w;
    struct wheel_node a = {0}, b = {0}, c = {0};
    wheel_init(&w, 1000 * MS);
    CHECK(wheel_next_due(&w) == UINT64_MAX);
    wheel_add(&w, &a, 1250 * MS + 300000);
    wheel_add(&w, &b, 1040 * MS + 700000);
    wheel_add(&w, &c, 1040 * MS + 200000); /* same slot as b, earlier in it */
    CHECK(wheel_next_due(&w) == 1040 * MS + 200000);
    wheel_remove(&w, &c);
    CHECK(wheel_next_due(&w) == 1040 * MS + 700000);
    int more;
    CHECK(wheel_expire(&w, 1041 * MS, 10, &more) == &b);
    CHECK(wheel_next_due(&w) == 1250 * MS + 300000);
    wheel_remove(&w, &a);
    CHECK(wheel_next_due(&w) == UINT64_MAX);
}

static void wheel_should_name_a_due_time_beyond_one_revolution(void)
{
    static struct wheel w;
    struct wheel_node far = {0}, farther = {0};
    wheel_init(&w, 0);
    /* both a round or more ahead: no slot holds this round's node, the earliest still wins */
    wheel_add(&w, &farther, (3 * WHEEL_SLOTS + 2) * MS);
    wheel_add(&w, &far, (WHEEL_SLOTS + 9) * MS + 5);
    CHECK(wheel_next_due(&w) == (WHEEL_SLOTS + 9) * MS + 5);
    /* a node due this round in a later slot beats an earlier slot's node of a later round */
    struct wheel_node near = {0};
    wheel_add(&w, &near, 600 * MS);
    CHECK(wheel_next_due(&w) == 600 * MS);
}

static void wheel_should_name_a_past_due_node_first(void)
{
    static struct wheel w;
    struct wheel_node late = {0}, soon = {0};
    wheel_init(&w, 100 * MS);
    int more;
    CHECK(wheel_expire(&w, 200 * MS, 10, &more) == NULL);
    wheel_add(&w, &soon, 200 * MS + 400000);
    wheel_add(&w, &late, 50 * MS); /* parked at the cursor */
    CHECK(wheel_next_due(&w) == 50 * MS);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(wheel_should_expire_only_what_is_due),
        CASE(wheel_should_hand_out_a_backlog_in_bounded_batches),
        CASE(wheel_should_keep_deadlines_beyond_one_revolution),
        CASE(wheel_should_take_a_past_deadline_at_the_next_expiry),
        CASE(wheel_should_forget_a_removed_node),
        CASE(wheel_should_name_the_earliest_due_time),
        CASE(wheel_should_name_a_due_time_beyond_one_revolution),
        CASE(wheel_should_name_a_past_due_node_first),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
