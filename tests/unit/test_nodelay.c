/* Unit tests for nodelay.c (the TCP_NODELAY window after a resumed handshake) and sock.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ar_nodelay.h"

/* A connected loopback TCP pair; returns the client end, *peer the server end. */
static int tcp_pair(int *peer)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(l >= 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(l, 1), 0);
    cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    *peer = accept(l, NULL, NULL);
    cr_assert(*peer >= 0);
    close(l);
    return c;
}

static int nodelay_of(int fd)
{
    int v = -1;
    socklen_t len = sizeof v;
    cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    return v;
}

static void set_nodelay(int fd, int v)
{
    cr_assert_eq(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v), 0);
}

Test(nodelay, window_opens_and_closes)
{
    int peer, fd = tcp_pair(&peer);
    struct ar_nodelay n;
    cr_assert_eq(nodelay_of(fd), 0, "Nagle is on by default");
    errno = 1234;
    nodelay_begin(&n, fd);
    cr_assert_eq(errno, 1234, "errno kept");
    cr_assert(n.on);
    cr_assert_neq(nodelay_of(fd), 0);
    nodelay_end(&n);
    cr_assert_eq(errno, 1234, "errno kept");
    cr_assert_eq(nodelay_of(fd), 0, "the program's setting is back");
    nodelay_end(&n); /* idempotent */
    cr_assert_eq(nodelay_of(fd), 0);
    close(fd);
    close(peer);
}

Test(nodelay, program_setting_on_is_left_alone)
{
    int peer, fd = tcp_pair(&peer);
    struct ar_nodelay n;
    set_nodelay(fd, 1);
    nodelay_begin(&n, fd);
    cr_assert(!n.on, "nothing to do: the program has it on");
    nodelay_end(&n);
    cr_assert_neq(nodelay_of(fd), 0, "still on");
    close(fd);
    close(peer);
}

Test(nodelay, reused_descriptor_is_left_alone)
{
    int peer, fd = tcp_pair(&peer);
    struct ar_nodelay n;
    nodelay_begin(&n, fd);
    cr_assert(n.on);
    close(fd);
    close(peer);
    /* Another socket gets the same number and wants TCP_NODELAY on. */
    int peer2, fd2 = tcp_pair(&peer2);
    if (fd2 != fd) {
        cr_assert_eq(dup2(fd2, fd), fd);
        close(fd2);
        fd2 = fd;
    }
    set_nodelay(fd2, 1);
    nodelay_end(&n);
    cr_assert_neq(nodelay_of(fd2), 0, "another socket's setting is not touched");
    close(fd2);
    close(peer2);
}

Test(nodelay, program_turning_it_off_in_the_window)
{
    int peer, fd = tcp_pair(&peer);
    struct ar_nodelay n;
    nodelay_begin(&n, fd);
    cr_assert(n.on);
    set_nodelay(fd, 0); /* the program's own choice, inside the window */
    errno = 4321;
    nodelay_end(&n);
    cr_assert_eq(errno, 4321, "errno kept");
    cr_assert_eq(nodelay_of(fd), 0, "still off");
    cr_assert(!n.on);
    close(fd);
    close(peer);
}

Test(nodelay, first_write_closes_the_window)
{
    int peer, fd = tcp_pair(&peer);
    struct ar_nodelay n;
    nodelay_begin(&n, fd);
    cr_assert(n.on);
    errno = 99;
    nodelay_end_write(&n, fd);
    cr_assert_eq(errno, 99, "errno kept");
    cr_assert(!n.on && !nodelay_any_open());
    cr_assert_eq(nodelay_of(fd), 0, "the program's setting is back");
    nodelay_end_write(&n, fd); /* idempotent */
    nodelay_end(&n);
    cr_assert_eq(nodelay_of(fd), 0);
    close(fd);
    close(peer);
}

