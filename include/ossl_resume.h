/*
 * ossl_resume.h - the three moments of a client connection: before its
 * handshake (offer a session), when OpenSSL reports a new session (capture
 * it), and when the handshake ends (record the outcome).
 *
 * All three run inside hooks, fail open (any problem means no resumption this
 * time) and leave errno and the OpenSSL error queue as they found them.
 */
#ifndef OSSL_RESUME_H
#define OSSL_RESUME_H

#include "ossl_sym.h"

/*
 * How the handshake was started. SSL_connect may switch a TLS_method SSL to
 * client mode. Only explicit handshake calls (no application data moves
 * within them) may have their trust check finished after the handshake.
 */
enum start_kind { START_CONNECT, START_HANDSHAKE, START_IO };

/*
 * resume_before - called before a call that may start a client handshake.
 * Acts once per connection (the first such call of a not-yet-started
 * client handshake): derives the key, and offers a stored session unless
 * the program set its own or a rule forbids it.
 */
void resume_before(SSL *ssl, enum start_kind how);

/*
 * resume_after - called after that call returned `ret`; returns what the
 * hook must return. Records the outcome once the handshake finished or
 * failed: a refused or failed offer drops the key's sessions. Non-blocking
 * retries (WANT_READ/WRITE) are not outcomes. When a trust check had to wait
 * for the handshake (see trust_store_empty) and now fails, the resumed
 * handshake is failed as a full one would have been: verify result set,
 * "certificate verify failed" queued, -1 returned.
 */
int resume_after(SSL *ssl, int ret);

/* resume_after_write - the program wrote on a finished connection: close a
 * TCP_NODELAY window (ar_nodelay.h). Call only when nodelay_any_open(). */
void resume_after_write(SSL *ssl);

/* resume_ssl_clear - a connection is reused: forget its per-handshake state
 * (a clear during a handshake we follow is OpenSSL's own, and is ignored). */
void resume_ssl_clear(SSL *ssl);

/* resume_note_ssl_sid - the program set a session id context on one SSL. */
void resume_note_ssl_sid(SSL *ssl, const unsigned char *sid, unsigned len);

#endif
