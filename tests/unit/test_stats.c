/* Unit tests for stats.c: counters and reasons in the summary line. */
#include <criterion/criterion.h>
#include <string.h>

#include "ar_stats.h"

TestSuite(stats);

Test(stats, counts_and_reasons)
{
    static const char no_session[] = "no session", other_trust[] = "trust differs";
    char line[512];
    stats_add(AR_STAT_CONNECTIONS);
    stats_add(AR_STAT_CONNECTIONS);
    stats_add(AR_STAT_OFFERED);
    stats_add(AR_STAT_RESUMED);
    stats_not_offered(no_session);
    stats_not_offered(other_trust);
    stats_not_offered(other_trust);
    stats_format(line, sizeof line);
    cr_assert_str_eq(line, "stats: connections=2 offered=1 resumed=1 refused=0 failed=0 "
                           "program-sessions=0; not offered: no session=1, trust differs=2");
}

Test(stats, more_reasons_than_slots_count_as_other)
{
    static const char reasons[20][8] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9",
                                        "r10", "r11", "r12", "r13", "r14", "r15", "r16", "r17",
                                        "r18", "r19"};
    char line[1024];
    for (int i = 0; i < 20; i++)
        stats_not_offered(reasons[i]);
    stats_format(line, sizeof line);
    cr_assert_not_null(strstr(line, "r15=1"));
    cr_assert_null(strstr(line, "r16="));
    cr_assert_not_null(strstr(line, "other=4"));
}

Test(stats, tiny_buffer_is_safe)
{
    char line[8];
    stats_add(AR_STAT_FAILED);
    stats_format(line, sizeof line);
    cr_assert_lt(strlen(line), sizeof line);
}
