/*
 * ar_store.h - the per-user session store shared by processes.
 *
 * A private directory (0700, owned by the user, not a symlink) holds one
 * subdirectory per session key, named by a salted hash of the key, and one
 * file per session in it (see ar_entry.h). Writers create a temporary file
 * and rename it into place, so readers never see a partial entry and a
 * writer killed at any point leaves the old data intact. A TLS 1.3 ticket is
 * claimed by renaming it away: exactly one process wins it. Files and
 * directories not owned by the user or open to others are never read.
 *
 * Thread-safe: no state changes after store_open except through the file
 * system, where every operation is atomic or tolerant of a concurrent one.
 */
#ifndef AR_STORE_H
#define AR_STORE_H

#include "ar_cache.h"

#include <stddef.h>
#include <stdint.h>

struct ar_store;

struct ar_store_limits {
    unsigned max_keys;  /* session keys kept; least recently used go first */
    unsigned per_key;   /* TLS 1.3 tickets kept per key */
    size_t max_bytes;   /* total size of entry files */
};

/*
 * store_default_dir - $XDG_RUNTIME_DIR/autoresume when XDG_RUNTIME_DIR is a
 * directory owned by the user with mode 0700, else /tmp/autoresume-UID.
 * `xdg` is the value of XDG_RUNTIME_DIR (may be NULL). Returns 0, or -1 if
 * the path does not fit.
 */
int store_default_dir(const char *xdg, char *out, size_t cap);

/*
 * store_open - use `dir` (created 0700 if missing; its parent must exist).
 * Returns NULL with *why set (static) when the directory is unusable: not
 * ours, a symlink, group/other access, not a directory, no memory.
 */
struct ar_store *store_open(const char *dir, const struct ar_store_limits *lim, const char **why);

/* store_close - release. NULL-safe. */
void store_close(struct ar_store *st);

/*
 * store_put - write session s (not consumed) for `key`, labelled for
 * listing. A reusable session replaces older reusable ones of the key;
 * tickets beyond per_key drop the oldest. Returns 0, or -1 (not stored).
 */
int store_put(struct ar_store *st, const char *key, const char *label,
              const struct ar_session *s, int64_t now);

/*
 * store_take - newest valid session of `key` into *out (caller owns it). A
 * ticket is claimed and removed; a reusable session stays. Expired, corrupt
 * or foreign files met on the way are removed. Returns 1, 0 (none), -1.
 */
int store_take(struct ar_store *st, const char *key, int64_t now, struct ar_session *out);

/* store_drop - remove every session of `key`. */
void store_drop(struct ar_store *st, const char *key);

/* store_drop_born - remove the sessions of `key` won at or before born_max (see cache_drop_born). */
void store_drop_born(struct ar_store *st, const char *key, int64_t born_max);

struct ar_store_info {
    const char *label;
    const char *key;    /* the full key of the newest session (no secrets: key_differences) */
    char library[24];   /* the key's library tag ("openssl-3.0", "gnutls-3.7"), "?" if unreadable */
    int version;        /* protocol version of the newest session */
    int64_t age;        /* seconds since its full handshake */
    int64_t expires_in; /* seconds */
    unsigned tickets;   /* unclaimed TLS 1.3 tickets */
    unsigned sessions;  /* reusable (TLS 1.2) sessions */
};

/*
 * store_list - call fn once per key with a summary (never secrets; its
 * strings live until fn returns).
 * Invalid and expired entries are removed on the way. Returns keys listed.
 */
int store_list(struct ar_store *st, int64_t now, void (*fn)(const struct ar_store_info *, void *),
               void *arg);

/*
 * store_clear - remove all keys, or those whose label is `host` with any
 * port or exactly `host:port` when `match` is non-NULL. Returns keys removed.
 */
int store_clear(struct ar_store *st, const char *match);

#endif
