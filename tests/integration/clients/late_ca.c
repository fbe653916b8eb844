/*
 * late_ca.c - a client that loads its CA after the handshake started, as
 * curl 7.88 does, for the deferred trust check tests (cases/deferred.sh).
 *
 * Connection 1 (blocking, SSL_connect, trusting --ca) wins a session.
 * Connection 2, in the same process on a new SSL_CTX with an empty trust
 * store, calls SSL_connect once on a non-blocking socket (it sends the
 * ClientHello and wants to read: its first read is made to stall, so the
 * server's answer never comes within that call, as over a real network),
 * then loads --late-ca / --late-capath (unless "none"), optionally makes
 * the socket blocking (--block), and drives the handshake to its end with
 * the --finish call only. Then it sends
 * its request with SSL_write and reads the answer; a connection that got
 * none tries SSL_write once more, then SSL_shutdown, and with --retry calls
 * SSL_clear and connects the same SSL again on a new socket (blocking,
 * SSL_connect): that must fail as well, and resume nothing.
 * --accept-cb gives conn2 a verify callback that accepts every error.
 *
 *   late_ca [--tls12] [--block] [--retry] [--accept-cb] [--early-capath DIR] [--early-lookup FILE]
 *           --ca FILE (--late-ca FILE|none | --late-capath DIR) --finish CALL
 *           HOST PORT
 * --early-capath / --early-lookup set up conn2's store before its first
 * call: a CApath, or a lookup method answering every query with FILE's
 * certificate (as a program's own lookup would, the store holding none).
 *   CALL = connect do-handshake read read-ex write write-ex peek peek-ex
 *
 * Both connections send SNI "localhost" and expect that host name. stdout,
 * one line per step, with nothing that differs between a full and a
 * resumed handshake except "reused=":
 *   conn1 ok reused=R
 *   conn2 STEP ret=N err=SSL_ERROR_* errq=REASON|- verify=CODE init=0|1
 *   conn2 response BYTES
 * Exit 0 when the steps ran (the caller judges them), 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

static const char *ca, *late_ca, *late_capath, *early_capath, *early_lookup, *finish, *host;
static int port, tls12, block, retry, accept_cb;

/* --accept-cb: conn2's verify callback accepts whatever fails (a program that
 * pins or logs): the handshake succeeds with the error as its verify result. */
static int accept_all(int ok, X509_STORE_CTX *x)
{
    (void)ok, (void)x;
    return 1;
}

static const char *const calls[] = { "connect", "do-handshake", "read", "read-ex",
                                     "write", "write-ex", "peek", "peek-ex" };

/* --early-lookup: a lookup method that answers every query with one
 * certificate, as a program's own lookup (or a CApath) can find certificates
 * the store does not hold yet. */
static X509 *lookup_cert;

static int lookup_by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name,
                             X509_OBJECT *ret)
{
    (void)lu, (void)name;
    return type == X509_LU_X509 && X509_OBJECT_set1_X509(ret, lookup_cert);
}

static void add_lookup(X509_STORE *store, const char *file)
{
    X509_LOOKUP_METHOD *m = X509_LOOKUP_meth_new("late_ca one certificate");
    FILE *f = fopen(file, "r");

    lookup_cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (m == NULL || lookup_cert == NULL || !X509_LOOKUP_meth_set_get_by_subject(m, lookup_by_subject) ||
        X509_STORE_add_lookup(store, m) == NULL) {
        fprintf(stderr, "late_ca: cannot set up the lookup of %s\n", file);
        exit(1);
    }
}

static int tcp_connect(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    struct timeval tv = { .tv_sec = 2 };     /* a blocking read after the handshake */
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("late_ca: connect");
        exit(1);
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static SSL_CTX *new_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL || (tls12 && !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION))) {
        fprintf(stderr, "late_ca: SSL_CTX setup\n");
        exit(1);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

/* A filter BIO whose first read says "try again"; then it passes through. */
static int stall_read(BIO *b, char *buf, int len)
{
    int *stalls = BIO_get_data(b), r;

    BIO_clear_retry_flags(b);
    if (*stalls > 0) {
        (*stalls)--;
        BIO_set_retry_read(b);
        return -1;
    }
    r = BIO_read(BIO_next(b), buf, len);
    BIO_copy_next_retry(b);
    return r;
}

static int stall_write(BIO *b, const char *buf, int len)
{
    int r = BIO_write(BIO_next(b), buf, len);

    BIO_clear_retry_flags(b);
    BIO_copy_next_retry(b);
    return r;
}

static long stall_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    return BIO_ctrl(BIO_next(b), cmd, num, ptr);
}

static int stall_create(BIO *b)
{
    static int stalls;

    stalls = 1;
    BIO_set_data(b, &stalls);
    BIO_set_init(b, 1);
    return 1;
}

