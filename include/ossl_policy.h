/*
 * ossl_policy.h - what besides trust decides whether OpenSSL would accept a
 * full handshake, kept for resumed ones.
 *
 * A resumed TLS 1.2 handshake has no server key exchange and no server
 * signature, a resumed TLS 1.3 one no CertificateVerify: the checks OpenSSL
 * makes on them (the DH size and the signature against the security level,
 * the group and the signature algorithm against the client's lists, which
 * the program, the system's crypto policy and the loaded providers shape)
 * never run. The lists cannot be read through OpenSSL's API, but OpenSSL
 * writes them into every ClientHello: policy_describe lets the library write
 * one for the connection's context into memory, and keys the session by its
 * digest with the security level and the options, so a session won under a
 * looser policy is never offered under a stricter one. Where the policy is a
 * program's callback that a resumed handshake would not call, or a setting
 * the probe cannot see, there is no offer at all.
 *
 * OCSP stapling: a resumed handshake carries no status response (OpenSSL
 * calls the program's status callback without one on TLS 1.3, not at all
 * on TLS 1.2). A program that asks for one is keyed apart, and keeps only
 * sessions whose full handshake got no response either: what it accepted
 * then is what resuming gives it (IO::Socket::SSL asks by default, and
 * resumes against servers that do not staple).
 */
#ifndef OSSL_POLICY_H
#define OSSL_POLICY_H

#include "ossl_state.h"

#include <stddef.h>
#include <stdint.h>

/*
 * policy_describe - write the connection's policy as key text into out[cap]
 * ("sec=2|opt=...|mcl=...|ocsp=...|hello=...|ovr=..."). Returns 0, or -1
 * with *why set to a static reason when no session may be offered to it (a
 * custom security callback, DANE, CT, a setting we cannot read, a probe
 * that failed). Run with the error queue marked. Thread-safe: the
 * hello was recorded by policy_note_new.
 */
int policy_describe(SSL *ssl, const struct ar_conn *c, char *out, size_t cap, const char **why);

/*
 * policy_note_new - the program made `ssl` (SSL_new, inside its call, so
 * under whatever lock it holds for its context): record the policy its
 * context has now, which is what SSL_new copied into it. The probe runs at
 * most once per context and settings (ossl_policy.c); a context with the
 * program's own extensions is not probed (no offers then).
 */
void policy_note_new(SSL *ssl);

/*
 * policy_note_custom_ext - the program added a TLS extension of its own to
 * `ctx`: its callbacks would run for the probe.
 */
void policy_note_custom_ext(SSL_CTX *ctx);

/*
 * policy_ctx_stat - `value` as SSL_CTX_ctrl(ctx, cmd) returned it, less the
 * probes' own connection attempts for SSL_CTX_sess_connect.
 */
long policy_ctx_stat(SSL_CTX *ctx, int cmd, long value);

/*
 * policy_keepable - whether a session won by `ssl` may be kept for later
 * offers under this policy: not when the server stapled an OCSP response
 * (see above), and not one whose key exchange a PSK or an SRP password
 * authenticated. 0 with *why set if not.
 */
int policy_keepable(SSL *ssl, const char **why);

/*
 * policy_status_after - whether offering ssl a session of protocol
 * `version` means running the program's OCSP status callback ourselves at
 * the end of the handshake: it asks for a status and its context has a
 * callback, which a full handshake calls (after the server's certificates,
 * with or without a stapled response) and so does a resumed TLS 1.3 one
 * (OpenSSL calls it without a response), but a resumed TLS 1.2 one never.
 */
int policy_status_after(SSL *ssl, int version);

/*
 * policy_run_status_callback - call the program's status callback for ssl,
 * whose resumed TLS 1.2 handshake just finished, as OpenSSL calls it on a
 * resumed TLS 1.3 one (no response; the peer certificate is the
 * session's). Returns the callback's answer (> 0 accepts, 0 refuses, < 0
 * an internal error), or 1 when the context has no callback any more.
 */
int policy_run_status_callback(SSL *ssl);

/*
 * policy_note_ctx_ctrl - the program (or libssl's own configuration code)
 * ran SSL_CTX_ctrl(cmd) on some context: a command that changes a context's
 * group, signature algorithm or OCSP settings makes every context's probed
 * hello stale. policy_note_config - the same for SSL_CONF_cmd and
 * SSL_CTX_config, which can change anything. Thread-safe, lock-free.
 */
void policy_note_ctx_ctrl(int cmd);
void policy_note_config(void);

/*
 * policy_probing - 1 while this thread runs the probe's handshake call: our
 * hooks must then pass every call through (libssl calls some of its own
 * exported functions through the PLT).
 */
int policy_probing(void);

/*
 * policy_note_ssl_ctrl - the program called SSL_ctrl(ssl, cmd, larg, parg)
 * and it succeeded: per-connection group and signature algorithm lists,
 * which the probe (made from the context) does not have, are folded into
 * the connection's override digest; a curve set with SSL_set_tmp_ecdh rules
 * out offers. Other commands return at once (it runs on every SSL_ctrl).
 */
void policy_note_ssl_ctrl(SSL *ssl, int cmd, long larg, const void *parg);

/*
 * policy_note_mfl - the program set the connection's maximum fragment
 * length mode (SSL_set_tlsext_max_fragment_length succeeded; 0 disables):
 * folded into its override digest, so it only shares sessions with
 * connections that set the same modes (the context's mode is in the probed
 * hello). A copy made by SSL_dup, which keeps no mode of its own, gets no
 * offers, as for the lists (ossl_state.c).
 */
void policy_note_mfl(SSL *ssl, uint8_t mode);

/*
 * policy_note_opaque - the program configured something on this connection
 * that cannot be read back or repeated on a resumed handshake (`what`, a
 * static string: DANE, SSL_CONF, a certificate callback): no offer to it.
 */
void policy_note_opaque(SSL *ssl, const char *what);

#endif
