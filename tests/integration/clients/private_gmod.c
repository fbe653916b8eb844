/*
 * private_gmod.c - private_mod.c's GnuTLS twin: tls_run(port, n, ca) makes
 * n verified connections to 127.0.0.1:port (host name localhost) and prints
 * one line per connection; 0 if all were served.
 */
#include <gnutls/gnutls.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tls_run(int port, int n, const char *ca);

int tls_run(int port, int n, const char *ca)
{
    gnutls_certificate_credentials_t cred;
    int rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc < 0 || gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM) < 0) {
        printf("credentials: %s\n", gnutls_strerror(rc));
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            perror("connect");
            return 1;
        }
        gnutls_session_t s;
        if ((rc = gnutls_init(&s, GNUTLS_CLIENT)) < 0) {
            printf("conn %d: gnutls_init: %s\n", i, gnutls_strerror(rc));
            return 1;
        }
        gnutls_set_default_priority(s);
        gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
        gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", strlen("localhost"));
        gnutls_session_set_verify_cert(s, "localhost", 0);
        gnutls_transport_set_int(s, fd);
        do
            rc = gnutls_handshake(s);
        while (rc < 0 && !gnutls_error_is_fatal(rc));
        if (rc < 0) {
            printf("conn %d: handshake: %s\n", i, gnutls_strerror(rc));
            bad = 1;
        } else {
            const char req[] = "GET / HTTP/1.0\r\n\r\n";
            char buf[4096];
            ssize_t got;
            long total = 0;
            gnutls_record_send(s, req, strlen(req));
            while ((got = gnutls_record_recv(s, buf, sizeof buf)) > 0 || got == GNUTLS_E_AGAIN)
                total += got > 0 ? got : 0;
            printf("conn %d: %s served=%d\n", i, gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
                   total > 0);
            bad |= total == 0;
            gnutls_bye(s, GNUTLS_SHUT_WR);
        }
        gnutls_deinit(s);
        close(fd);
    }
    gnutls_certificate_free_credentials(cred);
    return bad;
}