/* conn2's read side: the socket behind a stall filter (SSL_get_fd still finds it). */
static BIO *stalling_socket(int fd)
{
    static BIO_METHOD *m;
    BIO *f, *s = BIO_new_socket(fd, BIO_NOCLOSE);

    if (m == NULL && (m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "stall")) != NULL)
        if (!BIO_meth_set_read(m, stall_read) || !BIO_meth_set_write(m, stall_write) ||
            !BIO_meth_set_ctrl(m, stall_ctrl) || !BIO_meth_set_create(m, stall_create))
            m = NULL;
    if (m == NULL || s == NULL || (f = BIO_new(m)) == NULL) {
        fprintf(stderr, "late_ca: BIO setup\n");
        exit(1);
    }
    return BIO_push(f, s);
}

static SSL *new_ssl(SSL_CTX *ctx, int fd, int stall)
{
    SSL *ssl = SSL_new(ctx);

    if (ssl != NULL && stall)
        SSL_set_bio(ssl, stalling_socket(fd), BIO_new_socket(fd, BIO_NOCLOSE));
    if (ssl == NULL || !SSL_set_tlsext_host_name(ssl, "localhost") ||
        !SSL_set1_host(ssl, "localhost") || (!stall && !SSL_set_fd(ssl, fd))) {
        fprintf(stderr, "late_ca: SSL setup\n");
        exit(1);
    }
    return ssl;
}

static const char *err_name(int e)
{
    switch (e) {
    case SSL_ERROR_NONE: return "SSL_ERROR_NONE";
    case SSL_ERROR_SSL: return "SSL_ERROR_SSL";
    case SSL_ERROR_WANT_READ: return "SSL_ERROR_WANT_READ";
    case SSL_ERROR_WANT_WRITE: return "SSL_ERROR_WANT_WRITE";
    case SSL_ERROR_SYSCALL: return "SSL_ERROR_SYSCALL";
    case SSL_ERROR_ZERO_RETURN: return "SSL_ERROR_ZERO_RETURN";
    default: return "SSL_ERROR_other";
    }
}

/* One call of CALL; for the _ex forms, 1 becomes the byte count. */
static int call(SSL *ssl, const char *what, char *buf, size_t len)
{
    size_t n = 0;
    int r;

    if (strcmp(what, "connect") == 0)
        return SSL_connect(ssl);
    if (strcmp(what, "do-handshake") == 0)
        return SSL_do_handshake(ssl);
    if (strcmp(what, "read") == 0)
        return SSL_read(ssl, buf, (int)len);
    if (strcmp(what, "peek") == 0)
        return SSL_peek(ssl, buf, (int)len);
    if (strcmp(what, "write") == 0)
        return SSL_write(ssl, buf, (int)len);
    if (strcmp(what, "read-ex") == 0)
        r = SSL_read_ex(ssl, buf, len, &n);
    else if (strcmp(what, "peek-ex") == 0)
        r = SSL_peek_ex(ssl, buf, len, &n);
    else
        r = SSL_write_ex(ssl, buf, len, &n);
    return r == 1 ? (int)n : r;
}

/* Prints one step's outcome; returns SSL_get_error's answer. */
static int report(SSL *ssl, const char *step, int r)
{
    int e = SSL_get_error(ssl, r);
    unsigned long q = ERR_peek_error();
    const char *reason = q ? ERR_reason_error_string(q) : NULL;

    printf("conn2 %s ret=%d err=%s errq=%s verify=%ld init=%d\n", step, r, err_name(e),
           q ? (reason ? reason : "?") : "-", SSL_get_verify_result(ssl), SSL_is_init_finished(ssl));
    ERR_clear_error();
    return e;
}

static void conn1(void)
{
    char buf[4096];
    int fd = tcp_connect(), r;
    SSL_CTX *ctx = new_ctx();
    SSL *ssl = new_ssl(ctx, fd, 0);
    const char req[] = "GET /c1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

    if (!SSL_CTX_load_verify_locations(ctx, ca, NULL) || SSL_connect(ssl) != 1 ||
        SSL_write(ssl, req, (int)strlen(req)) <= 0) {
        fprintf(stderr, "late_ca: connection 1 failed\n");
        ERR_print_errors_fp(stderr);
        exit(1);
    }
    while ((r = SSL_read(ssl, buf, sizeof buf)) > 0)
        ;
    printf("conn1 ok reused=%d\n", SSL_session_reused(ssl));
    SSL_shutdown(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    ERR_clear_error();
}

/* Calls `what` until it is done or fails for good, waiting in poll() while
 * it wants to read or write; with `handshake`, a read or peek is done once
 * the handshake is (the server says nothing before the request). */
static int drive(SSL *ssl, int fd, const char *what, char *buf, size_t len, int handshake)
{
    int is_read = handshake && (what[0] == 'r' || what[0] == 'p');

    for (;;) {
        int r = call(ssl, what, buf, len), e = SSL_get_error(ssl, r);
        struct pollfd p = { .fd = fd, .events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN };

        if (r > 0 || (is_read && SSL_is_init_finished(ssl) && e != SSL_ERROR_SSL))
            return r;
        if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || poll(&p, 1, 10000) <= 0)
            return r;
    }
}

