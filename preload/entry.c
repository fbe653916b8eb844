/*
 * entry.c - store entry codec. Decoding treats its input as hostile: another
 * version, a truncated write, random bytes, or a file planted to crash us.
 */
#include "ar_entry.h"
#include "ar_key.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char magic[4] = {'A', 'R', 'S', '1'};

struct wbuf {
    unsigned char *p;
    size_t len;
};

static void put_be(struct wbuf *w, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        w->p[w->len++] = (unsigned char)(v >> (8 * i));
}

static void put_bytes(struct wbuf *w, const void *data, size_t n)
{
    if (n)
        memcpy(w->p + w->len, data, n);
    w->len += n;
}

int entry_encode(const char *key, const char *label, const struct ar_session *s, struct ar_blob *out)
{
    size_t klen = strlen(key), llen = strlen(label);
    out->data = NULL;
    out->len = 0;
    if (klen == 0 || klen > AR_ENTRY_MAX_KEY || llen > AR_ENTRY_MAX_LABEL ||
        s->der.len == 0 || s->der.len > AR_ENTRY_MAX_DER || s->chain.len > AR_ENTRY_MAX_CHAIN)
        return -1;
    size_t total = 4 + 4 + 2 + klen + 2 + llen + 8 + 8 + 1 + 8 + 4 + 4 + s->der.len + 4 +
                   s->chain.len + 8;
    struct wbuf w = {malloc(total), 0};
    if (w.p == NULL)
        return -1;
    put_bytes(&w, magic, 4);
    put_be(&w, total, 4);
    put_be(&w, klen, 2);
    put_bytes(&w, key, klen);
    put_be(&w, llen, 2);
    put_bytes(&w, label, llen);
    put_be(&w, (uint64_t)s->born, 8);
    put_be(&w, (uint64_t)s->expires, 8);
    put_be(&w, s->single_use ? 1 : 0, 1);
    put_be(&w, (uint64_t)(int64_t)s->verify_result, 8);
    put_be(&w, (uint32_t)s->version, 4);
    put_be(&w, s->der.len, 4);
    put_bytes(&w, s->der.data, s->der.len);
    put_be(&w, s->chain.len, 4);
    put_bytes(&w, s->chain.data, s->chain.len);
    put_be(&w, key_hash64(w.p, w.len), 8);
    out->data = w.p;
    out->len = w.len;
    return 0;
}

struct rbuf {
    const unsigned char *p;
    size_t len, off;
    int bad;
};

static uint64_t get_be(struct rbuf *r, int bytes)
{
    uint64_t v = 0;
    if (r->bad || r->len - r->off < (size_t)bytes) {
        r->bad = 1;
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v = v << 8 | r->p[r->off++];
    return v;
}

static const unsigned char *get_bytes(struct rbuf *r, size_t n)
{
    if (r->bad || r->len - r->off < n) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *p = r->p + r->off;
    r->off += n;
    return p;
}

/* A length-prefixed text field without NUL bytes, copied into out[max+1]. */
static int get_text(struct rbuf *r, char *out, size_t max)
{
    size_t n = (size_t)get_be(r, 2);
    const unsigned char *p = get_bytes(r, n);
    if (p == NULL || n > max || memchr(p, '\0', n) != NULL)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int get_blob(struct rbuf *r, struct ar_blob *b, size_t max)
{
    size_t n = (size_t)get_be(r, 4);
    const unsigned char *p = get_bytes(r, n);
    if (p == NULL || n > max)
        return -1;
    b->len = n;
    b->data = NULL;
    if (n == 0)
        return 0;
    b->data = malloc(n);
    if (b->data == NULL)
        return -1;
    memcpy(b->data, p, n);
    return 0;
}

int entry_decode(const unsigned char *data, size_t len, struct ar_entry *e, const char **why)
{
    struct rbuf r = {data, len, 0, 0};
    memset(e, 0, sizeof *e);
    if (len < 16 || len > AR_ENTRY_MAX || memcmp(data, magic, 4) != 0) {
        *why = "not an entry of this version";
        return -1;
    }
    r.off = 4;
    if (get_be(&r, 4) != len) {
        *why = "truncated or padded";
        return -1;
    }
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++)
        sum = sum << 8 | data[len - 8 + (size_t)i];
    if (sum != key_hash64(data, len - 8)) {
        *why = "checksum mismatch";
        return -1;
    }
    r.len = len - 8;
    if (get_text(&r, e->key, AR_ENTRY_MAX_KEY) != 0 || e->key[0] == '\0' ||
        get_text(&r, e->label, AR_ENTRY_MAX_LABEL) != 0) {
        *why = "bad key or label";
        goto bad;
    }
    e->s.born = (int64_t)get_be(&r, 8);
    e->s.expires = (int64_t)get_be(&r, 8);
    uint64_t single = get_be(&r, 1);
    e->s.verify_result = (long)(int64_t)get_be(&r, 8);
    e->s.version = (int)get_be(&r, 4);
    if (r.bad || single > 1 || e->s.version < 0) {
        *why = "bad header fields";
        goto bad;
    }
    e->s.single_use = (int)single;
    if (get_blob(&r, &e->s.der, AR_ENTRY_MAX_DER) != 0 || e->s.der.len == 0 ||
        get_blob(&r, &e->s.chain, AR_ENTRY_MAX_CHAIN) != 0) {
        *why = "bad session or chain";
        goto bad;
    }
    if (r.off != r.len) {
        *why = "trailing bytes";
        goto bad;
    }
    return 0;
bad:
    session_clear(&e->s);
    memset(e, 0, sizeof *e);
    return -1;
}
