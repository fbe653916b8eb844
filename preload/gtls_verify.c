/*
 * gtls_verify.c - chains and trust for the GnuTLS side. See gtls_verify.h.
 */
#include "gtls_verify.h"
#include "ar_log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CHAIN 16

int gtls_chain_encode(gnutls_session_t s, struct ar_blob *out)
{
    unsigned n = 0;
    const gnutls_datum_t *peers = gtls.gnutls_certificate_get_peers(s, &n);
    size_t total = 0;

    out->data = NULL;
    out->len = 0;
    if (peers == NULL || n == 0 || n > MAX_CHAIN ||
        gtls.gnutls_certificate_type_get2(s, GNUTLS_CTYPE_SERVER) != GNUTLS_CRT_X509)
        return -1;
    for (unsigned i = 0; i < n; i++)
        total += 4 + peers[i].size;
    unsigned char *p = malloc(total);
    if (p == NULL)
        return -1;
    out->data = p;
    out->len = total;
    for (unsigned i = 0; i < n; i++) {
        unsigned len = peers[i].size;
        p[0] = (unsigned char)(len >> 24);
        p[1] = (unsigned char)(len >> 16);
        p[2] = (unsigned char)(len >> 8);
        p[3] = (unsigned char)len;
        memcpy(p + 4, peers[i].data, len);
        p += 4 + len;
    }
    return 0;
}

/* Parse a packed chain; returns the count, or -1. Caller deinits crts[0..n). */
static int chain_decode(const struct ar_blob *b, gnutls_x509_crt_t *crts)
{
    size_t off = 0;
    int n = 0;
    while (off < b->len) {
        if (n == MAX_CHAIN || b->len - off < 4)
            goto bad;
        const unsigned char *p = b->data + off;
        size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (len == 0 || len > b->len - off - 4)
            goto bad;
        gnutls_datum_t der = {(unsigned char *)p + 4, (unsigned)len};
        if (gtls.gnutls_x509_crt_init(&crts[n]) < 0)
            goto bad;
        if (gtls.gnutls_x509_crt_import(crts[n], &der, GNUTLS_X509_FMT_DER) < 0) {
            gtls.gnutls_x509_crt_deinit(crts[n]);
            goto bad;
        }
        n++;
        off += 4 + len;
    }
    return n > 0 ? n : -1;
bad:
    for (int i = 0; i < n; i++)
        gtls.gnutls_x509_crt_deinit(crts[i]);
    return -1;
}

/* What a TLS server certificate is checked for: `host` (if not NULL) and
 * the TLS WWW server purpose, into vdata[2]; returns the count. */
static unsigned server_vdata(gnutls_typed_vdata_st *vdata, const char *host)
{
    unsigned elems = 0;
    memset(vdata, 0, 2 * sizeof *vdata);
    if (host != NULL) {
        vdata[elems].type = GNUTLS_DT_DNS_HOSTNAME;
        vdata[elems].data = (unsigned char *)host;
        elems++;
    }
    vdata[elems].type = GNUTLS_DT_KEY_PURPOSE_OID;
    vdata[elems].data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER;
    return elems + 1;
}

const char *gtls_verify_host(const struct gtls_conn *c)
{
    if (c->vkind != GV_AUTO)
        return NULL;
    for (unsigned i = 0; i < c->velems; i++)
        if (c->vdata[i].type == GNUTLS_DT_DNS_HOSTNAME && c->vdata[i].data != NULL)
            return (const char *)c->vdata[i].data;
    return NULL;
}

const char *gtls_expected_host(const struct gtls_conn *c)
{
    const char *host = gtls_verify_host(c);
    return host != NULL ? host : c->sni;
}

long gtls_trust_status(gnutls_session_t s, const struct gtls_conn *c,
                       const struct ar_blob *chain, const char *host)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_x509_trust_list_t tlist = NULL;
    gnutls_x509_crt_t crts[MAX_CHAIN];
    unsigned status = 0;

    if (gtls.gnutls_credentials_get(s, GNUTLS_CRD_CERTIFICATE, (void **)&cred) < 0 || cred == NULL)
        return -1;
    gtls.gnutls_certificate_get_trust_list(cred, &tlist);
    if (tlist == NULL)
        return -1;
    int n = chain_decode(chain, crts);
    if (n < 0)
        return -1;
    unsigned flags = gtls.gnutls_certificate_get_verify_flags(cred) | c->vflags;
    gnutls_typed_vdata_st vdata[2];
    unsigned elems = server_vdata(vdata, host);
    int ret = gtls.gnutls_x509_trust_list_verify_crt2(tlist, crts, (unsigned)n, vdata, elems,
                                                      flags, &status, NULL);
    for (int i = 0; i < n; i++)
        gtls.gnutls_x509_crt_deinit(crts[i]);
    if (ret < 0)
        return -1;
    return (long)status;
}

long gtls_handshake_status(gnutls_session_t s, const char *host)
{
    gnutls_typed_vdata_st vdata[2];
    unsigned elems = server_vdata(vdata, host), status = 0;

    if (gtls.gnutls_certificate_verify_peers(s, vdata, elems, &status) < 0)
        return -1;
    return (long)status;
}

