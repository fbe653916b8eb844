/*
 * private_mod.c - a module that makes verified TLS connections, as a python
 * extension would (cases/private.sh links it against the system libssl or
 * against a renamed private copy, as a wheel bundles one). tls_run(port, n,
 * ca) connects n times to 127.0.0.1:port, host name localhost, trusting ca,
 * with one SSL_CTX, and prints one line per connection; 0 if all were
 * served.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tls_run(int port, int n, const char *ca);

static void print_errors(void)
{
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
        printf("  error: %s\n", buf);
    }
}

int tls_run(int port, int n, const char *ca)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        printf("SSL_CTX_new failed\n");
        print_errors();
        return 1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        printf("cannot load %s\n", ca);
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
        SSL *ssl = SSL_new(ctx);
        if (ssl == NULL) {
            printf("conn %d: SSL_new failed\n", i);
            print_errors();
            return 1;
        }
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_host_name(ssl, "localhost");
        SSL_set1_host(ssl, "localhost");
        int r = SSL_connect(ssl);
        if (r != 1) {
            printf("conn %d: SSL_connect %d, SSL_get_error %d\n", i, r, SSL_get_error(ssl, r));
            print_errors();
            bad = 1;
        } else {
            const char req[] = "GET / HTTP/1.0\r\n\r\n";
            char buf[4096];
            int got, total = 0;
            SSL_write(ssl, req, (int)strlen(req));
            while ((got = SSL_read(ssl, buf, sizeof buf)) > 0)
                total += got;
            printf("conn %d: %s verify=%ld served=%d\n", i, SSL_get_version(ssl),
                   SSL_get_verify_result(ssl), total > 0);
            bad |= total == 0;
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        close(fd);
    }
    SSL_CTX_free(ctx);
    return bad;
}
