/*
 * ossl_lifecycle.c - an OpenSSL client that does unusual things with its SSL
 * objects, for cases/lifecycle.sh. Every connection verifies the server
 * (SSL_VERIFY_PEER, CA file, SNI and SSL_set1_host), sends GET / to an
 * `openssl s_server -www` and prints one line:
 *
 *   TAG: ok VERSION CIPHER reused=R server=Reused|New resumable=S
 *   TAG: failed verify=V ERROR
 *
 * where server= is what the server's page says of the handshake and
 * resumable= whether the connection's session (SSL_get_session) is resumable.
 *
 * usage: ossl_lifecycle SCENARIO PORT CAFILE [tls12|tls13]
 *   abandon       c1 localhost; c2 localhost, non-blocking, its handshake
 *                 given up after the ClientHello (the server, whose pid is in
 *                 LC_SERVER_PID, stopped meanwhile: no answer), then SSL_clear
 *                 and the same SSL reused for wrong.example on the server:
 *                 must fail (host mismatch)
 *   abandon-fail  the same, c2's first handshake failing (socket shut down)
 *   abandon-setstate  as abandon, back to the before state by
 *                 SSL_set_connect_state instead of SSL_clear
 *   late-write    c2 resumed, shut down and its descriptor closed before any
 *                 write; another socket at that number with TCP_NODELAY on;
 *                 a late SSL_write on c2 (refused) must leave it on
 *   reneg-weak    c1 at the defaults, then a TLS 1.2 renegotiation at security
 *                 level 0 with a DHE cipher only (the server's DH is 1024-bit);
 *                 c2 at the defaults (level 2) may resume c1's first session,
 *                 never the renegotiation's (1024-bit DHE: refused at level 2)
 *   sidctx        the context's session id context changed between SSL_new and
 *                 SSL_connect of c1; c2, c3 under the new one
 *   own-resume    a TLS_method() context (default cache mode, server), the
 *                 program resuming its own session (SSL_get1_session, then
 *                 SSL_set_session) 3 times; with 'verifycb' as 5th argument
 *                 the context has SSL_CTX_set_cert_verify_callback too
 *   own-resume-keep  the same, the first session kept and set on every later
 *                 connection; own-resume-client-keep: on a TLS_client_method()
 *                 context
 *   setctx        context A has the program's new-session callback; c2, c3 are
 *                 moved to context B (SSL_set_SSL_CTX) before SSL_connect: prints
 *                 "callbacks N" after each connection (OpenSSL calls A's)
 * Exit 0 when the scenario ran (whatever the handshakes did), 2 on usage.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port, max_version;
static const char *cafile;

static int tcp_to(int p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)p)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(3);
    }
    return fd;
}

static SSL_CTX *new_ctx(const SSL_METHOD *method)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
        fprintf(stderr, "context or CA file failed\n");
        exit(3);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (max_version)
        SSL_CTX_set_max_proto_version(ctx, max_version);
    return ctx;
}

static void names(SSL *ssl, const char *host)
{
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set1_host(ssl, host);
}

/* After the handshake (rc): the request, the server's word, one line. */
static void finish(const char *tag, SSL *ssl, int rc)
{
    if (rc != 1) {
        unsigned long e = ERR_peek_last_error();
        char err[256] = "-";
        if (e)
            ERR_error_string_n(e, err, sizeof err);
        printf("%s: failed verify=%ld %s\n", tag, SSL_get_verify_result(ssl), err);
        ERR_clear_error();
        return;
    }
    char buf[16384];
    int n, got = 0;
    const char *req = "GET / HTTP/1.0\r\n\r\n";
    SSL_write(ssl, req, (int)strlen(req));
    while (got < (int)sizeof buf - 1 && (n = SSL_read(ssl, buf + got, (int)sizeof buf - 1 - got)) > 0)
        got += n;
    buf[got] = '\0';
    const char *word = strstr(buf, "Reused, ") ? "Reused" : strstr(buf, "New, ") ? "New" : "?";
    printf("%s: ok %s %s reused=%d server=%s resumable=%d\n", tag, SSL_get_version(ssl),
           SSL_get_cipher(ssl), SSL_session_reused(ssl), word,
           SSL_SESSION_is_resumable(SSL_get_session(ssl)));
    ERR_clear_error();
}

