/*
 * Unit tests for entry.c: the on-disk codec. Decoding must accept exactly
 * what entry_encode writes and reject everything else without reading
 * outside its input (every buffer handed to entry_decode is malloc'd at its
 * exact size, so ASan sees any overread).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ar_entry.h"
#include "ar_key.h"

#define KEY "openssl-3.0|sni=example.org|ip=192.0.2.7|port=443|verify=1|ciphers=9f3a"
#define LABEL "example.org:443"

static struct ar_session sess; /* the reference session */
static struct ar_blob enc;     /* entry_encode(KEY, LABEL, &sess) */
static struct ar_entry *e;     /* decode target (too big for comfort on the stack) */

static unsigned char *blob_of(const void *src, size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    if (n)
        memcpy(p, src, n);
    return p;
}

static void setup(void)
{
    static const unsigned char der[] = {0x30, 0x82, 0x00, 0x00, 0x02, 0x01, 0x01, 0x00, 0xff, 'd'};
    static const unsigned char chain[] = {0, 0, 3, 'c', 'e', 'r', 0x00, 0x7f, 0x80};
    memset(&sess, 0, sizeof sess);
    sess.der.len = sizeof der;
    sess.der.data = blob_of(der, sizeof der);
    sess.chain.len = sizeof chain;
    sess.chain.data = blob_of(chain, sizeof chain);
    sess.born = 1700000000;
    sess.expires = 1700007200;
    sess.single_use = 1;
    sess.verify_result = -7; /* sign must survive */
    sess.version = 0x0304;
    cr_assert_eq(entry_encode(KEY, LABEL, &sess, &enc), 0);
    e = malloc(sizeof *e);
    cr_assert_not_null(e);
}

static void teardown(void)
{
    session_clear(&sess);
    free(enc.data);
    free(e);
}

TestSuite(entry, .init = setup, .fini = teardown);

/* --- helpers ---------------------------------------------------------- */

static void wr_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *p++ = (unsigned char)(v >> (8 * i));
}

static uint64_t rd_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* Rewrite the total length and the trailing checksum so the edit reaches the field checks. */
static void reseal(unsigned char *p, size_t len)
{
    wr_be(p + 4, len, 4);
    wr_be(p + len - 8, key_hash64(p, len - 8), 8);
}

/* Offsets of the fields in a buffer laid out as entry_encode writes it. */
struct layout {
    size_t klen_at, llen_at, born_at, single_at, version_at, derlen_at, chainlen_at, sum_at;
};

static struct layout layout_of(const unsigned char *p, size_t len)
{
    struct layout l;
    l.klen_at = 8;
    l.llen_at = l.klen_at + 2 + rd_be(p + l.klen_at, 2);
    l.born_at = l.llen_at + 2 + rd_be(p + l.llen_at, 2);
    l.single_at = l.born_at + 16;
    l.version_at = l.single_at + 1 + 8;
    l.derlen_at = l.version_at + 4;
    l.chainlen_at = l.derlen_at + 4 + rd_be(p + l.derlen_at, 4);
    l.sum_at = len - 8;
    return l;
}

/* Build an entry by hand, bypassing entry_encode's bounds (fields may be oversize). */
static unsigned char *build_raw(size_t klen, char kfill, size_t llen, char lfill, int single,
                                uint32_t version, size_t derlen, size_t chainlen, size_t *out_len)
{
    size_t len = 4 + 4 + 2 + klen + 2 + llen + 8 + 8 + 1 + 8 + 4 + 4 + derlen + 4 + chainlen + 8;
    unsigned char *p = calloc(1, len), *w = p;
    cr_assert_not_null(p);
    memcpy(w, "ARS1", 4), w += 8; /* length: reseal */
    wr_be(w, klen, 2), w += 2;
    memset(w, kfill, klen), w += klen;
    wr_be(w, llen, 2), w += 2;
    memset(w, lfill, llen), w += llen;
    wr_be(w, 100, 8), w += 8;
    wr_be(w, 200, 8), w += 8;
    *w++ = (unsigned char)single;
    wr_be(w, 0, 8), w += 8;
    wr_be(w, version, 4), w += 4;
    wr_be(w, derlen, 4), w += 4;
    memset(w, 'D', derlen), w += derlen;
    wr_be(w, chainlen, 4), w += 4;
    memset(w, 'C', chainlen), w += chainlen;
    cr_assert_eq((size_t)(w - p), len - 8);
    reseal(p, len);
    *out_len = len;
    return p;
}

