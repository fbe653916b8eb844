/*
 * arclient.c - a small OpenSSL 3 TLS client for the libautoresume
 * integration tests.
 *
 * It sends "GET PATH HTTP/1.1" to HOST:PORT over TLS, N connections one
 * after another in each of T threads, and can drive OpenSSL in the ways an
 * unmodified application might: a shared or per-connection SSL_CTX,
 * blocking or poll()-driven non-blocking sockets, SSL_connect,
 * SSL_do_handshake or an implicit handshake in SSL_write[_ex], its own
 * session resumption, its own new-session callback, fork(). For every
 * connection it reports whether the session was resumed, both as OpenSSL
 * sees it (SSL_session_reused) and as "openssl s_server -www" says it in
 * its status page ("Reused, ..." or "New, ..."). It knows nothing about
 * libautoresume: the tests run it with and without LD_PRELOAD.
 *
 * Build:
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 \
 *       -o arclient tests/client/arclient.c -lssl -lcrypto -lpthread
 *
 * Usage: arclient [options] HOST PORT      (arclient -h lists the options)
 *
 * stdout: "conn T.I reused=R proto=P server=S" per connection (T = thread,
 * from 0; I = connection, from 1; with --fork the child reports as T=1),
 * then "program-new-session-cb calls=K" (with --new-session-cb),
 * "cache-mode=M" (of the first SSL_CTX, read at exit) and
 * "summary connections=C ok=K failed=F reused=R".
 * stderr: "conn T.I FAILED: ..." per failed connection.
 * Exit status: 0 if F == 0, 1 otherwise (2 for a usage error).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define IO_TIMEOUT_MS 10000
#define BODY_MAX 65536
#define ERRQ_ERRNO 1234

enum start_mode { START_CONNECT, START_DO_HANDSHAKE, START_IMPLICIT, START_IMPLICIT_EX };

struct options {
    const char *host, *port, *sni, *cafile, *expect_host, *cert, *key, *path;
    int n, t;
    enum start_mode start;
    int new_ctx, nonblock, tls12, tls13, verify, own_session, cache_off,
        new_session_cb, fork, check_errq, quiet;   /* flags, 0 or 1 */
};

/* Parsed options: the only global state. */
static struct options opt = { .path = "/", .n = 1, .t = 1 };

struct stats { atomic_int conns, ok, failed, reused, cb_calls; };
struct counts { int conns, ok, failed, reused, cb_calls; };

struct run { SSL_CTX *ctx0; struct stats st; };

struct worker {
    struct run *run;
    int tid;
    SSL_SESSION *saved;       /* --own-session: session of the previous connection */
};

struct conn {
    struct worker *w;
    int i, fd, ssl_err, sys_err;
    SSL_CTX *ctx;
    SSL *ssl;
    size_t body_len;
    char body[BODY_MAX + 1];
};

struct io { void *buf; size_t len, done; };

/* ---- small helpers ---------------------------------------------------- */

static bool is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static const char *sni_name(void)
{
    if (opt.sni)
        return *opt.sni ? opt.sni : NULL;
    return is_ip_literal(opt.host) ? NULL : opt.host;
}

static bool fail(struct conn *c, const char *what)
{
    char err[256] = "no OpenSSL error";
    unsigned long e = ERR_peek_error();
    long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;

    if (e)
        ERR_error_string_n(e, err, sizeof err);
    else if (c->sys_err)
        snprintf(err, sizeof err, "errno %d (%s)", c->sys_err, strerror(c->sys_err));
    fprintf(stderr, "conn %d.%d FAILED: %s (ssl_error=%d): %s%s%s\n",
            c->w->tid, c->i, what, c->ssl_err, err,
            vr != X509_V_OK ? " verify=" : "",
            vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
    return false;
}

static int count_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct stats *st = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    (void)sess;
    atomic_fetch_add(&st->cb_calls, 1);
    return 0;                  /* we did not keep a reference */
}

