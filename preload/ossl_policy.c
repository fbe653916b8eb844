/*
 * ossl_policy.c - the connection's negotiation policy as key text, and the
 * settings that rule out an offer. See ossl_policy.h.
 */
#include "ossl_policy.h"
#include "ar_hello.h"
#include "ar_fmt.h"
#include "ar_key.h"
#include "ossl_ciphers.h"
#include "ossl_ctx.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <string.h>

/* The longest policy_describe text: the labels and 3 decimal and 4 hex numbers. */
#define POLICY_TEXT_MAX (sizeof "sec=|opt=|cf=|mcl=|ocsp=|hello=|ovr=" - 1 + 3 * 20 + 4 * 16)

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
    case SSL_CTRL_CERT_FLAGS:
    case SSL_CTRL_CLEAR_CERT_FLAGS:
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
 * The ClientHello a fresh SSL of `ctx` writes at one protocol version
 * (min = max = version), into *data (NULL if none was written); returns
 * the SSL to free after use of *data, or NULL. Nothing of the program's
 * runs: its message and info callbacks are taken off the probe.
 * `cheap_group`: offer P-256 alone, where the context allows it, so that a
 * TLS 1.3 hello generates one cheap key share instead of the context's
 * (OpenSSL 3.5: X25519 keygen costs 3 times P-256's, a hybrid ML-KEM one
 * more; the groups change nothing in the signature algorithm lists).
 */
static SSL *probe_at(SSL_CTX *ctx, int version, int cheap_group, const unsigned char **data, long *len,
                     int *connects)
{
    *data = NULL;
    *len = 0;
    SSL *p = ossl.SSL_new(ctx);
    BIO *rb = ossl.BIO_new(ossl.BIO_s_mem()), *wb = ossl.BIO_new(ossl.BIO_s_mem());
    if (p == NULL || rb == NULL || wb == NULL) {
        ossl.BIO_free(rb); /* NULL-safe; not owned by the SSL yet */
        ossl.BIO_free(wb);
        ossl.SSL_free(p);
        return NULL;
    }
    ossl.SSL_set_bio(p, rb, wb); /* the SSL owns both now */
    ossl.SSL_set_msg_callback(p, NULL);
    /* A context's info callback fires for SSLs without their own. */
    ossl.SSL_set_info_callback(p, quiet_info);
    ossl.SSL_clear_options(p, SSL_OP_NO_SSL_MASK);
    if (cheap_group)
        ossl.SSL_ctrl(p, SSL_CTRL_SET_GROUPS_LIST, 0, (void *)"P-256"); /* else the context's */
    if (ossl.SSL_ctrl(p, SSL_CTRL_SET_MIN_PROTO_VERSION, version, NULL) == 1 &&
        ossl.SSL_ctrl(p, SSL_CTRL_SET_MAX_PROTO_VERSION, version, NULL) == 1) {
        ossl.SSL_set_connect_state(p);
        ossl.SSL_connect(p); /* writes the hello, then wants to read: -1 */
        (*connects)++;       /* counted in the context's SSL_CTX_sess_connect */
        char *d = NULL;
        long n = ossl.BIO_ctrl(wb, BIO_CTRL_INFO, 0, &d);
        if (n > 0 && d != NULL) {
            *data = (const unsigned char *)d;
            *len = n;
        }
    }
    return p;
}

/*
 * The context's policy digest, from the hellos a fresh SSL of it writes.
 * The TLS 1.2 hello carries the groups, signature algorithms and
 * extensions that a TLS 1.2 full handshake is checked against, and needs no
 * key share generated (TLS 1.3 resumption negotiates its group live
 * anyway); its TLS 1.3-only extensions whose callbacks the program could
 * have (PSK) are not written. From OpenSSL 3.2 on, some signature
 * algorithms are TLS 1.3-only (brainpool's TLS 1.3 code points, ML-DSA and
 * other providers' algorithms in 3.5), and OpenSSL leaves them out of a
 * TLS 1.2 hello: so the signature algorithm lists of a TLS 1.3 hello are
 * digested too, or two policies differing only in those would share
 * sessions (the server's signature, skipped on resumption, is checked
 * against them). A context that cannot write a TLS 1.3 hello gets a mark
 * of its own (its SSLs cannot offer TLS 1.3 either, but for one given TLS
 * 1.3 cipher suites of its own: then two such contexts differing only in
 * TLS 1.3-only signature algorithms would share; not seen in programs). The caller keeps the program's PSK callbacks off the probe.
 * Cost, OpenSSL 3.5 (callgrind): the TLS 1.2 probe about 190k instructions
 * per context, the TLS 1.3 one about 420k more (its P-256 key share 180k).
 */
