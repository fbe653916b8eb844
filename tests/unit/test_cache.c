/* Unit tests for cache.c: single use, expiry, replacement, LRU, fork. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_cache.h"

static struct ar_cache *c;

static void setup(void) { c = cache_new(3, 2); cr_assert_not_null(c); }
static void teardown(void) { cache_free(c); }

TestSuite(cache, .init = setup, .fini = teardown);

static struct ar_session mk(const char *tag, int single_use, int64_t expires)
{
    struct ar_session s = {0};
    s.der.len = strlen(tag) + 1;
    s.der.data = (unsigned char *)strdup(tag);
    s.chain.len = 3;
    s.chain.data = (unsigned char *)strdup("ch");
    s.born = 0;
    s.expires = expires;
    s.single_use = single_use;
    return s;
}

static int take(const char *key, int64_t now, char *tag_out)
{
    struct ar_session s;
    int rc = cache_take(c, key, now, &s);
    if (rc == 1) {
        strcpy(tag_out, (const char *)s.der.data);
        cr_assert_eq(s.chain.len, 3);
        session_clear(&s);
    }
    return rc;
}

Test(cache, empty_miss)
{
    char t[32];
    cr_assert_eq(take("k", 0, t), 0);
}

Test(cache, ticket_single_use_newest_first)
{
    char t[32];
    struct ar_session a = mk("a", 1, 1000), b = mk("b", 1, 1000);
    cr_assert_eq(cache_put(c, "k", &a, 0), 0);
    cr_assert_eq(cache_put(c, "k", &b, 0), 0);
    cr_assert_null(a.der.data, "ownership moved");
    cr_assert_eq(take("k", 1, t), 1);
    cr_assert_str_eq(t, "b");
    cr_assert_eq(take("k", 1, t), 1);
    cr_assert_str_eq(t, "a");
    cr_assert_eq(take("k", 1, t), 0, "each ticket handed out once");
}

Test(cache, tickets_capped_per_key_oldest_dropped)
{
    char t[32];
    struct ar_session a = mk("a", 1, 1000), b = mk("b", 1, 1000), d = mk("d", 1, 1000);
    cache_put(c, "k", &a, 0);
    cache_put(c, "k", &b, 0);
    cache_put(c, "k", &d, 0);
    size_t n;
    cache_count(c, &n);
    cr_assert_eq(n, 2);
    take("k", 1, t);
    cr_assert_str_eq(t, "d");
    take("k", 1, t);
    cr_assert_str_eq(t, "b");
}

Test(cache, reusable_session_stays_and_is_replaced)
{
    char t[32];
    struct ar_session a = mk("a", 0, 1000), b = mk("b", 0, 1000);
    cache_put(c, "k", &a, 0);
    cr_assert_eq(take("k", 1, t), 1);
    cr_assert_eq(take("k", 1, t), 1, "TLS 1.2 sessions may be reused");
    cache_put(c, "k", &b, 0);
    size_t n;
    cache_count(c, &n);
    cr_assert_eq(n, 1, "newer reusable session replaces the older");
    take("k", 1, t);
    cr_assert_str_eq(t, "b");
}

Test(cache, expired_never_offered_and_removed)
{
    char t[32];
    struct ar_session a = mk("a", 0, 50);
    cr_assert_eq(cache_put(c, "k", &a, 60), -1, "already expired is refused");
    struct ar_session b = mk("b", 0, 50);
    cr_assert_eq(cache_put(c, "k", &b, 10), 0);
    cr_assert_eq(take("k", 50, t), 0, "expiry is exclusive");
    cr_assert_eq(cache_count(c, NULL), 0, "expired entry removed");
}

Test(cache, drop_forgets_key)
{
    char t[32];
    struct ar_session a = mk("a", 1, 1000), b = mk("b", 1, 1000);
    cache_put(c, "k", &a, 0);
    cache_put(c, "k", &b, 0);
    cache_drop(c, "k");
    cr_assert_eq(take("k", 1, t), 0);
    cache_drop(c, "absent");
}

Test(cache, lru_evicts_least_recently_used_key)
{
    char t[32];
    const char *keys[] = {"k1", "k2", "k3"};
    for (int i = 0; i < 3; i++) {
        struct ar_session s = mk(keys[i], 0, 1000);
        cache_put(c, keys[i], &s, 0);
    }
    cr_assert_eq(take("k1", 1, t), 1); /* k1 now most recent: k2 is the LRU */
    struct ar_session s = mk("k4", 0, 1000);
    cache_put(c, "k4", &s, 0);
    cr_assert_eq(cache_count(c, NULL), 3);
    cr_assert_eq(take("k2", 1, t), 0, "k2 evicted");
    cr_assert_eq(take("k1", 1, t), 1);
    cr_assert_eq(take("k3", 1, t), 1);
    cr_assert_eq(take("k4", 1, t), 1);
}