/* When one response stops being accepted, or -1 if unreadable. GnuTLS
 * judges a stapled response by its first single response (check_ocsp_response
 * in lib/cert-session.c): so do we. */
static int64_t ocsp_one_expiry(const gnutls_datum_t *der)
{
    gnutls_ocsp_resp_t resp = NULL;
    time_t this_update = (time_t)-1, next_update = (time_t)-1;
    int64_t until = -1;

    if (gtls.gnutls_ocsp_resp_init(&resp) < 0)
        return -1;
    if (gtls.gnutls_ocsp_resp_import(resp, der) == 0 &&
        gtls.gnutls_ocsp_resp_get_single(resp, 0, NULL, NULL, NULL, NULL, NULL, &this_update,
                                         &next_update, NULL, NULL) == 0 &&
        this_update != (time_t)-1)
        until = next_update != (time_t)-1 ? (int64_t)next_update
                                          : (int64_t)this_update + GTLS_OCSP_NO_NEXT_UPDATE;
    gtls.gnutls_ocsp_resp_deinit(resp);
    return until;
}

int64_t gtls_ocsp_expiry(gnutls_session_t s, int64_t now)
{
    int64_t earliest = 0;
    for (unsigned idx = 0; idx < MAX_CHAIN; idx++) {
        gnutls_datum_t der = {NULL, 0};
        int ret = gtls.gnutls_ocsp_status_request_get2(s, idx, &der);
        if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            continue; /* none for this certificate (a chain may staple some) */
        if (ret < 0 || der.data == NULL || der.size == 0)
            return now;
        int64_t until = ocsp_one_expiry(&der); /* der is GnuTLS's, not ours */
        if (until < 0)
            return now;
        if (earliest == 0 || until < earliest)
            earliest = until;
    }
    return earliest;
}

int gtls_trust_empty(gnutls_session_t s)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_x509_trust_list_t tlist = NULL;
    gnutls_x509_trust_list_iter_t iter = NULL;
    gnutls_x509_crt_t ca = NULL;

    if (gtls.gnutls_credentials_get(s, GNUTLS_CRD_CERTIFICATE, (void **)&cred) < 0 || cred == NULL)
        return 0;
    gtls.gnutls_certificate_get_trust_list(cred, &tlist);
    if (tlist == NULL)
        return 0;
    /* The first CA, if any, is a copy: freed at once. */
    int ret = gtls.gnutls_x509_trust_list_iter_get_ca(tlist, &iter, &ca);
    if (ca != NULL)
        gtls.gnutls_x509_crt_deinit(ca);
    if (iter != NULL)
        gtls.gnutls_x509_trust_list_iter_deinit(iter);
    return ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;
}

int gtls_session_tramp(gnutls_session_t s)
{
    struct gtls_conn *c = gconn_get(s);
    if (c == NULL || c->vfn == NULL)
        return -1; /* cannot happen: installed only for a session we follow; fail closed */
    c->verify_ran = 1;
    return c->vfn(s);
}

int gtls_creds_tramp(gnutls_session_t s)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_certificate_verify_function *fn = NULL;
    int picks;
    if (gtls.gnutls_credentials_get(s, GNUTLS_CRD_CERTIFICATE, (void **)&cred) < 0 || cred == NULL)
        return -1;
    gcreds_get(cred, &fn, &picks);
    if (fn == NULL)
        return -1; /* cannot happen: installed only once recorded; fail closed */
    struct gtls_conn *c = gtls_tracking() ? gconn_get(s) : NULL;
    if (c != NULL)
        c->verify_ran = 1;
    return fn(s);
}

int gtls_replay_verify(gnutls_session_t s, const struct gtls_conn *c, unsigned *vc_status)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_certificate_verify_function *cred_fn = NULL;
    int picks, ret;

    *vc_status = (unsigned)-1;

    if (c->verify_ran)
        return 0;
    /* GnuTLS runs a verify function only with certificate credentials set. */
    if (gtls.gnutls_credentials_get(s, GNUTLS_CRD_CERTIFICATE, (void **)&cred) < 0 || cred == NULL)
        return 0;
    gcreds_get(cred, &cred_fn, &picks);
    if (c->vkind == GV_FUNCTION && c->vfn != NULL) {
        ret = c->vfn(s);
    } else if (c->vkind == GV_AUTO) {
        if (gtls.gnutls_session_get_verify_cert_status(s) != (unsigned)-1)
            return 0; /* GnuTLS's own check ran in this handshake */
        /* What gnutls_session_set_verify_cert's own callback does. */
        unsigned status = 0;
        ret = c->velems ? gtls.gnutls_certificate_verify_peers(s, c->vdata, c->velems, &status)
                        : gtls.gnutls_certificate_verify_peers2(s, &status);
        if (ret < 0)
            return GNUTLS_E_CERTIFICATE_ERROR;
        *vc_status = status; /* as GnuTLS's check sets it (lib/cert-session.c) */
        return status != 0 ? GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR : 0;
    } else if (cred_fn != NULL) {
        ret = cred_fn(s);
    } else {
        return 0; /* nothing configured: the program verifies after the handshake, or never */
    }
    if (ret < -1)
        return ret;
    return ret != 0 ? GNUTLS_E_CERTIFICATE_ERROR : 0;
}
