/*
 * sock.c - the peer of a connected socket. See ar_sock.h.
 */
#include "ar_sock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int sock_peer(int fd, char *ip, size_t cap, unsigned *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        *port = ntohs(in->sin_port);
        return inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)cap) != NULL;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        *port = ntohs(in6->sin6_port);
        return inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)cap) != NULL;
    }
    return 0; /* a unix socket or something else: treated as no socket */
}
