/*
 * arclient.c - a small OpenSSL 3 TLS client for the libautoresume integration
 * tests. It knows nothing about the library: tests run it with and without
 * LD_PRELOAD=libautoresume.so and compare.
 *
 * It sends "GET PATH HTTP/1.1" to HOST:PORT over TLS, N connections one after
 * another in each of T threads, driving OpenSSL the ways applications do:
 * shared or per-connection SSL_CTX, blocking or poll()-driven non-blocking
 * sockets, SSL_connect / SSL_do_handshake / implicit handshake in
 * SSL_write[_ex], its own resumption, its own new-session callback, fork().
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 \
 *            -o arclient tests/client/arclient.c -lssl -lcrypto -lpthread
 * Usage: arclient [options] HOST PORT      (arclient -h lists the options)
 *
 * stdout: "conn T.I reused=0|1 proto=P server=reused|new|unknown" per
 * connection (T = thread from 0, I = connection from 1, a --fork child is
 * T=1; server= is what "openssl s_server -www" printed), then
 * "program-new-session-cb calls=K" (--new-session-cb), "cache-mode=M" (first
 * SSL_CTX, read at exit), "ctx-stats connect=N connect-good=G" (the first
 * SSL_CTX's SSL_CTX_sess_connect and _connect_good),
 * "summary connections=C ok=K failed=F reused=R".
 * stderr: "conn T.I FAILED: ..." per failure. Exit 0 iff F == 0 (2: usage).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define IO_TIMEOUT_MS 10000     /* poll() timeout, and SO_RCVTIMEO/SO_SNDTIMEO */
#define BODY_MAX 65536          /* response bytes kept */
#define ERRQ_ERRNO 1234         /* errno set before the handshake (--check-errq) */

enum start_mode { START_CONNECT, START_DO_HANDSHAKE, START_IMPLICIT, START_IMPLICIT_EX };

struct options {
    const char *host, *port, *sni, *cafile, *expect_host, *cert, *key, *path;
    const char *extra_cert;     /* --extra-cert: another client certificate (cert and key in
                                 * one PEM file) loaded before --cert, of another key type */
    const char *ciphers;        /* SSL_CTX_set_cipher_list */
    const char *last_groups;    /* SSL_set1_groups_list on the last connection's SSL */
    const char *groups;         /* --groups: SSL_set1_groups_list on every connection's SSL */
    const char *ctx_groups;     /* --ctx-groups: SSL_CTX_set1_groups_list */
    const char *ctx_sigalgs;    /* --ctx-sigalgs: SSL_CTX_set1_sigalgs_list */
    const char *ciphersuites;   /* --ciphersuites: SSL_CTX_set_ciphersuites (TLS 1.3; "" = none) */
    int max_send_fragment;      /* --max-send-fragment: SSL_CTX_set_max_send_fragment (512-16384) */
    int alpn_bytes;             /* --alpn-bytes: an ALPN list of about that many bytes */
    const char *last_ctx_sigalgs; /* --last-ctx-sigalgs: the last connection's own context's (--new-ctx) */
    int last_seclevel;          /* SSL_set_security_level on it (-1: leave it) */
    const char *last_strict;    /* on it: "dane" (a TLSA record that matches nothing),
                                 * "rpk" (accept only a raw public key, OpenSSL 3.2+),
                                 * "ocsp" (every connection asks for a status; the
                                 * context's status callback refuses a missing one on
                                 * the last), "ocsp-late" (the same callback, set on the
                                 * context only for the last), "psk" / "srp" (the callbacks of --psk /
                                 * --srp-user refuse, or give a wrong password, on it),
                                 * "ct" (strict certificate transparency), "seccb" (a
                                 * security callback refusing SHA-256 signatures) */
    const char *last_verify;    /* on it, a verification setting under which a full
                                 * handshake fails (make_verify_stricter) */
    const char *other_ca;       /* --last-verify store: the CA file of the other store */
    const char *psk;            /* --psk: a TLS 1.2 PSK (hex) handed out by a client callback */
    const char *srp_user, *srp_password; /* --srp-user, --srp-password (TLS 1.2 SRP) */
    int mfl, last_mfl, ctx_mfl, last_ctx_mfl; /* --mfl, --last-mfl, --ctx-mfl, --last-ctx-mfl:
                                 * a maximum fragment length mode (0 disabled, 1-4 for 512-4096),
                                 * -1 no call; --last-mfl none: the last SSL makes no call */
    int last_mfl_given;
    int show_chain;             /* --show-chain: a "detail" line per connection */
    int n, t;
    enum start_mode start;
    int new_ctx, nonblock, tls12, tls13, verify, own_session, cache_off,
        new_session_cb, fork, check_errq, quiet, ctx_seccb, check_time, cleanup,
        nodelay, libctx; /* flags: 0 or 1 */
};

/* The parsed options: the only global state. */
static struct options opt = { .path = "/", .n = 1, .t = 1, .last_seclevel = -1, .mfl = -1,
                               .last_mfl = -1, .ctx_mfl = -1, .last_ctx_mfl = -1 };

/* Counters, in MAP_SHARED memory so that a --fork child adds to them too. */
enum { N_CONNS, N_OK, N_FAILED, N_REUSED, N_CB_CALLS, N_COUNTERS };
struct stats { atomic_int v[N_COUNTERS]; };

