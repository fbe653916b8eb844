/*
 * ossl_verify.h - keep the peer chain of a full handshake, and check it again
 * before a later connection resumes: a resumed handshake carries no
 * certificate, so without this a session won under one trust store or
 * expected hostname would be accepted under another.
 */
#ifndef OSSL_VERIFY_H
#define OSSL_VERIFY_H

#include "ar_cache.h"
#include "ossl_sym.h"

/*
 * chain_encode - serialize the peer chain of `ssl` (leaf first) into *out
 * (malloc'd; each certificate as a 4-byte big-endian length and its DER).
 * Returns 0, or -1 when there is no chain (resumed connection) or no memory.
 */
int chain_encode(SSL *ssl, struct ar_blob *out);

/*
 * trust_recheck - verify `chain` (the kept peer chain) as OpenSSL would verify a
 * server certificate for `ssl` right now: its verify store, parameters
 * (expected host, purpose, flags, security level) and verify callback.
 * Returns 1 if resuming gives the program the answer a full handshake would:
 * the verification passes if the peer is verified (the program's callback
 * may accept an error, as in a full handshake), and the result equals
 * stored_result (the session's, which SSL_get_verify_result will report)
 * unless `adopt` is set (the caller then sets *result on the connection, as
 * after the handshake). Else 0 with *why set. *result gets the verification
 * result (X509_V_*). Must run with the error queue marked.
 */
int trust_recheck(SSL *ssl, OPENSSL_STACK *chain, long stored_result, int adopt, long *result,
                  const char **why);

/*
 * trust_memo_register - let the trust-verdict memo (ar_verdict.h) release
 * what its entries hold. Once, at start-up. trust_recheck consults the memo:
 * a pass remembered for the same chain objects, store (and its number of
 * certificates and CRLs), effective verify parameters, security level and
 * verify mode is reused; verifications with the program's verify callback,
 * store callbacks, CRL or policy checks, or certificate trust settings are
 * never remembered.
 */
void trust_memo_register(void);

/*
 * chain_decode - parse a chain blob made by chain_encode into a new stack of
 * certificates (leaf first; free with chain_free). NULL if malformed. When
 * leaf is not NULL (a stored session's peer certificate, already parsed)
 * and its encoding is the blob's first element, the stack takes a reference
 * to it instead of parsing those bytes again; else leaf is ignored.
 */
OPENSSL_STACK *chain_decode(const struct ar_blob *b, X509 *leaf);
void chain_free(OPENSSL_STACK *chain);

/*
 * chain_attach - give sess, a session decoded from the store's bytes (which
 * hold no peer chain) and not yet shared, its own reference to `chain` (the
 * kept peer chain, leaf first), for chain_attached; it lives and dies with
 * the session and its copies (SSL_SESSION_dup). Nothing when sess has one
 * already, chain is NULL, or without memory. Thread-safe.
 *
 * chain_attached - the chain attached to the current session of ssl, or
 * NULL: what SSL_get_peer_cert_chain answers for a connection resumed from
 * the store, as OpenSSL answers for one resumed from a session of the
 * process (the session's chain). An internal pointer, valid while the
 * session is the connection's; the caller must not free it.
 */
void chain_attach(SSL_SESSION *sess, OPENSSL_STACK *chain);
STACK_OF(X509) *chain_attached(const SSL *ssl);

/*
 * The parsed form kept beside a stored session (struct ar_session.native):
 * a private copy of the session, for offers (native_session), and the
 * peer chain. Immutable while shared; reference-counted, thread-safe.
 */
struct ossl_native {
    SSL_SESSION *sess;
    OPENSSL_STACK *chain;
};

/* native_new - take ownership of sess (may be NULL) and chain; NULL on ENOMEM (both freed). */
struct ossl_native *native_new(SSL_SESSION *sess, OPENSSL_STACK *chain);

/*
 * native_fork_lock / native_fork_unlock - hold the memo's lock across fork()
 * (pthread_atfork, see ossl_state.c), so a child never inherits it taken.
 */
void native_fork_lock(void);
void native_fork_unlock(void);

/*
 * native_session - an SSL_SESSION of n's for one connection to offer (the
 * caller owns it; OpenSSL changes the session it is given): n's own when
 * the caller holds n's only reference (a ticket taken from the table: its
 * session leaves n, which keeps its chain), else a copy. NULL when n has
 * no session or without memory.
 */
SSL_SESSION *native_session(struct ossl_native *n);

/* native_release - drop one reference (n may be NULL). */
void native_release(struct ossl_native *n);

/*
 * native_der - i2d_SSL_SESSION of sess into *out (malloc'd); 0, or -1
 * (*out empty: out of memory or an encoding failure).
 */
int native_der(SSL_SESSION *sess, struct ar_blob *out);

/* native_register - hand the reference counting and the encoding to the session table, once. */
void native_register(void);

/*
 * native_remember / native_recall - a small per-process memo from the bytes
 * of a session to its parsed form, for sessions that live in the store
 * (tickets do, so one process spends each): a process taking back a ticket
 * it captured itself skips the parsing. remember takes a new reference;
 * recall returns one (caller owns it) or NULL. Thread-safe.
 */
void native_remember(const struct ar_blob *der, struct ossl_native *n);
struct ossl_native *native_recall(const struct ar_blob *der);

/*
 * trust_store_empty - whether nothing in the connection's verify store could
 * verify yet: it holds no object, has no issuer callbacks of the program,
 * and none of its lookups (a CApath is read lazily) finds a certificate by
 * an issuer or subject name of `chain` (the kept peer chain; may be NULL).
 * curl (7.88 and later) loads its CA file only after its first SSL_connect
 * call has sent the ClientHello, so a check made before that cannot succeed
 * and must be repeated once the handshake is done. Run with the error queue
 * marked (a lookup may queue errors). A lookup that can find certificates,
 * but none of this chain's, cannot be told from no lookup at all: such a
 * store counts as empty, and the check is made at the handshake's end.
 */
int trust_store_empty(SSL *ssl, OPENSSL_STACK *chain);

#endif