Test(cache, fork_child_drops_tickets_keeps_sessions)
{
    char t[32];
    struct ar_session a = mk("tls13", 1, 1000), b = mk("tls12", 0, 1000);
    cache_put(c, "k13", &a, 0);
    cache_put(c, "k12", &b, 0);
    cache_fork_prepare(c);
    cache_fork_child(c);
    cr_assert_eq(take("k13", 1, t), 0);
    cr_assert_eq(take("k12", 1, t), 1);
}

/* Counting native ops: what the OpenSSL glue's would free (SSL_SESSION_free). */
static int native_unrefs;
static void *count_ref(void *p) { return p; }
static void count_unref(void *p) { (void)p; native_unrefs++; }

/* The child handler runs inside fork(), where OpenSSL's locks may be held by
 * a thread the child does not have: it must not free parsed sessions. */
Test(cache, fork_child_frees_no_native)
{
    static const struct ar_native_ops ops = {count_ref, count_unref, NULL};
    static int obj;
    char t[32];
    cache_set_native_ops(&ops);
    struct ar_session a = mk("tls13", 1, 1000);
    a.native = &obj;
    cache_put(c, "k13", &a, 0);
    native_unrefs = 0;
    cache_fork_prepare(c);
    cache_fork_child(c);
    cr_assert_eq(native_unrefs, 0, "the child's fork handler freed a parsed session");
    cr_assert_eq(take("k13", 1, t), 0, "the ticket is forgotten all the same");
    cache_set_native_ops(NULL);
}

Test(cache, session_without_data_refused)
{
    struct ar_session s = {0};
    s.expires = 1000;
    cr_assert_eq(cache_put(c, "k", &s, 0), -1);
}

static void *hammer(void *arg)
{
    char key[16], t[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", (i + (int)(long)arg) % 5);
        struct ar_session s = mk(key, i & 1, 1000);
        cache_put(c, key, &s, 0);
        take(key, 1, t);
        if (i % 97 == 0)
            cache_drop(c, key);
    }
    return NULL;
}

Test(cache, threads_do_not_corrupt)
{
    pthread_t th[8];
    for (long i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, hammer, (void *)i);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    cr_assert_leq(cache_count(c, NULL), 3);
}

Test(cache, session_from_the_future_is_not_offered)
{
    char t[32];
    struct ar_session s = mk("later", 0, 100000);
    s.born = 5000; /* won "after" now: the clock moved back since */
    cr_assert_eq(cache_put(c, "k", &s, 1000), 0);
    cr_assert_eq(take("k", 1000, t), 0);
    struct ar_session ok = mk("soon", 0, 100000);
    ok.born = 1030; /* within the slack for clocks of other processes */
    cache_put(c, "k", &ok, 1000);
    cr_assert_eq(take("k", 1000, t), 1);
}

/* The lifetime caps hold on every read, whatever expiry a session carries. */
Test(cache, lifetime_caps_applied_on_read)
{
    char t[32];
    struct ar_session s12 = mk("s12", 0, 90L * 24 * 3600), s13 = mk("s13", 1, 90L * 24 * 3600);
    s12.version = 0x0303;
    s13.version = 0x0304;
    cr_assert_eq(cache_put(c, "k12", &s12, 0), 0);
    cr_assert_eq(cache_put(c, "k13", &s13, 0), 0);
    cr_assert_eq(take("k12", 24L * 3600, t), 0, "TLS 1.2: 24 h from the full handshake");
    cr_assert_eq(take("k13", 7L * 24 * 3600, t), 0, "TLS 1.3: 7 days from the full handshake");
    struct ar_session again = mk("s13b", 1, 90L * 24 * 3600);
    again.version = 0x0304;
    cr_assert_eq(cache_put(c, "k13", &again, 0), 0);
    cr_assert_eq(take("k13", 6L * 24 * 3600, t), 1, "within the cap it is offered");
}