static int probe_hello(SSL_CTX *ctx, unsigned long long *out, int *connects)
{
    const unsigned char *data;
    long n;
    int rc = -1;
    probing = 1;
    SSL *p = probe_at(ctx, TLS1_2_VERSION, 0, &data, &n, connects);
    if (data != NULL)
        rc = hello_digest(data, (size_t)n, out);
    ossl.SSL_free(p);
    if (rc == 0 && ossl.OpenSSL_version_num() >= 0x30200000L) {
        /* P-256 alone first; if the context's level or policy refuses it,
         * its own groups. A context that cannot write a TLS 1.3 hello at
         * all (OpenSSL writes an alert record instead, or nothing) gets
         * the mark; a handshake record that does not parse fails the probe. */
        unsigned long long sig = 0;
        int got = 0;
        for (int cheap = 1; cheap >= 0 && !got && rc == 0; cheap--) {
            p = probe_at(ctx, TLS1_3_VERSION, cheap, &data, &n, connects);
            if (data != NULL && data[0] == 22) { /* handshake records */
                got = hello_digest_sigalgs(data, (size_t)n, &sig) == 0;
                if (!got)
                    rc = -1;
            }
            ossl.SSL_free(p);
        }
        unsigned char b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(sig >> (8 * i));
        *out = got ? key_hash64_more(*out, b, sizeof b) : key_hash64_more(*out, "no1.3", 5);
    }
    probing = 0;
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

#ifndef TLSEXT_cert_type_rpk
#define TLSEXT_cert_type_rpk 2 /* RFC 7250, OpenSSL 3.2+ */
#endif

/* Whether a certificate type list (SSL_get0_server_cert_type or
 * SSL_get0_client_cert_type, OpenSSL 3.2+) admits raw public keys. */
static int admits_rpk(int (*get)(const SSL *, unsigned char **, size_t *), SSL *ssl)
{
    unsigned char *types = NULL;
    size_t n = 0;
    if (get == NULL || !get(ssl, &types, &n) || types == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (types[i] == TLSEXT_cert_type_rpk)
            return 1;
    return 0;
}

/* Settings whose checks a resumed handshake skips and we cannot repeat. */
static const char *opaque_setting(SSL *ssl, const struct ar_conn *c)
{
    if (c->opaque != NULL)
        return c->opaque;
    /* A raw public key is checked against the program's expected keys, and
     * a session from an X.509 handshake would skip that (and one that
     * accepts both could get either). */
    if (admits_rpk(ossl.SSL_get0_server_cert_type, ssl))
        return "program accepts raw public keys (RFC 7250)";
    if (admits_rpk(ossl.SSL_get0_client_cert_type, ssl))
        return "program can send a raw public key (RFC 7250)";
    /* SRP: the password, the group-size floor and the program's group
     * check are in no key, and a resumed handshake makes none of them. */
    if (ossl.SSL_get_srp_username != NULL && ossl.SSL_get_srp_username(ssl) != NULL)
        return "program uses SRP";
    /* The context's too: one set after SSL_new, when the probe had run. */
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

/*
 * Whether the program's OCSP status callback runs for this connection: it
 * asks for a status and its context has a callback. A full handshake calls
 * it after the server's certificates (with or without a response, and the
 * callback may refuse either); a resumed TLS 1.3 one calls it without a
 * response; a resumed TLS 1.2 one never does.
 */
static int status_callback_runs(SSL *ssl)
{
    int (*cb)(SSL *, void *) = NULL;
    return ocsp_requested(ssl) != -1 &&
           ossl.SSL_CTX_ctrl(ossl.SSL_get_SSL_CTX(ssl), SSL_CTRL_GET_TLSEXT_STATUS_REQ_CB, 0,
                             (void *)&cb) > 0 &&
           cb != NULL;
}

/* Key exchanges that authenticate with a secret of the program's (a PSK
 * identity and key, an SRP password), which no key holds. */
static int secret_authenticated(const SSL_CIPHER *cipher)
{
    if (cipher == NULL)
        return 1;
    int kx = ossl.SSL_CIPHER_get_kx_nid(cipher), auth = ossl.SSL_CIPHER_get_auth_nid(cipher);
    return kx == NID_kx_psk || kx == NID_kx_rsa_psk || kx == NID_kx_ecdhe_psk || kx == NID_kx_dhe_psk ||
           kx == NID_kx_srp || auth == NID_auth_psk || auth == NID_auth_srp;
}

int policy_keepable(SSL *ssl, const char **why)
{
    const unsigned char *resp = NULL;
    if (ocsp_requested(ssl) != -1 &&
        ossl.SSL_ctrl(ssl, SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP, 0, &resp) > 0) {
        *why = "the server stapled an OCSP response";
        return 0;
    }
    if (secret_authenticated(ossl.SSL_get_current_cipher(ssl))) {
        *why = "a pre-shared key or SRP password authenticated it";
        return 0;
    }
    return 1;
}

int policy_status_after(SSL *ssl, int version)
{
    return version < TLS1_3_VERSION && status_callback_runs(ssl);
}

int policy_run_status_callback(SSL *ssl)
{
    SSL_CTX *ctx = ossl.SSL_get_SSL_CTX(ssl);
    int (*cb)(SSL *, void *) = NULL;
    void *arg = NULL;
    if (ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_TLSEXT_STATUS_REQ_CB, 0, (void *)&cb) <= 0 || cb == NULL)
        return 1; /* gone since the offer: OpenSSL would not call one now either */
    ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_TLSEXT_STATUS_REQ_CB_ARG, 0, &arg);
    return cb(ssl, arg);
}

/* Names of the context's ciphers, in order: the probe's hello depends on them
 * (a Suite B cipher string also narrows the groups and signature algorithms). */
static unsigned long long ctx_cipher_digest(SSL_CTX *ctx)
{
    int n;
    return cipher_list_digest(ctx, ossl.SSL_CTX_get_ciphers(ctx), CIPHER_MEMO_CTX, NULL, &n);
}

/*
 * The context's hello digest, probed once and reused while nothing it
 * depends on changed: the readable settings are compared, the lists (which
 * cannot be read) count as changed whenever a setter ran (policy_epoch).
 */
static const char *ctx_hello(SSL_CTX *ctx, unsigned long long *out)
{
    struct ar_hello_memo now;
    memset(&now, 0, sizeof now); /* compared whole, padding too */
    now.valid = 1;
    now.epoch = atomic_load(&policy_epoch);
    now.level = ossl.SSL_CTX_get_security_level(ctx);
    now.options = (unsigned long long)ossl.SSL_CTX_get_options(ctx);
    now.cert_flags = (unsigned long)ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_CERT_FLAGS, 0, NULL);
    now.ciphers = ctx_cipher_digest(ctx);
    now.min_version = ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_MIN_PROTO_VERSION, 0, NULL);
    now.max_version = ossl.SSL_CTX_ctrl(ctx, SSL_CTRL_GET_MAX_PROTO_VERSION, 0, NULL);
    int hit = 0, custom_ext = 0, custom_psk = 0;
    ctx_lock();
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL) {
        custom_ext = d->custom_ext;
        custom_psk = d->custom_psk;
        if (d->hello.valid) {
            now.hello = d->hello.hello;
            now.failed = d->hello.failed;
            hit = memcmp(&now, &d->hello, sizeof now) == 0;
        }
    }
    ctx_unlock();
    /* The probe would run the program's extension and security callbacks
     * on an SSL it never made (they may use its app data). */
    if (custom_ext)
        return "program adds its own TLS extensions";
    /* A TLS 1.3 hello calls them; such a context gets no offers anyway. */
    if (custom_psk || ctx_psk_unrecorded())
        return "program uses pre-shared keys (a PSK callback)";
    void *sec_cb = (void *)ossl.SSL_CTX_get_security_callback(ctx);
    if (sec_cb != NULL && !in_libssl(sec_cb))
        return "program has its own security callback";
    if (!hit) {
        /* A failure is remembered too: a server's context fails each time. */
        int connects = 0;
        now.failed = probe_hello(ctx, &now.hello, &connects) != 0;
        ctx_lock();
        d = ctxd_attach(ctx);
        if (d != NULL) {
            d->probes += connects; /* hidden from SSL_CTX_sess_connect */
            d->hello = now;
        }
        ctx_unlock();
    }
    if (now.failed)
        return "cannot read the connection's TLS policy";
    *out = now.hello;
    return NULL;
}

