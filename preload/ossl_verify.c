/*
 * ossl_verify.c - re-verification mirrors OpenSSL's ssl_verify_cert_chain()
 * (ssl/ssl_cert.c): same store, same defaults ("ssl_server" purpose), the
 * connection's X509_VERIFY_PARAM and security level, the SSL reachable from
 * the store context for the program's verify callback.
 */
#include "ossl_verify.h"
#include "ar_log.h"

#include "ar_state.h"
#include "ossl_state.h"
#include "ar_verdict.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Is der (len bytes) the encoding of x? i2d of a parsed certificate copies
 * the bytes it was parsed from. */
static int same_encoding(X509 *x, const unsigned char *der, size_t len)
{
    int n = ossl.i2d_X509(x, NULL);
    if (n <= 0 || (size_t)n != len)
        return 0;
    unsigned char *buf = malloc(len), *q = buf;
    if (buf == NULL)
        return 0;
    int same = ossl.i2d_X509(x, &q) == n && memcmp(buf, der, len) == 0;
    free(buf);
    return same;
}

OPENSSL_STACK *chain_decode(const struct ar_blob *b, X509 *leaf)
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
        X509 *x;
        if (leaf != NULL && p == b->data + 4 && same_encoding(leaf, p, len) &&
            ossl.X509_up_ref(leaf)) {
            x = leaf;
        } else {
            const unsigned char *q = p;
            x = ossl.d2i_X509(NULL, &q, (long)len);
            if (x == NULL || q != p + len) {
                ossl.X509_free(x);
                goto bad;
            }
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

/*
 * The peer chain of a session decoded from the store: i2d_SSL_SESSION does
 * not write it, and OpenSSL has no setter for a session's chain (3.0 to
 * 3.5), so it rides along as the session's ex_data and goes with the
 * session: SSL_SESSION_dup copies it (a reference each), SSL_SESSION_free
 * frees it. Immutable once set.
 */
static _Atomic int attached_idx = -1;
static pthread_once_t attached_once = PTHREAD_ONCE_INIT;

static void attached_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    chain_free(ptr);
}

static int attached_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx,
                        long argl, void *argp)
{
    (void)to, (void)from, (void)idx, (void)argl, (void)argp;
    if (*from_d != NULL)
        *from_d = ossl.X509_chain_up_ref(*from_d); /* NULL without memory: the copy has none */
    return 1;
}

/* Made at the first decoded offer, not before: a process that never resumes
 * from the store registers nothing with OpenSSL. */
static void attached_init(void)
{
    atomic_store(&attached_idx, ossl.CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_SESSION, 0, NULL, NULL,
                                                             attached_dup, attached_free));
}

void chain_attach(SSL_SESSION *sess, OPENSSL_STACK *chain)
{
    if (chain == NULL)
        return;
    pthread_once(&attached_once, attached_init);
    int idx = atomic_load(&attached_idx);
    if (idx < 0 || ossl.SSL_SESSION_get_ex_data(sess, idx) != NULL)
        return;
    STACK_OF(X509) *mine = ossl.X509_chain_up_ref((STACK_OF(X509) *)chain);
    if (mine != NULL && !ossl.SSL_SESSION_set_ex_data(sess, idx, mine))
        chain_free((OPENSSL_STACK *)mine);
}

