/* Unit tests for conntrack.c (the port of a connection that hides its socket). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "ar_conntrack.h"

/* A loopback listener; its port in *port. */
static int listener(unsigned *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(l >= 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(l, 64), 0);
    cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return l;
}

/* Connect a new TCP socket to 127.0.0.1:port and note it, as the connect() hook does. */
static int dial(unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int c = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(c >= 0);
    cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    errno = 1234;
    conntrack_note(c, (struct sockaddr *)&a, sizeof a);
    cr_assert_eq(errno, 1234, "the note keeps errno");
    return c;
}

static void setup(void) { conntrack_forget(); }

TestSuite(conntrack, .init = setup);

Test(conntrack, one_socket_gives_its_port_once)
{
    unsigned p, got = 0;
    int l = listener(&p), fd = -1;
    int c = dial(p);
    cr_assert_eq(conntrack_guess(&got, &fd), 1);
    cr_assert_eq(got, p);
    cr_assert_eq(fd, c);
    cr_assert_eq(conntrack_guess(&got, &fd), 0, "claimed: a second handshake does not take it");
    close(c);
    close(l);
}

Test(conntrack, nothing_connected_no_guess)
{
    unsigned got = 0;
    int fd = -1;
    cr_assert_eq(conntrack_guess(&got, &fd), 0);
}

Test(conntrack, two_ports_in_flight_disagree)
{
    unsigned p1, p2, got = 0;
    int l1 = listener(&p1), l2 = listener(&p2), fd = -1;
    int a = dial(p1), b = dial(p2);
    cr_assert_eq(conntrack_guess(&got, &fd), 0, "two candidates, two ports: no guess");
    close(b);
    cr_assert_eq(conntrack_guess(&got, &fd), 1, "the other one closed: the rest agree");
    cr_assert_eq(got, p1);
    close(a);
    close(l1);
    close(l2);
}

Test(conntrack, same_port_twice_agrees_on_the_newest)
{
    unsigned p, got = 0;
    int l = listener(&p), fd = -1;
    int a = dial(p), b = dial(p);
    cr_assert_eq(conntrack_guess(&got, &fd), 1);
    cr_assert_eq(got, p);
    cr_assert_eq(fd, b);
    cr_assert_eq(conntrack_guess(&got, &fd), 1, "the older one is still unclaimed");
    cr_assert_eq(fd, a);
    close(a);
    close(b);
    close(l);
}

Test(conntrack, number_reused_for_another_peer_is_gone)
{
    unsigned p1, p2, got = 0;
    int l1 = listener(&p1), l2 = listener(&p2), fd = -1;
    int a = dial(p1);
    close(a);
    /* The same number, connected to another port behind our back (no note). */
    struct sockaddr_in s2 = {.sin_family = AF_INET, .sin_port = htons((unsigned short)p2),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int b = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(b, a, "the kernel reuses the lowest number");
    cr_assert_eq(syscall(SYS_connect, b, (struct sockaddr *)&s2, sizeof s2), 0, "past the hook");
    cr_assert_eq(conntrack_guess(&got, &fd), 0, "a socket that is not what was noted is no candidate");
    close(b);
    close(l1);
    close(l2);
}

Test(conntrack, datagram_sockets_are_no_candidates)
{
    unsigned p, got = 0;
    int l = listener(&p), fd = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)p),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_eq(connect(u, (struct sockaddr *)&a, sizeof a), 0);
    conntrack_note(u, (struct sockaddr *)&a, sizeof a);
    cr_assert_eq(conntrack_guess(&got, &fd), 0, "UDP (a resolver's socket) is ignored");
    close(u);
    close(l);
}

Test(conntrack, non_ip_addresses_are_not_noted)
{
    unsigned p, got = 0;
    int l = listener(&p), fd = -1;
    int c = dial(p);
    conntrack_forget();
    /* c is a TCP socket to p, but its note says AF_UNIX: it must be ignored. */
    struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/nonexistent"};
    conntrack_note(c, (struct sockaddr *)&un, sizeof un);
    cr_assert_eq(conntrack_guess(&got, &fd), 0);
    close(c);
    close(l);
}