struct run { SSL_CTX *ctx0; struct stats *st; };

struct worker {
    pthread_t thread;
    struct run *run;
    int tid;
    SSL_SESSION *saved;          /* --own-session: the previous connection's */
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

static void count(struct stats *st, int which, int n) { atomic_fetch_add(&st->v[which], n); }

static bool fail(struct conn *c, const char *what)
{
    char err[256] = "no OpenSSL error";
    long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
    bool show_vr = opt.verify && vr != X509_V_OK;

    if (ERR_peek_error())
        ERR_error_string_n(ERR_peek_error(), err, sizeof err);
    else if (c->sys_err)
        snprintf(err, sizeof err, "errno %d (%s)", c->sys_err, strerror(c->sys_err));
    fprintf(stderr, "conn %d.%d FAILED: %s: ssl_error=%d %s%s%s\n", c->w->tid, c->i, what,
            c->ssl_err, err, show_vr ? " verify=" : "",
            show_vr ? X509_verify_cert_error_string(vr) : "");
    return false;
}

static int count_new_session(SSL *ssl, SSL_SESSION *sess)
{
    (void)sess;
    count(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)), N_CB_CALLS, 1);
    return 0;                    /* no reference kept */
}

/* --ctx-seccb: a context security callback that, like real ones, relies on
 * the app data the program gives each of its SSLs: an SSL it never made
 * aborts the program. It refuses nothing. */
static int own_ssls_only(const SSL *s, const SSL_CTX *ctx, int op, int bits, int nid,
                         void *other, void *ex)
{
    (void)ctx, (void)op, (void)bits, (void)nid, (void)other, (void)ex;
    if (s != NULL && SSL_get_app_data(s) == NULL) {
        fputs("arclient: security callback called for an SSL this program never made\n", stderr);
        abort();
    }
    return 1;
}

/* Whether ssl is the stricter last connection of --last-strict WHAT (or WHAT-...). */
static bool strict_last(SSL *ssl, const char *what)
{
    const struct conn *c = SSL_get_app_data(ssl);
    size_t n = strlen(what);
    return c != NULL && c->i == opt.n && opt.last_strict && strncmp(opt.last_strict, what, n) == 0 &&
           (opt.last_strict[n] == '\0' || opt.last_strict[n] == '-');
}

/* --last-strict ocsp: a must-staple check, on the last connection only. */
static int status_cb(SSL *ssl, void *arg)
{
    const unsigned char *resp = NULL;
    long len = SSL_get_tlsext_status_ocsp_resp(ssl, &resp);
    (void)arg;
    return !(strict_last(ssl, "ocsp") && (len <= 0 || resp == NULL));
}

/* --psk: identity "Client_identity" and the key; refuses on --last-strict psk. */
static unsigned int psk_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity,
                           unsigned char *psk, unsigned int max_psk)
{
    size_t n = strlen(opt.psk) / 2;
    (void)hint;
    if (SSL_get_app_data(ssl) == NULL) { /* as a program using its app data would crash */
        fputs("arclient: PSK callback called for an SSL this program never made\n", stderr);
        abort();
    }
    if (strict_last(ssl, "psk") || n > max_psk || max_identity < 16)
        return 0;
    strcpy(identity, "Client_identity");
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(opt.psk + 2 * i, "%2x", &v) != 1)
            return 0;
        psk[i] = (unsigned char)v;
    }
    return (unsigned int)n;
}

#ifndef OPENSSL_NO_SRP
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/* --srp-password, or a wrong one on --last-strict srp. */
static char *srp_pwd_cb(SSL *ssl, void *arg)
{
    (void)arg;
    return OPENSSL_strdup(strict_last(ssl, "srp") ? "not-the-password" : opt.srp_password);
}

static bool set_srp(SSL_CTX *ctx)
{
    return SSL_CTX_set_srp_username(ctx, (char *)opt.srp_user) == 1 &&
           SSL_CTX_set_srp_client_pwd_callback(ctx, srp_pwd_cb) == 1;
}
#pragma GCC diagnostic pop
#else
static bool set_srp(SSL_CTX *ctx) { (void)ctx; return false; }
#endif

/* --alpn-bytes N: protocols "p000", "p001", ... (5 bytes each with the length). */
static bool set_long_alpn(SSL_CTX *ctx)
{
    unsigned char list[1000];
    size_t n = 0;
    for (int i = 0; n + 5 <= (size_t)opt.alpn_bytes && n + 5 <= sizeof list; i++) {
        list[n] = 4;
        snprintf((char *)list + n + 1, 5, "p%03d", i % 1000);
        n += 5;
    }
    return n > 0 && SSL_CTX_set_alpn_protos(ctx, list, (unsigned)n) == 0;
}