/* One connection on a new SSL of ctx to host; before: called before the handshake. */
static void one(SSL_CTX *ctx, const char *tag, const char *host, void (*before)(SSL *))
{
    SSL *ssl = SSL_new(ctx);
    int fd = tcp_to(port);
    SSL_set_fd(ssl, fd);
    names(ssl, host);
    if (before)
        before(ssl);
    finish(tag, ssl, SSL_connect(ssl));
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
}

static void abandon(SSL_CTX *ctx, int fail, int restart_by_state, pid_t server)
{
    one(ctx, "c1", "localhost", NULL);
    SSL *ssl = SSL_new(ctx);
    /* The server stopped: the connect completes (its backlog), the
     * ClientHello gets no answer. */
    if (server > 0)
        kill(server, SIGSTOP);
    int fd = tcp_to(port);
    SSL_set_fd(ssl, fd);
    names(ssl, "localhost");
    if (fail)
        shutdown(fd, SHUT_RDWR); /* the handshake fails */
    else
        fcntl(fd, F_SETFL, O_NONBLOCK); /* WANT_READ, and the program gives up */
    int rc = SSL_connect(ssl);
    printf("c2 first handshake: %s\n", rc == 1 ? "finished?" : fail ? "failed" : "given up");
    ERR_clear_error();
    close(fd);
    if (server > 0)
        kill(server, SIGCONT);
    if (restart_by_state)
        SSL_set_connect_state(ssl); /* back to the before state without SSL_clear */
    else
        SSL_clear(ssl);
    fd = tcp_to(port);
    SSL_set_fd(ssl, fd);
    names(ssl, "wrong.example");
    finish("c2 again, wrong.example", ssl, SSL_connect(ssl));
    SSL_free(ssl);
    close(fd);
}

static void reneg_weak(SSL_CTX *ctx)
{
    SSL *ssl = SSL_new(ctx);
    int fd = tcp_to(port);
    SSL_set_fd(ssl, fd);
    names(ssl, "localhost");
    int rc = SSL_connect(ssl);
    printf("c1 first handshake: %s\n", rc == 1 ? "ok" : "failed");
    if (rc == 1) {
        SSL_set_security_level(ssl, 0);
        SSL_set_cipher_list(ssl, "DHE-RSA-AES128-GCM-SHA256");
        if (SSL_renegotiate(ssl) == 1)
            rc = SSL_do_handshake(ssl);
        printf("c1 renegotiated: %s\n", rc == 1 ? SSL_get_cipher(ssl) : "failed");
        finish("c1", ssl, rc);
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    one(ctx, "c2 (defaults)", "localhost", NULL);
}

static void sidctx(SSL_CTX *ctx)
{
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"A", 1);
    SSL *ssl = SSL_new(ctx);
    int fd = tcp_to(port);
    SSL_set_fd(ssl, fd);
    names(ssl, "localhost");
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"B", 1);
    finish("c1 (SSL: A, context: B)", ssl, SSL_connect(ssl));
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    one(ctx, "c2 (B)", "localhost", NULL);
    one(ctx, "c3 (B)", "localhost", NULL);
}

/* c1 full; c2 resumed (the library's TCP_NODELAY window opens), shut down
 * and its descriptor closed before any write; a new socket gets the same
 * number and its owner turns TCP_NODELAY on; a late SSL_write on c2 fails
 * and sends nothing: the new socket's setting must stay. */
