/*
 * log.c - one line, one write(2): lines from many threads or processes
 * sharing a file never interleave mid-line.
 */
#include "ar_log.h"
#include "ar_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

static enum ar_log_level log_level = AR_LOG_OFF;
static int log_fd = STDERR_FILENO;

int log_parse_level(const char *text, enum ar_log_level *out)
{
    static const char *const names[] = {"off", "error", "warn", "info", "debug"};

    if (text == NULL || text[0] == '\0') {
        *out = AR_LOG_OFF;
        return 0;
    }
    for (int i = 0; i <= AR_LOG_DEBUG; i++) {
        if (strcasecmp(text, names[i]) == 0 ||
            (text[0] == '0' + i && text[1] == '\0')) {
            *out = (enum ar_log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_open(enum ar_log_level level, const char *path)
{
    log_level = level;
    if (path == NULL || path[0] == '\0')
        return;
    int saved = errno;
    /* Kept open for the process's life: never as its 0, 1 or 2. */
    int fd = fd_above_stdio(open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600));
    if (fd >= 0)
        log_fd = fd;
    else
        log_msg(AR_LOG_ERROR, "cannot open log file %s (%m); logging to stderr", path);
    errno = saved;
}

int log_enabled(enum ar_log_level level)
{
    return level != AR_LOG_OFF && level <= log_level;
}

static void log_line(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

void log_msg(enum ar_log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
}

void log_always(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
}

const char *log_protocol_name(int wire_version)
{
    switch (wire_version) {
    case 0x0304: return "TLSv1.3";
    case 0x0303: return "TLSv1.2";
    case 0x0302: return "TLSv1.1";
    case 0x0301: return "TLSv1";
    case 0x0300: return "SSLv3";
    case 0xfefd: return "DTLSv1.2";
    case 0xfeff: return "DTLSv1";
    default: return "?";
    }
}

static void log_line(const char *fmt, va_list ap)
{
    int saved = errno;
    char line[1024];
    int n = snprintf(line, sizeof line, "autoresume[%ld]: ", (long)getpid());
    if (n < 0 || (size_t)n >= sizeof line)
        goto out;
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (m < 0)
        goto out;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    /* One attempt: a short or failed write of a diagnostic is not worth a retry loop. */
    ssize_t w = write(log_fd, line, len);
    (void)w;
out:
    errno = saved;
}