static SSL_CTX *make_ctx(struct stats *st, bool last)
{
    const char *sigalgs = last && opt.last_ctx_sigalgs ? opt.last_ctx_sigalgs : opt.ctx_sigalgs;
    static OSSL_LIB_CTX *own_libctx; /* --libctx: one for the process, never freed */
    if (opt.libctx && own_libctx == NULL && (own_libctx = OSSL_LIB_CTX_new()) == NULL)
        return NULL;
    SSL_CTX *ctx = opt.libctx ? SSL_CTX_new_ex(own_libctx, NULL, TLS_client_method())
                              : SSL_CTX_new(TLS_client_method());

    if (!ctx)
        return NULL;
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(ctx, opt.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (opt.ctx_seccb)
        SSL_CTX_set_security_callback(ctx, own_ssls_only);
    if (opt.new_session_cb) {
        SSL_CTX_set_app_data(ctx, st);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
        SSL_CTX_sess_set_new_cb(ctx, count_new_session);
    }
    if (opt.cache_off)
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (opt.last_strict && strcmp(opt.last_strict, "ocsp") == 0)
        SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
    if (opt.psk) {
        SSL_CTX_set_psk_client_callback(ctx, psk_cb);
        SSL_CTX_set_psk_use_session_callback(ctx, NULL); /* "set every option": the other one off */
    }
    if ((opt.tls12 && !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION))
        || (opt.tls13 && !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
        || (opt.cafile && !SSL_CTX_load_verify_locations(ctx, opt.cafile, NULL))
        || (opt.ciphers && !SSL_CTX_set_cipher_list(ctx, opt.ciphers))
        || (opt.ctx_groups && !SSL_CTX_set1_groups_list(ctx, opt.ctx_groups))
        || (sigalgs && !SSL_CTX_set1_sigalgs_list(ctx, sigalgs))
        || (opt.ciphersuites && !SSL_CTX_set_ciphersuites(ctx, opt.ciphersuites))
        || (opt.max_send_fragment && !SSL_CTX_set_max_send_fragment(ctx, opt.max_send_fragment))
        || (opt.ctx_mfl >= 0 && !SSL_CTX_set_tlsext_max_fragment_length(ctx, (uint8_t)opt.ctx_mfl))
        || (opt.alpn_bytes && !set_long_alpn(ctx))
        || (opt.srp_user && !set_srp(ctx))
        || (opt.extra_cert && (SSL_CTX_use_certificate_chain_file(ctx, opt.extra_cert) != 1
                               || SSL_CTX_use_PrivateKey_file(ctx, opt.extra_cert, SSL_FILETYPE_PEM) != 1))
        || (opt.cert && (SSL_CTX_use_certificate_chain_file(ctx, opt.cert) != 1
                         || SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) != 1))) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static const char *sni_name(void)
{
    unsigned char addr[sizeof(struct in6_addr)];

    if (opt.sni)
        return *opt.sni ? opt.sni : NULL;
    if (inet_pton(AF_INET, opt.host, addr) == 1 || inet_pton(AF_INET6, opt.host, addr) == 1)
        return NULL;
    return opt.host;
}

/* Returns a connected socket (non-blocking with --nonblock), or -1 (errno
 * set, and *why says which step failed). */
static int tcp_connect(const char **why)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
    struct timeval tv = { .tv_sec = IO_TIMEOUT_MS / 1000 };
    int fd = -1, rc = getaddrinfo(opt.host, opt.port, &hints, &res);

    *why = rc ? gai_strerror(rc) : "tcp connect";
    if (rc != 0) {
        errno = rc == EAI_SYSTEM ? errno : 0;
        return -1;
    }
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (opt.nodelay)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0
            || (opt.nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)) {
            int e = errno;
            close(fd);
            fd = -1;
            errno = e;
        }
    }
    freeaddrinfo(res);
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
    struct pollfd p = { .fd = fd, .events = ssl_err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT };

    if (!opt.nonblock || (ssl_err != SSL_ERROR_WANT_READ && ssl_err != SSL_ERROR_WANT_WRITE))
        return false;
    return poll(&p, 1, IO_TIMEOUT_MS) > 0;
}

/* Calls op (errno = errno_in before each call) until it succeeds (> 0 is
 * returned) or fails for good (c->ssl_err, c->sys_err say why). */
static int drive(struct conn *c, int (*op)(SSL *, struct io *), struct io *io, int errno_in)
{
    for (;;) {
        errno = errno_in;
        int r = op(c->ssl, io);
        c->ssl_err = r > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
        c->sys_err = errno;
        if (r > 0 || !wait_io(c->fd, c->ssl_err))
            return r;
    }
}

/* ---- one connection ---------------------------------------------------- */

/* Refuses signatures made with SHA-256, accepts everything else as the
 * default callback at level 1 would (the test servers sign with SHA-256). */
static int refuse_sha256(const SSL *s, const SSL_CTX *ctx, int op, int bits, int nid,
                         void *other, void *ex)
{
    (void)s, (void)ctx, (void)bits, (void)other, (void)ex;
    return !(op == SSL_SECOP_SIGALG_CHECK && nid == NID_sha256);
}

/* --last-strict: a setting under which a full handshake fails. */
/* --last-strict cert-cb-copied: a certificate callback that sends none and fails. */
static int refuse_cert_cb(SSL *ssl, void *arg)
{
    (void)ssl, (void)arg;
    return 0;
}

/* --last-strict ticket-ext-cb, secret-cb: callbacks that take nothing
 * (EAP-FAST's shape: the program's PAC as the ticket, its key as the secret). */
static int ticket_ext_cb(SSL *ssl, const unsigned char *data, int len, void *arg)
{
    (void)ssl, (void)data, (void)len, (void)arg;
    return 1;
}

