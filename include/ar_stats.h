/*
 * ar_stats.h - what the library did in this process, for AUTORESUME_STATS=1
 * (and `autoresume --stats`): one summary line at exit.
 */
#ifndef AR_STATS_H
#define AR_STATS_H

#include <stddef.h>

enum ar_stat {
    AR_STAT_CONNECTIONS, /* client handshakes seen */
    AR_STAT_OFFERED,     /* sessions offered */
    AR_STAT_RESUMED,     /* offered and accepted by the server */
    AR_STAT_REFUSED,     /* offered and refused by the server */
    AR_STAT_FAILED,      /* handshakes that failed */
    AR_STAT_PROGRAM,     /* the program set its own session */
    AR_STAT_COUNT
};

/* stats_add - count one event. Lock-free, thread-safe. */
void stats_add(enum ar_stat which);

/*
 * stats_not_offered - count a reason a session was not offered. `reason`
 * must be a string with static storage; up to 16 distinct reasons are told
 * apart, the rest are counted as "other". Thread-safe.
 */
void stats_not_offered(const char *reason);

/* stats_format - the summary line (without prefix or newline) into out[cap]. */
void stats_format(char *out, size_t cap);

#endif
