/*
 * stats.c - counters for the exit summary. Reasons are static strings, so
 * the table compares pointers; a slot is claimed with a compare-and-swap.
 */
#include "ar_stats.h"

#include <stdatomic.h>
#include <stdio.h>

#define MAX_REASONS 16

static _Atomic unsigned long counters[AR_STAT_COUNT];
static const char *_Atomic reasons[MAX_REASONS];
static _Atomic unsigned long reason_counts[MAX_REASONS + 1]; /* last: other */

void stats_add(enum ar_stat which)
{
    if ((unsigned)which < AR_STAT_COUNT)
        atomic_fetch_add_explicit(&counters[which], 1, memory_order_relaxed);
}

void stats_not_offered(const char *reason)
{
    for (int i = 0; i < MAX_REASONS; i++) {
        const char *cur = atomic_load(&reasons[i]);
        if (cur == NULL) {
            const char *expected = NULL;
            if (atomic_compare_exchange_strong(&reasons[i], &expected, reason))
                cur = reason;
            else
                cur = expected;
        }
        if (cur == reason) {
            atomic_fetch_add_explicit(&reason_counts[i], 1, memory_order_relaxed);
            return;
        }
    }
    atomic_fetch_add_explicit(&reason_counts[MAX_REASONS], 1, memory_order_relaxed);
}

void stats_format(char *out, size_t cap)
{
    size_t used = 0;
    int n = snprintf(out, cap,
                     "stats: connections=%lu offered=%lu resumed=%lu refused=%lu failed=%lu "
                     "program-sessions=%lu",
                     atomic_load(&counters[AR_STAT_CONNECTIONS]),
                     atomic_load(&counters[AR_STAT_OFFERED]), atomic_load(&counters[AR_STAT_RESUMED]),
                     atomic_load(&counters[AR_STAT_REFUSED]), atomic_load(&counters[AR_STAT_FAILED]),
                     atomic_load(&counters[AR_STAT_PROGRAM]));
    if (n < 0 || (size_t)n >= cap)
        return;
    used = (size_t)n;
    const char *sep = "; not offered:";
    for (int i = 0; i <= MAX_REASONS; i++) {
        const char *r = i < MAX_REASONS ? atomic_load(&reasons[i]) : "other";
        unsigned long c = atomic_load(&reason_counts[i]);
        if (r == NULL || c == 0)
            continue;
        n = snprintf(out + used, cap - used, "%s %s=%lu", sep, r, c);
        sep = ",";
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}
