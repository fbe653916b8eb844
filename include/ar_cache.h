/*
 * ar_cache.h - the per-process session table: server key -> a few sessions.
 *
 * Sessions are kept serialized, or in the glue's parsed form only until the
 * bytes are needed (see ar_native_ops; a library object is never offered
 * itself, so one session can serve connections of any number of contexts), together with
 * the peer certificate chain of the full handshake that won them, so a later
 * offer can re-check trust. TLS 1.3 tickets are single use: taking one
 * removes it. TLS 1.2 sessions stay until they expire or are dropped.
 *
 * All functions are thread-safe (one mutex per table) unless noted.
 */
#ifndef AR_CACHE_H
#define AR_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct ar_blob {
    unsigned char *data; /* malloc'd, or NULL when len == 0 */
    size_t len;
};

struct ar_session {
    struct ar_blob der;    /* serialized session (library format); may be empty while
                              native is set: made by session_encode when needed */
    void *native;          /* optional parsed form, see cache_set_native_ops; may be NULL */
    struct ar_blob chain;  /* peer chain of the full handshake, see ossl_verify */
    int64_t born;          /* time of the original full handshake */
    int64_t expires;       /* not offered at or after this time */
    int single_use;        /* TLS 1.3 ticket: hand out at most once */
    long verify_result;    /* the library's verify result stored with it */
    int version;           /* protocol version, e.g. 0x0304 */
};

struct ar_cache;

/*
 * Parsing a session and its certificates costs more than a resumed handshake
 * (OpenSSL 3 decodes public keys through its provider framework), so the
 * glue may keep its parsed objects beside the bytes, reference-counted:
 * `ref` takes one more reference (never fails), `unref` drops one. Set once,
 * before any session carries a native pointer. Never written to the store.
 *
 * Serializing costs most of a capture, and a session that stays in the
 * process is never needed as bytes, so a session may carry only its native
 * form (der empty): `encode` makes the bytes when something needs them (the
 * store), into *out (malloc'd); 0, or -1 (*out empty: out of memory, or the
 * library cannot any more). `final` is set for the publishing at exit: the
 * glue must not touch anything but the session then (no memo). NULL: the
 * glue never leaves der empty.
 */
struct ar_native_ops {
    void *(*ref)(void *native);
    void (*unref)(void *native);
    int (*encode)(void *native, struct ar_blob *out, int final);
};
void cache_set_native_ops(const struct ar_native_ops *ops);

/*
 * session_present - whether *s holds a session at all: bytes, or a native
 * form that session_encode can make them from.
 */
int session_present(const struct ar_session *s);

/*
 * session_encode - make sure s->der holds the bytes, through the native
 * ops' encode when it is empty (see ar_native_ops; `final` is passed on).
 * 0, or -1 when there are none (s unchanged then). The caller owns *s (no
 * lock is taken: never call it on a session inside the table).
 */
int session_encode(struct ar_session *s, int final);

/*
 * session_usable - not expired at `now`, younger than the lifetime cap of
 * its protocol counted from the original full handshake (AR_MAX_AGE_TLS12,
 * _TLS13: applied here, on every read from the table or the store, not only
 * when a session is written), and not won more than a minute in the future
 * (the clock moved back since; the server would not take it). The minute is
 * slack for the clocks of processes sharing the store.
 */
int session_usable(const struct ar_session *s, int64_t now);

/* session_clear - free what *s owns and zero it. NULL-safe. */
void session_clear(struct ar_session *s);

/* blob_copy - deep copy of src into *dst; 0, or -1 on ENOMEM (*dst empty then). */
int blob_copy(struct ar_blob *dst, const struct ar_blob *src);

/* session_copy - deep copy into *dst (native shared by reference); 0, or -1 on ENOMEM. */
int session_copy(struct ar_session *dst, const struct ar_session *src);

/*
 * cache_new - an empty table keeping at most max_keys keys (least recently
 * used evicted first) and at most per_key sessions per key. NULL on ENOMEM.
 */
struct ar_cache *cache_new(unsigned max_keys, unsigned per_key);

/* cache_free - free the table and all sessions. NULL-safe; no other user may remain. */
void cache_free(struct ar_cache *c);

/*
 * cache_put - add *s under `key`, taking ownership of its buffers in every
 * case (*s is zeroed). A multi-use session replaces the older multi-use ones
 * of the key; tickets accumulate up to per_key, the oldest dropped first.
 * Already-expired sessions are discarded. Returns 0, or -1 if not stored.
 */
int cache_put(struct ar_cache *c, const char *key, struct ar_session *s, int64_t now);

/*
 * cache_keep_ticket - add the single-use session *s under `key` (labelled
 * `label` for the store), taking ownership as cache_put does. When the key
 * already holds `share` tickets (or per_key sessions), its oldest ticket is
 * moved into *spilled (the caller owns it then, to publish it) instead of
 * being dropped; *spilled is zeroed otherwise. Returns 0, or -1 if not kept.
 */
int cache_keep_ticket(struct ar_cache *c, const char *key, const char *label,
                      struct ar_session *s, int64_t now, unsigned share,
                      struct ar_session *spilled);

/*
 * cache_drain_tickets - remove every single-use session from the table and
 * call fn(key, label, s, arg) for each, outside the table's lock; fn may
 * take what *s owns (it is cleared after). Returns how many; 0 without
 * draining when the lock stays busy (an exit from a signal handler that
 * interrupted the table's owner thread).
 */
size_t cache_drain_tickets(struct ar_cache *c,
                           void (*fn)(const char *key, const char *label, struct ar_session *s,
                                      void *arg),
                           void *arg);

/*
 * cache_take - the newest usable session of `key` (see session_usable), copied into *out
 * (caller owns it; session_clear when done). A single-use one is removed
 * from the table. Expired sessions met on the way are removed.
 * Returns 1 if found, 0 if none, -1 on ENOMEM (*out zeroed unless 1).
 */
int cache_take(struct ar_cache *c, const char *key, int64_t now, struct ar_session *out);

/* cache_drop - forget every session of `key` (a handshake failed after an offer). */
void cache_drop(struct ar_cache *c, const char *key);

/*
 * cache_drop_born - forget the sessions of `key` won at or before
 * `born_max`: a server refused one of them, so it forgot them all (restart,
 * rotated keys), while sessions from later full handshakes are fresh.
 */
void cache_drop_born(struct ar_cache *c, const char *key, int64_t born_max);

/* cache_count - number of keys and (optionally) sessions held. */
size_t cache_count(struct ar_cache *c, size_t *sessions);

/*
 * fork support, for pthread_atfork: prepare locks the table, parent unlocks
 * it, child unlocks it and drops every single-use ticket, so parent and child
 * never both spend one. Not for other use.
 */
void cache_fork_prepare(struct ar_cache *c);
void cache_fork_parent(struct ar_cache *c);
void cache_fork_child(struct ar_cache *c);

#endif