STACK_OF(X509) *chain_attached(const SSL *ssl)
{
    int idx = atomic_load(&attached_idx); /* -1 until a chain was attached */
    SSL_SESSION *sess = idx >= 0 ? ossl.SSL_get_session(ssl) : NULL;
    return sess != NULL ? ossl.SSL_SESSION_get_ex_data(sess, idx) : NULL;
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

/*
 * The memo's index into its slots: only a filter before the full memcmp and
 * never stored, so eight bytes a step (key_hash64 goes byte by byte, about
 * 5k instructions for a session).
 */
static unsigned long long der_hash(const struct ar_blob *der)
{
    unsigned long long h = 1469598103934665603ULL ^ der->len, w;
    size_t i = 0;
    for (; i + sizeof w <= der->len; i += sizeof w) {
        memcpy(&w, der->data + i, sizeof w);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    for (; i < der->len; i++)
        h = (h ^ der->data[i]) * 1099511628211ULL;
    return h;
}

void native_remember(const struct ar_blob *der, struct ossl_native *n)
{
    unsigned long long h = der_hash(der);
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
    unsigned long long h = der_hash(der);
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

SSL_SESSION *native_session(struct ossl_native *n)
{
    struct native_box *b = (struct native_box *)((char *)n - offsetof(struct native_box, n));
    if (n->sess == NULL)
        return NULL;
    /* The only reference: nobody else can reach n to read its session. */
    if (atomic_load(&b->refs) == 1) {
        SSL_SESSION *own = n->sess;
        n->sess = NULL;
        return own;
    }
    return ossl.SSL_SESSION_dup(n->sess);
}

void native_release(struct ossl_native *n)
{
    if (n != NULL)
        native_unref(n);
}

int native_der(SSL_SESSION *sess, struct ar_blob *out)
{
    out->data = NULL;
    out->len = 0;
    int len = ossl.i2d_SSL_SESSION(sess, NULL);
    if (len <= 0 || (out->data = malloc((size_t)len)) == NULL)
        return -1;
    unsigned char *p = out->data;
    int done = ossl.i2d_SSL_SESSION(sess, &p);
    if (done != len) {
        free(out->data);
        out->data = NULL;
        return -1;
    }
    out->len = (size_t)len;
    return 0;
}

/* The table's encode op: the bytes of a session kept in parsed form only,
 * wanted by the store. Outside any lock of ours; n is immutable, and
 * i2d_SSL_SESSION only reads it (offers SSL_SESSION_dup it concurrently). */
/* OpenSSL's own (internal, 1.1.0 to 3.5): initialize nothing, and raise no
 * error when shut down, only answer 0. */
#ifndef OPENSSL_INIT_BASE_ONLY
#define OPENSSL_INIT_BASE_ONLY 0x00040000L
#endif

static int native_encode(void *p, struct ar_blob *out, int final)
{
    struct ossl_native *n = p;
    out->data = NULL;
    out->len = 0;
    if (n->sess == NULL)
        return -1;
    /* At exit OpenSSL's own atexit handler (OPENSSL_cleanup) may have run
     * before ours: after it OPENSSL_init_crypto answers 0, and nothing of
     * it is called then. Inside its stop handlers (on_openssl_stop) it
     * answers 0 too, but the objects still live. */
    int stop = ossl_stopping();
    if (final && (stop == OSSL_STOPPED ||
                  (stop == 0 && ossl.OPENSSL_init_crypto(OPENSSL_INIT_BASE_ONLY, NULL) != 1)))
        return -1;
    if (native_der(n->sess, out) != 0)
        return -1;
    /* Going to the store: a process that takes it back skips the parse. */
    if (!final)
        native_remember(out, n);
    return 0;
}

void native_register(void)
{
    static const struct ar_native_ops ops = {native_ref, native_unref, native_encode};
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

/* ---- the trust-verdict memo (ar_verdict.h) ----------------------------- */

/* What a remembered pass holds: the store and both chains stay allocated,
 * so the pointers in its key cannot be reused by other objects. */
struct verdict_hold {
    X509_STORE *store;
    OPENSSL_STACK *kept, *built;
    int store_objects;
};

static int store_objects_of(X509_STORE *store)
{
    STACK_OF(X509_OBJECT) *objs = ossl.X509_STORE_get0_objects(store);
    return objs != NULL ? ossl.OPENSSL_sk_num((const OPENSSL_STACK *)objs) : 0;
}

/* Trust settings attached to a certificate (X509_add1_trust_object, a
 * "TRUSTED CERTIFICATE"): the program can change them on a certificate the
 * store already holds, which no count shows. Only chains without any are
 * remembered, and they must still have none at each hit. */
static int chain_has_aux_trust(OPENSSL_STACK *chain)
{
    int n = chain != NULL ? ossl.OPENSSL_sk_num(chain) : 0;
    for (int i = 0; i < n; i++) {
        X509 *x = ossl.OPENSSL_sk_value(chain, i);
        if (ossl.X509_get0_trust_objects(x) != NULL || ossl.X509_get0_reject_objects(x) != NULL)
            return 1;
    }
    return 0;
}

static int hold_still_good(void *p)
{
    struct verdict_hold *h = p;
    return store_objects_of(h->store) == h->store_objects && !chain_has_aux_trust(h->built);
}

static void hold_release(void *p)
{
    struct verdict_hold *h = p;
    ossl.X509_STORE_free(h->store);
    chain_free(h->kept);
    chain_free(h->built);
    free(h);
}

void trust_memo_register(void)
{
    static const struct ar_verdict_ops ops = {hold_still_good, hold_release};
    verdict_set_ops(&ops);
}

/* The store's own functions, when the program set any: they may decide by
 * anything (a CRL fetched now, a pin), so no verdict of theirs is kept. */
static int store_has_callbacks(X509_STORE *s)
{
    return ossl.X509_STORE_get_verify(s) != NULL || ossl.X509_STORE_get_verify_cb(s) != NULL ||
           ossl.X509_STORE_get_get_issuer(s) != NULL || ossl.X509_STORE_get_check_issued(s) != NULL ||
           ossl.X509_STORE_get_check_revocation(s) != NULL || ossl.X509_STORE_get_get_crl(s) != NULL ||
           ossl.X509_STORE_get_check_crl(s) != NULL || ossl.X509_STORE_get_cert_crl(s) != NULL ||
           ossl.X509_STORE_get_check_policy(s) != NULL || ossl.X509_STORE_get_lookup_certs(s) != NULL ||
           ossl.X509_STORE_get_lookup_crls(s) != NULL || ossl.X509_STORE_get_cleanup(s) != NULL;
}

/* Checks whose answer can change with no change to the key: CRLs (a lookup
 * may load a newer one), policies (not readable back). */
#define VERDICT_UNKEYED_FLAGS                                                             \
    (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_USE_DELTAS |          \
     X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_POLICY_CHECK | X509_V_FLAG_EXPLICIT_POLICY | \
     X509_V_FLAG_INHIBIT_ANY | X509_V_FLAG_INHIBIT_MAP | X509_V_FLAG_NOTIFY_POLICY)

/*
 * The memo key of a verification set up in xs (the effective parameters:
 * the store's, the "ssl_server" defaults, the connection's, as
 * X509_verify_cert will use them). Returns 0, or -1 when this verification
 * must not be memoized.
 */
static int verdict_key_of(SSL *ssl, X509_STORE *store, X509_STORE_CTX *xs, OPENSSL_STACK *chain,
                          struct ar_verdict_key *k)
{
    X509_VERIFY_PARAM *param = ossl.X509_STORE_CTX_get0_param(xs);
    int n = ossl.OPENSSL_sk_num(chain);

    memset(k, 0, sizeof *k);
    if (!verdict_enabled() || store == NULL || n < 1 || n > AR_VERDICT_CHAIN_MAX ||
        ossl.SSL_get_verify_callback(ssl) != NULL || store_has_callbacks(store))
        return -1;
    k->flags = ossl.X509_VERIFY_PARAM_get_flags(param);
    if (k->flags & VERDICT_UNKEYED_FLAGS)
        return -1;
    k->store = store;
    k->store_objects = store_objects_of(store);
    for (int i = 0; i < n; i++)
        k->chain[i] = ossl.OPENSSL_sk_value(chain, i);
    k->chain_len = n;
    k->inh_flags = ossl.X509_VERIFY_PARAM_get_inh_flags(param);
    k->hostflags = ossl.X509_VERIFY_PARAM_get_hostflags(param);
    k->depth = ossl.X509_VERIFY_PARAM_get_depth(param);
    k->auth_level = ossl.X509_VERIFY_PARAM_get_auth_level(param);
    k->security_level = ossl.SSL_get_security_level(ssl);
    k->verify_mode = ossl.SSL_get_verify_mode(ssl);
    if (k->flags & X509_V_FLAG_USE_CHECK_TIME)
        k->check_time = (int64_t)ossl.X509_VERIFY_PARAM_get_time(param);
    for (int i = 0;; i++) {
        const char *h = ossl.X509_VERIFY_PARAM_get0_host(param, i);
        if (h == NULL)
            break;
        if (verdict_key_text(k, h) != 0)
            return -1;
    }
    /* An expected email is rare in a client, and "" set differs from none
     * (OpenSSL checks it and fails) in a way its text cannot show: no memo. */
    if (ossl.X509_VERIFY_PARAM_get0_email(param) != NULL)
        return -1;
    char *ip = ossl.X509_VERIFY_PARAM_get1_ip_asc(param);
    int rc = verdict_key_text(k, "|") != 0 || verdict_key_text(k, ip ? ip : "") != 0
                 ? -1
                 : 0;
    if (ip != NULL)
        ossl.CRYPTO_free(ip, __FILE__, __LINE__);
    return rc;
}

/* The earliest notAfter of a built chain (seconds since the epoch); 0 if unknown. */
static int64_t earliest_not_after(OPENSSL_STACK *built)
{
    int64_t min = INT64_MAX;
    int n = built != NULL ? ossl.OPENSSL_sk_num(built) : 0;
    for (int i = 0; i < n; i++) {
        struct tm tm;
        const ASN1_TIME *t = ossl.X509_get0_notAfter(ossl.OPENSSL_sk_value(built, i));
        if (t == NULL || !ossl.ASN1_TIME_to_tm(t, &tm))
            return 0;
        int64_t v = (int64_t)timegm(&tm);
        if (v < min)
            min = v;
    }
    return n > 0 ? min : 0;
}

/* Remember the pass just made in xs for key k. */
static void verdict_remember(const struct ar_verdict_key *k, X509_STORE *store,
                             OPENSSL_STACK *chain, X509_STORE_CTX *xs)
{
    OPENSSL_STACK *built = (OPENSSL_STACK *)ossl.X509_STORE_CTX_get0_chain(xs);
    int64_t not_after = earliest_not_after(built);
    struct verdict_hold *h;
    if (not_after == 0 || chain_has_aux_trust(built) || (h = calloc(1, sizeof *h)) == NULL)
        return;
    if (!ossl.X509_STORE_up_ref(store)) {
        free(h);
        return;
    }
    h->store = store;
    h->store_objects = (int)k->store_objects;
    h->kept = (OPENSSL_STACK *)ossl.X509_chain_up_ref((STACK_OF(X509) *)chain);
    h->built = (OPENSSL_STACK *)ossl.X509_chain_up_ref((STACK_OF(X509) *)built);
    if (h->kept == NULL || h->built == NULL) {
        hold_release(h);
        return;
    }
    if (verdict_add(k, h, now_seconds(), not_after))
        log_debug("trust verdict remembered");
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

    struct ar_verdict_key key;
    int memoizable = verdict_key_of(ssl, store, xs, all, &key) == 0;
    int rc;
    long result;
    if (memoizable && verdict_find(&key, now_seconds())) {
        rc = 1; /* this chain passed with these very inputs a moment ago */
        result = X509_V_OK;
        log_debug("re-verification: remembered pass");
    } else {
        rc = ossl.X509_verify_cert(xs);
        result = ossl.X509_STORE_CTX_get_error(xs);
        if (memoizable && rc > 0 && result == X509_V_OK)
            verdict_remember(&key, store, all, xs);
    }
    *result_out = result;
    /* Any flag makes OpenSSL's client fail on an error, not only PEER. */
    int verify_peer = ossl.SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE;
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
