/*
 * ar_log.h - opt-in diagnostics. Quiet unless AUTORESUME_LOG asks for it: the
 * host program's stderr belongs to the host.
 */
#ifndef AR_LOG_H
#define AR_LOG_H

enum ar_log_level {
    AR_LOG_OFF = 0,
    AR_LOG_ERROR,
    AR_LOG_WARN,
    AR_LOG_INFO,
    AR_LOG_DEBUG,
};

/*
 * log_parse_level - "off", "error", "warn", "info", "debug" or "0".."4"
 * (case-insensitive) into *out. Returns 0, or -1 for anything else (out is
 * left alone). NULL and "" mean off.
 */
int log_parse_level(const char *text, enum ar_log_level *out);

/*
 * log_open - start logging at `level` to `path` (appended, created 0600,
 * close-on-exec; opened even at level off, for log_always) or to stderr
 * when path is NULL or "". Call once, before
 * other threads log. If the file cannot be opened, logs go to stderr and the
 * failure is reported there. Never fails otherwise.
 */
void log_open(enum ar_log_level level, const char *path);

/* log_enabled - whether a message at `level` would be written. Lock-free. */
int log_enabled(enum ar_log_level level);

/*
 * log_msg - format one line, prefix it with "autoresume[PID]: ", and write it
 * whole with a single write(2). Lines are cut at 1 KiB. Thread-safe,
 * async-signal-unsafe. Preserves errno.
 */
void log_msg(enum ar_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* log_always - like log_msg, whatever the level (the stats line asked for). */
void log_always(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * log_protocol_name - the name of a TLS/DTLS wire version (0x0304, ...) as
 * OpenSSL's SSL_get_version spells it ("TLSv1.3"), so lines of both
 * libraries read alike; "?" for anything else. Static storage.
 */
const char *log_protocol_name(int wire_version);

#define log_error(...) log_msg(AR_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(AR_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(AR_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(AR_LOG_DEBUG, __VA_ARGS__)

#endif