static void late_write(SSL_CTX *ctx)
{
    one(ctx, "c1", "localhost", NULL);
    SSL *ssl = SSL_new(ctx);
    int fd = tcp_to(port);
    SSL_set_fd(ssl, fd);
    names(ssl, "localhost");
    int rc = SSL_connect(ssl);
    printf("c2: %s reused=%d\n", rc == 1 ? "ok" : "failed", SSL_session_reused(ssl));
    SSL_shutdown(ssl);
    close(fd);
    int other = tcp_to(port), one_ = 1, v = -1;
    socklen_t len = sizeof v;
    if (other != fd) { /* the same number, as a busy process would get it */
        dup2(other, fd);
        close(other);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
    rc = SSL_write(ssl, "late", 4);
    ERR_clear_error();
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    printf("late write on c2: %s; the other socket's TCP_NODELAY: %s\n", rc > 0 ? "sent" : "refused",
           v ? "on" : "off");
    close(fd);
    SSL_free(ssl);
}

static int verify_cb(X509_STORE_CTX *x, void *arg)
{
    (void)arg;
    return X509_verify_cert(x) > 0;
}

/* keep_first: the first session is kept and set on every later connection
 * (one session object held, as a client object would hold it), else each
 * connection's own replaces it. */
static void own_resume(SSL_CTX *ctx, int with_verify_cb, int keep_first)
{
    SSL_SESSION *own = NULL;
    if (with_verify_cb)
        SSL_CTX_set_cert_verify_callback(ctx, verify_cb, NULL);
    for (int i = 0; i < 3; i++) {
        SSL *ssl = SSL_new(ctx);
        int fd = tcp_to(port);
        SSL_set_fd(ssl, fd);
        names(ssl, "localhost");
        if (own != NULL)
            SSL_set_session(ssl, own);
        char tag[16];
        snprintf(tag, sizeof tag, "c%d", i + 1);
        int rc = SSL_connect(ssl);
        finish(tag, ssl, rc);
        if (keep_first && own != NULL) {
            printf("%s: the kept session: resumable=%d\n", tag, SSL_SESSION_is_resumable(own));
        } else {
            SSL_SESSION_free(own);
            own = SSL_get1_session(ssl);
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
    }
    SSL_SESSION_free(own);
}

static int callbacks;

static int count_new(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl, (void)sess;
    callbacks++;
    return 0;
}

static SSL_CTX *ctx_b;

static void move_to(SSL *ssl)
{
    SSL_set_SSL_CTX(ssl, ctx_b);
}

static void setctx(SSL_CTX *ctx)
{
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, count_new);
    ctx_b = new_ctx(TLS_client_method());
    one(ctx, "c1 (A)", "localhost", NULL);
    printf("callbacks %d\n", callbacks > 0);
    one(ctx, "c2 (moved to B)", "localhost", move_to);
    printf("callbacks %s\n", callbacks > 1 ? "more" : "none more");
    int before = callbacks;
    one(ctx, "c3 (moved to B)", "localhost", move_to);
    printf("callbacks %s\n", callbacks > before ? "more" : "none more");
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: ossl_lifecycle SCENARIO PORT CAFILE [tls12|tls13] [verifycb]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *scenario = argv[1];
    port = atoi(argv[2]);
    cafile = argv[3];
    if (argc > 4)
        max_version = strcmp(argv[4], "tls12") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
    if (strcmp(scenario, "abandon") == 0 || strcmp(scenario, "abandon-fail") == 0)
        abandon(new_ctx(TLS_client_method()), strcmp(scenario, "abandon-fail") == 0, 0,
                getenv("LC_SERVER_PID") ? (pid_t)atoi(getenv("LC_SERVER_PID")) : 0);
    else if (strcmp(scenario, "abandon-setstate") == 0)
        abandon(new_ctx(TLS_client_method()), 0, 1,
                getenv("LC_SERVER_PID") ? (pid_t)atoi(getenv("LC_SERVER_PID")) : 0);
    else if (strcmp(scenario, "late-write") == 0)
        late_write(new_ctx(TLS_client_method()));
    else if (strcmp(scenario, "reneg-weak") == 0)
        reneg_weak(new_ctx(TLS_client_method()));
    else if (strcmp(scenario, "sidctx") == 0)
        sidctx(new_ctx(TLS_client_method()));
    else if (strcmp(scenario, "own-resume") == 0)
        own_resume(new_ctx(TLS_method()), argc > 5 && strcmp(argv[5], "verifycb") == 0, 0);
    else if (strcmp(scenario, "own-resume-keep") == 0)
        own_resume(new_ctx(TLS_method()), argc > 5 && strcmp(argv[5], "verifycb") == 0, 1);
    else if (strcmp(scenario, "own-resume-client-keep") == 0)
        own_resume(new_ctx(TLS_client_method()), argc > 5 && strcmp(argv[5], "verifycb") == 0, 1);
    else if (strcmp(scenario, "setctx") == 0)
        setctx(new_ctx(TLS_client_method()));
    else {
        fprintf(stderr, "ossl_lifecycle: unknown scenario %s\n", scenario);
        return 2;
    }
    return 0;
}
