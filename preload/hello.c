/*
 * hello.c - ClientHello policy digest. See ar_hello.h. The input comes from
 * our own probe, but it is parsed as if hostile: every length is checked.
 */
#include "ar_hello.h"
#include "ar_key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const unsigned char *p;
    size_t left;
};

static int take(struct reader *r, size_t n, const unsigned char **out)
{
    if (r->left < n)
        return -1;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

static int take_be(struct reader *r, int bytes, size_t *v)
{
    const unsigned char *b;
    if (take(r, (size_t)bytes, &b) != 0)
        return -1;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v = *v << 8 | b[i];
    return 0;
}

/* A vector with a `bytes`-byte length prefix, as a sub-reader. */
static int take_vec(struct reader *r, int bytes, struct reader *sub)
{
    size_t n;
    if (take_be(r, bytes, &n) != 0 || take(r, n, &sub->p) != 0)
        return -1;
    sub->left = n;
    return 0;
}

/* Extensions whose contents differ per connection, not per policy. */
static int varies(size_t type)
{
    switch (type) {
    case 0:     /* server_name: in the key on its own */
    case 21:    /* padding: its length follows the rest */
    case 35:    /* session_ticket: the ticket offered */
    case 41:    /* pre_shared_key */
    case 42:    /* early_data */
    case 44:    /* cookie */
        return 1;
    default:
        return 0;
    }
}

static unsigned long long mix(unsigned long long h, const unsigned char *p, size_t n)
{
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    h = key_hash64_more(h, len, sizeof len); /* lengths keep fields apart */
    return key_hash64_more(h, p, n);
}

/* Signature algorithm lists: signature_algorithms, signature_algorithms_cert. */
static int is_sigalgs(size_t type)
{
    return type == 13 || type == 50;
}

/*
 * The handshake bytes of data[len], one or more handshake records (a
 * ClientHello longer than the context's fragment limit, or its max fragment
 * length, comes split over several), joined into out[len]; their length,
 * or -1 if data is not a whole sequence of handshake records.
 */
static long join_records(const unsigned char *data, size_t len, unsigned char *out)
{
    struct reader rec = {data, len}, frag;
    const unsigned char *b;
    size_t type, n = 0;
    if (len == 0)
        return -1;
    while (rec.left > 0) {
        /* Record: handshake(22), version, length, fragment. */
        if (take_be(&rec, 1, &type) != 0 || type != 22 || take(&rec, 2, &b) != 0 ||
            take_vec(&rec, 2, &frag) != 0 || frag.left == 0)
            return -1;
        memcpy(out + n, frag.p, frag.left);
        n += frag.left;
    }
    return (long)n;
}

/* The digest of one ClientHello message (type, u24 length, body: nothing after it). */
static int digest_message(const unsigned char *msg, size_t len, int all, unsigned long long *out)
{
    struct reader body = {msg, len}, hs, v;
    const unsigned char *b;
    size_t type;

    if (take_be(&body, 1, &type) != 0 || type != 1 || take_vec(&body, 3, &hs) != 0 || body.left != 0)
        return -1;
    unsigned long long h = all ? key_hash64("hello1", 6) : key_hash64("sigalgs1", 8);
    /* legacy version, random, session id: skipped (per connection). */
    if (take(&hs, 2 + 32, &b) != 0 || take_vec(&hs, 1, &v) != 0)
        return -1;
    if (take_vec(&hs, 2, &v) != 0) /* cipher suites */
        return -1;
    if (all)
        h = mix(h, v.p, v.left);
    if (take_vec(&hs, 1, &v) != 0) /* compression methods */
        return -1;
    if (all)
        h = mix(h, v.p, v.left);
    struct reader exts = {NULL, 0};
    if (hs.left > 0 && (take_vec(&hs, 2, &exts) != 0 || hs.left != 0))
        return -1;
    while (exts.left > 0) {
        struct reader ext;
        if (take_be(&exts, 2, &type) != 0 || take_vec(&exts, 2, &ext) != 0)
            return -1;
        unsigned char t[2] = {(unsigned char)(type >> 8), (unsigned char)type};
        if (!all) {
            if (is_sigalgs(type))
                h = mix(key_hash64_more(h, t, 2), ext.p, ext.left);
            continue;
        }
        h = key_hash64_more(h, t, 2);
        if (type == 51) { /* key_share: the groups offered, not the keys */
            struct reader shares, kex;
            if (take_vec(&ext, 2, &shares) != 0)
                return -1;
            while (shares.left > 0) {
                if (take(&shares, 2, &b) != 0 || take_vec(&shares, 2, &kex) != 0)
                    return -1;
                h = mix(h, b, 2);
            }
        } else if (!varies(type)) {
            h = mix(h, ext.p, ext.left);
        }
    }
    *out = h;
    return 0;
}

/* The digest of hello_digest (all = 1) or of hello_digest_sigalgs (all = 0). */
static int digest(const unsigned char *data, size_t len, int all, unsigned long long *out)
{
    unsigned char *joined = len > 0 ? malloc(len) : NULL;
    long n = joined != NULL ? join_records(data, len, joined) : -1;
    int rc = n < 0 ? -1 : digest_message(joined, (size_t)n, all, out);
    free(joined);
    return rc;
}

int hello_digest(const unsigned char *data, size_t len, unsigned long long *out)
{
    return digest(data, len, 1, out);
}

int hello_digest_sigalgs(const unsigned char *data, size_t len, unsigned long long *out)
{
    return digest(data, len, 0, out);
}