static SSL_CTX *make_ctx(struct stats *st)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx)
        return NULL;
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if ((opt.tls12 && !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION))
        || (opt.tls13 && !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)))
        goto err;
    SSL_CTX_set_verify(ctx, opt.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (opt.cafile && !SSL_CTX_load_verify_locations(ctx, opt.cafile, NULL))
        goto err;
    if (opt.cert && (SSL_CTX_use_certificate_chain_file(ctx, opt.cert) != 1
                     || SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) != 1))
        goto err;
    if (opt.new_session_cb) {
        SSL_CTX_set_app_data(ctx, st);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
        SSL_CTX_sess_set_new_cb(ctx, count_new_session);
    }
    if (opt.cache_off)
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
err:
    SSL_CTX_free(ctx);
    return NULL;
}

static int tcp_connect(void)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res, *ai;
    int fd = -1;

    if (getaddrinfo(opt.host, opt.port, &hints, &res) != 0)
        return -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0 && opt.nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* ---- driving OpenSSL calls, blocking or through poll() ---------------- */

static int op_connect(SSL *s, struct io *io) { (void)io; return SSL_connect(s); }
static int op_handshake(SSL *s, struct io *io) { (void)io; return SSL_do_handshake(s); }
static int op_write(SSL *s, struct io *io) { return SSL_write(s, io->buf, (int)io->len); }
static int op_write_ex(SSL *s, struct io *io) { return SSL_write_ex(s, io->buf, io->len, &io->done); }
static int op_read(SSL *s, struct io *io) { return SSL_read(s, io->buf, (int)io->len); }

static bool wait_io(int fd, int ssl_err)
{
    struct pollfd p = { .fd = fd };

    if (!opt.nonblock)
        return false;
    if (ssl_err == SSL_ERROR_WANT_READ)
        p.events = POLLIN;
    else if (ssl_err == SSL_ERROR_WANT_WRITE)
        p.events = POLLOUT;
    else
        return false;
    return poll(&p, 1, IO_TIMEOUT_MS) > 0;
}

/* Calls op until it succeeds or fails for good; errno is set to errno_in
 * before every call. Returns op's result, > 0 on success. */
static int drive(struct conn *c, int (*op)(SSL *, struct io *), struct io *io, int errno_in)
{
    for (;;) {
        errno = errno_in;
        int r = op(c->ssl, io);
        if (r > 0)
            return r;
        c->ssl_err = SSL_get_error(c->ssl, r);
        c->sys_err = errno;
        if (!wait_io(c->fd, c->ssl_err))
            return r;
    }
}

/* ---- one connection ---------------------------------------------------- */

static bool setup(struct conn *c)
{
    const char *sni = sni_name();
    struct run *run = c->w->run;

    c->ctx = (opt.new_ctx && !(c->w->tid == 0 && c->i == 1)) ? make_ctx(&run->st) : run->ctx0;
    if (!c->ctx)
        return fail(c, "SSL_CTX setup");
    if (c->ctx == run->ctx0)
        SSL_CTX_up_ref(c->ctx);
    if ((c->fd = tcp_connect()) < 0) {
        c->sys_err = errno;
        return fail(c, "tcp connect");
    }
    if (!(c->ssl = SSL_new(c->ctx)))
        return fail(c, "SSL_new");
    if (sni && !SSL_set_tlsext_host_name(c->ssl, sni))
        return fail(c, "SNI");
    if (opt.expect_host && !SSL_set1_host(c->ssl, opt.expect_host))
        return fail(c, "SSL_set1_host");
    if (opt.own_session && c->w->saved && !SSL_set_session(c->ssl, c->w->saved))
        return fail(c, "SSL_set_session");
    if (!SSL_set_fd(c->ssl, c->fd))
        return fail(c, "SSL_set_fd");
    return true;
}

static bool errq_ok(struct conn *c, const char *when)
{
    char what[64];

    if (!opt.check_errq || ERR_peek_error() == 0)
        return true;
    snprintf(what, sizeof what, "error queue not empty %s", when);
    return fail(c, what);
}

