/*
 * nodelay.c - a TCP_NODELAY window after resumed handshakes. See ar_nodelay.h.
 */
#include "ar_nodelay.h"

#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

static _Atomic long open_windows;

int nodelay_any_open(void)
{
    return atomic_load_explicit(&open_windows, memory_order_relaxed) > 0;
}

static int same_socket(const struct ar_nodelay *n)
{
    struct stat st;
    return fstat(n->fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == n->dev &&
           st.st_ino == n->ino;
}

void nodelay_begin(struct ar_nodelay *n, int fd)
{
    int saved = errno, v = 0, one = 1;
    socklen_t len = sizeof v;
    struct stat st;

    n->on = 0;
    /* Asked first, so a program that set TCP_NODELAY itself (curl) costs one
     * system call. Only a TCP socket has the TCP level: anything else fails
     * (ENOTSOCK, EOPNOTSUPP, ENOPROTOOPT) and we stay out. The inode is for
     * nodelay_end, which may run after the program closed the descriptor. */
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) != 0 || v != 0)
        goto out;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        goto out;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        goto out;
    n->on = 1;
    atomic_fetch_add(&open_windows, 1);
    n->fd = fd;
    n->dev = st.st_dev;
    n->ino = st.st_ino;
out:
    errno = saved;
}

/* Give the setting back; same_sock: the caller knows fd is still the socket. */
static void close_window(struct ar_nodelay *n, int same_sock)
{
    if (!n->on)
        return;
    int saved = errno, zero = 0;
    n->on = 0;
    atomic_fetch_sub(&open_windows, 1);
    /* No need to ask whether it is still on: the program had it off, and
     * turning off what the program turned off itself meanwhile changes
     * nothing (Linux only clears the flag), so the query would cost a
     * system call and decide nothing. */
    if (same_sock || same_socket(n))
        setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof zero);
    errno = saved;
}

void nodelay_end(struct ar_nodelay *n)
{
    close_window(n, 0);
}

void nodelay_end_write(struct ar_nodelay *n, int fd)
{
    close_window(n, n->on && fd == n->fd);
}