void policy_note_new(SSL *ssl)
{
    if (ossl_is_quic(ssl))
        return; /* left alone entirely (ossl_sym.h) */
    struct ar_conn *c = conn_attach(ssl);
    if (c == NULL)
        return;
    SSL_CTX *ctx = ossl.SSL_get_SSL_CTX(ssl);
    c->session_ctx = ctx;
    /* SSL_new copied the context's session id context: as it reads now,
     * not as it may read when the handshake starts. */
    if (!c->sid_set)
        ctx_copy_sid(ctx, ssl);
    if (ossl.SSL_is_dtls(ssl)) {
        c->hello_why = "DTLS is left alone"; /* no probe, so no offer */
        return;
    }
    const char *copied = ctx_copied_callback(ossl.SSL_get_SSL_CTX(ssl));
    if (copied != NULL && c->opaque == NULL)
        c->opaque = copied;
    ossl.ERR_set_mark();
    c->hello_why = ctx_hello(ossl.SSL_get_SSL_CTX(ssl), &c->hello);
    c->hello_known = c->hello_why == NULL;
    ossl.ERR_pop_to_mark();
}

long policy_ctx_stat(SSL_CTX *ctx, int cmd, long value)
{
    if (cmd != SSL_CTRL_SESS_CONNECT)
        return value;
    long probes = 0;
    ctx_lock();
    struct ar_ctx *d = ctxd_get(ctx);
    if (d != NULL)
        probes = d->probes;
    ctx_unlock();
    return value >= probes ? value - probes : 0;
}