/* Decode a private exact-size copy; on failure the entry must be left zeroed. */
static int decode(const unsigned char *data, size_t len, const char **why)
{
    unsigned char *copy = blob_of(data, len);
    memset(e, 0xa5, sizeof *e); /* decode must not trust what was there */
    *why = NULL;
    int rc = entry_decode(copy, len, e, why);
    free(copy);
    if (rc != 0) {
        cr_assert_not_null(*why, "a failure must say why");
        cr_assert_eq(e->key[0], '\0');
        cr_assert_null(e->s.der.data);
        cr_assert_null(e->s.chain.data);
    }
    return rc;
}

static void expect_reject(const unsigned char *data, size_t len, const char *what)
{
    const char *why;
    int rc = decode(data, len, &why);
    if (rc == 0)
        session_clear(&e->s);
    cr_assert_eq(rc, -1, "%s: accepted", what);
}

/* Rejected by a field check, i.e. the envelope (length, checksum) was right. */
static void expect_field_reject(const unsigned char *data, size_t len, const char *what)
{
    const char *why;
    int rc = decode(data, len, &why);
    if (rc == 0)
        session_clear(&e->s);
    cr_assert_eq(rc, -1, "%s: accepted", what);
    cr_assert_str_neq(why, "checksum mismatch", "%s: test did not reach the field check", what);
    cr_assert_str_neq(why, "truncated or padded", "%s: test did not reach the field check", what);
}

/* --- round trips ------------------------------------------------------- */

Test(entry, round_trip_all_fields)
{
    const char *why;
    cr_assert_eq(decode(enc.data, enc.len, &why), 0, "%s", why);
    cr_assert_str_eq(e->key, KEY);
    cr_assert_str_eq(e->label, LABEL);
    cr_assert_eq(e->s.der.len, sess.der.len);
    cr_assert_arr_eq(e->s.der.data, sess.der.data, sess.der.len);
    cr_assert_eq(e->s.chain.len, sess.chain.len);
    cr_assert_arr_eq(e->s.chain.data, sess.chain.data, sess.chain.len);
    cr_assert_eq(e->s.born, sess.born);
    cr_assert_eq(e->s.expires, sess.expires);
    cr_assert_eq(e->s.single_use, 1);
    cr_assert_eq(e->s.verify_result, -7L);
    cr_assert_eq(e->s.version, 0x0304);
    session_clear(&e->s);
}

Test(entry, round_trip_reencodes_identically)
{
    const char *why;
    struct ar_blob again;
    cr_assert_eq(decode(enc.data, enc.len, &why), 0, "%s", why);
    cr_assert_eq(entry_encode(e->key, e->label, &e->s, &again), 0);
    cr_assert_eq(again.len, enc.len);
    cr_assert_arr_eq(again.data, enc.data, enc.len);
    free(again.data);
    session_clear(&e->s);
}

Test(entry, round_trip_edge_values)
{
    struct ar_session s = {0};
    struct ar_blob b;
    const char *why;
    unsigned char one = 0;
    s.der.data = &one; /* a single NUL byte is a valid (binary) session */
    s.der.len = 1;
    s.born = INT64_MIN;
    s.expires = INT64_MAX;
    s.single_use = 0;
    s.verify_result = 62; /* X509_V_ERR_HOSTNAME_MISMATCH */
    s.version = 0x0303;
    cr_assert_eq(entry_encode("k", "", &s, &b), 0, "empty label and chain are allowed");
    cr_assert_eq(decode(b.data, b.len, &why), 0, "%s", why);
    cr_assert_str_eq(e->key, "k");
    cr_assert_str_eq(e->label, "");
    cr_assert_eq(e->s.der.len, 1);
    cr_assert_eq(e->s.der.data[0], 0);
    cr_assert_eq(e->s.chain.len, 0);
    cr_assert_null(e->s.chain.data);
    cr_assert_eq(e->s.born, INT64_MIN);
    cr_assert_eq(e->s.expires, INT64_MAX);
    cr_assert_eq(e->s.single_use, 0);
    cr_assert_eq(e->s.verify_result, 62);
    cr_assert_eq(e->s.version, 0x0303);
    session_clear(&e->s);
    free(b.data);
}

Test(entry, single_use_is_normalised_to_one)
{
    struct ar_session s = sess;
    struct ar_blob b;
    const char *why;
    s.single_use = 5;
    cr_assert_eq(entry_encode(KEY, LABEL, &s, &b), 0);
    cr_assert_eq(decode(b.data, b.len, &why), 0, "%s", why);
    cr_assert_eq(e->s.single_use, 1);
    session_clear(&e->s);
    free(b.data);
}