/* Handshake (explicit or implicit, per --start) and request. */
static bool handshake_and_request(struct conn *c)
{
    char req[1024];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                       opt.path, opt.host);
    struct io io = { .buf = req, .len = (size_t)len };
    int errno_in = opt.check_errq ? ERRQ_ERRNO : 0;

    if (len < 0 || (size_t)len >= sizeof req)
        return fail(c, "request too long");
    if (opt.check_errq)
        ERR_clear_error();
    if (opt.start == START_CONNECT) {
        if (drive(c, op_connect, NULL, errno_in) <= 0)
            return fail(c, "handshake (SSL_connect)");
    } else {
        SSL_set_connect_state(c->ssl);
        if (opt.start == START_DO_HANDSHAKE && drive(c, op_handshake, NULL, errno_in) <= 0)
            return fail(c, "handshake (SSL_do_handshake)");
    }
    if (opt.start == START_IMPLICIT_EX) {
        if (drive(c, op_write_ex, &io, errno_in) <= 0 || io.done != io.len)
            return fail(c, "handshake+request (SSL_write_ex)");
    } else if (drive(c, op_write, &io, errno_in) != len) {
        return fail(c, opt.start == START_IMPLICIT ? "handshake+request (SSL_write)" : "request");
    }
    return errq_ok(c, "after handshake");
}

/* Reads until close_notify or EOF, keeping the first BODY_MAX bytes. */
static bool read_response(struct conn *c)
{
    char scratch[4096];

    for (;;) {
        struct io io = { .buf = scratch, .len = sizeof scratch };
        if (c->body_len < BODY_MAX)
            io = (struct io){ .buf = c->body + c->body_len, .len = BODY_MAX - c->body_len };
        int r = drive(c, op_read, &io, 0);
        if (r > 0) {
            if (io.buf != scratch)
                c->body_len += (size_t)r;
            continue;
        }
        if (c->ssl_err == SSL_ERROR_ZERO_RETURN)
            break;
        if (c->ssl_err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && c->sys_err == 0)
            break;             /* EOF without close_notify */
        return fail(c, "read response");
    }
    c->body[c->body_len] = '\0';
    return errq_ok(c, "after response");
}

static const char *server_said(const struct conn *c)
{
    if (memmem(c->body, c->body_len, "\nReused, ", 9))
        return "reused";
    if (memmem(c->body, c->body_len, "\nNew, ", 6))
        return "new";
    return "unknown";
}

static void keep_session(struct conn *c)
{
    SSL_SESSION *s = SSL_get1_session(c->ssl);

    if (s) {
        SSL_SESSION_free(c->w->saved);
        c->w->saved = s;
    }
}

static void teardown(struct conn *c)
{
    if (c->ssl) {
        if (SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    SSL_CTX_free(c->ctx);
    ERR_clear_error();
}

static void run_conn(struct worker *w, int i)
{
    struct stats *st = &w->run->st;
    struct conn *c = calloc(1, sizeof *c);
    bool ok;

    atomic_fetch_add(&st->conns, 1);
    if (!c) {
        atomic_fetch_add(&st->failed, 1);
        fprintf(stderr, "conn %d.%d FAILED: out of memory\n", w->tid, i);
        return;
    }
    *c = (struct conn){ .w = w, .i = i, .fd = -1 };
    ok = setup(c) && handshake_and_request(c) && read_response(c);
    if (ok) {
        int reused = SSL_session_reused(c->ssl);
        atomic_fetch_add(&st->ok, 1);
        atomic_fetch_add(&st->reused, reused);
        if (!opt.quiet)
            printf("conn %d.%d reused=%d proto=%s server=%s\n", w->tid, i, reused,
                   SSL_get_version(c->ssl), server_said(c));
        if (opt.own_session)
            keep_session(c);
    } else {
        atomic_fetch_add(&st->failed, 1);
    }
    teardown(c);
    free(c);
}

/* ---- threads and fork --------------------------------------------------- */

static struct counts snapshot(struct stats *st)
{
    return (struct counts){ atomic_load(&st->conns), atomic_load(&st->ok),
                            atomic_load(&st->failed), atomic_load(&st->reused),
                            atomic_load(&st->cb_calls) };
}

static void run_range(struct worker *w, int from)
{
    for (int i = from; i <= opt.n; i++)
        run_conn(w, i);
}

static void child_finish(struct worker *w, int fd)
{
    struct counts k = snapshot(&w->run->st);
    bool sent = write(fd, &k, sizeof k) == (ssize_t)sizeof k;

    fflush(stdout);
    fflush(stderr);
    _exit(sent && k.failed == 0 ? 0 : 1);
}

/* Waits for the child and adds its counts to ours. */
static void reap_child(struct run *run, pid_t pid, int fd)
{
    struct counts k = { 0 };
    bool got = read(fd, &k, sizeof k) == (ssize_t)sizeof k;
    int status = 0;

    close(fd);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "fork child FAILED (status 0x%x)\n", (unsigned)status);
        if (!got || k.failed == 0)
            k.failed++;
    }
    atomic_fetch_add(&run->st.conns, k.conns);
    atomic_fetch_add(&run->st.ok, k.ok);
    atomic_fetch_add(&run->st.failed, k.failed);
    atomic_fetch_add(&run->st.reused, k.reused);
    atomic_fetch_add(&run->st.cb_calls, k.cb_calls);
}

