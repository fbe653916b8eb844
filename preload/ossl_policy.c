/*
 * ossl_policy.c - the connection's negotiation policy as key text, and the
 * settings that rule out an offer. See ossl_policy.h.
 */
#include "ossl_policy.h"
#include "ar_hello.h"
#include "ar_key.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static __thread int probing;
static _Atomic unsigned long policy_epoch;

void policy_note_ctx_ctrl(int cmd)
{
    switch (cmd) {
    case SSL_CTRL_SET_GROUPS:
    case SSL_CTRL_SET_GROUPS_LIST:
    case SSL_CTRL_SET_SIGALGS:
    case SSL_CTRL_SET_SIGALGS_LIST:
    case SSL_CTRL_SET_CLIENT_SIGALGS:
    case SSL_CTRL_SET_CLIENT_SIGALGS_LIST:
    case SSL_CTRL_SET_TMP_ECDH:
    case SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE:
        policy_note_config();
        break;
    default:
        break;
    }
}

void policy_note_config(void)
{
    atomic_fetch_add(&policy_epoch, 1);
}

int policy_probing(void)
{
    return probing;
}

static void quiet_info(const SSL *ssl, int where, int ret)
{
    (void)ssl, (void)where, (void)ret;
}

/*
 * The ClientHello a fresh SSL of `ctx` writes, as TLS 1.2 only: that
 * hello carries the groups, signature algorithms and extensions that a
 * TLS 1.2 full handshake is checked against, and needs no key share
 * generated (TLS 1.3 resumption negotiates its group live anyway). Nothing
 * of the program's runs: its message and info callbacks are taken off the
 * probe, and the TLS 1.3-only extensions whose callbacks it could have
 * (PSK) are not written for a TLS 1.2 hello.
 */
static int probe_hello(SSL_CTX *ctx, unsigned long long *out)
{
    SSL *p = ossl.SSL_new(ctx);
    if (p == NULL)
        return -1;
    int rc = -1;
    BIO *rb = ossl.BIO_new(ossl.BIO_s_mem()), *wb = ossl.BIO_new(ossl.BIO_s_mem());
    if (rb == NULL || wb == NULL) {
        ossl.BIO_free(rb); /* NULL-safe; not owned by the SSL yet */
        ossl.BIO_free(wb);
        ossl.SSL_free(p);
        return -1;
    }
    ossl.SSL_set_bio(p, rb, wb); /* the SSL owns both now */
    ossl.SSL_set_msg_callback(p, NULL);
    /* A context's info callback fires for SSLs without their own. */
    ossl.SSL_set_info_callback(p, quiet_info);
    ossl.SSL_clear_options(p, SSL_OP_NO_SSL_MASK);
    if (ossl.SSL_ctrl(p, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL) == 1 &&
        ossl.SSL_ctrl(p, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_2_VERSION, NULL) == 1) {
        ossl.SSL_set_connect_state(p);
        probing = 1;
        ossl.SSL_connect(p); /* writes the hello, then wants to read: -1 */
        probing = 0;
        char *data = NULL;
        long n = ossl.BIO_ctrl(wb, BIO_CTRL_INFO, 0, &data);
        if (n > 0 && data != NULL)
            rc = hello_digest((const unsigned char *)data, (size_t)n, out);
    }
    ossl.SSL_free(p);
    return rc;
}

/* Whether f lies in the libssl we resolved (its default security callback).
 * dladdr is slow: the answer for the one default callback is remembered. */
static int in_libssl(void *f)
{
    static _Atomic(void *) known;
    if (f == atomic_load(&known))
        return 1;
    Dl_info a, b;
    if (dladdr(f, &a) == 0 || dladdr((void *)ossl.SSL_new, &b) == 0 || a.dli_fbase != b.dli_fbase)
        return 0;
    atomic_store(&known, f);
    return 1;
}

/* Settings whose checks a resumed handshake skips and we cannot repeat. */
static const char *opaque_setting(SSL *ssl, const struct ar_conn *c)
{
    if (c->opaque != NULL)
        return c->opaque;
    /* The probe, an SSL of the context, would call the context's. */
    void *cb = (void *)ossl.SSL_get_security_callback(ssl);
    void *ctx_cb = (void *)ossl.SSL_CTX_get_security_callback(ossl.SSL_get_SSL_CTX(ssl));
    if ((cb != NULL && !in_libssl(cb)) || (ctx_cb != NULL && !in_libssl(ctx_cb)))
        return "program has its own security callback";
    if (ossl.SSL_ct_is_enabled(ssl))
        return "certificate transparency is checked";
    return NULL;
}

/* The OCSP status type the program asks for (TLSEXT_STATUSTYPE_*), or -1. */
static long ocsp_requested(SSL *ssl)
{
    return ossl.SSL_ctrl(ssl, SSL_CTRL_GET_TLSEXT_STATUS_REQ_TYPE, 0, NULL);
}