Test(entry, fields_at_their_bounds_round_trip)
{
    size_t len;
    const char *why;
    unsigned char *p = build_raw(AR_ENTRY_MAX_KEY, 'k', AR_ENTRY_MAX_LABEL, 'l', 1, 0x0304,
                                 AR_ENTRY_MAX_DER, AR_ENTRY_MAX_CHAIN, &len);
    cr_assert_leq(len, AR_ENTRY_MAX);
    cr_assert_eq(decode(p, len, &why), 0, "%s", why);
    cr_assert_eq(strlen(e->key), AR_ENTRY_MAX_KEY);
    cr_assert_eq(strlen(e->label), AR_ENTRY_MAX_LABEL);
    cr_assert_eq(e->s.der.len, AR_ENTRY_MAX_DER);
    cr_assert_eq(e->s.chain.len, AR_ENTRY_MAX_CHAIN);
    struct ar_blob b;
    cr_assert_eq(entry_encode(e->key, e->label, &e->s, &b), 0, "the largest entry encodes");
    cr_assert_eq(b.len, len);
    cr_assert_arr_eq(b.data, p, len, "hand-built layout matches entry_encode");
    free(b.data);
    session_clear(&e->s);
    free(p);
}

Test(entry, hand_built_layout_matches_encoder)
{
    /* Guards the helpers the rejection tests rely on. */
    struct ar_session s = {0};
    unsigned char der[3] = {'D', 'D', 'D'}, chain[2] = {'C', 'C'};
    s.der = (struct ar_blob){der, 3};
    s.chain = (struct ar_blob){chain, 2};
    s.born = 100;
    s.expires = 200;
    s.single_use = 1;
    s.version = 0x0304;
    struct ar_blob b;
    cr_assert_eq(entry_encode("kkkk", "ll", &s, &b), 0);
    size_t len;
    unsigned char *p = build_raw(4, 'k', 2, 'l', 1, 0x0304, 3, 2, &len);
    cr_assert_eq(len, b.len);
    cr_assert_arr_eq(p, b.data, len);
    struct layout l = layout_of(p, len);
    cr_assert_eq(rd_be(p + l.derlen_at, 4), 3);
    cr_assert_eq(rd_be(p + l.chainlen_at, 4), 2);
    cr_assert_eq(p[l.single_at], 1);
    free(p);
    free(b.data);
}

/* --- rejections ----------------------------------------------------------- */

Test(entry, rejects_wrong_magic)
{
    unsigned char *p = blob_of(enc.data, enc.len);
    for (int i = 0; i < 4; i++) {
        unsigned char saved = p[i];
        p[i] ^= 0x20;
        reseal(p, enc.len);
        expect_reject(p, enc.len, "magic byte changed");
        p[i] = saved;
    }
    memcpy(p, "ARS2", 4);
    reseal(p, enc.len);
    expect_reject(p, enc.len, "future version");
    free(p);
}

Test(entry, rejects_every_truncation)
{
    for (size_t n = 0; n < enc.len; n++)
        expect_reject(enc.data, n, "truncated");
    /* and truncations whose length field was rewritten to match */
    for (size_t n = 16; n < enc.len; n++) {
        unsigned char *p = blob_of(enc.data, n);
        reseal(p, n);
        expect_reject(p, n, "truncated and resealed");
        free(p);
    }
}

Test(entry, rejects_every_single_bit_flip)
{
    unsigned char *p = blob_of(enc.data, enc.len);
    for (size_t i = 0; i < enc.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            p[i] ^= (unsigned char)(1u << bit);
            expect_reject(p, enc.len, "bit flipped");
            p[i] ^= (unsigned char)(1u << bit);
        }
    free(p);
}

Test(entry, rejects_trailing_bytes)
{
    size_t n = enc.len + 1;
    unsigned char *p = malloc(n);
    cr_assert_not_null(p);
    memcpy(p, enc.data, enc.len);
    p[enc.len] = 0;
    expect_reject(p, n, "one byte appended");
    /* extra bytes inside the checksummed area, length and checksum updated */
    for (size_t extra = 1; extra <= 9; extra++) {
        unsigned char *q = calloc(1, enc.len + extra);
        cr_assert_not_null(q);
        memcpy(q, enc.data, enc.len - 8);
        reseal(q, enc.len + extra);
        expect_field_reject(q, enc.len + extra, "bytes between chain and checksum");
        free(q);
    }
    free(p);
}

