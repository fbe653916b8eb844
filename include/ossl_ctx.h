/*
 * ossl_ctx.h - per-SSL_CTX work: install our new-session callback (chained
 * in front of the program's) and keep the session-cache mode and the
 * callback the program sees exactly as it set them.
 */
#ifndef OSSL_CTX_H
#define OSSL_CTX_H

#include "ossl_sym.h"

/* Called for every client session OpenSSL reports as new; see ossl_resume.c. */
typedef void (*ctx_capture_fn)(SSL *ssl, SSL_SESSION *sess);

/*
 * ctx_prepare - make `ctx` report new client sessions to `capture` (once per
 * context). Returns 0 when sessions may be offered and captured on it, or -1
 * with *why set (the program turned caching off, uses its own certificate
 * verification or certificate callback, out of memory). Takes ctx_lock.
 */
int ctx_prepare(SSL_CTX *ctx, ctx_capture_fn capture, const char **why);

/*
 * ctx_hook_ctrl - the SSL_CTX_ctrl commands we answer for a prepared context
 * (get/set session cache mode). Returns 1 and sets *result if handled, 0 if
 * the real SSL_CTX_ctrl must run.
 */
int ctx_hook_ctrl(SSL_CTX *ctx, int cmd, long larg, long *result);

/* ctx_hook_set_new_cb / ctx_hook_get_new_cb - same contract: 1 if handled. */
int ctx_hook_set_new_cb(SSL_CTX *ctx, int (*cb)(SSL *, SSL_SESSION *));
int ctx_hook_get_new_cb(SSL_CTX *ctx, int (**cb)(SSL *, SSL_SESSION *));

/* ctx_note_sid / ctx_note_custom_verify - record what the program set (after the real call succeeded). */
void ctx_note_sid(SSL_CTX *ctx, const unsigned char *sid, unsigned len);
void ctx_note_custom_verify(SSL_CTX *ctx, int on);
/* ctx_note_cert_cb - SSL_CTX_set_cert_cb: a client certificate chosen per handshake. */
void ctx_note_cert_cb(SSL_CTX *ctx, int on);
/*
 * ctx_note_psk - PSK callback `which` (AR_PSK_*) set on ctx (on) or cleared;
 * each setter has its own bit, so clearing one leaves the other's: the identity and
 * key it hands out, and its verdict on the server's hint, are not in the
 * session key, and a resumed TLS 1.2 handshake never calls it. No offers.
 */
#define AR_PSK_CLIENT_CB 1  /* SSL_CTX_set_psk_client_callback */
#define AR_PSK_SESSION_CB 2 /* SSL_CTX_set_psk_use_session_callback */
void ctx_note_psk(SSL_CTX *ctx, int which, int on);
/* ctx_psk_unrecorded - a PSK callback was set where ctx_note_psk could not
 * record it (out of memory): treat every context as having one. */
int ctx_psk_unrecorded(void);
/*
 * ctx_copied_callback - why an SSL made from ctx now gets no offers for a
 * callback SSL_new copies into it (a client certificate or PSK callback),
 * or NULL: the SSL keeps its copy even if the program clears the
 * context's afterwards. Call at SSL_new.
 */
const char *ctx_copied_callback(SSL_CTX *ctx);
/*
 * ctx_note_own_libctx - ctx was made with its own library context or
 * property query (SSL_CTX_new_ex): OpenSSL verifies its peers' chains with
 * those, the trust re-check with the default ones. No offers.
 */
void ctx_note_own_libctx(SSL_CTX *ctx);

/* ctx_copy_sid - copy ctx's session id context, if the program set one, into ssl's state. */
void ctx_copy_sid(SSL_CTX *ctx, SSL *ssl);

/*
 * ctx_client_mode_is_ours - whether SSL_SESS_CACHE_CLIENT is on in ctx only
 * because we added it (apply_mode): OpenSSL's client-side cache calls then
 * happen only with the library.
 */
int ctx_client_mode_is_ours(SSL_CTX *ctx);

#endif
