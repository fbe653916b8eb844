/*
 * ar_entry.h - the on-disk form of one stored session (a file in the store).
 *
 * Layout, all integers big-endian:
 *   "ARS1"  magic
 *   u32     total length of the file
 *   u16+..  key      (the full session key, compared on every read)
 *   u16+..  label    ("host:port", shown by --list)
 *   i64     born, i64 expires, u8 single_use, i64 verify_result, u32 version
 *   u32+..  session  (library serialization)
 *   u32+..  chain    (peer chain, see ossl_verify.h)
 *   u64     FNV-1a of everything before it
 * Every field is bounded; anything else, truncated or trailing is rejected.
 */
#ifndef AR_ENTRY_H
#define AR_ENTRY_H

#include "ar_cache.h"

#define AR_ENTRY_MAX_KEY 4096
#define AR_ENTRY_MAX_LABEL 256
#define AR_ENTRY_MAX_DER (64 * 1024)
#define AR_ENTRY_MAX_CHAIN (256 * 1024)
#define AR_ENTRY_MAX (AR_ENTRY_MAX_KEY + AR_ENTRY_MAX_LABEL + AR_ENTRY_MAX_DER + AR_ENTRY_MAX_CHAIN + 64)

struct ar_entry {
    char key[AR_ENTRY_MAX_KEY + 1];
    char label[AR_ENTRY_MAX_LABEL + 1];
    struct ar_session s; /* owns its buffers */
};

/*
 * entry_encode - serialize into *out (malloc'd). Returns 0, or -1 when a
 * field is over its bound or memory runs out.
 */
int entry_encode(const char *key, const char *label, const struct ar_session *s, struct ar_blob *out);

/*
 * entry_decode - parse and validate data[len] into *e (zeroed first; on
 * success the caller owns e->s, to be freed with session_clear). Returns 0,
 * or -1 with *why set to a static reason. Never reads outside data[len].
 */
int entry_decode(const unsigned char *data, size_t len, struct ar_entry *e, const char **why);

#endif