Test(entry, rejects_length_fields_past_the_end)
{
    struct layout l = layout_of(enc.data, enc.len);
    struct {
        size_t at;
        int bytes;
    } fields[] = {{l.klen_at, 2}, {l.llen_at, 2}, {l.derlen_at, 4}, {l.chainlen_at, 4}};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        uint64_t orig = rd_be(enc.data + fields[f].at, fields[f].bytes);
        uint64_t room = enc.len - 8 - fields[f].at - (uint64_t)fields[f].bytes;
        uint64_t vals[] = {room + 1, room + 8, room + 9, orig + 1,
                           fields[f].bytes == 2 ? 0xffff : 0xffffffffu,
                           fields[f].bytes == 2 ? 0x8000 : 0x80000000u};
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            unsigned char *p = blob_of(enc.data, enc.len);
            wr_be(p + fields[f].at, vals[v], fields[f].bytes);
            reseal(p, enc.len);
            expect_field_reject(p, enc.len, "length past the end");
            free(p);
        }
    }
}

Test(entry, rejects_lengths_that_shift_fields)
{
    /* A shorter length makes every later field misparse (for this entry no
       shortened length happens to yield another valid layout). */
    struct layout l = layout_of(enc.data, enc.len);
    size_t ats[] = {l.klen_at, l.llen_at, l.derlen_at, l.chainlen_at};
    int bytes[] = {2, 2, 4, 4};
    for (size_t f = 0; f < 4; f++) {
        uint64_t orig = rd_be(enc.data + ats[f], bytes[f]);
        for (uint64_t v = 0; v < orig; v++) {
            unsigned char *p = blob_of(enc.data, enc.len);
            wr_be(p + ats[f], v, bytes[f]);
            reseal(p, enc.len);
            expect_field_reject(p, enc.len, "shortened length");
            free(p);
        }
    }
}

Test(entry, rejects_nul_inside_key_or_label)
{
    struct layout l = layout_of(enc.data, enc.len);
    size_t klen = rd_be(enc.data + l.klen_at, 2), llen = rd_be(enc.data + l.llen_at, 2);
    size_t spots[][2] = {{l.klen_at + 2, 0}, {l.klen_at + 2, klen / 2}, {l.klen_at + 2, klen - 1},
                         {l.llen_at + 2, 0}, {l.llen_at + 2, llen / 2}, {l.llen_at + 2, llen - 1}};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        unsigned char *p = blob_of(enc.data, enc.len);
        p[spots[i][0] + spots[i][1]] = '\0';
        reseal(p, enc.len);
        expect_field_reject(p, enc.len, "NUL in key or label");
        free(p);
    }
}

