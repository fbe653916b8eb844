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
 * trust_recheck - verify the chain kept in `s` as OpenSSL would verify a
 * server certificate for `ssl` right now: its verify store, parameters
 * (expected host, purpose, flags, security level) and verify callback.
 * Returns 1 if resuming gives the program the answer a full handshake would:
 * the result equals s->verify_result, and is success if the peer is
 * verified. Else 0 with *why set. *result gets the verification result
 * (X509_V_*). Must run with the error queue marked.
 */
int trust_recheck(SSL *ssl, const struct ar_session *s, long *result, const char **why);

/*
 * trust_store_empty - whether the connection's verify store holds no
 * certificate yet. curl (7.88 and later) loads its CA file only after its
 * first SSL_connect call has sent the ClientHello, so a check made before
 * that cannot succeed and must be repeated once the handshake is done.
 */
int trust_store_empty(SSL *ssl);

#endif
