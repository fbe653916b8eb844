/*
 * ossl_key.c - fill struct ar_key_input from an SSL. Everything read here is
 * fixed before the handshake starts.
 */
#include "ossl_key.h"
#include "ar_conntrack.h"
#include "ar_fmt.h"
#include "ar_key.h"
#include "ar_sock.h"
#include "ossl_ciphers.h"
#include "ossl_policy.h"

#include <stdlib.h>
#include <string.h>

/*
 * A connect BIO (openssl s_time, BIO_new_ssl_connect users) opens its socket
 * only inside the handshake; before that, its target is the peer.
 */
static int connect_bio_target(SSL *ssl, char *host, size_t cap, unsigned *port)
{
    BIO *b = ossl.BIO_find_type(ossl.SSL_get_rbio(ssl), BIO_TYPE_CONNECT);
    if (b == NULL)
        return 0;
    const char *h = ossl.BIO_ptr_ctrl(b, BIO_C_GET_CONNECT, 0);
    const char *p = ossl.BIO_ptr_ctrl(b, BIO_C_GET_CONNECT, 1);
    if (h == NULL || p == NULL || strlen(h) >= cap)
        return 0;
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    if (p[0] < '0' || p[0] > '9' || *end != '\0' || v == 0 || v > 65535)
        return 0;
    strcpy(host, h);
    *port = (unsigned)v;
    return 1;
}

/* Numeric peer address and port of the connection's socket, if it has one. */
static int peer_of(SSL *ssl, char *ip, size_t cap, unsigned *port)
{
    int found = sock_peer(ossl.SSL_get_fd(ssl), ip, cap, port);
    /* Not connected yet (or no socket): maybe a connect BIO's target. */
    return found < 0 ? connect_bio_target(ssl, ip, cap, port) : found;
}

/* Expected host names joined by '\n'; -1 if they do not fit. */
static int expected_hosts(X509_VERIFY_PARAM *param, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0;; i++) {
        const char *h = ossl.X509_VERIFY_PARAM_get0_host(param, i);
        if (h == NULL)
            return 0;
        size_t n = strlen(h);
        if (used + n + 2 > cap)
            return -1;
        if (i > 0)
            out[used++] = '\n';
        memcpy(out + used, h, n + 1);
        used += n;
    }
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Hash of the cipher list in preference order; a resumed cipher must be in it.
 * "%d/%016llx" of the count and the digest: out has room for 20 + 1 + 16 + 1. */
static void cipher_digest(SSL *ssl, char out[static 38])
{
    int n;
    unsigned long long h = cipher_list_digest(ossl.SSL_get_SSL_CTX(ssl), ossl.SSL_get_ciphers(ssl),
                                              CIPHER_MEMO_SSL, "?", &n);
    *fmt_hex(fmt_str(fmt_dec(out, n), "/"), h, 16) = '\0';
}

void label_from_ssl(SSL *ssl, struct ar_conn *conn)
{
    struct ar_key_input in;
    char ip[256] = "";

    memset(&in, 0, sizeof in);
    in.server_name = ossl.SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    in.has_socket = peer_of(ssl, ip, sizeof ip, &in.port);
    in.peer_ip = in.has_socket ? ip : NULL;
    key_label(&in, conn->label, sizeof conn->label);
}

