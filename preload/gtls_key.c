/*
 * gtls_key.c - fill struct ar_key_input from a GnuTLS session.
 *
 * Priorities cannot be read back from a session: the key holds the text
 * the program gave (gnutls_priority_init*, _set_direct, the defaults). A
 * session won under other priorities can fail the handshake outright (an
 * OpenSSL server aborts when the extended master secret extension comes and
 * goes: "inconsistent extms").
 *
 * What a priority string means depends on more than its text, and a
 * resumed handshake skips most of what it decides (TLS 1.2: the key
 * exchange, its group or DH prime, the server's signature; both versions:
 * the certificate and its key's size and type). So the key's priority
 * field also holds GnuTLS's full version, FIPS mode and system
 * configuration file (/etc/gnutls/config: disabled groups, signatures,
 * versions, the minimum verification profile), the DH minimum of
 * gnutls_dh_set_prime_bits, the handshake size limit of
 * gnutls_handshake_set_max_packet_length (a full handshake's certificates
 * can exceed it, a resumed one has none) and the credentials' verify
 * limits: a session is offered only under the settings its full handshake
 * passed.
 */
#include "gtls_key.h"
#include "ar_conntrack.h"
#include "ar_key.h"
#include "ar_sock.h"
#include "gtls_verify.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Numeric peer address and port of the session's socket, if it has one. */
static int peer_of(gnutls_session_t s, const struct gtls_conn *c, char *ip, size_t cap,
                   unsigned *port)
{
    if (c->custom_transport)
        return 0; /* the transport pointer is the program's, not a descriptor */
    return sock_peer(gtls.gnutls_transport_get_int(s), ip, cap, port) > 0;
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

/* Key pairs fingerprinted at most; a program with more gets no key. */
#define CLIENT_KEYS_MAX 64

/*
 * The client's certificates as key text: GnuTLS picks among all the key
 * pairs of the credentials on each handshake, and a pair's certificate is
 * X.509 or a raw public key. One pair: the SHA-256 of its certificate (as
 * gnutls_x509_crt_get_fingerprint gives it for X.509), as hex; several:
 * "N:" and the SHA-256 of their SHA-256s in order. 0 when there is none,
 * 1 when written, -1 on an error (or more than CLIENT_KEYS_MAX).
 */
static int client_cert_fp(gnutls_certificate_credentials_t cred, char *out, size_t cap)
{
    unsigned char md[CLIENT_KEYS_MAX][32], all[32];
    unsigned n = 0;
    for (;; n++) {
        gnutls_datum_t der = {NULL, 0};
        int ret = gtls.gnutls_certificate_get_crt_raw(cred, n, 0, &der);
        if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (ret < 0 || n == CLIENT_KEYS_MAX ||
            gtls.gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, md[n]) < 0)
            return -1;
    }
    if (n == 0)
        return 0;
    if (n == 1) {
        if (cap < 2 * sizeof md[0] + 1)
            return -1;
        hex(md[0], sizeof md[0], out);
        return 1;
    }
    int w = snprintf(out, cap, "%u:", n);
    if (w < 0 || (size_t)w + 2 * sizeof all + 1 > cap ||
        gtls.gnutls_hash_fast(GNUTLS_DIG_SHA256, md, n * sizeof md[0], all) < 0)
        return -1;
    hex(all, sizeof all, out + w);
    return 1;
}

/*
 * The system configuration file GnuTLS reads (GNUTLS_SYSTEM_PRIORITY_FILE
 * or its built-in path), as "path:dev:ino:size:mtime:ctime" ("path:absent"
 * when there is none). GnuTLS reads it at start-up and again when it
 * changes: a file that changed since the first handshake of this process
 * may or may not be in effect, so then no key. 0, or -1 with *why.
 */