void policy_note_custom_ext(SSL_CTX *ctx)
{
    ctx_lock();
    struct ar_ctx *d = ctxd_attach(ctx);
    if (d != NULL)
        d->custom_ext = 1;
    ctx_unlock();
}

int policy_describe(SSL *ssl, const struct ar_conn *c, char *out, size_t cap, const char **why)
{
    const char *opaque = opaque_setting(ssl, c);
    if (opaque != NULL) {
        *why = opaque;
        return -1;
    }
    if (!c->hello_known) {
        *why = c->hello_why != NULL ? c->hello_why : "connection made before the library was ready";
        return -1;
    }
    /* cf: the connection's certificate flags (Suite B, set by a cipher string).
     * As snprintf "sec=%d|opt=%llx|cf=%lx|mcl=%ld|ocsp=%ld|hello=%016llx|ovr=%016llx"
     * would write it, at a tenth of the cost; at most POLICY_TEXT_MAX bytes. */
    char buf[POLICY_TEXT_MAX + 1], *p = buf;
    p = fmt_dec(fmt_str(p, "sec="), ossl.SSL_get_security_level(ssl));
    p = fmt_hex(fmt_str(p, "|opt="), (unsigned long long)ossl.SSL_get_options(ssl), 1);
    p = fmt_hex(fmt_str(p, "|cf="), (unsigned long)ossl.SSL_ctrl(ssl, SSL_CTRL_CERT_FLAGS, 0, NULL), 1);
    p = fmt_dec(fmt_str(p, "|mcl="), ossl.SSL_ctrl(ssl, SSL_CTRL_GET_MAX_CERT_LIST, 0, NULL));
    p = fmt_dec(fmt_str(p, "|ocsp="), ocsp_requested(ssl));
    p = fmt_hex(fmt_str(p, "|hello="), c->hello, 16);
    p = fmt_hex(fmt_str(p, "|ovr="), c->overrides, 16);
    size_t n = (size_t)(p - buf);
    if (n >= cap) {
        *why = "key too long";
        return -1;
    }
    memcpy(out, buf, n);
    out[n] = '\0';
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
    case SSL_CTRL_SET_TMP_ECDH: /* one curve, given as a key: not worth reading */
        policy_note_opaque(ssl, "program set a curve on the connection");
        return;
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

void policy_note_mfl(SSL *ssl, uint8_t mode)
{
    struct ar_conn *c = conn_attach(ssl);
    if (c == NULL)
        return;
    unsigned char m = mode;
    unsigned long long h = c->overrides ? c->overrides : key_hash64("ovr", 3);
    h = key_hash64_more(h, "mfl", 3);
    c->overrides = key_hash64_more(h, &m, 1);
}

void policy_note_opaque(SSL *ssl, const char *what)
{
    struct ar_conn *c = conn_attach(ssl);
    if (c != NULL)
        c->opaque = what;
}
