/* Unit tests for log.c: whole lines, errno kept, quiet when off. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ar_log.h"

static char path[64];

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/ar-log-test-%ld", (long)getpid());
    unlink(path);
}

TestSuite(log, .init = setup);

static size_t slurp(char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    return n;
}

Test(log, writes_whole_prefixed_lines_and_keeps_errno)
{
    char buf[4096];
    log_open(AR_LOG_INFO, path);
    errno = 42;
    log_info("hello %d", 7);
    cr_assert_eq(errno, 42);
    log_debug("not shown");
    size_t n = slurp(buf, sizeof buf);
    char want[64];
    snprintf(want, sizeof want, "autoresume[%ld]: hello 7\n", (long)getpid());
    cr_assert_eq(n, strlen(want));
    cr_assert_str_eq(buf, want);
}

Test(log, long_lines_are_cut_but_end_with_newline)
{
    char buf[4096], big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_open(AR_LOG_ERROR, path);
    log_error("%s", big);
    size_t n = slurp(buf, sizeof buf);
    cr_assert_leq(n, 1024);
    cr_assert_eq(buf[n - 1], '\n');
}

Test(log, off_writes_nothing)
{
    char buf[64];
    log_open(AR_LOG_OFF, path);
    log_error("nothing");
    cr_assert_eq(slurp(buf, sizeof buf), 0);
    cr_assert_eq(log_enabled(AR_LOG_ERROR), 0);
}

Test(log, unopenable_file_falls_back_quietly)
{
    log_open(AR_LOG_INFO, "/nonexistent-dir/x/y.log");
    log_info("to stderr"); /* must not crash */
    cr_assert(log_enabled(AR_LOG_INFO));
}

Test(log, protocol_names_as_openssl_spells_them)
{
    cr_assert_str_eq(log_protocol_name(0x0304), "TLSv1.3");
    cr_assert_str_eq(log_protocol_name(0x0303), "TLSv1.2");
    cr_assert_str_eq(log_protocol_name(0x0302), "TLSv1.1");
    cr_assert_str_eq(log_protocol_name(0x0301), "TLSv1");
    cr_assert_str_eq(log_protocol_name(0xfefd), "DTLSv1.2");
    cr_assert_str_eq(log_protocol_name(0), "?");
}

/* The log file stays open for the process's life: never as 0, 1 or 2 of a
 * daemon that closed them (its own next open() must get 0). */
Test(log, log_file_stays_off_stdio)
{
    int keep[3];
    for (int i = 0; i < 3; i++) {
        keep[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
        close(i);
    }
    log_open(AR_LOG_INFO, path);
    int first = open("/dev/null", O_RDONLY);
    log_msg(AR_LOG_INFO, "line after the daemon's open");
    close(first);
    for (int i = 0; i < 3; i++)
        dup2(keep[i], i);
    log_open(AR_LOG_OFF, NULL);
    char buf[256];
    slurp(buf, sizeof buf);
    cr_assert_eq(first, 0, "the program's next open got %d, not 0", first);
    cr_assert(strstr(buf, "line after the daemon's open") != NULL, "log file holds: %s", buf);
}
