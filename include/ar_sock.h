/*
 * ar_sock.h - the peer of a connected socket, as the session key wants it.
 */
#ifndef AR_SOCK_H
#define AR_SOCK_H

#include <stddef.h>

/*
 * sock_peer - numeric address (into ip[cap]) and port of the peer of fd,
 * a connected IPv4 or IPv6 socket. Returns 1; 0 when fd is connected to
 * something else (a unix socket...); -1 when it has no peer at all (not a
 * descriptor, not a socket, not connected yet). May change errno: callers
 * run inside their own errno save.
 */
int sock_peer(int fd, char *ip, size_t cap, unsigned *port);

/*
 * sock_ipv4_text - addr (network order) as inet_ntop(AF_INET) writes it
 * ("a.b.c.d", NUL-terminated) into out[cap]. Returns 1; 0 when it does not
 * fit (out untouched).
 */
int sock_ipv4_text(const unsigned char addr[4], char *out, size_t cap);

#endif
