/*
 * ar_env.h - every environment variable autoresume reads, with its default.
 *
 * All of them are read once, through secure_getenv(3), so a setuid or
 * otherwise AT_SECURE program ignores them all and runs with the defaults (the
 * wrapper, cli/autoresume.c, refuses to run AT_SECURE at all).
 * Keep README.md, man/autoresume.1 and the wrapper's --help (cli/autoresume.c)
 * in step with this.
 */
#ifndef AR_ENV_H
#define AR_ENV_H

/* "1" (or any value but "" and "0"): pass every call through untouched. */
#define AR_ENV_DISABLE "AUTORESUME_DISABLE"

/* Log level: off, error, warn, info, debug (or 0..4). Default: off. */
#define AR_ENV_LOG "AUTORESUME_LOG"

/* Append log lines to this file instead of stderr. Default: stderr. */
#define AR_ENV_LOG_FILE "AUTORESUME_LOG_FILE"

/* "1": one summary line at exit (connections, offered, resumed, ...). */
#define AR_ENV_STATS "AUTORESUME_STATS"

/* Server keys kept in the per-process table (LRU beyond that). */
#define AR_ENV_MAX_HOSTS "AUTORESUME_MAX_HOSTS"
#define AR_DEFAULT_MAX_HOSTS 1000
#define AR_LIMIT_MAX_HOSTS 1000000

/* TLS 1.3 tickets kept per server key (each is used once). */
#define AR_ENV_TICKETS "AUTORESUME_TICKETS"
#define AR_DEFAULT_TICKETS 4
#define AR_LIMIT_TICKETS 64

/*
 * The per-user session store shared by processes: unset or "" = the default
 * place, "off" = sessions stay inside each process, else a directory path.
 * Default place: $XDG_RUNTIME_DIR/autoresume (when that is a private
 * directory of the user), else /tmp/autoresume-UID. Never used by setuid
 * programs (AT_SECURE).
 */
#define AR_ENV_CACHE "AUTORESUME_CACHE"
#define AR_ENV_XDG_RUNTIME_DIR "XDG_RUNTIME_DIR"

/* Total bytes of store entries; least recently used keys go first. */
#define AR_ENV_CACHE_BYTES "AUTORESUME_CACHE_MAX_BYTES"
#define AR_DEFAULT_CACHE_BYTES (16UL * 1024 * 1024)
#define AR_LIMIT_CACHE_BYTES (1024UL * 1024 * 1024)

/* Wrapper only: the library to preload instead of the one it finds. */
#define AR_ENV_LIBRARY "AUTORESUME_LIBRARY"

/* Lifetime caps, counted from the original full handshake. */
#define AR_MAX_AGE_TLS12 (24L * 3600)     /* RFC 5246 F.1.4 */
#define AR_MAX_AGE_TLS13 (7L * 24 * 3600) /* RFC 8446 4.6.1 */

#endif