static void run_forked(struct worker *w)
{
    struct stats *st = &w->run->st;
    int pfd[2];
    pid_t pid = -1;

    run_conn(w, 1);
    fflush(stdout);
    fflush(stderr);
    if (pipe(pfd) < 0 || (pid = fork()) < 0) {
        perror("arclient: fork");
        atomic_fetch_add(&st->failed, 1);
        return;
    }
    if (pid == 0) {            /* child: count only its own connections */
        close(pfd[0]);
        atomic_store(&st->conns, 0), atomic_store(&st->ok, 0), atomic_store(&st->failed, 0);
        atomic_store(&st->reused, 0), atomic_store(&st->cb_calls, 0);
        w->tid = 1;
        run_range(w, 2);
        child_finish(w, pfd[1]);
    }
    close(pfd[1]);
    run_range(w, 2);
    reap_child(w->run, pid, pfd[0]);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    if (opt.fork)
        run_forked(w);
    else
        run_range(w, 1);
    return NULL;
}

/* ---- command line --------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: arclient [options] HOST PORT\n"
          "  -n N              connections per thread, one after another (default 1)\n"
          "  -t T              threads (default 1)\n"
          "  -q                quiet: no per-connection lines\n"
          "  --new-ctx         a new SSL_CTX for every connection\n"
          "  --nonblock        non-blocking socket, poll() loop\n"
          "  --tls12 | --tls13 TLS 1.2 at most | TLS 1.3 at least\n"
          "  --sni NAME        SNI to send ('' = none; default HOST unless an IP)\n"
          "  --verify          SSL_VERIFY_PEER\n"
          "  --cafile F        CA file to load\n"
          "  --expect-host N   SSL_set1_host\n"
          "  --cert F --key F  client certificate and key (PEM)\n"
          "  --own-session     resume the previous connection's session itself\n"
          "  --cache-off       SSL_SESS_CACHE_OFF\n"
          "  --new-session-cb  own counting new-session callback (SSL_SESS_CACHE_CLIENT)\n"
          "  --start MODE      connect | do-handshake | implicit | implicit-ex\n"
          "  --path P          HTTP path (default /)\n"
          "  --fork            fork after the first connection (needs -t 1)\n"
          "  --check-errq      check the OpenSSL error queue is empty after success\n", f);
}

static int positive(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < 1 || v > 1000000) {
        fprintf(stderr, "arclient: bad number '%s'\n", s);
        exit(2);
    }
    return (int)v;
}

static enum start_mode parse_start(const char *s)
{
    static const char *const names[] = { "connect", "do-handshake", "implicit", "implicit-ex" };

    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(s, names[k]) == 0)
            return (enum start_mode)k;
    fprintf(stderr, "arclient: bad --start '%s'\n", s);
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    enum { OPT_SNI = 256, OPT_CAFILE, OPT_EXPECT, OPT_CERT, OPT_KEY, OPT_START, OPT_PATH };
    static const struct option longopts[] = {
        { "new-ctx", no_argument, &opt.new_ctx, 1 },
        { "nonblock", no_argument, &opt.nonblock, 1 },
        { "tls12", no_argument, &opt.tls12, 1 },
        { "tls13", no_argument, &opt.tls13, 1 },
        { "verify", no_argument, &opt.verify, 1 },
        { "own-session", no_argument, &opt.own_session, 1 },
        { "cache-off", no_argument, &opt.cache_off, 1 },
        { "new-session-cb", no_argument, &opt.new_session_cb, 1 },
        { "fork", no_argument, &opt.fork, 1 },
        { "check-errq", no_argument, &opt.check_errq, 1 },
        { "sni", required_argument, NULL, OPT_SNI },
        { "cafile", required_argument, NULL, OPT_CAFILE },
        { "expect-host", required_argument, NULL, OPT_EXPECT },
        { "cert", required_argument, NULL, OPT_CERT },
        { "key", required_argument, NULL, OPT_KEY },
        { "start", required_argument, NULL, OPT_START },
        { "path", required_argument, NULL, OPT_PATH },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "n:t:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 0: break;                          /* a flag, set by getopt_long */
        case 'n': opt.n = positive(optarg); break;
        case 't': opt.t = positive(optarg); break;
        case 'q': opt.quiet = 1; break;
        case 'h': usage(stdout); exit(0);
        case OPT_SNI: opt.sni = optarg; break;
        case OPT_CAFILE: opt.cafile = optarg; break;
        case OPT_EXPECT: opt.expect_host = optarg; break;
        case OPT_CERT: opt.cert = optarg; break;
        case OPT_KEY: opt.key = optarg; break;
        case OPT_START: opt.start = parse_start(optarg); break;
        case OPT_PATH: opt.path = optarg; break;
        default: usage(stderr); exit(2);
        }
    }
    if (argc - optind != 2 || (opt.fork && opt.t != 1) || (opt.key && !opt.cert)) {
        usage(stderr);
        exit(2);
    }
    opt.host = argv[optind];
    opt.port = argv[optind + 1];
    if (opt.cert && !opt.key)
        opt.key = opt.cert;
}