int policy_keepable(SSL *ssl, const char **why)
{
    const unsigned char *resp = NULL;
    if (ocsp_requested(ssl) != -1 &&
        ossl.SSL_ctrl(ssl, SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP, 0, &resp) > 0) {
        *why = "the server stapled an OCSP response";
        return 0;
    }
    return 1;
}

/* Names of the context's ciphers, in order: the probe's hello depends on them
 * (a Suite B cipher string also narrows the groups and signature algorithms). */
static unsigned long long ctx_cipher_digest(SSL_CTX *ctx)
{
    STACK_OF(SSL_CIPHER) *sk = ossl.SSL_CTX_get_ciphers(ctx);
    int n = sk ? ossl.OPENSSL_sk_num((const OPENSSL_STACK *)sk) : 0;
    unsigned long long h = key_hash64("", 0);
    for (int i = 0; i < n; i++) {
        const char *name = ossl.SSL_CIPHER_get_name(ossl.OPENSSL_sk_value((const OPENSSL_STACK *)sk, i));
        if (name != NULL)
            h = key_hash64_more(h, name, strlen(name) + 1);
    }
    return h;
}

/*
 * The context's hello digest, probed once and reused while nothing it
 * depends on changed: the readable settings are compared, the lists (which
 * cannot be read) count as changed whenever a setter ran (policy_epoch).
 */
static int ctx_hello(SSL_CTX *ctx, unsigned long long *out)
{
    struct ar_hello_memo now = {
        .valid = 1,
        .epoch = atomic_load(&policy_epoch),
        .level = ossl.SSL_CTX_get_security_level(ctx),
        .options = (unsigned long long)ossl.SSL_CTX_get_options(ctx),
        .ciphers = ctx_cipher_digest(ctx),
        .min_version = ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_MIN_PROTO_VERSION, 0, NULL),
        .max_version = ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_MAX_PROTO_VERSION, 0, NULL),
    };
    int hit = 0;
    ctx_lock();
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL && d->hello.valid) {
        now.hello = d->hello.hello;
        hit = memcmp(&now, &d->hello, sizeof now) == 0;
    }
    ctx_unlock();
    if (hit) {
        *out = now.hello;
        return 0;
    }
    if (probe_hello(ctx, &now.hello) != 0)
        return -1;
    ctx_lock();
    d = ctxd_attach(ctx);
    if (d != NULL)
        d->hello = now;
    ctx_unlock();
    *out = now.hello;
    return 0;
}

int policy_describe(SSL *ssl, const struct ar_conn *c, char *out, size_t cap, const char **why)
{
    unsigned long long hello;
    const char *opaque = opaque_setting(ssl, c);
    if (opaque != NULL) {
        *why = opaque;
        return -1;
    }
    if (ctx_hello(ossl.SSL_get_SSL_CTX(ssl), &hello) != 0) {
        *why = "cannot read the connection's TLS policy";
        return -1;
    }
    int n = snprintf(out, cap, "sec=%d|opt=%llx|mcl=%ld|ocsp=%ld|hello=%016llx|ovr=%016llx",
                     ossl.SSL_get_security_level(ssl),
                     (unsigned long long)ossl.SSL_get_options(ssl),
                     ossl.SSL_ctrl(ssl, SSL_CTRL_GET_MAX_CERT_LIST, 0, NULL), ocsp_requested(ssl),
                     hello, c->overrides);
    if (n < 0 || (size_t)n >= cap) {
        *why = "key too long";
        return -1;
    }
    return 0;
}

void policy_note_ssl_ctrl(SSL *ssl, int cmd, long larg, const void *parg)
{
    size_t len;
    switch (cmd) {
    case SSL_CTRL_SET_GROUPS_LIST:
    case SSL_CTRL_SET_SIGALGS_LIST:
    case SSL_CTRL_SET_CLIENT_SIGALGS_LIST:
        len = parg != NULL ? strlen(parg) : 0;
        break;
    case SSL_CTRL_SET_GROUPS:
    case SSL_CTRL_SET_SIGALGS:
    case SSL_CTRL_SET_CLIENT_SIGALGS:
        len = larg > 0 && larg < 4096 && parg != NULL ? (size_t)larg * sizeof(int) : 0;
        break;
    default:
        return;
    }
    struct ar_conn *c = conn_attach(ssl);
    if (c == NULL)
        return;
    unsigned char head[2 * sizeof(long)];
    long fields[2] = {cmd, larg};
    memcpy(head, fields, sizeof head);
    unsigned long long h = c->overrides ? c->overrides : key_hash64("ovr", 3);
    h = key_hash64_more(h, head, sizeof head);
    c->overrides = key_hash64_more(h, parg, len);
}

void policy_note_opaque(SSL *ssl, const char *what)
{
    struct ar_conn *c = conn_attach(ssl);
    if (c != NULL)
        c->opaque = what;
}
