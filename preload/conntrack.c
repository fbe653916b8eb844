/*
 * conntrack.c - the port of a connection that hides its socket. See
 * ar_conntrack.h.
 */
#include "ar_conntrack.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

struct slot {
    int used;
    int claimed;            /* a handshake took it: not a candidate any more */
    int fd;
    sa_family_t family;
    unsigned short port;    /* host order */
    unsigned char addr[16];
    unsigned long seq;      /* age: larger is newer */
};

/* Descriptor numbers whose note was pushed out unchecked: each may still be a
 * candidate we know nothing more of, until it is seen gone or noted again. */
#define LOST_FDS 4096
#define WORD_BITS (8 * sizeof(unsigned long))

struct ring {
    struct slot s[AR_CONNTRACK_SLOTS];
    unsigned long seq;
    unsigned long lost[LOST_FDS / WORD_BITS];
    int lost_any;           /* some bit of lost[] is set */
    int lost_high;          /* a number >= LOST_FDS was pushed out: no more guesses */
};

static __thread struct ring ring;

/* Family, address and port of sa; 0 for anything but IPv4/IPv6. */
static int parse(const struct sockaddr *sa, socklen_t len, struct slot *out)
{
    memset(out->addr, 0, sizeof out->addr);
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        out->family = AF_INET;
        out->port = ntohs(in->sin_port);
        memcpy(out->addr, &in->sin_addr, 4);
        return 1;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        out->family = AF_INET6;
        out->port = ntohs(in6->sin6_port);
        memcpy(out->addr, &in6->sin6_addr, 16);
        return 1;
    }
    return 0;
}

enum liveness { GONE, CONNECTING, CONNECTED };

/* What fd is now: no stream socket, one still connecting, or one connected (*now its peer). */
static enum liveness stream_state(int fd, struct slot *now)
{
    int type = 0;
    socklen_t tlen = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM)
        return GONE;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return errno == ENOTCONN ? CONNECTING : GONE;
    if (!parse((const struct sockaddr *)&ss, len, now))
        now->family = AF_UNSPEC; /* connected, to something that is not IP */
    return CONNECTED;
}

/* Whether slot's descriptor is still the stream socket it noted. */
static enum liveness check(const struct slot *sl)
{
    struct slot now;
    enum liveness l = stream_state(sl->fd, &now);
    if (l == CONNECTED && (now.family != sl->family || now.port != sl->port ||
                           memcmp(now.addr, sl->addr, sizeof now.addr) != 0))
        return GONE; /* closed, and the number reused for another connection */
    return l;
}

/* Where a new note goes: fd's own slot, else a free one, else the oldest
 * claimed, else the oldest. */
static struct slot *slot_for(int fd)
{
    struct slot *free_sl = NULL, *claimed = NULL, *oldest = NULL;
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++) {
        struct slot *sl = &ring.s[i];
        if (!sl->used) {
            if (free_sl == NULL)
                free_sl = sl;
            continue;
        }
        if (sl->fd == fd) /* the same number again: that socket is gone */
            return sl;
        if (sl->claimed && (claimed == NULL || sl->seq < claimed->seq))
            claimed = sl;
        if (oldest == NULL || sl->seq < oldest->seq)
            oldest = sl;
    }
    return free_sl != NULL ? free_sl : claimed != NULL ? claimed : oldest;
}

static void lost_set(int fd, int on)
{
    if (fd >= LOST_FDS) {
        ring.lost_high |= on;
        return;
    }
    unsigned long bit = 1UL << ((unsigned)fd % WORD_BITS);
    if (on) {
        ring.lost[(unsigned)fd / WORD_BITS] |= bit;
        ring.lost_any = 1;
    } else {
        ring.lost[(unsigned)fd / WORD_BITS] &= ~bit;
    }
}

void conntrack_note(int fd, const struct sockaddr *sa, socklen_t len)
{
    struct slot n;
    if (fd < 0 || !parse(sa, len, &n))
        return;
    /* No system call here: a program that never uses TLS pays memory writes only. */
    struct slot *sl = slot_for(fd);
    if (sl->used && sl->fd != fd && !sl->claimed)
        lost_set(sl->fd, 1); /* may still be a candidate: remembered by number */
    lost_set(fd, 0);
    n.used = 1;
    n.claimed = 0;
    n.fd = fd;
    n.seq = ++ring.seq;
    *sl = n;
}

void conntrack_claim(int fd)
{
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++)
        if (ring.s[i].used && ring.s[i].fd == fd)
            ring.s[i].claimed = 1;
    if (fd >= 0)
        lost_set(fd, 0);
}

/* Whether a pushed-out number may still be a candidate; clears those that are gone. */
static int lost_alive(void)
{
    if (ring.lost_high)
        return 1;
    if (!ring.lost_any)
        return 0;
    int alive = 0;
    for (unsigned w = 0; w < LOST_FDS / WORD_BITS; w++) {
        for (unsigned long bits = ring.lost[w]; bits != 0; bits &= bits - 1) {
            int fd = (int)(w * WORD_BITS + (unsigned)__builtin_ctzl(bits));
            struct slot now;
            /* A stream socket connected (or connecting) to anything: unknown, so a candidate. */
            if (stream_state(fd, &now) != GONE)
                alive = 1;
            else
                lost_set(fd, 0);
        }
    }
    if (!alive)
        ring.lost_any = 0;
    return alive;
}

int conntrack_guess(unsigned *port, int *fd)
{
    struct slot *pick = NULL;
    unsigned first = 0;
    int seen = 0, agreed = 1;
    if (lost_alive())
        return 0;
    for (int i = 0; i < AR_CONNTRACK_SLOTS; i++) {
        struct slot *sl = &ring.s[i];
        if (!sl->used || sl->claimed)
            continue;
        enum liveness l = check(sl);
        if (l == GONE) {
            sl->used = 0;
            continue;
        }
        if (!seen) {
            first = sl->port;
            seen = 1;
        } else if (sl->port != first) {
            agreed = 0;
        }
        /* Of the connected ones, the newest is the one being used. */
        if (l == CONNECTED && (pick == NULL || sl->seq > pick->seq))
            pick = sl;
    }
    if (pick == NULL || !agreed)
        return 0;
    pick->claimed = 1;
    *port = pick->port;
    *fd = pick->fd;
    return 1;
}

unsigned conntrack_key_port(int has_socket, int fd, int *known, unsigned *port)
{
    if (has_socket) {
        conntrack_claim(fd); /* no candidate for a socketless one */
        return 0;
    }
    int taken;
    if (!*known && conntrack_guess(port, &taken))
        *known = 1;
    return *known ? *port : 0;
}

void conntrack_forget(void)
{
    memset(&ring, 0, sizeof ring);
}
