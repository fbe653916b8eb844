/*
 * ar_state.h - what every TLS library's glue shares: the configuration in
 * effect, the process's session table, the per-user store, and the policy
 * of keeping, taking and dropping sessions across the two.
 *
 * Library-neutral: the OpenSSL and GnuTLS glue both call it with keys that
 * carry their library's tag, so sessions never cross from one to the other.
 */
#ifndef AR_STATE_H
#define AR_STATE_H

#include "ar_cache.h"
#include "ar_store.h"

#include <stdint.h>

/*
 * state_ready - 1 once resumption is enabled (AUTORESUME_DISABLE unset) and
 * the table exists (the store is opened too, or its failure logged); 0
 * means pass everything through. Thread-safe, cheap after the first call.
 */
int state_ready(void);

/*
 * state_publish_now - publish the tickets kept in the process to the store
 * now, as at exit (and once: they leave the table). For a TLS library's own
 * shutdown, whose objects the encoding needs: OpenSSL's cleanup runs it
 * first. Does nothing without a store or in a child made without atfork
 * handlers.
 */
void state_publish_now(void);

/* The process's table; valid when state_ready(). */
struct ar_cache *state_table(void);

/* The per-user store, or NULL when off or unusable (the reason was logged). */
struct ar_store *state_store(void);

/* now_seconds - wall-clock time, for lifetimes shared with other processes. */
int64_t now_seconds(void);

/*
 * state_keep - keep *s (consumed in every case) under key. With a store,
 * a ticket won by a process's first connection goes to the store at once;
 * once the process has looked for a session twice, it keeps its newest
 * ticket per key in its table (no other process can see it, so it is spent
 * once), publishes older ones at once and the kept ones at a normal exit
 * (atexit). In the store one atomic claim decides which process spends a
 * ticket. A process killed with SIGKILL (or ending with _exit) loses only
 * the tickets it kept. Reusable sessions are kept in both (the table
 * answers faster). A session with its native form only is encoded
 * (session_encode) just before it goes to the store, outside the table's
 * lock, never with the store off; one that cannot be is not kept (not
 * published, for a spilled or exiting ticket).
 * Returns 0 if kept somewhere, -1 if not.
 */
int state_keep(const char *key, const char *label, struct ar_session *s, int64_t now);

/*
 * state_take - the newest usable session of key: the table first, then the
 * store (*from_store tells which). 1 found, 0 none, -1 out of memory.
 */
int state_take(const char *key, struct ar_session *s, int *from_store);

/* state_drop - forget every session of key, everywhere (a handshake failed after an offer). */
void state_drop(const char *key);

/*
 * state_drop_born - the server refused a session won at `born`: it forgot
 * every session of that full handshake and earlier ones (restart, new ticket
 * keys). Sessions won later, maybe by another process meanwhile, stay.
 */
void state_drop_born(const char *key, int64_t born);

/*
 * state_note_offer - count, and log at debug, what the first handshake call
 * of a client connection decided: the program set its own session, or no
 * offer (why_not, a static reason), or an offer (why_not NULL).
 */
void state_note_offer(const char *label, int program_session, const char *why_not);

/*
 * state_note_handshake - count, and log at info (one line per connection),
 * how a handshake that completed went. Returns 1 when the server refused
 * our offer: the caller then drops the key's stale sessions.
 */
int state_note_handshake(const char *label, const char *version, int program_session,
                         int offered, int resumed, const char *why_not);

#endif
