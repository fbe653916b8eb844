/*
 * sock.c - the peer of a connected socket. See ar_sock.h.
 */
#include "ar_sock.h"
#include "ar_fmt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int sock_ipv4_text(const unsigned char addr[4], char *out, size_t cap)
{
    char buf[16], *p = buf;
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            *p++ = '.';
        p = fmt_dec(p, addr[i]);
    }
    *p = '\0';
    if ((size_t)(p - buf) >= cap)
        return 0;
    memcpy(out, buf, (size_t)(p - buf) + 1);
    return 1;
}

int sock_peer(int fd, char *ip, size_t cap, unsigned *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        *port = ntohs(in->sin_port);
        /* inet_ntop's text, without the sprintf it costs (a tenth of the key) */
        return sock_ipv4_text((const unsigned char *)&in->sin_addr, ip, cap);
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        *port = ntohs(in6->sin6_port);
        return inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)cap) != NULL;
    }
    return 0; /* a unix socket or something else: treated as no socket */
}