/* Tickets kept in the process: the oldest beyond per_key spills (for the
 * store) instead of being dropped; drain hands every ticket out once. */
Test(cache, keep_ticket_spills_oldest)
{
    struct ar_session s = mk("t1", 1, 100), spilled;
    cr_assert_eq(cache_keep_ticket(c, "k", "host:1", &s, 10, 2, &spilled), 0);
    cr_assert_eq(spilled.der.len, 0);
    s = mk("t2", 1, 100);
    cr_assert_eq(cache_keep_ticket(c, "k", "host:1", &s, 10, 2, &spilled), 0);
    cr_assert_eq(spilled.der.len, 0);
    s = mk("t3", 1, 100);
    cr_assert_eq(cache_keep_ticket(c, "k", "host:1", &s, 10, 2, &spilled), 0);
    cr_assert_str_eq((const char *)spilled.der.data, "t1", "the oldest goes out");
    session_clear(&spilled);
    char tag[8];
    cr_assert_eq(take("k", 10, tag), 1);
    cr_assert_str_eq(tag, "t3");
}

Test(cache, keep_ticket_share_one)
{
    struct ar_session s = mk("s1", 0, 100), spilled;
    cr_assert_eq(cache_put(c, "k", &s, 10), 0);
    s = mk("t1", 1, 100);
    cr_assert_eq(cache_keep_ticket(c, "k", "host:1", &s, 10, 1, &spilled), 0);
    cr_assert_eq(spilled.der.len, 0);
    s = mk("t2", 1, 100);
    cr_assert_eq(cache_keep_ticket(c, "k", "host:1", &s, 10, 1, &spilled), 0);
    cr_assert_str_eq((const char *)spilled.der.data, "t1", "the older ticket, not the session");
    session_clear(&spilled);
    char tag[8];
    cr_assert_eq(take("k", 10, tag), 1);
    cr_assert_str_eq(tag, "t2");
    cr_assert_eq(take("k", 10, tag), 1);
    cr_assert_str_eq(tag, "s1", "the reusable session stayed");
}

static int drained;
static void count_drained(const char *key, const char *label, struct ar_session *s, void *arg)
{
    (void)arg;
    cr_assert_str_eq(key, "k");
    cr_assert_str_eq(label, "host:1");
    cr_assert(s->single_use);
    drained++;
}

Test(cache, drain_tickets_once)
{
    struct ar_session s = mk("t1", 1, 100), spilled;
    cr_assert_eq(cache_keep_ticket(c, "k", "host:1", &s, 10, 2, &spilled), 0);
    s = mk("s1", 0, 100);
    cr_assert_eq(cache_put(c, "r", &s, 10), 0);
    drained = 0;
    cr_assert_eq(cache_drain_tickets(c, count_drained, NULL), 1);
    cr_assert_eq(drained, 1);
    cr_assert_eq(cache_drain_tickets(c, count_drained, NULL), 0, "single use: handed out once");
    char tag[8];
    cr_assert_eq(take("k", 10, tag), 0);
    cr_assert_eq(take("r", 10, tag), 1, "reusable sessions stay");
}

/* A session kept as its native form only (the OpenSSL glue's capture): the
 * bytes are made by the encode op, only when asked. */
static int encodes, encode_fails, last_final;
static int fake_encode(void *p, struct ar_blob *out, int final)
{
    encodes++;
    last_final = final;
    out->data = NULL;
    out->len = 0;
    if (encode_fails)
        return -1;
    const char *tag = p;
    out->len = strlen(tag) + 1;
    out->data = (unsigned char *)strdup(tag);
    return 0;
}

static struct ar_session mk_native(char *tag, int single_use, int64_t expires)
{
    struct ar_session s = mk("unused", single_use, expires);
    free(s.der.data);
    s.der.data = NULL;
    s.der.len = 0;
    s.native = tag;
    return s;
}

