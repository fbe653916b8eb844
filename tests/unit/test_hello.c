/* Unit tests for hello.c: what changes the policy digest and what does not. */
#include <criterion/criterion.h>
#include <string.h>

#include "ar_hello.h"

struct hb {
    unsigned char b[1024];
    size_t n;
};

static void u8(struct hb *h, unsigned v) { h->b[h->n++] = (unsigned char)v; }
static void u16(struct hb *h, unsigned v) { u8(h, v >> 8); u8(h, v & 255); }
static void raw(struct hb *h, const void *p, size_t n) { memcpy(h->b + h->n, p, n); h->n += n; }

struct parts {
    unsigned char random_byte;
    const char *session_id;
    unsigned cipher2;
    const char *sni;
    unsigned sigalg2;
    unsigned pad_len;
    unsigned char share_byte;
    unsigned share_group;
};

static const struct parts base = {0x11, "", 0xc02b, "localhost", 0x0804, 3, 0xaa, 0x001d};

static void ext(struct hb *h, unsigned type, const struct hb *body)
{
    u16(h, type);
    u16(h, (unsigned)body->n);
    raw(h, body->b, body->n);
}

/* A TLS record holding one ClientHello built from p. */
static struct hb hello(const struct parts *p)
{
    struct hb e = {.n = 0}, body = {.n = 0}, out = {.n = 0}, x;
    /* server_name */
    x.n = 0; u16(&x, (unsigned)strlen(p->sni) + 3); u8(&x, 0); u16(&x, (unsigned)strlen(p->sni));
    raw(&x, p->sni, strlen(p->sni)); ext(&e, 0, &x);
    /* supported_groups */
    x.n = 0; u16(&x, 4); u16(&x, 0x001d); u16(&x, 0x0017); ext(&e, 10, &x);
    /* signature_algorithms */
    x.n = 0; u16(&x, 4); u16(&x, 0x0403); u16(&x, p->sigalg2); ext(&e, 13, &x);
    /* key_share: one share */
    x.n = 0; u16(&x, 2 + 2 + 4); u16(&x, p->share_group); u16(&x, 4);
    for (int i = 0; i < 4; i++) u8(&x, p->share_byte);
    ext(&e, 51, &x);
    /* padding */
    x.n = 0; for (unsigned i = 0; i < p->pad_len; i++) u8(&x, 0);
    ext(&e, 21, &x);

    u16(&body, 0x0303);
    for (int i = 0; i < 32; i++) u8(&body, p->random_byte);
    u8(&body, (unsigned)strlen(p->session_id)); raw(&body, p->session_id, strlen(p->session_id));
    u16(&body, 4); u16(&body, 0xc02f); u16(&body, p->cipher2);
    u8(&body, 1); u8(&body, 0);
    u16(&body, (unsigned)e.n); raw(&body, e.b, e.n);

    u8(&out, 22); u16(&out, 0x0301); u16(&out, (unsigned)body.n + 4);
    u8(&out, 1); u8(&out, 0); u16(&out, (unsigned)body.n);
    raw(&out, body.b, body.n);
    return out;
}

static unsigned long long digest_of(const struct parts *p)
{
    struct hb h = hello(p);
    unsigned long long d = 0;
    cr_assert_eq(hello_digest(h.b, h.n, &d), 0, "a well-formed hello must parse");
    return d;
}

TestSuite(hello);

Test(hello, per_connection_parts_do_not_count)
{
    unsigned long long d0 = digest_of(&base);
    struct parts p = base;
    p.random_byte = 0x22;
    p.session_id = "0123456789abcdef0123456789abcdef";
    p.sni = "other.example";
    p.pad_len = 77;
    p.share_byte = 0x55;
    cr_assert_eq(digest_of(&p), d0);
}

Test(hello, policy_parts_count)
{
    unsigned long long d0 = digest_of(&base);
    struct parts p = base;
    p.sigalg2 = 0x0805;
    cr_assert_neq(digest_of(&p), d0, "signature algorithms");
    p = base;
    p.cipher2 = 0xc030;
    cr_assert_neq(digest_of(&p), d0, "cipher suites");
    p = base;
    p.share_group = 0x0017;
    cr_assert_neq(digest_of(&p), d0, "key share group");
}

