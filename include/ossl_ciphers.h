/*
 * ossl_ciphers.h - the digest of a cipher list (names in preference order),
 * remembered per SSL_CTX so a connection does not hash the names again.
 */
#ifndef OSSL_CIPHERS_H
#define OSSL_CIPHERS_H

#include "ossl_sym.h"

/* Who asks: each keeps its own memo (their digests differ, see below). */
enum cipher_memo_slot {
    CIPHER_MEMO_SSL, /* the connection's list, for the key (ossl_key.c) */
    CIPHER_MEMO_CTX, /* the context's list, for the hello memo (ossl_policy.c) */
    CIPHER_MEMO_SLOTS
};

/* The memo kept in struct ar_ctx; all zero is empty. */
struct ar_cipher_memo {
    int n;                       /* ciphers held */
    const SSL_CIPHER **ciphers;  /* the list's cipher pointers, malloc'd; NULL: none held */
    unsigned long long hash;     /* the digest of exactly these ciphers' names */
};

/*
 * cipher_list_digest - key_hash64 of the names of sk's ciphers in order,
 * each with its NUL; a cipher without a name is hashed as `unnamed`, or
 * skipped when unnamed is NULL. *count gets the number of ciphers (0 for a
 * NULL sk). The digest is remembered in ctx's state under `slot` (ctx may
 * be NULL: no memo) with the cipher pointers it was made of, and reused
 * only when the list has the very same pointers in the same order: the
 * SSL_CIPHER objects are libssl's static tables (never made or freed at
 * run time) and their names static strings, so equal pointers mean equal
 * names. A given slot must always
 * be asked with the same `unnamed`. Takes ctx_lock() itself (held only
 * across the context's ex_data access, never across a call that can reach
 * a program callback); thread-safe. Never fails: without memory
 * the digest is computed and not remembered.
 */
unsigned long long cipher_list_digest(SSL_CTX *ctx, const STACK_OF(SSL_CIPHER) *sk,
                                      enum cipher_memo_slot slot, const char *unnamed, int *count);

/* cipher_memo_free - release the memos of a context's state being freed. */
void cipher_memo_free(struct ar_cipher_memo *m, int n);

#endif
