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
 * resume_enter / resume_leave - around the real call of a hooked handshake
 * call: while this thread is inside it, a hook that libssl's own code
 * reaches for the same SSL (SSL_connect calls SSL_do_handshake) belongs to
 * the same handshake. Outside, an SSL back in the before state with a
 * handshake we followed unfinished was restarted by the program (after
 * giving it up: SSL_set_connect_state, SSL_clear) and is followed anew.
 * resume_enter returns what resume_leave restores.
 */
const SSL *resume_enter(const SSL *ssl);
void resume_leave(const SSL *outer);

/*
 * resume_skip_remove - SSL_CTX_remove_session(ctx, sess) is called: 1 when
 * it is OpenSSL's own call, within a handshake call of ours, for that
 * connection's session, made only because of the client cache mode we
 * added (a TLS 1.2 ticket renewed on a resumed handshake: OpenSSL removes
 * the old session from the cache, which marks it not resumable and calls
 * the program's remove callback); without us it would not be made.
 */
int resume_skip_remove(SSL_CTX *ctx, const SSL_SESSION *sess);

/*
 * resume_after - called after that call returned `ret`. Records the outcome
 * once the handshake finished or failed: a refused or failed offer drops the
 * key's sessions. Non-blocking retries (WANT_READ/WRITE) are not outcomes.
 * When a trust check had to wait for the handshake (see trust_store_empty)
 * and now fails, the resumed handshake is failed as a full one would have
 * been: verify result set, "certificate verify failed" queued, and the
 * connection dead from then on (resume_dead). Returns 0 when the hook must
 * return the call's failure value (-1, or 0 for the _ex forms), else 1.
 */
int resume_after(SSL *ssl, int ret);

/*
 * resume_finish_first - call before SSL_read/_write/_peek (and _ex) on a
 * handshake not finished yet. When its trust check is still pending, no
 * application byte may move before it passed, but those calls finish the
 * handshake and then move data in one go: so finish the handshake here with
 * the real SSL_do_handshake, and check (resume_after). Returns 1 when the
 * call may go on (nothing pending, or the handshake finished and trust
 * held); else 0: the hook returns the call's failure value, and
 * SSL_get_error tells WANT_READ/WANT_WRITE (unchanged non-blocking
 * semantics) or the failure, as the call itself would have.
 */
int resume_finish_first(SSL *ssl);

/*
 * resume_dead - whether a deferred trust check failed on this connection.
 * OpenSSL leaves a connection whose handshake failed in its error state:
 * every later handshake, read, write or peek call fails (-1, or 0 for _ex)
 * with nothing queued, SSL_is_init_finished is 0, SSL_in_init 1 (so
 * SSL_shutdown fails: "shutdown while in init"); the hooks answer so for a
 * dead connection, without calling OpenSSL, so nothing more is sent. Cheap
 * (no lookup) while no check ever failed in the process. SSL_clear revives.
 */
int resume_dead(const SSL *ssl);

/* resume_after_write - the program wrote on a finished connection (wrote: the
 * call wrote something): close a TCP_NODELAY window (ar_nodelay.h). Call
 * only when nodelay_any_open(). */
void resume_after_write(SSL *ssl, int wrote);

/* resume_ssl_clear - SSL_clear returned: forget the connection's per-handshake
 * state. A clear inside our own call for that SSL (resume_enter) is
 * OpenSSL's, at the handshake's start, and is ignored. */
void resume_ssl_clear(SSL *ssl);

/* resume_note_ssl_sid - the program set a session id context on one SSL. */
void resume_note_ssl_sid(SSL *ssl, const unsigned char *sid, unsigned len);

#endif
