/*
 * gtls_verify.h - certificates of GnuTLS sessions: keep the peer chain of a
 * full handshake, check it against the trust a later connection holds, and
 * run the program's own verification on a resumed TLS 1.3 handshake, where
 * GnuTLS skips it.
 */
#ifndef GTLS_VERIFY_H
#define GTLS_VERIFY_H

#include "ar_cache.h"
#include "gtls_state.h"

/*
 * gtls_chain_encode - the session's peer certificates (DER), packed as each
 * 4-byte big-endian length then the bytes. 0, or -1 (none, no memory).
 */
int gtls_chain_encode(gnutls_session_t s, struct ar_blob *out);

/*
 * gtls_trust_status - verify a packed chain against what the session's
 * certificate credentials trust now (trust list and verify flags, plus
 * those given to gnutls_session_set_verify_cert), for `host` if not NULL.
 * Returns the gnutls_certificate_status_t bits (0: trusted), or -1 when it
 * cannot be checked (no credentials, unreadable chain).
 */
long gtls_trust_status(gnutls_session_t s, const struct gtls_conn *c,
                       const struct ar_blob *chain, const char *host);

/*
 * gtls_handshake_status - GnuTLS's own verification of the certificates
 * that came in this full handshake, for `host` if not NULL: what
 * gnutls_certificate_verify_peers tells the program, with everything the
 * session adds to the trust list (the priorities' verification profile and
 * %VERIFY_ flags, the credentials' verify limits, a stapled OCSP response).
 * The gnutls_certificate_status_t bits (0: trusted), or -1 when it cannot
 * be checked.
 */
long gtls_handshake_status(gnutls_session_t s, const char *host);

/*
 * gtls_ocsp_expiry - when the OCSP responses stapled to this session stop
 * being accepted: GnuTLS keeps them in the session data and checks them
 * again whenever the session's certificates are verified, a resumption's
 * too, and one past its nextUpdate fails that check
 * (GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED), where a full handshake would
 * get the server's fresh one. The earliest nextUpdate of them all; for one
 * without nextUpdate, thisUpdate + GTLS_OCSP_NO_NEXT_UPDATE (GnuTLS's own
 * limit for those is 3 days in older releases, 15 in newer: the smaller).
 * Returns 0 when nothing is stapled, `now` when a response cannot be read
 * (no session should be kept), else that time (Unix seconds).
 */
#define GTLS_OCSP_NO_NEXT_UPDATE (3L * 24 * 3600)
int64_t gtls_ocsp_expiry(gnutls_session_t s, int64_t now);

/*
 * gtls_trust_empty - 1 if the session's certificate credentials trust no CA
 * at all yet. libcurl 8 (git's https transport on Debian 13) loads its CA
 * file into the credentials only when it verifies, after the handshake:
 * at the offer there is nothing to check a chain against. 0 otherwise,
 * including when there are no certificate credentials.
 */
int gtls_trust_empty(gnutls_session_t s);

/*
 * gtls_replay_verify - a resumed handshake skips the verification the
 * program configured (GnuTLS 3.7 runs it only on certificates that arrive,
 * in TLS 1.2 as in 1.3). Unless it ran (see the trampolines), run it now as
 * the full handshake would have: the session's function, else
 * gnutls_session_set_verify_cert's check, else the credentials' function.
 * Returns 0 if it accepts (or none is configured), else the error
 * gnutls_handshake would have returned. *status: the certificate status
 * bits that gnutls_session_set_verify_cert's check computed here, as
 * gnutls_session_get_verify_cert_status would tell them after a full
 * handshake; (unsigned)-1 when no such check ran here.
 */
int gtls_replay_verify(gnutls_session_t s, const struct gtls_conn *c, unsigned *status);

/*
 * What GnuTLS is given in place of the program's verify functions, so that
 * we know whether they ran in a handshake: each calls the program's
 * function recorded for the session (gtls_session_tramp) or for the
 * session's credentials (gtls_creds_tramp). Installed only once recorded.
 */
int gtls_session_tramp(gnutls_session_t s);
int gtls_creds_tramp(gnutls_session_t s);

/* gtls_verify_host - the host name given to gnutls_session_set_verify_cert*, or NULL. */
const char *gtls_verify_host(const struct gtls_conn *c);

/* gtls_expected_host - the name a certificate is checked for: gtls_verify_host, else the SNI. */
const char *gtls_expected_host(const struct gtls_conn *c);

#endif
