/*
 * ossl_ciphers.c - cipher list digests, memoised per context. See
 * ossl_ciphers.h.
 *
 * Hashing some 60 names byte by byte cost about 9k instructions per
 * connection; comparing the list's SSL_CIPHER pointers with the last list
 * seen costs a fraction of it (and asks no names).
 */
#include "ossl_ciphers.h"
#include "ar_key.h"
#include "ossl_state.h"

#include <stdlib.h>
#include <string.h>

/* Lists longer than this are hashed each time (no list is this long today). */
#define CIPHERS_ON_STACK 256

static unsigned long long names_hash(const SSL_CIPHER *const *ciphers, int n, const char *unnamed)
{
    unsigned long long h = key_hash64("", 0);
    for (int i = 0; i < n; i++) {
        const char *name = ossl.SSL_CIPHER_get_name(ciphers[i]);
        if (name == NULL)
            name = unnamed;
        if (name != NULL)
            h = key_hash64_more(h, name, strlen(name) + 1); /* the NUL separates names */
    }
    return h;
}

unsigned long long cipher_list_digest(SSL_CTX *ctx, const STACK_OF(SSL_CIPHER) *sk,
                                      enum cipher_memo_slot slot, const char *unnamed, int *count)
{
    const SSL_CIPHER *on_stack[CIPHERS_ON_STACK], **ciphers = on_stack;
    int n = sk ? ossl.OPENSSL_sk_num((const OPENSSL_STACK *)sk) : 0;
    if (n < 0)
        n = 0;
    *count = n;
    if (n > CIPHERS_ON_STACK) {
        ciphers = malloc((size_t)n * sizeof *ciphers);
        if (ciphers == NULL) { /* hash as we read */
            unsigned long long h = key_hash64("", 0);
            for (int i = 0; i < n; i++) {
                const char *name = ossl.SSL_CIPHER_get_name(ossl.OPENSSL_sk_value((const OPENSSL_STACK *)sk, i));
                if (name == NULL)
                    name = unnamed;
                if (name != NULL)
                    h = key_hash64_more(h, name, strlen(name) + 1);
            }
            return h;
        }
    }
    for (int i = 0; i < n; i++)
        ciphers[i] = ossl.OPENSSL_sk_value((const OPENSSL_STACK *)sk, i);

    unsigned long long h = 0;
    int hit = 0;
    size_t bytes = (size_t)n * sizeof *ciphers;
    if (ctx != NULL) {
        ctx_lock();
        struct ar_ctx *d = ctxd_get(ctx);
        if (d != NULL) {
            struct ar_cipher_memo *m = &d->cipher_memo[slot];
            if (m->ciphers != NULL && m->n == n && memcmp(m->ciphers, ciphers, bytes) == 0) {
                h = m->hash;
                hit = 1;
            }
        }
        ctx_unlock();
    }
    if (!hit) {
        h = names_hash(ciphers, n, unnamed);
        const SSL_CIPHER **copy = ctx != NULL ? malloc(bytes ? bytes : 1) : NULL;
        if (copy != NULL) {
            memcpy(copy, ciphers, bytes);
            ctx_lock();
            struct ar_ctx *d = ctxd_attach(ctx);
            if (d != NULL) {
                struct ar_cipher_memo *m = &d->cipher_memo[slot];
                const SSL_CIPHER **old = m->ciphers;
                m->ciphers = copy;
                m->n = n;
                m->hash = h;
                copy = old;
            }
            ctx_unlock();
            free(copy); /* the old list, or ours if there was no state */
        }
    }
    if (ciphers != on_stack)
        free(ciphers);
    return h;
}

void cipher_memo_free(struct ar_cipher_memo *m, int n)
{
    for (int i = 0; i < n; i++) {
        free(m[i].ciphers);
        m[i].ciphers = NULL;
        m[i].n = 0;
    }
}