static int secret_cb(SSL *ssl, void *secret, int *secret_len, STACK_OF(SSL_CIPHER) *peer_ciphers,
                     const SSL_CIPHER **cipher, void *arg)
{
    (void)ssl, (void)secret, (void)secret_len, (void)peer_ciphers, (void)cipher, (void)arg;
    return 0; /* no secret of its own this time */
}

static bool make_strict(SSL *ssl, const char *what)
{
    static const unsigned char nothing[32];
    if (strcmp(what, "ticket-ext") == 0) /* a ticket of the program's own, which the server cannot read */
        return SSL_set_session_ticket_ext(ssl, (void *)"ARCLIENT-OWN-TICKET", 19) == 1;
    if (strcmp(what, "ticket-ext-cb") == 0)
        return SSL_set_session_ticket_ext_cb(ssl, ticket_ext_cb, NULL) == 1;
    if (strcmp(what, "secret-cb") == 0)
        return SSL_set_session_secret_cb(ssl, secret_cb, NULL) == 1;
    if (strcmp(what, "dane") == 0)
        return SSL_CTX_dane_enable(SSL_get_SSL_CTX(ssl)) > 0 && SSL_dane_enable(ssl, "localhost") > 0 &&
               SSL_dane_tlsa_add(ssl, 3, 1, 1, nothing, sizeof nothing) > 0;
    if (strcmp(what, "ct") == 0)
        return SSL_enable_ct(ssl, SSL_CT_VALIDATION_STRICT) == 1;
    if (strcmp(what, "seccb") == 0) {
        SSL_set_security_callback(ssl, refuse_sha256);
        return true;
    }
    if (strcmp(what, "rpk") == 0) {
#ifdef TLSEXT_cert_type_rpk
        static const unsigned char rpk_only[] = {TLSEXT_cert_type_rpk};
        return SSL_set1_server_cert_type(ssl, rpk_only, sizeof rpk_only) == 1;
#else
        return false; /* OpenSSL before 3.2 */
#endif
    }
    if (strcmp(what, "ocsp-late") == 0) { /* the callback only now, for this one */
        SSL_CTX_set_tlsext_status_cb(SSL_get_SSL_CTX(ssl), status_cb);
        return true;
    }
    if (strcmp(what, "one-cert") == 0) /* only --cert, not --extra-cert, on this one */
        return opt.cert && (SSL_certs_clear(ssl), 1) &&
               SSL_use_certificate_chain_file(ssl, opt.cert) == 1 &&
               SSL_use_PrivateKey_file(ssl, opt.key, SSL_FILETYPE_PEM) == 1;
    /* Made by the callbacks, which look for the last connection; dup in setup(). */
    return strcmp(what, "dup") == 0 || strcmp(what, "ocsp") == 0 || strcmp(what, "cert-cb-copied") == 0 ||
           (strcmp(what, "psk") == 0 && opt.psk) ||
           (strcmp(what, "srp") == 0 && opt.srp_user);
}

static int refuse_all(int ok, X509_STORE_CTX *xs)
{
    (void)ok, (void)xs;
    return 0;
}

/* --last-verify: one verification input changed, each one under which the
 * full handshake fails (the test certificates: EC P-256, a leaf for
 * serverAuth signed by the root, valid for 3 days). */
static bool make_verify_stricter(SSL *ssl, const char *what)
{
    X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
    if (strcmp(what, "depth") == 0) {
        SSL_set_verify_depth(ssl, 0);
        return true;
    }
    if (strcmp(what, "purpose") == 0)
        return SSL_set_purpose(ssl, X509_PURPOSE_SSL_CLIENT) == 1;
    if (strcmp(what, "trust") == 0)
        return SSL_set_trust(ssl, X509_TRUST_OCSP_SIGN) == 1;
    if (strcmp(what, "email") == 0)
        return X509_VERIFY_PARAM_set1_email(p, "nobody@example.com", 0) == 1;
    if (strcmp(what, "auth-level") == 0) {
        X509_VERIFY_PARAM_set_auth_level(p, 5);
        return true;
    }
    if (strcmp(what, "time") == 0) {
        X509_VERIFY_PARAM_set_time(p, time(NULL) + 10 * 86400);
        return true;
    }
    if (strcmp(what, "callback") == 0) {
        SSL_set_verify(ssl, SSL_VERIFY_PEER, refuse_all);
        return true;
    }
    /* A verify mode without SSL_VERIFY_PEER but with another flag: OpenSSL's
     * client verifies (and fails) then too, "if any flag is set"
     * (tls_post_process_server_certificate). */
    if (strcmp(what, "mode-fail-if-no-peer") == 0) {
        SSL_set_verify(ssl, SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        return true;
    }
    if (strcmp(what, "mode-post-handshake") == 0) {
        SSL_set_verify(ssl, SSL_VERIFY_POST_HANDSHAKE, NULL);
        return true;
    }
    if (strcmp(what, "reject-anchor") == 0) { /* the same store, its root now distrusted */
        STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)));
        for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
            X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
            if (x != NULL && !X509_add1_reject_object(x, OBJ_nid2obj(NID_server_auth)))
                return false;
        }
        return true;
    }
    if (strcmp(what, "store") == 0) { /* another store, of another CA */
        X509_STORE *st = X509_STORE_new();
        bool ok = st && opt.other_ca && X509_STORE_load_file(st, opt.other_ca) == 1 &&
                  SSL_set1_verify_cert_store(ssl, st) == 1;
        X509_STORE_free(st);
        return ok;
    }
    return false;
}

