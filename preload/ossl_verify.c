/*
 * ossl_verify.c - re-verification mirrors OpenSSL's ssl_verify_cert_chain()
 * (ssl/ssl_cert.c): same store, same defaults ("ssl_server" purpose), the
 * connection's X509_VERIFY_PARAM and security level, the SSL reachable from
 * the store context for the program's verify callback.
 */
#include "ossl_verify.h"
#include "ar_log.h"

#include "ar_key.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <string.h>

int chain_encode(SSL *ssl, struct ar_blob *out)
{
    STACK_OF(X509) *sk = ossl.SSL_get_peer_cert_chain(ssl);
    int n = sk ? ossl.OPENSSL_sk_num((const OPENSSL_STACK *)sk) : 0;
    size_t total = 0;

    out->data = NULL;
    out->len = 0;
    if (n <= 0)
        return -1;
    for (int i = 0; i < n; i++) {
        int len = ossl.i2d_X509(ossl.OPENSSL_sk_value((const OPENSSL_STACK *)sk, i), NULL);
        if (len <= 0)
            return -1;
        total += 4 + (size_t)len;
    }
    unsigned char *buf = malloc(total), *p = buf;
    if (buf == NULL)
        return -1;
    for (int i = 0; i < n; i++) {
        X509 *x = ossl.OPENSSL_sk_value((const OPENSSL_STACK *)sk, i);
        unsigned char *der = p + 4;
        int len = ossl.i2d_X509(x, &der);
        if (len <= 0 || (size_t)(der - buf) > total) {
            free(buf);
            return -1;
        }
        p[0] = (unsigned char)(len >> 24);
        p[1] = (unsigned char)(len >> 16);
        p[2] = (unsigned char)(len >> 8);
        p[3] = (unsigned char)len;
        p = der;
    }
    out->data = buf;
    out->len = total;
    return 0;
}

static void x509_free(void *x)
{
    ossl.X509_free(x);
}

OPENSSL_STACK *chain_decode(const struct ar_blob *b)
{
    const unsigned char *p = b->data, *end = b->data + b->len;
    OPENSSL_STACK *all = ossl.OPENSSL_sk_new_null();
    if (all == NULL)
        return NULL;
    while (p < end) {
        if (end - p < 4)
            goto bad;
        size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        p += 4;
        if (len == 0 || len > (size_t)(end - p))
            goto bad;
        const unsigned char *q = p;
        X509 *x = ossl.d2i_X509(NULL, &q, (long)len);
        if (x == NULL || q != p + len) {
            ossl.X509_free(x);
            goto bad;
        }
        if (!ossl.OPENSSL_sk_push(all, x)) {
            ossl.X509_free(x);
            goto bad;
        }
        p += len;
    }
    if (ossl.OPENSSL_sk_num(all) < 1)
        goto bad;
    return all;
bad:
    chain_free(all);
    return NULL;
}

void chain_free(OPENSSL_STACK *chain)
{
    if (chain != NULL)
        ossl.OPENSSL_sk_pop_free(chain, x509_free);
}

struct native_box {
    _Atomic int refs;
    struct ossl_native n;
};

struct ossl_native *native_new(SSL_SESSION *sess, OPENSSL_STACK *chain)
{
    struct native_box *b = malloc(sizeof *b);
    if (b == NULL) {
        if (sess != NULL)
            ossl.SSL_SESSION_free(sess);
        chain_free(chain);
        return NULL;
    }
    atomic_init(&b->refs, 1);
    b->n.sess = sess;
    b->n.chain = chain;
    return &b->n;
}

static void *native_ref(void *p)
{
    struct native_box *b = (struct native_box *)((char *)p - offsetof(struct native_box, n));
    atomic_fetch_add(&b->refs, 1);
    return p;
}

