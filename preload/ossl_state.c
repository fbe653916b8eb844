/*
 * ossl_state.c - ex_data slots for our per-SSL and per-SSL_CTX state, and
 * fork safety of the OpenSSL side's locks.
 */
#include "ossl_state.h"
#include "ar_log.h"
#include "ossl_policy.h"
#include "ossl_verify.h"
#include "ar_verdict.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int conn_idx = -1, ctx_idx = -1;
static int ready;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t ctx_mutex = PTHREAD_MUTEX_INITIALIZER;

static void conn_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    struct ar_conn *c = ptr;
    if (c == NULL)
        return;
    nodelay_end(&c->nodelay);
    conn_reset(c);
    free(c->key);
    free(c->chain.data);
    if (c->offered_sess != NULL)
        ossl.SSL_SESSION_free(c->offered_sess);
    free(c);
}

/* SSL_dup must not share our pointer: the copy keeps the state its own
 * SSL_new gave it (see policy_note_new), or starts without any. */
static int conn_dup_cb(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx,
                       long argl, void *argp)
{
    (void)from, (void)argl, (void)argp;
    struct ar_conn *orig = *from_d, *mine = ossl.CRYPTO_get_ex_data(to, idx);
    if (mine != NULL && orig != NULL) {
        /* SSL_dup copies the signature algorithm lists (in the CERT) but not
         * the group list (OpenSSL 3.0): the digest would claim a list the
         * copy does not have. So a copy of a connection with lists of its
         * own gets no offers. */
        mine->overrides = orig->overrides;
        mine->opaque = orig->opaque;
        if (orig->overrides != 0 && mine->opaque == NULL)
            mine->opaque = "program copied a connection with its own group or signature algorithm lists (SSL_dup)";
    }
    *from_d = mine;
    return 1;
}

static void ctx_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    struct ar_ctx *d = ptr;
    if (d != NULL)
        cipher_memo_free(d->cipher_memo, CIPHER_MEMO_SLOTS);
    free(d);
}

/* Our OpenSSL-side locks are taken across fork() (the table's are in state.c);
 * none is ever held while another is taken, so their order does not matter. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&ctx_mutex);
    native_fork_lock();
    verdict_fork_lock();
}

static void fork_parent(void)
{
    verdict_fork_unlock();
    native_fork_unlock();
    pthread_mutex_unlock(&ctx_mutex);
}

static void fork_child(void)
{
    verdict_fork_unlock();
    native_fork_unlock();
    pthread_mutex_unlock(&ctx_mutex);
}

/* OSSL_STOPPING while OpenSSL's cleanup runs its stop handlers (below),
 * OSSL_STOPPED from then on. */
static atomic_int stopping;

int ossl_stopping(void)
{
    return atomic_load(&stopping);
}

/*
 * OpenSSL's cleanup (its atexit handler, or the program's OPENSSL_cleanup)
 * calls this first, while its objects still live; after it nothing of
 * OpenSSL may be called. The tickets kept in the process, which may have
 * only their parsed form, are published now: our own atexit handler may
 * run after that cleanup (atexit order), too late to encode them.
 */
static void on_openssl_stop(void)
{
    atomic_store(&stopping, OSSL_STOPPING);
    state_publish_now();
    /* What is left (a ticket the table's lock kept from us) must not be
     * encoded later: OpenSSL frees everything when this returns. */
    atomic_store(&stopping, OSSL_STOPPED);
}

static void ossl_init(void)
{
    if (!state_ready() || ossl_load() != OSSL_READY)
        return;
    conn_idx = ossl.CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, NULL, NULL, conn_dup_cb,
                                            conn_free_cb);
    ctx_idx = ossl.CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL,
                                           ctx_free_cb);
    if (conn_idx < 0 || ctx_idx < 0) {
        log_error("cannot set up OpenSSL state (out of memory?); resumption off");
        return;
    }
    if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0) {
        log_error("pthread_atfork failed; resumption off");
        return;
    }
    native_register();
    trust_memo_register();
    if (ossl.OPENSSL_atexit(on_openssl_stop) != 1)
        log_warn("cannot follow OpenSSL's shutdown: tickets kept at exit may not be published");
    ready = 1;
}

int ossl_ready(void)
{
    pthread_once(&init_once, ossl_init);
    return ready && !policy_probing();
}

struct ar_conn *conn_get(const SSL *ssl)
{
    return ossl.SSL_get_ex_data(ssl, conn_idx);
}

struct ar_conn *conn_attach(SSL *ssl)
{
    struct ar_conn *c = conn_get(ssl);
    if (c != NULL)
        return c;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (!ossl.SSL_set_ex_data(ssl, conn_idx, c)) {
        free(c);
        return NULL;
    }
    return c;
}

void conn_reset(struct ar_conn *c)
{
    nodelay_end(&c->nodelay);
    native_release(c->native);
    c->native = NULL;
    free(c->key);
    free(c->chain.data);
    /* What the program set on the SSL outlives SSL_clear. */
    int sid_set = c->sid_set;
    unsigned sid_len = c->sid_len;
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
    memcpy(sid, c->sid, sizeof sid);
    unsigned long long overrides = c->overrides, hello = c->hello;
    const char *opaque = c->opaque, *hello_why = c->hello_why;
    int hello_known = c->hello_known;
    SSL_SESSION *offered_sess = c->offered_sess;
    SSL_CTX *session_ctx = c->session_ctx;
    memset(c, 0, sizeof *c);
    c->offered_sess = offered_sess;
    c->session_ctx = session_ctx;
    c->sid_set = sid_set;
    c->sid_len = sid_len;
    memcpy(c->sid, sid, sizeof sid);
    c->overrides = overrides;
    c->opaque = opaque;
    c->hello_known = hello_known;
    c->hello = hello;
    c->hello_why = hello_why;
}

struct ar_ctx *ctxd_get(const SSL_CTX *ctx)
{
    return ossl.SSL_CTX_get_ex_data(ctx, ctx_idx);
}

struct ar_ctx *ctxd_attach(SSL_CTX *ctx)
{
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL)
        return d;
    d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    if (!ossl.SSL_CTX_set_ex_data(ctx, ctx_idx, d)) {
        free(d);
        return NULL;
    }
    return d;
}

void ctx_lock(void)
{
    pthread_mutex_lock(&ctx_mutex);
}

void ctx_unlock(void)
{
    pthread_mutex_unlock(&ctx_mutex);
}
