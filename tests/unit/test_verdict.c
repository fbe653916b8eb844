/* Unit tests for verdict.c: the memo key holds every input, entries expire, stay bounded. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "ar_verdict.h"

static int released, good = 1;
static int still_good(void *h) { (void)h; return good; }
static void release_hold(void *h) { (void)h; released++; }
static const struct ar_verdict_ops ops = {still_good, release_hold};
static char objs[4];

static void setup(void)
{
    verdict_set_ops(&ops);
    verdict_reset();
    released = 0;
    good = 1;
}

TestSuite(verdict, .init = setup);

static struct ar_verdict_key base(void)
{
    struct ar_verdict_key k;
    memset(&k, 0, sizeof k);
    k.store = &objs[0];
    k.store_objects = 3;
    k.chain[0] = &objs[1];
    k.chain[1] = &objs[2];
    k.chain_len = 2;
    k.flags = 0x8000;
    k.depth = 100;
    k.auth_level = 1;
    k.security_level = 1;
    k.verify_mode = 1;
    verdict_key_text(&k, "localhost");
    verdict_key_text(&k, "|");
    return k;
}

/* Each input changed once: a different key. */
static void change(struct ar_verdict_key *k, int which)
{
    switch (which) {
    case 0: k->store = &objs[3]; break;
    case 1: k->store_objects++; break;
    case 2: k->chain[1] = &objs[3]; break;
    case 3: k->chain_len = 1; break;
    case 4: k->flags |= 1; break;
    case 5: k->inh_flags = 1; break;
    case 6: k->hostflags = 4; break;
    case 7: k->depth = 0; break;
    case 8: k->auth_level = 2; break;
    case 9: k->security_level = 2; break;
    case 10: k->verify_mode = 0; break;
    case 11: k->check_time = 1; break;
    case 12: k->text_len = 0; verdict_key_text(k, "localhosT"); verdict_key_text(k, "|"); break;
    case 13: verdict_key_text(k, "a@example.com"); break;
    case 14: k->text_len = 0; verdict_key_text(k, "local"); verdict_key_text(k, "host|"); break;
    }
}

ParameterizedTestParameters(verdict, each_input_in_key)
{
    static int which[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    return cr_make_param_array(int, which, sizeof which / sizeof which[0]);
}

ParameterizedTest(int *which, verdict, each_input_in_key)
{
    struct ar_verdict_key a = base(), b = base();
    cr_assert(verdict_key_equal(&a, &b));
    change(&b, *which);
    cr_assert_not(verdict_key_equal(&a, &b), "input %d not in the key", *which);
    cr_assert(verdict_add(&a, "h", 100, 1000));
    cr_assert_not(verdict_find(&b, 101), "input %d: remembered pass used", *which);
    cr_assert(verdict_find(&a, 101));
}

Test(verdict, expires_within_max_age_and_before_not_after)
{
    struct ar_verdict_key k = base();
    cr_assert(verdict_add(&k, "h", 100, 1000000));
    cr_assert(verdict_find(&k, 100 + AR_VERDICT_MAX_AGE - 1));
    cr_assert_not(verdict_find(&k, 100 + AR_VERDICT_MAX_AGE));
    cr_assert_eq(released, 1, "the expired entry is dropped");
    cr_assert(verdict_add(&k, "h", 200, 210));
    cr_assert(verdict_find(&k, 209));
    cr_assert_not(verdict_find(&k, 210), "valid only before the earliest notAfter");
    cr_assert_not(verdict_add(&k, "h", 300, 300), "nothing left to remember");
    cr_assert_eq(released, 3);
}

Test(verdict, clock_going_back_misses)
{
    struct ar_verdict_key k = base();
    cr_assert(verdict_add(&k, "h", 100, 1000));
    cr_assert_not(verdict_find(&k, 99));
}

Test(verdict, changed_hold_drops)
{
    struct ar_verdict_key k = base();
    cr_assert(verdict_add(&k, "h", 100, 1000));
    good = 0;
    cr_assert_not(verdict_find(&k, 101));
    good = 1;
    cr_assert_not(verdict_find(&k, 101), "dropped, not just skipped");
    cr_assert_eq(released, 1);
}

Test(verdict, disabled_is_never_used)
{
    struct ar_verdict_key k = base();
    cr_assert(verdict_add(&k, "h", 100, 1000));
    cr_assert(verdict_enabled());
    verdict_disable();
    cr_assert_not(verdict_enabled());
    cr_assert_not(verdict_find(&k, 101));
    cr_assert_not(verdict_add(&k, "h2", 100, 1000));
    cr_assert_eq(released, 1, "a hold refused is released");
}

Test(verdict, bounded)
{
    struct ar_verdict_key k = base();
    for (int i = 0; i < AR_VERDICT_SLOTS + 5; i++) {
        k.store_objects = i;
        cr_assert(verdict_add(&k, "h", 100, 1000));
    }
    cr_assert_eq(verdict_count(), AR_VERDICT_SLOTS);
    cr_assert_eq(released, 5);
    k.store_objects = 0;
    cr_assert_not(verdict_find(&k, 101), "the oldest went first");
    k.store_objects = AR_VERDICT_SLOTS + 4;
    cr_assert(verdict_find(&k, 101));
}

Test(verdict, same_key_refreshes_one_entry)
{
    struct ar_verdict_key k = base();
    cr_assert(verdict_add(&k, "h", 100, 1000));
    cr_assert(verdict_add(&k, "h", 150, 1000));
    cr_assert_eq(verdict_count(), 1);
    cr_assert_eq(released, 1);
    cr_assert(verdict_find(&k, 150 + AR_VERDICT_MAX_AGE - 1));
}

Test(verdict, text_overflow_refused)
{
    struct ar_verdict_key k;
    char big[AR_VERDICT_TEXT_MAX];
    memset(&k, 0, sizeof k);
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(verdict_key_text(&k, big), 0);
    cr_assert_eq(verdict_key_text(&k, ""), -1);
    cr_assert_eq(k.text_len, AR_VERDICT_TEXT_MAX);
}