static void native_unref(void *p)
{
    struct native_box *b = (struct native_box *)((char *)p - offsetof(struct native_box, n));
    if (atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    if (b->n.sess != NULL)
        ossl.SSL_SESSION_free(b->n.sess);
    chain_free(b->n.chain);
    free(b);
}

#define MEMO_SLOTS 64
static struct {
    unsigned long long hash;
    struct ar_blob der; /* compared in full: the parsed form must be of these bytes */
    struct ossl_native *n;
} memo[MEMO_SLOTS];
static unsigned memo_next;
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;

void native_remember(const struct ar_blob *der, struct ossl_native *n)
{
    unsigned long long h = key_hash64(der->data, der->len);
    struct ar_blob copy, old_der;
    if (blob_copy(&copy, der) != 0)
        return;
    native_ref(n);
    pthread_mutex_lock(&memo_lock);
    unsigned i = memo_next++ % MEMO_SLOTS;
    struct ossl_native *old = memo[i].n;
    old_der = memo[i].der;
    memo[i].hash = h;
    memo[i].der = copy;
    memo[i].n = n;
    pthread_mutex_unlock(&memo_lock);
    free(old_der.data);
    if (old != NULL)
        native_unref(old);
}

struct ossl_native *native_recall(const struct ar_blob *der)
{
    unsigned long long h = key_hash64(der->data, der->len);
    struct ossl_native *n = NULL;
    pthread_mutex_lock(&memo_lock);
    for (unsigned i = 0; i < MEMO_SLOTS && n == NULL; i++)
        if (memo[i].n != NULL && memo[i].hash == h && memo[i].der.len == der->len &&
            memcmp(memo[i].der.data, der->data, der->len) == 0) {
            n = memo[i].n;
            memo[i].n = NULL;
            free(memo[i].der.data);
            memo[i].der.data = NULL;
            memo[i].der.len = 0;
        }
    pthread_mutex_unlock(&memo_lock);
    return n;
}

void native_fork_lock(void)
{
    pthread_mutex_lock(&memo_lock);
}

void native_fork_unlock(void)
{
    pthread_mutex_unlock(&memo_lock);
}

void native_release(struct ossl_native *n)
{
    if (n != NULL)
        native_unref(n);
}

void native_register(void)
{
    static const struct ar_native_ops ops = {native_ref, native_unref};
    cache_set_native_ops(&ops);
}

static X509_STORE *verify_store_of(SSL *ssl)
{
    X509_STORE *store = NULL;
    ossl.SSL_ctrl(ssl, SSL_CTRL_GET_VERIFY_CERT_STORE, 0, &store);
    if (store == NULL)
        store = ossl.SSL_CTX_get_cert_store(ossl.SSL_get_SSL_CTX(ssl));
    return store;
}

/* Whether a lookup of the store (a CApath, a custom method) finds a
 * certificate by one of the names of the chain: those load lazily and are
 * not among the store's objects until asked. */
static int store_finds_any(X509_STORE *store, OPENSSL_STACK *chain)
{
    X509_STORE_CTX *xs = ossl.X509_STORE_CTX_new();
    X509_OBJECT *obj = ossl.X509_OBJECT_new();
    int n = chain != NULL ? ossl.OPENSSL_sk_num(chain) : 0, found = 1; /* unsure: found */

    if (xs != NULL && obj != NULL && ossl.X509_STORE_CTX_init(xs, store, NULL, NULL)) {
        found = 0;
        for (int i = 0; i < n && !found; i++) {
            X509 *x = ossl.OPENSSL_sk_value(chain, i);
            found = ossl.X509_STORE_CTX_get_by_subject(xs, X509_LU_X509,
                                                      ossl.X509_get_issuer_name(x), obj) ||
                    ossl.X509_STORE_CTX_get_by_subject(xs, X509_LU_X509,
                                                      ossl.X509_get_subject_name(x), obj);
        }
    }
    ossl.X509_OBJECT_free(obj);
    ossl.X509_STORE_CTX_free(xs);
    return found;
}

int trust_store_empty(SSL *ssl, OPENSSL_STACK *chain)
{
    X509_STORE *store = verify_store_of(ssl);
    if (store == NULL)
        return 1;
    STACK_OF(X509_OBJECT) *objs = ossl.X509_STORE_get0_objects(store);
    if (objs != NULL && ossl.OPENSSL_sk_num((const OPENSSL_STACK *)objs) > 0)
        return 0;
    if (ossl.X509_STORE_get_get_issuer(store) != NULL ||
        ossl.X509_STORE_get_lookup_certs(store) != NULL)
        return 0; /* the program finds issuers its own way */
    return !store_finds_any(store, chain);
}

int trust_recheck(SSL *ssl, OPENSSL_STACK *all, long stored_result, int adopt, long *result_out,
                  const char **why)
{
    int ok = 0;

    *result_out = X509_V_ERR_UNSPECIFIED;
    if (all == NULL || ossl.OPENSSL_sk_num(all) < 1) {
        *why = "no usable certificate chain kept";
        return 0;
    }
    X509 *leaf = ossl.OPENSSL_sk_value(all, 0);
    X509_STORE *store = verify_store_of(ssl);
    X509_STORE_CTX *xs = ossl.X509_STORE_CTX_new();
    if (xs == NULL || !ossl.X509_STORE_CTX_init(xs, store, leaf, (STACK_OF(X509) *)all)) {
        *why = "cannot set up verification";
        goto out;
    }
    if (!ossl.X509_STORE_CTX_set_ex_data(xs, ossl.SSL_get_ex_data_X509_STORE_CTX_idx(), ssl)) {
        *why = "cannot set up verification";
        goto out;
    }
    X509_VERIFY_PARAM *param = ossl.X509_STORE_CTX_get0_param(xs);
    ossl.X509_VERIFY_PARAM_set_auth_level(param, ossl.SSL_get_security_level(ssl));
    ossl.X509_STORE_CTX_set_default(xs, "ssl_server");
    ossl.X509_VERIFY_PARAM_set1(param, ossl.SSL_get0_param(ssl));
    SSL_verify_cb cb = ossl.SSL_get_verify_callback(ssl);
    if (cb != NULL)
        ossl.X509_STORE_CTX_set_verify_cb(xs, cb);

    int rc = ossl.X509_verify_cert(xs);
    long result = ossl.X509_STORE_CTX_get_error(xs);
    *result_out = result;
    int verify_peer = (ossl.SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0;
    if (verify_peer && rc <= 0)
        *why = "certificate would not verify now";
    else if (result != stored_result && !adopt)
        *why = "verification result would differ";
    else
        ok = 1;
    if (!ok)
        log_debug("re-verification: %s (stored result: %s)",
                  ossl.X509_verify_cert_error_string(result),
                  ossl.X509_verify_cert_error_string(stored_result));
out:
    ossl.X509_STORE_CTX_free(xs);
    return ok;
}