static bool setup(struct conn *c)
{
    struct run *run = c->w->run;
    const char *sni = sni_name(), *why;
    bool first = c->w->tid == 0 && c->i == 1;

    c->ctx = opt.new_ctx && !first ? make_ctx(run->st, c->i == opt.n) : run->ctx0;
    if (!c->ctx)
        return fail(c, "SSL_CTX setup");
    if (c->ctx == run->ctx0)
        SSL_CTX_up_ref(c->ctx);
    if ((c->fd = tcp_connect(&why)) < 0) {
        c->sys_err = errno;
        return fail(c, why);
    }
    /* --last-strict cert-cb-copied: the context has a certificate callback
     * when the last SSL is made (SSL_new copies it) and not after. */
    bool cb_copied = c->i == opt.n && opt.last_strict && strcmp(opt.last_strict, "cert-cb-copied") == 0;
    if (cb_copied)
        SSL_CTX_set_cert_cb(c->ctx, refuse_cert_cb, NULL);
    /* --last-ctx-mfl: the context's mode changed after its earlier SSL_new calls. */
    if (c->i == opt.n && opt.last_ctx_mfl >= 0 &&
        !SSL_CTX_set_tlsext_max_fragment_length(c->ctx, (uint8_t)opt.last_ctx_mfl))
        return fail(c, "SSL_CTX_set_tlsext_max_fragment_length");
    c->ssl = SSL_new(c->ctx);
    if (cb_copied)
        SSL_CTX_set_cert_cb(c->ctx, NULL, NULL);
    if (!c->ssl)
        return fail(c, "SSL_new");
    SSL_set_app_data(c->ssl, c);
    if (opt.groups && !SSL_set1_groups_list(c->ssl, opt.groups))
        return fail(c, "SSL_set1_groups_list");
    int mfl = c->i == opt.n && opt.last_mfl_given ? opt.last_mfl : opt.mfl;
    if (mfl >= 0 && !SSL_set_tlsext_max_fragment_length(c->ssl, (uint8_t)mfl))
        return fail(c, "SSL_set_tlsext_max_fragment_length");
    /* --last-strict dup: the last SSL is an SSL_dup of the one made so far
     * (which OpenSSL 3.0 copies without its own group list). */
    if (c->i == opt.n && opt.last_strict && strcmp(opt.last_strict, "dup") == 0) {
        SSL *d = SSL_dup(c->ssl);
        if (d == NULL || d == c->ssl)
            return fail(c, "SSL_dup");
        SSL_free(c->ssl);
        c->ssl = d;
        SSL_set_app_data(c->ssl, c);
    }
    if (sni && !SSL_set_tlsext_host_name(c->ssl, sni))
        return fail(c, "SNI");
    if (opt.expect_host && !SSL_set1_host(c->ssl, opt.expect_host))
        return fail(c, "SSL_set1_host");
    if (opt.own_session && c->w->saved && !SSL_set_session(c->ssl, c->w->saved))
        return fail(c, "SSL_set_session");
    if (c->i == opt.n && opt.last_groups && !SSL_set1_groups_list(c->ssl, opt.last_groups))
        return fail(c, "SSL_set1_groups_list");
    if (c->i == opt.n && opt.last_seclevel >= 0)
        SSL_set_security_level(c->ssl, opt.last_seclevel);
    if (opt.last_strict && strncmp(opt.last_strict, "ocsp", 4) == 0 &&
        !SSL_set_tlsext_status_type(c->ssl, TLSEXT_STATUSTYPE_ocsp))
        return fail(c, "SSL_set_tlsext_status_type");
    if (c->i == opt.n && opt.last_strict && !make_strict(c->ssl, opt.last_strict))
        return fail(c, "--last-strict setup");
    if (opt.check_time)
        X509_VERIFY_PARAM_set_time(SSL_get0_param(c->ssl), time(NULL));
    if (c->i == opt.n && opt.last_verify && !make_verify_stricter(c->ssl, opt.last_verify))
        return fail(c, "--last-verify setup");
    if (!SSL_set_fd(c->ssl, c->fd))
        return fail(c, "SSL_set_fd");
    return true;
}

static bool errq_ok(struct conn *c, const char *what)
{
    return !opt.check_errq || ERR_peek_error() == 0 || fail(c, what);
}

/* The handshake (explicit or implicit, per --start) and the request. */
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
    return errq_ok(c, "error queue not empty after handshake");
}

/* Reads until close_notify or EOF, keeping the first BODY_MAX bytes. */
static bool read_response(struct conn *c)
{
    char scratch[4096];

    for (;;) {
        bool keep = c->body_len < BODY_MAX;
        struct io io = { .buf = keep ? c->body + c->body_len : scratch,
                         .len = keep ? BODY_MAX - c->body_len : sizeof scratch };
        int r = drive(c, op_read, &io, 0);

        if (r > 0 && keep)
            c->body_len += (size_t)r;
        else if (c->ssl_err == SSL_ERROR_ZERO_RETURN
                 || (c->ssl_err == SSL_ERROR_SYSCALL && !ERR_peek_error() && !c->sys_err))
            break;                                      /* close_notify or EOF */
        else if (r <= 0)
            return fail(c, "read response");
    }
    c->body[c->body_len] = '\0';
    return errq_ok(c, "error queue not empty after response");
}