Test(conntrack, ipv6)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len = sizeof a;
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0)
        cr_skip_test("no IPv6 loopback");
    cr_assert_eq(listen(l, 4), 0);
    cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    conntrack_note(c, (struct sockaddr *)&a, sizeof a);
    unsigned got = 0;
    int fd = -1;
    cr_assert_eq(conntrack_guess(&got, &fd), 1);
    cr_assert_eq(got, ntohs(a.sin6_port));
    close(c);
    close(l);
}

Test(conntrack, still_connecting_counts_for_disagreement_only)
{
    unsigned p1, got = 0;
    int l1 = listener(&p1), fd = -1;
    int a = dial(p1);
    /* A non-blocking connect to a port nobody answers on (TEST-NET-1): still connecting. */
    struct sockaddr_in far = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "192.0.2.1", &far.sin_addr);
    int b = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(b, (struct sockaddr *)&far, sizeof far);
    if (r != -1 || errno != EINPROGRESS)
        cr_skip_test("no route for a connect that stays in progress");
    conntrack_note(b, (struct sockaddr *)&far, sizeof far);
    cr_assert_eq(conntrack_guess(&got, &fd), 0, "a connect in flight to another port disagrees");
    close(b);
    cr_assert_eq(conntrack_guess(&got, &fd), 1);
    cr_assert_eq(fd, a);
    close(a);
    close(l1);
}

Test(conntrack, a_socket_claimed_by_its_own_handshake_is_no_candidate)
{
    unsigned p1, p2, got = 0;
    int l1 = listener(&p1), l2 = listener(&p2), fd = -1;
    int a = dial(p1), b = dial(p2);
    conntrack_claim(a); /* a connection that has its socket (SSL_set_fd) */
    cr_assert_eq(conntrack_guess(&got, &fd), 1);
    cr_assert_eq(got, p2);
    close(a);
    close(b);
    close(l1);
    close(l2);
}

Test(conntrack, pushed_out_sockets_stop_guessing_until_closed)
{
    unsigned p1, p2, got = 0;
    int l1 = listener(&p1), l2 = listener(&p2), fd = -1;
    int first = dial(p2);
    int c[AR_CONNTRACK_SLOTS];
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        c[i] = dial(p1);
    /* `first` (the other port) was pushed out while still connected. */
    cr_assert_eq(conntrack_guess(&got, &fd), 0, "a pushed-out disagreement must not be missed");
    close(first);
    cr_assert_eq(conntrack_guess(&got, &fd), 1, "once it is closed, guesses come back");
    cr_assert_eq(got, p1);
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        close(c[i]);
    close(l1);
    close(l2);
}

Test(conntrack, closed_sockets_pushed_out_do_not_stop_guessing)
{
    unsigned p, got = 0;
    int l = listener(&p), fd = -1, c[AR_CONNTRACK_SLOTS], hold[AR_CONNTRACK_SLOTS];
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        c[i] = dial(p);
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        close(c[i]);
    /* Their numbers now hold no sockets, so the next connects get new ones
     * and push the closed notes out. */
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++) {
        hold[i] = open("/dev/null", O_RDONLY);
        cr_assert(hold[i] >= 0);
    }
    int n[AR_CONNTRACK_SLOTS + 1];
    for (int i = 0; i <= AR_CONNTRACK_SLOTS; i++)
        n[i] = dial(p);
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        close(n[i]);
    cr_assert_eq(conntrack_guess(&got, &fd), 1, "closed connections pushed out are no reason to stop");
    cr_assert_eq(fd, n[AR_CONNTRACK_SLOTS]);
    close(n[AR_CONNTRACK_SLOTS]);
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        close(hold[i]);
    close(l);
}

/* The connect() hook itself (hooks_libc.c is linked into the unit tests). */
Test(conntrack, hook_notes_and_keeps_errno)
{
    unsigned p, got = 0;
    int l = listener(&p), fd = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)p),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int c = socket(AF_INET, SOCK_STREAM, 0);
    errno = 0;
    cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(errno, 0);
    cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof a) == -1 ? errno : 0, EISCONN,
                 "the real result and errno pass through");
    cr_assert_eq(conntrack_guess(&got, &fd), 1, "the hook noted the socket");
    cr_assert_eq(fd, c);
    cr_assert_eq(got, p);
    errno = 0;
    cr_assert_eq(connect(-1, (struct sockaddr *)&a, sizeof a), -1);
    cr_assert_eq(errno, EBADF);
    close(c);
    close(l);
}