static int system_config(char *out, size_t cap, const char **why)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char first[640];
    struct stat st;

    if (gtls.gnutls_get_system_config_file == NULL) {
        *why = "GnuTLS before 3.6.9 does not tell its system configuration file";
        return -1;
    }
    const char *path = gtls.gnutls_get_system_config_file();
    if (path == NULL)
        path = "";
    int n;
    if (stat(path, &st) != 0)
        n = snprintf(out, cap, "%s:absent", path);
    else
        n = snprintf(out, cap, "%s:%ju:%ju:%jd:%jd.%09ld:%jd.%09ld", path, (uintmax_t)st.st_dev,
                     (uintmax_t)st.st_ino, (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
                     st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
    if (n < 0 || (size_t)n >= cap || (size_t)n >= sizeof first) {
        *why = "the path of GnuTLS's system configuration is too long";
        return -1;
    }
    pthread_mutex_lock(&lock);
    if (first[0] == '\0')
        snprintf(first, sizeof first, "%s", out);
    int same = strcmp(first, out) == 0;
    pthread_mutex_unlock(&lock);
    if (!same) {
        *why = "GnuTLS's system configuration changed while the program runs";
        return -1;
    }
    return 0;
}

/*
 * The priority text and every other setting that decides what it accepts
 * (see the top of this file), into out[cap]. 0, or -1 with *why.
 */
static int priority_settings(const struct gtls_conn *c, gnutls_certificate_credentials_t cred,
                             char *out, size_t cap, const char **why)
{
    char sys[640], limits[48] = "-", dh[24] = "-", mpl[24] = "-";
    unsigned max_bits, max_depth;

    if (c->prio == NULL) {
        *why = "priorities not known (set in a way we did not see)";
        return -1;
    }
    if (system_config(sys, sizeof sys, why) != 0)
        return -1;
    if (cred != NULL && gcreds_get_limits(cred, &max_bits, &max_depth))
        snprintf(limits, sizeof limits, "%u/%u", max_bits, max_depth);
    if (c->dh_bits_set)
        snprintf(dh, sizeof dh, "%u", c->dh_bits);
    if (c->max_packet_set)
        snprintf(mpl, sizeof mpl, "%zu", c->max_packet);
    int n = snprintf(out, cap, "%s\ngnutls=%s fips=%u sys=%s dh=%s limits=%s mpl=%s", c->prio,
                     gtls.gnutls_check_version(NULL), gtls.gnutls_fips140_mode_enabled(), sys,
                     dh, limits, mpl);
    if (n < 0 || (size_t)n >= cap) {
        *why = "priority string too long";
        return -1;
    }
    return 0;
}

static int secret_kx(unsigned kx)
{
    switch (kx) {
    case GNUTLS_KX_PSK:
    case GNUTLS_KX_DHE_PSK:
    case GNUTLS_KX_RSA_PSK:
    case GNUTLS_KX_ECDHE_PSK:
    case GNUTLS_KX_SRP:
    case GNUTLS_KX_SRP_RSA:
    case GNUTLS_KX_SRP_DSS:
        return 1;
    default:
        return 0;
    }
}

/*
 * Whether the priorities of `text` (as gresume_note_priority recorded it:
 * "@default", "@default:EXTRA" or the program's string) enable a PSK or
 * SRP key exchange, which is when GnuTLS uses such credentials (TLS 1.3's
 * external PSKs too). 1 as well when it cannot tell. The last answer is
 * remembered: a program uses one priority string for its connections.
 */
static int priority_allows_secret_kx(const char *text)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char *last;
    static int last_answer;
    if (text == NULL)
        return 1;
    pthread_mutex_lock(&lock);
    int hit = last != NULL && strcmp(last, text) == 0, answer = last_answer;
    pthread_mutex_unlock(&lock);
    if (hit)
        return answer;
    gnutls_priority_t p = NULL;
    const char *prio = text;
    unsigned flags = 0;
    if (strcmp(text, "@default") == 0)
        prio = NULL;
    else if (strncmp(text, "@default:", 9) == 0)
        prio = text + 9, flags = GNUTLS_PRIORITY_INIT_DEF_APPEND;
    answer = 1;
    if (gtls.gnutls_priority_init2(&p, prio, NULL, flags) == 0) {
        const unsigned int *kx = NULL;
        int n = gtls.gnutls_priority_kx_list(p, &kx);
        if (n >= 0 && (n == 0 || kx != NULL)) {
            answer = 0;
            for (int i = 0; i < n; i++)
                answer |= secret_kx(kx[i]);
        }
        gtls.gnutls_priority_deinit(p);
    }
    char *copy = strdup(text);
    pthread_mutex_lock(&lock);
    if (copy != NULL) {
        free(last);
        last = copy;
        last_answer = answer;
    }
    pthread_mutex_unlock(&lock);
    return answer;
}

