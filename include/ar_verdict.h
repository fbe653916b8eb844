/*
 * ar_verdict.h - a per-process memo of trust verdicts: a kept chain that
 * verified for one connection is not verified again for the next one with
 * the same inputs. Pure C (no OpenSSL): ossl_verify.c fills the key and
 * holds the objects it names; this module compares, expires and bounds.
 *
 * Only a pass is remembered, and only where the verification is a function
 * of the key alone: the caller leaves out verifications with a callback of
 * the program, CRL or policy checking, or settings it cannot read (see
 * verdict_disable). A remembered pass ends before the earliest notAfter of
 * the chain it was built from and within AR_VERDICT_MAX_AGE seconds.
 */
#ifndef AR_VERDICT_H
#define AR_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#define AR_VERDICT_SLOTS 16
#define AR_VERDICT_MAX_AGE 60 /* seconds */
#define AR_VERDICT_CHAIN_MAX 10
#define AR_VERDICT_TEXT_MAX 1024

/*
 * Every input of a verification. Pointers are identities: the entry that
 * names them holds a reference (struct ar_verdict_ops), so no object can be
 * freed and another one made at the same address while an entry names it.
 * Zero it (memset) before filling: it is compared field by field.
 */
struct ar_verdict_key {
    const void *store;      /* the verify store */
    long store_objects;     /* its certificates and CRLs (the program cannot edit the
                             * list without X509_STORE_get0_objects, which turns the memo off) */
    const void *chain[AR_VERDICT_CHAIN_MAX]; /* the kept peer chain, leaf first */
    int chain_len;
    unsigned long flags;    /* effective verify parameters */
    unsigned long inh_flags;
    unsigned long hostflags;
    int depth, auth_level, security_level, verify_mode;
    int64_t check_time;     /* X509_V_FLAG_USE_CHECK_TIME's time, else 0 */
    size_t text_len;        /* expected hosts, email, IP address, NUL-separated */
    char text[AR_VERDICT_TEXT_MAX];
};

/*
 * What an entry holds besides its key (`hold`, the caller's: references to
 * the store and the chains). still_good runs under the memo's lock at each
 * hit (0: the held objects changed in a way the key cannot say, the entry
 * is dropped); release frees a hold. Both must not call back into the memo.
 */
struct ar_verdict_ops {
    int (*still_good)(void *hold);
    void (*release)(void *hold);
};

/* verdict_set_ops - set the hold callbacks once, before any verdict_add. */
void verdict_set_ops(const struct ar_verdict_ops *ops);

/* verdict_key_equal - 1 if a and b name the same inputs, else 0. */
int verdict_key_equal(const struct ar_verdict_key *a, const struct ar_verdict_key *b);

/*
 * verdict_key_text - append s (NUL included) to k->text. Returns 0, or -1
 * if it does not fit (the caller must then not use the memo).
 */
int verdict_key_text(struct ar_verdict_key *k, const char *s);

/*
 * verdict_find - 1 if a pass for k is remembered and still valid at `now`
 * (seconds), else 0. An expired or changed entry is dropped. Thread-safe.
 */
int verdict_find(const struct ar_verdict_key *k, int64_t now);

/*
 * verdict_add - remember a pass for k, valid from `now` until before
 * `not_after` (the earliest notAfter of the chain that was built) and at
 * most AR_VERDICT_MAX_AGE seconds. Takes ownership of `hold` (released
 * here when nothing is remembered). Returns 1 if remembered. Thread-safe.
 */
int verdict_add(const struct ar_verdict_key *k, void *hold, int64_t now, int64_t not_after);

/*
 * verdict_disable - the program set something the key cannot hold (a
 * purpose, a trust setting, policies, a named parameter table): no verdict
 * is remembered or used in this process from now on. Lock-free.
 * verdict_enabled - whether that has not happened.
 */
void verdict_disable(void);
int verdict_enabled(void);

/* verdict_fork_lock / verdict_fork_unlock - hold the lock across fork(). */
void verdict_fork_lock(void);
void verdict_fork_unlock(void);

/* verdict_reset - drop every entry and enable the memo again (tests). */
void verdict_reset(void);

/* verdict_count - entries held now (tests). */
int verdict_count(void);

#endif
