/*
 * gtls_resume.h - the moments of a GnuTLS client session: created, before
 * its handshake (offer a session), when the handshake ends (record the
 * outcome, capture a TLS 1.2 session, replay a TLS 1.3 resumption's skipped
 * verification), when records arrive (capture a TLS 1.3 ticket), freed.
 *
 * All run inside hooks, fail open (any problem means no resumption this
 * time) and leave errno as they found it.
 */
#ifndef GTLS_RESUME_H
#define GTLS_RESUME_H

#include "gtls_sym.h"

/*
 * gresume_init_flags - the flags to give the real gnutls_init for the
 * program's `flags`. GNUTLS_NO_TICKETS keeps GnuTLS from sending any stored
 * session: no pre_shared_key in TLS 1.3 (ext/pre_shared_key.c), no
 * SessionTicket in TLS 1.2. libcurl up to 8.10 (git's https transport) sets
 * it because its own cache could not use tickets; curl 8.11 sets
 * GNUTLS_NO_TICKETS_TLS12 instead, which we do for it: TLS 1.2 tickets stay
 * off as asked (like OpenSSL's SSL_OP_NO_TICKET), TLS 1.3 may resume.
 * Only from GnuTLS 3.7.5, which has that flag; below, the flags as given.
 */
unsigned gresume_init_flags(unsigned flags);

/* gresume_init - gnutls_init succeeded with these flags (the program's): follow a client session. */
void gresume_init(gnutls_session_t s, unsigned flags);

/*
 * gresume_set_hook - the program sets a handshake hook: returns 1 if we
 * followed the session and installed the chain (ours sees each
 * NewSessionTicket's lifetime, then calls the program's as GnuTLS would
 * have), 0 if the real call must be made with the program's arguments.
 */
int gresume_set_hook(gnutls_session_t s, unsigned htype, int when, gnutls_handshake_hook_func func);

/* gresume_note_compat - gnutls_session_enable_compatibility_mode was called. */
void gresume_note_compat(gnutls_session_t s);

/* gresume_before_handshake - the first handshake call of a session we follow: offer. */
void gresume_before_handshake(gnutls_session_t s);

/*
 * gresume_after_handshake - that call returned `ret`; returns what the hook
 * must return: `ret`, or the error the full handshake would have failed
 * with when a resumed TLS 1.3 session fails the program's verification.
 */
int gresume_after_handshake(gnutls_session_t s, int ret);

/*
 * gresume_io_refused - 1 when a failed resumed session must not move
 * records. Before the first record of a session whose checks had to wait
 * for the program to load its trust (libcurl 8), makes them: a resumed
 * session whose certificate that trust rejects is refused from then on; a
 * TLS 1.2 session won before it is judged and kept. Thread-safe.
 */
int gresume_io_refused(gnutls_session_t s);

/* gresume_after_send - the program wrote (wrote: something was sent): close a
 * TCP_NODELAY window (ar_nodelay.h). */
void gresume_after_send(gnutls_session_t s, int wrote);

/* gresume_after_recv - records were read: capture a TLS 1.3 ticket that came with them. */
void gresume_after_recv(gnutls_session_t s);

/* gresume_deinit - the session is about to be freed: capture a ticket not yet seen, forget it. */
void gresume_deinit(gnutls_session_t s);

/* What the program set on a session (after the real call succeeded). Session
 * data that is GnuTLS's "no ticket yet" placeholder (4 zero bytes, which
 * gnutls_session_set_data ignores; libcurl keeps and sets it) is no session. */
void gresume_note_program_data(gnutls_session_t s, const void *data, size_t size);
void gresume_note_custom_transport(gnutls_session_t s);
/* bits: gnutls_dh_set_prime_bits's, a setting of the key (a full handshake
 * refuses a smaller prime; a resumed TLS 1.2 one sees none). */
void gresume_note_dh_bits(gnutls_session_t s, unsigned bits);
/* bits: gnutls_srp_set_prime_bits's. GnuTLS 3.7 keeps it in the field of
 * gnutls_dh_set_prime_bits (lib/srp.c), the last call of either wins: a
 * setting of the key as that one is. Later releases keep it apart, for SRP
 * key exchanges only, which are never offered (gtls_key.c): ignored there. */
void gresume_note_srp_bits(gnutls_session_t s, unsigned bits);
/*
 * gresume_verify_cert_status - 1 with *status set when the handshake that
 * ended last on s was resumed and its gnutls_session_set_verify_cert check
 * was ours (GnuTLS resets that status at every handshake and leaves it
 * unset where it skipped the check); 0: ask GnuTLS. Thread-safe as the
 * session is.
 */
int gresume_verify_cert_status(gnutls_session_t s, unsigned *status);
/* max: gnutls_handshake_set_max_packet_length's, a setting of the key (a
 * full handshake with more handshake data fails; a resumed one has less). */
void gresume_note_max_packet(gnutls_session_t s, size_t max);
/* text: the priority string; NULL = not known (e.g. a cache we did not see made).
 * These three and gresume_set_hook, called once the handshake started and
 * before it ended (after a GNUTLS_E_AGAIN), are late changes: an offered
 * session whose key they change fails at the end of a resumed handshake,
 * and nothing of that handshake is kept (gtls_resume.c, note_late). */
void gresume_note_priority(gnutls_session_t s, const char *text);
void gresume_note_server_name(gnutls_session_t s, gnutls_server_name_type_t type,
                              const void *name, size_t len);
/* Returns 1 if the session is followed: then GnuTLS must get gtls_session_tramp instead of fn. */
int gresume_note_verify_function(gnutls_session_t s, gnutls_certificate_verify_function *fn);
/*
 * gresume_note_verify_cert - gnutls_session_set_verify_cert2(s, data, n,
 * flags), or with data NULL and host set, gnutls_session_set_verify_cert(s,
 * host, flags). The pointers are kept, as GnuTLS keeps them (the program
 * must keep them valid), and what they point to is copied when the
 * handshake starts, which is when GnuTLS reads it.
 */
void gresume_note_verify_cert(gnutls_session_t s, const char *host, const gnutls_typed_vdata_st *data, unsigned n,
                              unsigned flags);

#endif