int gtls_key_make(gnutls_session_t s, struct gtls_conn *c, const char **why)
{
    struct ar_key_input in;
    char library[32], ip[64] = "", fp[160], prio[AR_KEY_MAX];
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_certificate_verify_function *cred_fn = NULL;
    int picks = 0;

    memset(&in, 0, sizeof in);
    const char *v = gtls.gnutls_check_version(NULL);
    unsigned major = 0, minor = 0;
    if (v == NULL || sscanf(v, "%u.%u", &major, &minor) != 2) {
        *why = "unknown GnuTLS version";
        return -1;
    }
    snprintf(library, sizeof library, "gnutls-%u.%u", major, minor);
    in.library = library;
    in.server_name = c->sni;
    in.has_socket = peer_of(s, c, ip, sizeof ip, &in.port);
    in.peer_ip = in.has_socket ? ip : NULL;
    /* libcurl's push/pull functions: the socket this thread connected */
    int fd = in.has_socket ? gtls.gnutls_transport_get_int(s) : -1;
    in.seen_port = conntrack_key_port(in.has_socket, fd, &c->seen_known, &c->seen_port);
    key_label(&in, c->label, sizeof c->label);

    /* GnuTLS sends 0-RTT data (gnutls_record_send_early_data) only when it
     * resumes: a program that never resumes by itself never sends any, and
     * early data can be replayed by anyone who records it. Early data is
     * never turned on by us: no key, so no offer and no capture. */
    if (c->init_flags & GNUTLS_ENABLE_EARLY_DATA) {
        *why = "program enables early data (GNUTLS_ENABLE_EARLY_DATA): an offer would send "
               "replayable 0-RTT data";
        return -1;
    }

    /* A PSK or SRP identity and secret decide a handshake that uses them,
     * and GnuTLS cannot tell a client its own: no key (a session won as one
     * identity would resume another). GnuTLS uses them only when the
     * priorities enable such a key exchange (gnutls-cli sets both kinds of
     * credentials always, and default priorities enable neither). */
    void *secret_cred = NULL;
    if ((gtls.gnutls_credentials_get(s, GNUTLS_CRD_PSK, &secret_cred) == 0 ||
         gtls.gnutls_credentials_get(s, GNUTLS_CRD_SRP, &secret_cred) == 0) &&
        priority_allows_secret_kx(c->prio)) {
        *why = "program uses PSK or SRP credentials";
        return -1;
    }
    if (gtls.gnutls_credentials_get(s, GNUTLS_CRD_CERTIFICATE, (void **)&cred) == 0 && cred != NULL) {
        gcreds_get(cred, &cred_fn, &picks);
        /* A certificate chosen per handshake cannot be known now: such keys
         * only ever hold sessions where the server asked for none (capture). */
        c->picks_cert = picks;
        int has = picks ? 0 : client_cert_fp(cred, fp, sizeof fp);
        if (has < 0) {
            *why = "cannot fingerprint the client certificate";
            return -1;
        }
        in.client_cert = picks ? "per-handshake" : has ? fp : NULL;
        in.verify_flags = gtls.gnutls_certificate_get_verify_flags(cred);
    }
    /* How the handshake verifies: 1 session function, 2 set_verify_cert,
     * +4 credentials function. A program that verifies after the handshake
     * (wget) does so on the resumed session's certificates too. */
    in.verify_peer = c->vkind != GV_NONE || cred_fn != NULL;
    c->verify_in_hs = in.verify_peer;
    in.host_flags = (unsigned long)c->vkind | (cred_fn != NULL ? 4UL : 0UL);
    in.verify_flags |= c->vflags;
    if (priority_settings(c, cred, prio, sizeof prio, why) != 0)
        return -1;
    in.ciphers = prio;
    /* gnutls_init flags and compatibility mode change the ClientHello: with
     * compatibility mode (wget) there is no extended master secret, and an
     * OpenSSL server aborts a resumption when it comes and goes. Flags that
     * only shape I/O are left out. */
    unsigned io_only = GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL;
    in.lib_options = (unsigned long)(c->init_flags & ~io_only) | (c->compat ? 1UL << 40 : 0UL) |
                     (c->phook != NULL && c->phtype == GNUTLS_HANDSHAKE_ANY ? 1UL << 41 : 0UL);
    in.expect_hosts = gtls_verify_host(c);

    char key[AR_KEY_MAX];
    if (key_make(&in, key, sizeof key, why) < 0)
        return -1;
    free(c->key);
    c->key = strdup(key);
    if (c->key == NULL) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}
