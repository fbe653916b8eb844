/*
 * tls_steps.c - a C counterpart of tls_steps.py, for the security tests: a
 * plain program linked against libssl (no dlopen), making several
 * differently-configured connections in one process.
 *
 *   tls_steps HOST PORT STEP...
 *   STEP = CTX:VERIFY:NAME
 *     CTX     a context name; the SSL_CTX is created at its first use
 *     VERIFY  "none" (SSL_VERIFY_NONE) or a CA file (SSL_VERIFY_PEER with only
 *             that CA); only counts when the context is created
 *     NAME    SNI and, when verifying, the expected host (SSL_set1_host)
 *
 * Prints per step: 'step I ok reused=R proto=P' or
 * 'step I error verify=CODE (TEXT)' / 'step I error connect' / '... io'.
 * Exits 0 once all steps ran; the caller judges the outcomes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct named_ctx {
    char name[64];
    SSL_CTX *ctx;
};

static int tcp_connect(const char *host, int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct named_ctx ctxs[16];
    int nctx = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT CTX:VERIFY:NAME...\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 3; i < argc; i++) {
        char spec[1024], *name, *verify, *host;
        SSL_CTX *ctx = NULL;
        SSL *ssl;
        int fd, r;

        snprintf(spec, sizeof spec, "%s", argv[i]);
        name = spec;
        verify = strchr(name, ':');
        host = verify ? strrchr(verify + 1, ':') : NULL;
        if (!verify || !host) {
            fprintf(stderr, "bad step %s\n", argv[i]);
            return 2;
        }
        *verify++ = '\0';
        *host++ = '\0';
        for (int k = 0; k < nctx; k++)
            if (strcmp(ctxs[k].name, name) == 0)
                ctx = ctxs[k].ctx;
        if (strlen(name) >= sizeof ctxs[0].name) {
            fprintf(stderr, "context name too long: %s\n", name);
            return 2;
        }
        if (!ctx) {
            if (nctx == 16)
                return 2;
            ctx = SSL_CTX_new(TLS_client_method());
            if (strcmp(verify, "none") == 0) {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
            } else {
                SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
                if (!SSL_CTX_load_verify_locations(ctx, verify, NULL)) {
                    fprintf(stderr, "cannot load %s\n", verify);
                    return 2;
                }
            }
            memcpy(ctxs[nctx].name, name, strlen(name) + 1);
            ctxs[nctx++].ctx = ctx;
        }
        fd = tcp_connect(argv[1], atoi(argv[2]));
        if (fd < 0) {
            printf("step %d error connect\n", i - 2);
            continue;
        }
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (*host) {
            SSL_set_tlsext_host_name(ssl, host);
            if (SSL_CTX_get_verify_mode(ctx) != SSL_VERIFY_NONE)
                SSL_set1_host(ssl, host);
        }
        r = SSL_connect(ssl);
        if (r != 1) {
            long v = SSL_get_verify_result(ssl);
            if (v != X509_V_OK)
                printf("step %d error verify=%ld (%s)\n", i - 2, v,
                       X509_verify_cert_error_string(v));
            else
                printf("step %d error handshake\n", i - 2);
        } else {
            char req[512], buf[4096];
            int n;
            snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     *host ? host : argv[1]);
            SSL_write(ssl, req, (int)strlen(req));
            while ((n = SSL_read(ssl, buf, sizeof buf)) > 0)
                ;
            printf("step %d ok reused=%d proto=%s\n", i - 2,
                   SSL_session_reused(ssl), SSL_get_version(ssl));
            SSL_shutdown(ssl);
        }
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
    }
    for (int k = 0; k < nctx; k++)
        SSL_CTX_free(ctxs[k].ctx);
    return 0;
}