Test(nodelay, write_on_another_descriptor_checks_the_inode)
{
    int peer, fd = tcp_pair(&peer);
    struct ar_nodelay n;
    nodelay_begin(&n, fd);
    cr_assert(n.on);
    close(fd);
    close(peer);
    /* The connection writes to another descriptor now, and the window's
     * number is another socket that wants TCP_NODELAY on. */
    int peer2, fd2 = tcp_pair(&peer2);
    if (fd2 != fd) {
        cr_assert_eq(dup2(fd2, fd), fd);
        close(fd2);
    }
    set_nodelay(fd, 1);
    nodelay_end_write(&n, fd + 100);
    cr_assert(!n.on);
    cr_assert_neq(nodelay_of(fd), 0, "another socket's setting is not touched");
    close(fd);
    close(peer2);
}

Test(nodelay, not_a_tcp_socket)
{
    struct ar_nodelay n;
    int p[2], u[2];
    cr_assert_eq(pipe(p), 0);
    errno = 77;
    nodelay_begin(&n, p[1]);
    cr_assert(!n.on);
    cr_assert_eq(errno, 77);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, u), 0);
    nodelay_begin(&n, u[0]);
    cr_assert(!n.on, "a unix socket has no Nagle");
    nodelay_begin(&n, -1);
    cr_assert(!n.on);
    nodelay_end(&n);
    cr_assert_eq(errno, 77);
    close(p[0]), close(p[1]), close(u[0]), close(u[1]);
}

/* sock_peer (sock.c), with the same loopback pairs. */
#include "ar_sock.h"

Test(sock, peer_of_tcp_unix_and_nothing)
{
    int peer, fd = tcp_pair(&peer), u[2], p[2];
    char ip[64];
    unsigned port = 0;
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    cr_assert_eq(sock_peer(fd, ip, sizeof ip, &port), 1);
    cr_assert_str_eq(ip, "127.0.0.1");
    cr_assert_eq(getsockname(peer, (struct sockaddr *)&a, &len), 0);
    cr_assert_eq(port, ntohs(a.sin_port), "the server's port");
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, u), 0);
    cr_assert_eq(sock_peer(u[0], ip, sizeof ip, &port), 0, "connected, but not to an IP peer");
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(sock_peer(p[0], ip, sizeof ip, &port), -1, "no peer at all");
    cr_assert_eq(sock_peer(-1, ip, sizeof ip, &port), -1);
    close(fd), close(peer), close(u[0]), close(u[1]), close(p[0]), close(p[1]);
}

/* The key's IPv4 text is inet_ntop's, byte for byte: every value of each
 * octet in each position, and a sweep of whole addresses. */
Test(sock, ipv4_text_is_inet_ntop)
{
    char ours[16], theirs[16];
    for (unsigned pos = 0; pos < 4; pos++) {
        for (unsigned v = 0; v < 256; v++) {
            unsigned char a[4] = {1, 22, 133, 4};
            a[pos] = (unsigned char)v;
            cr_assert_eq(sock_ipv4_text(a, ours, sizeof ours), 1);
            cr_assert_not_null(inet_ntop(AF_INET, a, theirs, sizeof theirs));
            cr_assert_str_eq(ours, theirs);
        }
    }
    for (unsigned long x = 0; x < (1UL << 32); x += 65521UL * 7) {
        unsigned char a[4] = {(unsigned char)(x >> 24), (unsigned char)(x >> 16), (unsigned char)(x >> 8),
                              (unsigned char)x};
        cr_assert_eq(sock_ipv4_text(a, ours, sizeof ours), 1);
        cr_assert_not_null(inet_ntop(AF_INET, a, theirs, sizeof theirs));
        cr_assert_str_eq(ours, theirs);
    }
    unsigned char wide[4] = {255, 255, 255, 255};
    strcpy(ours, "untouched");
    cr_assert_eq(sock_ipv4_text(wide, ours, 15), 0, "16 bytes with the NUL do not fit in 15");
    cr_assert_str_eq(ours, "untouched");
    cr_assert_eq(sock_ipv4_text(wide, ours, 16), 1);
    cr_assert_str_eq(ours, "255.255.255.255");
}