static void conn2(void)
{
    const char req[] = "GET /c2 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    char buf[4096], wbuf[sizeof req];
    int fd = tcp_connect(), r;
    SSL_CTX *ctx = new_ctx();
    SSL *ssl = new_ssl(ctx, fd, 1);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);

    if (accept_cb)
        SSL_set_verify(ssl, SSL_VERIFY_PEER, accept_all);

    memcpy(wbuf, req, sizeof req);
    if (early_capath && !X509_STORE_load_path(store, early_capath)) {
        fprintf(stderr, "late_ca: cannot use %s\n", early_capath);
        exit(1);
    }
    if (early_lookup)
        add_lookup(store, early_lookup);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    r = SSL_connect(ssl);
    report(ssl, "first-connect", r);
    if ((late_ca && strcmp(late_ca, "none") != 0 && !X509_STORE_load_file(store, late_ca)) ||
        (late_capath && !X509_STORE_load_path(store, late_capath))) {
        fprintf(stderr, "late_ca: cannot load the late CA\n");
        exit(1);
    }
    if (block)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int is_write = strncmp(finish, "write", 5) == 0;
    r = drive(ssl, fd, finish, is_write ? wbuf : buf, is_write ? strlen(req) : sizeof buf, 1);
    report(ssl, finish, r);
    if (!is_write || r <= 0) {
        r = drive(ssl, fd, "write", wbuf, strlen(req), 0);
        report(ssl, "write", r);
    }
    size_t got = 0;
    while ((r = drive(ssl, fd, "read", buf, sizeof buf, 0)) > 0)
        got += (size_t)r;
    report(ssl, "read", r);
    printf("conn2 response %zu\n", got);
    if (got == 0) { /* a failed connection stays failed (after a response: racy EPIPE) */
        r = SSL_write(ssl, wbuf, (int)strlen(req));
        report(ssl, "write-again", r);
        printf("conn2 in-init=%d in-before=%d\n", SSL_in_init(ssl), SSL_in_before(ssl));
        r = SSL_shutdown(ssl);
        report(ssl, "shutdown", r);
        if (retry) {
            int fd2 = tcp_connect();
            SSL_clear(ssl);
            if (!SSL_set_fd(ssl, fd2)) {
                fprintf(stderr, "late_ca: SSL_set_fd\n");
                exit(1);
            }
            r = SSL_connect(ssl);
            report(ssl, "retry-connect", r);
            if (r == 1)
                printf("conn2 retry reused=%d\n", SSL_session_reused(ssl));
            close(fd2);
        }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "ca", required_argument, NULL, 'c' }, { "late-ca", required_argument, NULL, 'l' },
        { "late-capath", required_argument, NULL, 'L' },
        { "early-capath", required_argument, NULL, 'E' },
        { "early-lookup", required_argument, NULL, 'K' },
        { "finish", required_argument, NULL, 'f' }, { "tls12", no_argument, &tls12, 1 },
        { "block", no_argument, &block, 1 }, { "retry", no_argument, &retry, 1 },
        { "accept-cb", no_argument, &accept_cb, 1 }, { NULL, 0, NULL, 0 }
    };
    int ch, known = 0;

    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 0: break;
        case 'c': ca = optarg; break;
        case 'l': late_ca = optarg; break;
        case 'L': late_capath = optarg; break;
        case 'E': early_capath = optarg; break;
        case 'K': early_lookup = optarg; break;
        case 'f': finish = optarg; break;
        default: return 2;
        }
    }
    for (size_t k = 0; finish && k < sizeof calls / sizeof calls[0]; k++)
        known |= strcmp(finish, calls[k]) == 0;
    if (argc - optind != 2 || !ca || !known || (!late_ca && !late_capath)) {
        fprintf(stderr, "usage: late_ca [--tls12] [--block] [--retry] [--accept-cb] [--early-capath DIR] [--early-lookup FILE] --ca FILE "
                        "(--late-ca FILE|none | --late-capath DIR) --finish CALL HOST PORT\n");
        return 2;
    }
    host = argv[optind];
    port = atoi(argv[optind + 1]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    conn1();
    conn2();
    return 0;
}