static const char *server_said(const struct conn *c)
{
    if (memmem(c->body, c->body_len, "\nReused, ", 9))
        return "reused";
    return memmem(c->body, c->body_len, "\nNew, ", 6) ? "new" : "unknown";
}

static void finish_ok(struct conn *c)
{
    int reused = SSL_session_reused(c->ssl);
    SSL_SESSION *s;

    count(c->w->run->st, N_OK, 1);
    count(c->w->run->st, N_REUSED, reused);
    if (!opt.quiet)
        printf("conn %d.%d reused=%d proto=%s server=%s\n", c->w->tid, c->i, reused,
               SSL_get_version(c->ssl), server_said(c));
    if (opt.show_chain || opt.mfl >= 0 || opt.last_mfl_given || opt.ctx_mfl >= 0 || opt.last_ctx_mfl >= 0) {
        /* What the program sees of the session: its fragment length mode,
         * the peer chain (SSL_get_peer_cert_chain, -1 for NULL) and peer. */
        STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);
        SSL_SESSION *cur = SSL_get_session(c->ssl);
        printf("detail %d.%d mfl=%d chain=%d peer=%d\n", c->w->tid, c->i,
               cur ? SSL_SESSION_get_max_fragment_length(cur) : -1, chain ? sk_X509_num(chain) : -1,
               SSL_get0_peer_certificate(c->ssl) != NULL);
    }
    if (opt.own_session && (s = SSL_get1_session(c->ssl))) {
        SSL_SESSION_free(c->w->saved);
        c->w->saved = s;
    }
}

static void teardown(struct conn *c)
{
    if (c->ssl && SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl);                           /* once; result ignored */
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    SSL_CTX_free(c->ctx);
    ERR_clear_error();
}

static bool run_conn(struct worker *w, int i)
{
    struct conn c = { .w = w, .i = i, .fd = -1 };
    bool ok = setup(&c) && handshake_and_request(&c) && read_response(&c);

    count(w->run->st, N_CONNS, 1);
    if (ok)
        finish_ok(&c);
    else
        count(w->run->st, N_FAILED, 1);
    teardown(&c);
    return ok;
}

/* ---- threads and fork --------------------------------------------------- */

/* Returns the number of failed connections. */
static int run_range(struct worker *w, int from)
{
    int failed = 0;

    for (int i = from; i <= opt.n; i++)
        failed += !run_conn(w, i);
    return failed;
}

/* Connection 1, then fork(): parent and child (as thread 1) do 2..N each. */
static void run_forked(struct worker *w)
{
    pid_t pid;
    int status = 0;

    run_conn(w, 1);
    fflush(NULL);
    if ((pid = fork()) < 0) {
        perror("arclient: fork");
        count(w->run->st, N_FAILED, 1);
        return;
    }
    if (pid == 0) {
        w->tid = 1;
        status = run_range(w, 2);
        fflush(NULL);
        _exit(status ? 1 : 0);
    }
    run_range(w, 2);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "fork child FAILED: wait status 0x%x\n", (unsigned)status);
        if (!WIFEXITED(status))
            count(w->run->st, N_FAILED, 1);             /* it could not count itself */
    }
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

static void usage(FILE *f, int status)
{
    fputs("usage: arclient [options] HOST PORT\n"
          "  -n N  connections per thread (1)   -t T  threads (1)   -q  no per-connection lines\n"
          "  --new-ctx  --nonblock  --tls12  --tls13  --verify  --cafile F  --expect-host NAME\n"
          "  --sni NAME ('' = none)  --cert F --key F  --own-session  --cache-off\n"
          "  --extra-cert F  another client certificate and its key (one PEM), loaded first\n"
          "  --nodelay  TCP_NODELAY on every socket (as curl does)\n"
          "  --libctx  contexts made in a library context of the program's own (SSL_CTX_new_ex)\n"
          "  --new-session-cb  --start connect|do-handshake|implicit|implicit-ex\n"
          "  --path P  --fork (with -t 1)  --check-errq  --cleanup (OPENSSL_cleanup before exit)\n"
          "  --ciphers LIST  --ciphersuites LIST (TLS 1.3; '' none)  --last-groups LIST  --last-seclevel N (1-5)\n"
          "  --groups LIST (every SSL)  --ctx-groups LIST (the context)\n"
          "  --ctx-sigalgs LIST (the context)  --last-ctx-sigalgs LIST (with --new-ctx: the last one's)\n"
          "  --max-send-fragment N (512-16384)  --alpn-bytes N (an ALPN list of about N bytes)\n"
          "  --psk HEX (a PSK client callback)  --srp-user NAME --srp-password PW\n"
          "  --last-strict dane|ct|seccb|rpk|ocsp|ocsp-late|psk|srp|one-cert|dup|cert-cb-copied|\n"
          "                ticket-ext|ticket-ext-cb|secret-cb (the program's own ticket / its callbacks)\n"
          "                (--last-*: on the last connection only)\n"
          "  --mfl M (every SSL)  --last-mfl M|none  --ctx-mfl M  --last-ctx-mfl M (before the last SSL_new)\n"
          "                a max fragment length mode: 0 disabled, 1-4 = 512-4096\n"
          "  --show-chain  a line 'detail T.I mfl=M chain=N peer=0|1' per connection\n"
          "  --last-verify depth|purpose|trust|email|auth-level|time|callback|reject-anchor|\n"
          "                mode-fail-if-no-peer|mode-post-handshake (a verify mode without VERIFY_PEER)|\n"
          "                store   a stricter verification (store: SSL_set1_verify_cert_store, --other-ca F)\n"
          "  --check-time  verify at the current time, set explicitly (X509_VERIFY_PARAM_set_time)\n"
          "  --ctx-seccb  a context security callback that aborts for an SSL it did not make\n", f);
    exit(status);
}

