/*
 * naive_preload.c - a deliberately WRONG session-resumption preload, used only
 * to check that the integration tests can fail (see selfcheck.sh).
 *
 * It keeps one session per peer address (ip:port, or the host:port of a
 * connect BIO, as openssl s_time uses) and offers it to every new client
 * connection to that address, whatever the SSL_CTX, trust store, verify mode,
 * host name or client certificate.  A real library must not do this: every
 * sec.* test of run.sh (but sec.own-session) must FAIL with it, while the
 * resumption tests pass (sec.new-session-cb too: it leaves callbacks alone).
 *
 * Notes learnt while writing it: libssl may be loaded late with
 * dlopen(RTLD_LOCAL) (python's _ssl), so symbols are looked up through
 * dlopen("libssl.so.3", RTLD_NOLOAD); and the table keeps a copy of each
 * session (SSL_SESSION_dup), since SSL_free without SSL_shutdown (python)
 * marks the connection's own session not resumable.
 */
#define _GNU_SOURCE
#include <openssl/ssl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

static void *h;
static void *sym(const char *n) {
    if (!h) h = dlopen("libssl.so.3", RTLD_NOLOAD | RTLD_LAZY);
    return h ? dlsym(h, n) : NULL;
}
#define F(ret, name, args) static ret (*p_##name) args; \
    static ret (*g_##name(void)) args { if (!p_##name) p_##name = sym(#name); return p_##name; }
F(int, SSL_connect, (SSL *))
F(int, SSL_do_handshake, (SSL *))
F(int, SSL_read, (SSL *, void *, int))
F(int, SSL_read_ex, (SSL *, void *, size_t, size_t *))
F(int, SSL_write, (SSL *, const void *, int))
F(int, SSL_write_ex, (SSL *, const void *, size_t, size_t *))
F(int, SSL_shutdown, (SSL *))
F(void, SSL_free, (SSL *))
F(int, SSL_get_fd, (const SSL *))
F(int, SSL_is_server, (const SSL *))
F(SSL_SESSION *, SSL_get_session, (const SSL *))
F(int, SSL_set_session, (SSL *, SSL_SESSION *))
F(int, SSL_SESSION_is_resumable, (const SSL_SESSION *))
F(void, SSL_SESSION_free, (SSL_SESSION *))
F(int, SSL_session_reused, (const SSL *))
F(int, SSL_is_init_finished, (const SSL *))
F(const char *, SSL_get_version, (const SSL *))
F(const char *, SSL_get_servername, (const SSL *, const int))
F(SSL_SESSION *, SSL_SESSION_dup, (const SSL_SESSION *))
F(BIO *, SSL_get_rbio, (const SSL *))
static long (*p_BIO_ctrl)(BIO *, int, long, void *);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
struct ent { char key[64]; SSL_SESSION *s; };
static struct ent tab[64];
struct conn { SSL *ssl; char key[64]; int offered, logged; };
static struct conn conns[256];

static struct conn *conn_of(SSL *s, int create) {
    for (int i = 0; i < 256; i++) if (conns[i].ssl == s) return &conns[i];
    if (!create) return NULL;
    for (int i = 0; i < 256; i++) if (!conns[i].ssl) { memset(&conns[i], 0, sizeof conns[i]); conns[i].ssl = s; return &conns[i]; }
    return NULL;
}
static struct ent *ent_of(const char *k, int create) {
    for (int i = 0; i < 64; i++) if (tab[i].key[0] && !strcmp(tab[i].key, k)) return &tab[i];
    if (!create) return NULL;
    for (int i = 0; i < 64; i++) if (!tab[i].key[0]) { strcpy(tab[i].key, k); return &tab[i]; }
    return NULL;
}

static int loglevel(void) { const char *v = getenv("AUTORESUME_LOG"); return v && (!strcmp(v, "info") || !strcmp(v, "debug")); }
static int disabled(void) { const char *v = getenv("AUTORESUME_DISABLE"); return v && *v && strcmp(v, "0"); }

static void pre(SSL *s) {
    if (disabled() || g_SSL_is_server()(s)) return;
    pthread_mutex_lock(&mu);
    struct conn *c = conn_of(s, 1);
    if (c && !c->key[0]) {
        struct sockaddr_in a; socklen_t l = sizeof a;
        int fd = g_SSL_get_fd()(s);
        if (fd >= 0 && getpeername(fd, (struct sockaddr *)&a, &l) == 0 && a.sin_family == AF_INET) {
            snprintf(c->key, sizeof c->key, "%s:%d", inet_ntoa(a.sin_addr), ntohs(a.sin_port));
            struct ent *e = ent_of(c->key, 0);
            if (e && e->s && !g_SSL_get_session()(s)) { g_SSL_set_session()(s, e->s); c->offered = 1; }
        } else if (fd < 0) { /* s_time: a connect BIO, not connected yet */
            if (!p_BIO_ctrl) p_BIO_ctrl = dlsym(RTLD_DEFAULT, "BIO_ctrl");
            BIO *b = g_SSL_get_rbio()(s);
            const char *hn = NULL, *pt = NULL;
            if (b && p_BIO_ctrl) { p_BIO_ctrl(b, BIO_C_GET_CONNECT, 0, (void *)&hn); p_BIO_ctrl(b, BIO_C_GET_CONNECT, 1, (void *)&pt); }
            if (hn) {
                if (pt) snprintf(c->key, sizeof c->key, "%s:%s", hn, pt);
                else snprintf(c->key, sizeof c->key, "%s", hn);
                struct ent *e = ent_of(c->key, 0);
                if (e && e->s && !g_SSL_get_session()(s)) { g_SSL_set_session()(s, e->s); c->offered = 1; }
            }
        }
    }
    pthread_mutex_unlock(&mu);
}

static void post(SSL *s) {
    if (disabled() || g_SSL_is_server()(s)) return;
    pthread_mutex_lock(&mu);
    struct conn *c = conn_of(s, 0);
    if (c && c->key[0]) {
        if (!c->logged && g_SSL_is_init_finished()(s)) {
            c->logged = 1;
            if (loglevel()) {
                const char *f = getenv("AUTORESUME_LOG_FILE");
                FILE *o = f ? fopen(f, "a") : stderr;
                const char *sn = g_SSL_get_servername()(s, TLSEXT_NAMETYPE_host_name);
                const char *port = strrchr(c->key, ':');
                fprintf(o, "autoresume[%d]: %s%s %s %s\n", (int)getpid(), sn ? sn : "", sn ? port : c->key,
                        g_SSL_get_version()(s), g_SSL_session_reused()(s) ? "resumed" :
                        c->offered ? "full handshake (refused by server)" : "full handshake (no session)");
                if (f) fclose(o);
            }
        }
        SSL_SESSION *ss = g_SSL_get_session()(s);
        if (ss && g_SSL_SESSION_is_resumable()(ss)) {
            struct ent *e = ent_of(c->key, 1);
            SSL_SESSION *n = g_SSL_SESSION_dup()(ss); /* SSL_free may mark the original not resumable */
            if (e) { if (e->s) g_SSL_SESSION_free()(e->s); e->s = n; } else g_SSL_SESSION_free()(n);
        }
    }
    pthread_mutex_unlock(&mu);
}

int SSL_connect(SSL *s) { pre(s); int r = g_SSL_connect()(s); post(s); return r; }
int SSL_do_handshake(SSL *s) { pre(s); int r = g_SSL_do_handshake()(s); post(s); return r; }
int SSL_read(SSL *s, void *b, int n) { pre(s); int r = g_SSL_read()(s, b, n); post(s); return r; }
int SSL_read_ex(SSL *s, void *b, size_t n, size_t *rd) { pre(s); int r = g_SSL_read_ex()(s, b, n, rd); post(s); return r; }
int SSL_write(SSL *s, const void *b, int n) { pre(s); int r = g_SSL_write()(s, b, n); post(s); return r; }
int SSL_write_ex(SSL *s, const void *b, size_t n, size_t *w) { pre(s); int r = g_SSL_write_ex()(s, b, n, w); post(s); return r; }
int SSL_shutdown(SSL *s) { post(s); return g_SSL_shutdown()(s); }
void SSL_free(SSL *s) {
    if (s) { post(s); pthread_mutex_lock(&mu); struct conn *c = conn_of(s, 0); if (c) c->ssl = NULL; pthread_mutex_unlock(&mu); }
    g_SSL_free()(s);
}
