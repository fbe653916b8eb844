/*
 * ar_config.h - the library's settings, read once from the environment.
 */
#ifndef AR_CONFIG_H
#define AR_CONFIG_H

#include "ar_log.h"

#include <stddef.h>

struct ar_config {
    int disabled;                 /* AUTORESUME_DISABLE */
    int stats;                    /* AUTORESUME_STATS */
    enum ar_log_level log_level;  /* AUTORESUME_LOG */
    const char *log_file;         /* AUTORESUME_LOG_FILE, NULL = stderr */
    unsigned max_hosts;           /* AUTORESUME_MAX_HOSTS */
    unsigned tickets;             /* AUTORESUME_TICKETS */
    int store_off;                /* AUTORESUME_CACHE=off, or a setuid program */
    const char *store_dir;        /* AUTORESUME_CACHE=DIR, NULL = default place */
    const char *xdg_runtime_dir;  /* XDG_RUNTIME_DIR */
    unsigned long store_bytes;    /* AUTORESUME_CACHE_MAX_BYTES */
};

/* A lookup like getenv(3); tests pass their own. */
typedef char *(*config_getenv_fn)(const char *name);

/*
 * config_parse - fill *cfg from `get`, using defaults for unset values.
 * A malformed value keeps the default and is described in `problems`
 * (NUL-terminated, possibly empty, cut at `cap`). Returns the number of
 * malformed values. Strings in *cfg point into what `get` returned.
 */
int config_parse(struct ar_config *cfg, config_getenv_fn get, char *problems, size_t cap);

/*
 * config_get - the process's configuration, parsed from secure_getenv(3) on
 * first use (thread-safe, once), which also opens the log and reports
 * malformed values there. Never NULL.
 */
const struct ar_config *config_get(void);

#endif
