/* Unit tests for conntrack.c (the port of a connection that hides its socket). */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
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
    cr_assert_eq(connect(b, (struct sockaddr *)&s2, sizeof s2), 0);
    cr_assert_eq(conntrack_guess(&got, &fd), 0, "a socket that is not what was noted is no candidate");
    close(b);
    close(l1);
    close(l2);
}

Test(conntrack, datagram_and_unix_sockets_are_no_candidates)
{
    unsigned p, got = 0;
    int l = listener(&p), fd = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)p),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_eq(connect(u, (struct sockaddr *)&a, sizeof a), 0);
    conntrack_note(u, (struct sockaddr *)&a, sizeof a);
    cr_assert_eq(conntrack_guess(&got, &fd), 0, "UDP (a resolver's socket) is ignored");
    struct sockaddr un = {.sa_family = AF_UNIX};
    conntrack_note(u, &un, sizeof un); /* ignored: not IP */
    cr_assert_eq(conntrack_guess(&got, &fd), 0);
    close(u);
    close(l);
}

Test(conntrack, too_many_in_flight_stops_guessing)
{
    unsigned p1, p2, got = 0;
    int l1 = listener(&p1), l2 = listener(&p2), fd = -1;
    int first = dial(p2);
    int c[AR_CONNTRACK_SLOTS];
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        c[i] = dial(p1);
    /* `first` (the other port) was pushed out while still connected. */
    cr_assert_eq(conntrack_guess(&got, &fd), 0, "a pushed-out disagreement must not be missed");
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        close(c[i]);
    close(first);
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
    /* Their numbers now hold no sockets, so the next connect gets a new one. */
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        hold[i] = dup(l == 0 ? 1 : 0);
    int n = dial(p);
    cr_assert_eq(conntrack_guess(&got, &fd), 1, "plain connections long closed are no reason to stop");
    cr_assert_eq(fd, n);
    close(n);
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        close(hold[i]);
    close(l);
}