Test(entry, rejects_oversize_fields)
{
    struct {
        size_t klen, llen, der, chain;
        const char *what;
    } cases[] = {
        {AR_ENTRY_MAX_KEY + 1, 3, 1, 0, "key"},
        {0xffff, 3, 1, 0, "key of 64 KiB"},
        {3, AR_ENTRY_MAX_LABEL + 1, 1, 0, "label"},
        {3, 3, AR_ENTRY_MAX_DER + 1, 0, "der"},
        {3, 3, 1, AR_ENTRY_MAX_CHAIN + 1, "chain"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        unsigned char *p = build_raw(cases[i].klen, 'k', cases[i].llen, 'l', 0, 0x0303, cases[i].der,
                                     cases[i].chain, &len);
        cr_assert_leq(len, AR_ENTRY_MAX, "%s: must reach the field check", cases[i].what);
        expect_field_reject(p, len, cases[i].what);
        free(p);
    }
}

Test(entry, rejects_whole_entry_over_the_maximum)
{
    size_t len;
    /* refused on its size alone, before any field is parsed */
    unsigned char *p = build_raw(10, 'k', 3, 'l', 0, 0x0303, 1, AR_ENTRY_MAX, &len);
    expect_reject(p, len, "over AR_ENTRY_MAX");
    free(p);
}

Test(entry, rejects_empty_key_and_empty_session)
{
    size_t len;
    unsigned char *p = build_raw(0, 'k', 3, 'l', 0, 0x0303, 1, 0, &len);
    expect_field_reject(p, len, "empty key");
    free(p);
    p = build_raw(3, 'k', 3, 'l', 0, 0x0303, 0, 4, &len);
    expect_field_reject(p, len, "empty session");
    free(p);
}

Test(entry, rejects_single_use_above_one)
{
    struct layout l = layout_of(enc.data, enc.len);
    unsigned vals[] = {2, 3, 0x80, 0xff};
    for (size_t i = 0; i < 4; i++) {
        unsigned char *p = blob_of(enc.data, enc.len);
        p[l.single_at] = (unsigned char)vals[i];
        reseal(p, enc.len);
        expect_field_reject(p, enc.len, "single_use > 1");
        free(p);
    }
}

Test(entry, rejects_negative_version)
{
    struct layout l = layout_of(enc.data, enc.len);
    unsigned char *p = blob_of(enc.data, enc.len);
    wr_be(p + l.version_at, 0x80000000u, 4);
    reseal(p, enc.len);
    expect_field_reject(p, enc.len, "version >= 2^31");
    free(p);
}

Test(entry, rejects_short_and_empty_input)
{
    static const unsigned char tiny[16] = {'A', 'R', 'S', '1', 0, 0, 0, 16};
    const char *why;
    unsigned char *p = blob_of(tiny, 16);
    wr_be(p + 8, key_hash64(p, 8), 8);
    expect_reject(p, 16, "header only");
    free(p);
    memset(e, 0x5a, sizeof *e);
    cr_assert_eq(entry_decode((const unsigned char *)"", 0, e, &why), -1);
    cr_assert_eq(e->key[0], 0);
}

Test(entry, random_bodies_in_a_valid_envelope_never_crash)
{
    /* Random field contents with a correct length and checksum: exercises
       the field parser. Whatever is accepted must re-encode to the same bytes. */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 20000; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = 16 + (size_t)(x % 96);
        unsigned char *p = malloc(len);
        cr_assert_not_null(p);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            p[i] = (unsigned char)x;
        }
        if (round & 1) { /* plausible small lengths make acceptance reachable */
            p[8] = 0, p[9] = (unsigned char)(p[9] & 7);
        }
        memcpy(p, "ARS1", 4);
        reseal(p, len);
        const char *why = NULL;
        int rc = entry_decode(p, len, e, &why);
        if (rc == 0) {
            struct ar_blob b;
            cr_assert_eq(entry_encode(e->key, e->label, &e->s, &b), 0);
            cr_assert_eq(b.len, len);
            cr_assert_arr_eq(b.data, p, len, "decoding is canonical");
            free(b.data);
            session_clear(&e->s);
        } else {
            cr_assert_not_null(why);
        }
        free(p);
    }
}

/* --- encoder bounds ----------------------------------------------------- */

Test(entry, encode_refuses_over_bound_fields)
{
    static char big_key[AR_ENTRY_MAX_KEY + 2], big_label[AR_ENTRY_MAX_LABEL + 2];
    memset(big_key, 'k', AR_ENTRY_MAX_KEY + 1);
    memset(big_label, 'l', AR_ENTRY_MAX_LABEL + 1);
    struct ar_blob b = {(unsigned char *)"junk", 99};

    cr_assert_eq(entry_encode(big_key, LABEL, &sess, &b), -1, "key too long");
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(entry_encode("", LABEL, &sess, &b), -1, "empty key");
    cr_assert_eq(entry_encode(KEY, big_label, &sess, &b), -1, "label too long");

    struct ar_session s = sess;
    s.der.len = 0;
    cr_assert_eq(entry_encode(KEY, LABEL, &s, &b), -1, "empty session");
    unsigned char *der = calloc(1, AR_ENTRY_MAX_DER + 1), *chain = calloc(1, AR_ENTRY_MAX_CHAIN + 1);
    cr_assert_not_null(der);
    cr_assert_not_null(chain);
    s = sess;
    s.der = (struct ar_blob){der, AR_ENTRY_MAX_DER + 1};
    cr_assert_eq(entry_encode(KEY, LABEL, &s, &b), -1, "session too long");
    s = sess;
    s.chain = (struct ar_blob){chain, AR_ENTRY_MAX_CHAIN + 1};
    cr_assert_eq(entry_encode(KEY, LABEL, &s, &b), -1, "chain too long");
    cr_assert_null(b.data);

    /* exactly at the bounds is fine */
    big_key[AR_ENTRY_MAX_KEY] = '\0';
    big_label[AR_ENTRY_MAX_LABEL] = '\0';
    s.der = (struct ar_blob){der, AR_ENTRY_MAX_DER};
    s.chain = (struct ar_blob){chain, AR_ENTRY_MAX_CHAIN};
    cr_assert_eq(entry_encode(big_key, big_label, &s, &b), 0);
    cr_assert_leq(b.len, AR_ENTRY_MAX);
    free(b.data);
    free(der);
    free(chain);
}