int main(int argc, char **argv)
{
    struct run run = { 0 };
    struct worker *workers;
    pthread_t *threads;
    struct counts k;

    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    workers = calloc((size_t)opt.t, sizeof *workers);
    threads = calloc((size_t)opt.t, sizeof *threads);
    if (!workers || !threads || !(run.ctx0 = make_ctx(&run.st))) {
        fprintf(stderr, "arclient: setup failed\n");
        ERR_print_errors_fp(stderr);
        return 1;
    }
    for (int t = 0; t < opt.t; t++)
        workers[t] = (struct worker){ .run = &run, .tid = t };
    if (opt.t == 1) {
        worker_main(&workers[0]);
    } else {
        for (int t = 0; t < opt.t; t++)
            if (pthread_create(&threads[t], NULL, worker_main, &workers[t]) != 0) {
                fprintf(stderr, "arclient: pthread_create failed\n");
                return 1;
            }
        for (int t = 0; t < opt.t; t++)
            pthread_join(threads[t], NULL);
    }
    for (int t = 0; t < opt.t; t++)
        SSL_SESSION_free(workers[t].saved);
    k = snapshot(&run.st);
    if (opt.new_session_cb)
        printf("program-new-session-cb calls=%d\n", k.cb_calls);
    printf("cache-mode=%ld\n", SSL_CTX_get_session_cache_mode(run.ctx0));
    printf("summary connections=%d ok=%d failed=%d reused=%d\n", k.conns, k.ok, k.failed, k.reused);
    SSL_CTX_free(run.ctx0);
    free(workers);
    free(threads);
    return k.failed == 0 ? 0 : 1;
}