int key_from_ssl(SSL *ssl, struct ar_conn *conn, const char **why)
{
    struct ar_key_input in;
    char library[32], ip[256] = "", hosts[1024], ciphers[48], policy[160];
    char cert_fp[2 * EVP_MAX_MD_SIZE + 1 + 16 + 1];
    char *expect_ip = NULL;
    SSL_CTX *ctx = ossl.SSL_get_SSL_CTX(ssl);
    int rc = -1;

    memset(&in, 0, sizeof in);
    unsigned long v = ossl.OpenSSL_version_num();
    /* "openssl-%lu.%lu" */
    *fmt_dec(fmt_str(fmt_dec(fmt_str(library, "openssl-"), (long long)(v >> 28)), "."),
             (long long)((v >> 20) & 0xff)) = '\0';
    in.library = library;
    in.server_name = ossl.SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    in.has_socket = peer_of(ssl, ip, sizeof ip, &in.port);
    in.peer_ip = in.has_socket ? ip : NULL;
    /* curl's BIO, memory BIOs: the socket this thread connected */
    in.seen_port = conntrack_key_port(in.has_socket, in.has_socket ? ossl.SSL_get_fd(ssl) : -1,
                                      &conn->seen_known, &conn->seen_port);
    key_label(&in, conn->label, sizeof conn->label); /* the log names it even when no key is made */
    /* OpenSSL's client verifies, and fails on an error, under any flag
     * (tls_post_process_server_certificate), not only SSL_VERIFY_PEER. */
    in.verify_peer = ossl.SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE;

    X509_VERIFY_PARAM *param = ossl.SSL_get0_param(ssl);
    if (param == NULL || expected_hosts(param, hosts, sizeof hosts) != 0) {
        *why = "expected host names too long";
        goto out;
    }
    in.expect_hosts = hosts[0] ? hosts : NULL;
    expect_ip = ossl.X509_VERIFY_PARAM_get1_ip_asc(param);
    in.expect_ip = expect_ip;
    in.host_flags = ossl.X509_VERIFY_PARAM_get_hostflags(param);
    in.verify_flags = ossl.X509_VERIFY_PARAM_get_flags(param);

    /* A certificate chosen per handshake cannot be known now: stay out. */
    if (ctx != NULL && ossl.SSL_CTX_get_client_cert_cb(ctx) != NULL) {
        *why = "program picks its client certificate per handshake";
        goto out;
    }
    X509 *cert = ossl.SSL_get_certificate(ssl);
    /* The current slot half set (a certificate without its key, or a key
     * without its certificate): a TLS 1.3 client may still send another
     * slot's certificate, and the walk below could not give the program its
     * current slot back. Rare: stay out. */
    if ((cert != NULL) != (ossl.SSL_get_privatekey(ssl) != NULL)) {
        *why = "client certificate and key do not pair up";
        goto out;
    }
    if (cert != NULL) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        /* A TLS 1.3 client picks among all its certificates (one per key
         * type) per CertificateRequest, not only the current one: with
         * several, the fingerprints of all, in slot order, are folded in
         * after the current one's (taken in the walk: it is one of them).
         * The walk moves the SSL's current slot (complete pairs only, as
         * OpenSSL's own walk), and the program's is selected again after. */
        int n = 0;
        unsigned long long all = key_hash64("certs", 5);
        for (long r = ossl.SSL_ctrl(ssl, SSL_CTRL_SET_CURRENT_CERT, SSL_CERT_SET_FIRST, NULL); r == 1;
             r = ossl.SSL_ctrl(ssl, SSL_CTRL_SET_CURRENT_CERT, SSL_CERT_SET_NEXT, NULL)) {
            unsigned char m[EVP_MAX_MD_SIZE];
            unsigned ml = 0;
            X509 *x = ossl.SSL_get_certificate(ssl);
            if (x == NULL || !ossl.X509_digest(x, ossl.EVP_sha256(), m, &ml)) {
                n = -1;
                break;
            }
            if (x == cert) {
                memcpy(md, m, ml);
                mdlen = ml;
            }
            all = key_hash64_more(all, m, ml);
            n++;
        }
        ossl.SSL_ctrl(ssl, SSL_CTRL_SELECT_CURRENT_CERT, 0, cert); /* back to the program's */
        if (n < 0 || mdlen == 0 || ossl.SSL_get_certificate(ssl) != cert) {
            *why = "cannot fingerprint the client certificates";
            goto out;
        }
        hex(md, mdlen, cert_fp);
        if (n > 1) /* "+" and the others' digest after the current one's */
            *fmt_hex(fmt_str(cert_fp + 2 * mdlen, "+"), all, 16) = '\0';
        in.client_cert = cert_fp;
    }
    in.min_version = ossl.SSL_ctrl(ssl, SSL_CTRL_GET_MIN_PROTO_VERSION, 0, NULL);
    in.max_version = ossl.SSL_ctrl(ssl, SSL_CTRL_GET_MAX_PROTO_VERSION, 0, NULL);
    in.version_options = (unsigned long)(ossl.SSL_get_options(ssl) & SSL_OP_NO_SSL_MASK);
    cipher_digest(ssl, ciphers);
    in.ciphers = ciphers;
    if (conn->sid_set) {
        in.sid_ctx = conn->sid;
        in.sid_ctx_len = conn->sid_len;
    }

    char key[AR_KEY_MAX];
    if (policy_describe(ssl, conn, policy, sizeof policy, why) != 0)
        goto out;
    in.policy = policy;
    if (key_make(&in, key, sizeof key, why) < 0)
        goto out;
    free(conn->key);
    conn->key = strdup(key);
    if (conn->key == NULL) {
        *why = "out of memory";
        goto out;
    }
    rc = 0;
out:
    if (expect_ip != NULL)
        ossl.CRYPTO_free(expect_ip, __FILE__, __LINE__);
    return rc;
}