static int positive(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < 1 || v > 1000000)
        usage(stderr, 2);
    return (int)v;
}

/* A max fragment length mode 0-4, or (none_ok) "none": -1. */
static int mfl_mode(const char *s, int none_ok)
{
    if (none_ok && strcmp(s, "none") == 0)
        return -1;
    if (s[0] < '0' || s[0] > '4' || s[1] != '\0')
        usage(stderr, 2);
    return s[0] - '0';
}

static enum start_mode parse_start(const char *s)
{
    static const char *const names[] = { "connect", "do-handshake", "implicit", "implicit-ex" };

    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(s, names[k]) == 0)
            return (enum start_mode)k;
    usage(stderr, 2);
    return START_CONNECT;
}

static void parse_args(int argc, char **argv)
{
    enum { OPT_SNI = 256, OPT_CAFILE, OPT_EXPECT, OPT_CERT, OPT_KEY, OPT_START, OPT_PATH,
           OPT_LAST_GROUPS, OPT_LAST_SECLEVEL, OPT_CIPHERS, OPT_LAST_STRICT, OPT_LAST_VERIFY,
           OPT_PSK, OPT_SRP_USER, OPT_SRP_PASSWORD,
           OPT_OTHER_CA, OPT_EXTRA_CERT, OPT_GROUPS, OPT_CTX_GROUPS,
           OPT_CTX_SIGALGS, OPT_LAST_CTX_SIGALGS, OPT_CIPHERSUITES, OPT_MAX_SEND_FRAGMENT,
           OPT_ALPN_BYTES, OPT_MFL, OPT_LAST_MFL, OPT_CTX_MFL, OPT_LAST_CTX_MFL };
    static const struct option longopts[] = {
        { "new-ctx", no_argument, &opt.new_ctx, 1 }, { "nonblock", no_argument, &opt.nonblock, 1 },
        { "tls12", no_argument, &opt.tls12, 1 }, { "tls13", no_argument, &opt.tls13, 1 },
        { "verify", no_argument, &opt.verify, 1 }, { "fork", no_argument, &opt.fork, 1 },
        { "own-session", no_argument, &opt.own_session, 1 },
        { "cache-off", no_argument, &opt.cache_off, 1 },
        { "nodelay", no_argument, &opt.nodelay, 1 },
        { "libctx", no_argument, &opt.libctx, 1 },
        { "new-session-cb", no_argument, &opt.new_session_cb, 1 },
        { "check-errq", no_argument, &opt.check_errq, 1 },
        { "cleanup", no_argument, &opt.cleanup, 1 },
        { "ctx-seccb", no_argument, &opt.ctx_seccb, 1 },
        { "check-time", no_argument, &opt.check_time, 1 },
        { "show-chain", no_argument, &opt.show_chain, 1 },
        { "mfl", required_argument, NULL, OPT_MFL },
        { "last-mfl", required_argument, NULL, OPT_LAST_MFL },
        { "ctx-mfl", required_argument, NULL, OPT_CTX_MFL },
        { "last-ctx-mfl", required_argument, NULL, OPT_LAST_CTX_MFL },
        { "last-verify", required_argument, NULL, OPT_LAST_VERIFY },
        { "other-ca", required_argument, NULL, OPT_OTHER_CA },
        { "extra-cert", required_argument, NULL, OPT_EXTRA_CERT },
        { "groups", required_argument, NULL, OPT_GROUPS },
        { "ctx-groups", required_argument, NULL, OPT_CTX_GROUPS },
        { "ctx-sigalgs", required_argument, NULL, OPT_CTX_SIGALGS },
        { "ciphersuites", required_argument, NULL, OPT_CIPHERSUITES },
        { "max-send-fragment", required_argument, NULL, OPT_MAX_SEND_FRAGMENT },
        { "alpn-bytes", required_argument, NULL, OPT_ALPN_BYTES },
        { "last-ctx-sigalgs", required_argument, NULL, OPT_LAST_CTX_SIGALGS },
        { "sni", required_argument, NULL, OPT_SNI }, { "cafile", required_argument, NULL, OPT_CAFILE },
        { "expect-host", required_argument, NULL, OPT_EXPECT },
        { "cert", required_argument, NULL, OPT_CERT }, { "key", required_argument, NULL, OPT_KEY },
        { "start", required_argument, NULL, OPT_START }, { "path", required_argument, NULL, OPT_PATH },
        { "last-groups", required_argument, NULL, OPT_LAST_GROUPS },
        { "ciphers", required_argument, NULL, OPT_CIPHERS },
        { "last-strict", required_argument, NULL, OPT_LAST_STRICT },
        { "last-seclevel", required_argument, NULL, OPT_LAST_SECLEVEL },
        { "psk", required_argument, NULL, OPT_PSK },
        { "srp-user", required_argument, NULL, OPT_SRP_USER },
        { "srp-password", required_argument, NULL, OPT_SRP_PASSWORD },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "n:t:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 0: break;                                  /* a flag */
        case 'n': opt.n = positive(optarg); break;
        case 't': opt.t = positive(optarg); break;
        case 'q': opt.quiet = 1; break;
        case 'h': usage(stdout, 0); break;
        case OPT_SNI: opt.sni = optarg; break;
        case OPT_CAFILE: opt.cafile = optarg; break;
        case OPT_EXPECT: opt.expect_host = optarg; break;
        case OPT_CERT: opt.cert = optarg; break;
        case OPT_KEY: opt.key = optarg; break;
        case OPT_START: opt.start = parse_start(optarg); break;
        case OPT_PATH: opt.path = optarg; break;
        case OPT_LAST_GROUPS: opt.last_groups = optarg; break;
        case OPT_CIPHERS: opt.ciphers = optarg; break;
        case OPT_LAST_STRICT: opt.last_strict = optarg; break;
        case OPT_LAST_VERIFY: opt.last_verify = optarg; break;
        case OPT_OTHER_CA: opt.other_ca = optarg; break;
        case OPT_EXTRA_CERT: opt.extra_cert = optarg; break;
        case OPT_GROUPS: opt.groups = optarg; break;
        case OPT_CTX_GROUPS: opt.ctx_groups = optarg; break;
        case OPT_CTX_SIGALGS: opt.ctx_sigalgs = optarg; break;
        case OPT_CIPHERSUITES: opt.ciphersuites = optarg; break;
        case OPT_MAX_SEND_FRAGMENT: opt.max_send_fragment = positive(optarg); break;
        case OPT_ALPN_BYTES: opt.alpn_bytes = positive(optarg); break;
        case OPT_LAST_CTX_SIGALGS: opt.last_ctx_sigalgs = optarg; break;
        case OPT_LAST_SECLEVEL: opt.last_seclevel = positive(optarg); break;
        case OPT_PSK: opt.psk = optarg; break;
        case OPT_SRP_USER: opt.srp_user = optarg; break;
        case OPT_SRP_PASSWORD: opt.srp_password = optarg; break;
        case OPT_MFL: opt.mfl = mfl_mode(optarg, 0); break;
        case OPT_LAST_MFL: opt.last_mfl = mfl_mode(optarg, 1); opt.last_mfl_given = 1; break;
        case OPT_CTX_MFL: opt.ctx_mfl = mfl_mode(optarg, 0); break;
        case OPT_LAST_CTX_MFL: opt.last_ctx_mfl = mfl_mode(optarg, 0); break;
        default: usage(stderr, 2);
        }
    }
    if (argc - optind != 2 || (opt.fork && opt.t != 1) || (opt.key && !opt.cert) ||
        (opt.srp_user && !opt.srp_password) || (opt.psk && strlen(opt.psk) % 2 != 0))
        usage(stderr, 2);
    opt.host = argv[optind];
    opt.port = argv[optind + 1];
    if (opt.cert && !opt.key)
        opt.key = opt.cert;
}