Test(cache, native_only_session_kept_and_encoded_on_demand)
{
    static const struct ar_native_ops ops = {count_ref, count_unref, fake_encode};
    static char tag[] = "native13";
    cache_set_native_ops(&ops);
    encodes = encode_fails = 0;
    struct ar_session a = mk_native(tag, 1, 1000);
    cr_assert(session_present(&a));
    cr_assert_eq(cache_put(c, "k13", &a, 0), 0, "a native-only ticket is kept");
    struct ar_session s;
    cr_assert_eq(cache_take(c, "k13", 1, &s), 1);
    cr_assert_eq(s.native, tag);
    cr_assert_eq(s.der.len, 0);
    cr_assert_eq(encodes, 0, "the table never encodes by itself");
    cr_assert_eq(session_encode(&s, 0), 0);
    cr_assert_eq(encodes, 1);
    cr_assert_eq(last_final, 0);
    cr_assert_str_eq((const char *)s.der.data, "native13");
    cr_assert_eq(session_encode(&s, 1), 0, "bytes present: nothing to do");
    cr_assert_eq(encodes, 1);
    session_clear(&s);
    cr_assert_eq(cache_take(c, "k13", 1, &s), 0, "single use all the same");
    cache_set_native_ops(NULL);
}

Test(cache, native_only_keep_ticket_and_spill)
{
    static const struct ar_native_ops ops = {count_ref, count_unref, fake_encode};
    static char t1[] = "first", t2[] = "second";
    cache_set_native_ops(&ops);
    encodes = encode_fails = 0;
    struct ar_session a = mk_native(t1, 1, 1000), b = mk_native(t2, 1, 1000), spilled;
    cr_assert_eq(cache_keep_ticket(c, "k", "h:443", &a, 0, 1, &spilled), 0);
    cr_assert_not(session_present(&spilled));
    cr_assert_eq(cache_keep_ticket(c, "k", "h:443", &b, 0, 1, &spilled), 0);
    cr_assert(session_present(&spilled), "the older ticket is spilled, native form and all");
    cr_assert_eq(spilled.native, t1);
    cr_assert_eq(encodes, 0);
    session_clear(&spilled);
    struct ar_session s;
    cr_assert_eq(cache_take(c, "k", 1, &s), 1);
    cr_assert_eq(s.native, t2);
    session_clear(&s);
    cache_set_native_ops(NULL);
}

Test(cache, native_only_reusable_copy_shares_native)
{
    static const struct ar_native_ops ops = {count_ref, count_unref, fake_encode};
    static char tag[] = "tls12";
    cache_set_native_ops(&ops);
    struct ar_session a = mk_native(tag, 0, 1000), s;
    cr_assert_eq(cache_put(c, "k12", &a, 0), 0);
    cr_assert_eq(cache_take(c, "k12", 1, &s), 1);
    cr_assert_eq(s.native, tag);
    session_clear(&s);
    cr_assert_eq(cache_take(c, "k12", 1, &s), 1, "reusable: still there");
    session_clear(&s);
    cache_set_native_ops(NULL);
}

Test(cache, encode_failure_leaves_session_without_bytes)
{
    static const struct ar_native_ops ops = {count_ref, count_unref, fake_encode};
    static char tag[] = "x";
    cache_set_native_ops(&ops);
    encodes = 0;
    encode_fails = 1;
    struct ar_session a = mk_native(tag, 1, 1000);
    cr_assert_eq(session_encode(&a, 1), -1);
    cr_assert_eq(last_final, 1);
    cr_assert_eq(a.der.len, 0);
    cr_assert_null(a.der.data);
    session_clear(&a);
    encode_fails = 0;
    cache_set_native_ops(NULL);
}

/* Without an encode op (the GnuTLS glue fills the bytes itself), a session
 * without bytes is no session, native form or not. */
Test(cache, native_only_refused_without_encode_op)
{
    static const struct ar_native_ops ops = {count_ref, count_unref, NULL};
    static char tag[] = "x";
    cache_set_native_ops(&ops);
    struct ar_session a = mk_native(tag, 1, 1000), spilled;
    cr_assert_not(session_present(&a));
    cr_assert_eq(session_encode(&a, 0), -1);
    cr_assert_eq(cache_put(c, "k", &a, 0), -1);
    a = mk_native(tag, 1, 1000);
    cr_assert_eq(cache_keep_ticket(c, "k", "h:1", &a, 0, 1, &spilled), -1);
    cache_set_native_ops(NULL);
}
