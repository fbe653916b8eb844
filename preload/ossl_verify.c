/*
 * ossl_verify.c - re-verification mirrors OpenSSL's ssl_verify_cert_chain()
 * (ssl/ssl_cert.c): same store, same defaults ("ssl_server" purpose), the
 * connection's X509_VERIFY_PARAM and security level, the SSL reachable from
 * the store context for the program's verify callback.
 */
#include "ossl_verify.h"
#include "ar_log.h"

#include <stdlib.h>
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

/* Parse a chain blob: the leaf, and a stack holding all of it (untrusted). */
static int chain_decode(const struct ar_blob *b, X509 **leaf, OPENSSL_STACK **all)
{
    const unsigned char *p = b->data, *end = b->data + b->len;
    *leaf = NULL;
    *all = ossl.OPENSSL_sk_new_null();
    if (*all == NULL)
        return -1;
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
        if (!ossl.OPENSSL_sk_push(*all, x)) {
            ossl.X509_free(x);
            goto bad;
        }
        p += len;
    }
    if (ossl.OPENSSL_sk_num(*all) < 1)
        goto bad;
    *leaf = ossl.OPENSSL_sk_value(*all, 0);
    return 0;
bad:
    ossl.OPENSSL_sk_pop_free(*all, x509_free);
    *all = NULL;
    return -1;
}

static int ok_result(int verify_peer, int rc, long result, long stored)
{
    return !(verify_peer && rc <= 0) && result == stored;
}

static X509_STORE *verify_store_of(SSL *ssl)
{
    X509_STORE *store = NULL;
    ossl.SSL_ctrl(ssl, SSL_CTRL_GET_VERIFY_CERT_STORE, 0, &store);
    if (store == NULL)
        store = ossl.SSL_CTX_get_cert_store(ossl.SSL_get_SSL_CTX(ssl));
    return store;
}

int trust_store_empty(SSL *ssl)
{
    X509_STORE *store = verify_store_of(ssl);
    STACK_OF(X509_OBJECT) *objs = store ? ossl.X509_STORE_get0_objects(store) : NULL;
    return objs == NULL || ossl.OPENSSL_sk_num((const OPENSSL_STACK *)objs) == 0;
}

int trust_recheck(SSL *ssl, const struct ar_session *s, long *result_out, const char **why)
{
    X509 *leaf;
    OPENSSL_STACK *all;
    int ok = 0;

    if (chain_decode(&s->chain, &leaf, &all) != 0) {
        *why = "no usable certificate chain kept";
        return 0;
    }
    X509_STORE *store = verify_store_of(ssl);
    *result_out = X509_V_ERR_UNSPECIFIED;
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
    if (!ok_result(verify_peer, rc, result, s->verify_result))
        log_debug("re-verification: %s (stored result: %s)",
                  ossl.X509_verify_cert_error_string(result),
                  ossl.X509_verify_cert_error_string(s->verify_result));
    if (verify_peer && rc <= 0)
        *why = "certificate would not verify now";
    else if (result != s->verify_result)
        *why = "verification result would differ";
    else
        ok = 1;
out:
    ossl.X509_STORE_CTX_free(xs);
    ossl.OPENSSL_sk_pop_free(all, x509_free);
    return ok;
}