int main(int argc, char **argv)
{
    struct run run = { 0 };
    struct worker *workers;
    int v[N_COUNTERS];

    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    run.st = mmap(NULL, sizeof *run.st, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    workers = calloc((size_t)opt.t, sizeof *workers);
    if (run.st == MAP_FAILED || !workers || !(run.ctx0 = make_ctx(run.st, opt.n == 1))) {
        fprintf(stderr, "arclient: setup failed\n");
        ERR_print_errors_fp(stderr);
        return 1;
    }
    for (int t = 0; t < opt.t; t++) {
        workers[t] = (struct worker){ .run = &run, .tid = t };
        if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0) {
            fprintf(stderr, "arclient: pthread_create failed\n");
            return 1;
        }
    }
    for (int t = 0; t < opt.t; t++) {
        pthread_join(workers[t].thread, NULL);
        SSL_SESSION_free(workers[t].saved);
    }
    for (int j = 0; j < N_COUNTERS; j++)
        v[j] = atomic_load(&run.st->v[j]);
    if (opt.new_session_cb)
        printf("program-new-session-cb calls=%d\n", v[N_CB_CALLS]);
    printf("cache-mode=%ld\n", SSL_CTX_get_session_cache_mode(run.ctx0));
    printf("ctx-stats connect=%ld connect-good=%ld\n", SSL_CTX_sess_connect(run.ctx0),
           SSL_CTX_sess_connect_good(run.ctx0));
    printf("summary connections=%d ok=%d failed=%d reused=%d\n",
           v[N_CONNS], v[N_OK], v[N_FAILED], v[N_REUSED]);
    SSL_CTX_free(run.ctx0);
    free(workers);
    if (opt.cleanup)
        OPENSSL_cleanup(); /* as some programs do: OpenSSL shut down before exit() */
    return v[N_FAILED] == 0 ? 0 : 1;
}