Test(hello, malformed_is_refused)
{
    struct hb h = hello(&base);
    unsigned long long d;
    for (size_t n = 0; n < h.n; n++)
        cr_assert_eq(hello_digest(h.b, n, &d), -1, "truncated at %zu", n);
    h.b[0] = 23; /* not a handshake record */
    cr_assert_eq(hello_digest(h.b, h.n, &d), -1);
    h = hello(&base);
    h.b[5] = 2; /* not a ClientHello */
    cr_assert_eq(hello_digest(h.b, h.n, &d), -1);
    h = hello(&base);
    h.b[h.n - 4] ^= 0x40; /* an extension length beyond its vector */
    cr_assert_eq(hello_digest(h.b, h.n, &d), -1);
}

static unsigned long long sigalgs_of(const struct parts *p)
{
    struct hb h = hello(p);
    unsigned long long d = 0;
    cr_assert_eq(hello_digest_sigalgs(h.b, h.n, &d), 0, "a well-formed hello must parse");
    return d;
}

/* The TLS 1.3 probe's digest: its signature algorithms and nothing else
 * (the TLS 1.2 probe's digest holds the rest). */
Test(hello, sigalgs_digest_holds_only_the_lists)
{
    unsigned long long d0 = sigalgs_of(&base);
    struct parts p = base;
    p.sigalg2 = 0x0905; /* say, a TLS 1.3-only code point */
    cr_assert_neq(sigalgs_of(&p), d0, "signature algorithms");
    p = base;
    p.cipher2 = 0xc030;
    p.share_group = 0x0017;
    p.random_byte = 0x33;
    p.sni = "other.example";
    p.pad_len = 9;
    cr_assert_eq(sigalgs_of(&p), d0, "cipher suites, groups and per-connection parts do not count");
    cr_assert_neq(sigalgs_of(&base), digest_of(&base), "not the whole hello's digest");
    struct hb h = hello(&base);
    unsigned long long d;
    for (size_t n = 0; n < h.n; n++)
        cr_assert_eq(hello_digest_sigalgs(h.b, n, &d), -1, "truncated at %zu", n);
}

/* The same hello split over records of at most `frag` bytes each. */
static struct hb split_records(const struct hb *one, size_t frag)
{
    struct hb out = {.n = 0};
    const unsigned char *msg = one->b + 5;
    size_t len = one->n - 5;
    for (size_t at = 0; at < len; at += frag) {
        size_t n = len - at < frag ? len - at : frag;
        u8(&out, 22); u16(&out, 0x0303); u16(&out, (unsigned)n);
        raw(&out, msg + at, n);
    }
    return out;
}

/* A hello longer than the fragment limit comes in several records (found
 * by review: the probe read the first only, took a split TLS 1.3 hello for
 * "cannot write one", and gave two policies the same mark). */
Test(hello, split_over_records_is_the_same_hello)
{
    struct hb one = hello(&base);
    unsigned long long d1, d2, s1, s2;
    cr_assert_eq(hello_digest(one.b, one.n, &d1), 0);
    cr_assert_eq(hello_digest_sigalgs(one.b, one.n, &s1), 0);
    for (size_t frag = 1; frag < one.n; frag += 7) {
        struct hb many = split_records(&one, frag);
        cr_assert_eq(hello_digest(many.b, many.n, &d2), 0, "split every %zu bytes", frag);
        cr_assert_eq(d2, d1, "split every %zu bytes", frag);
        cr_assert_eq(hello_digest_sigalgs(many.b, many.n, &s2), 0);
        cr_assert_eq(s2, s1);
    }
    struct hb many = split_records(&one, 40);
    unsigned long long d;
    for (size_t n = 0; n < many.n; n++)
        cr_assert_eq(hello_digest(many.b, n, &d), -1, "truncated at %zu", n);
    many.b[45] = 21; /* the second record an alert */
    cr_assert_eq(hello_digest(many.b, many.n, &d), -1, "a record that is not a handshake record");
    struct hb extra = hello(&base);
    raw(&extra, "\x16\x03\x03\x00\x01\x00", 6); /* one more handshake byte after the hello */
    cr_assert_eq(hello_digest(extra.b, extra.n, &d), -1, "nothing after the hello");
}
