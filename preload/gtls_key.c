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
 * gnutls_dh_set_prime_bits and the credentials' verify limits: a session
 * is offered only under the settings its full handshake passed.
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

/* SHA-256 of the first certificate of the credentials' first key, as hex; 0 none, -1 error. */
static int client_cert_fp(gnutls_certificate_credentials_t cred, char *out, size_t cap)
{
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    unsigned char md[64];
    size_t mdlen = sizeof md;

    int ret = gtls.gnutls_certificate_get_x509_crt(cred, 0, &crts, &n);
    if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE || ret == GNUTLS_E_INVALID_REQUEST)
        return 0; /* no certificate (index 0 out of range) */
    if (ret < 0)
        return -1;
    int rc = -1;
    if (n > 0 && gtls.gnutls_x509_crt_get_fingerprint(crts[0], GNUTLS_DIG_SHA256, md, &mdlen) == 0 &&
        2 * mdlen < cap) {
        for (size_t i = 0; i < mdlen; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
        rc = 1;
    }
    for (unsigned i = 0; i < n; i++)
        gtls.gnutls_x509_crt_deinit(crts[i]);
    gtls_free_mem(crts);
    return rc;
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
    char sys[640], limits[48] = "-", dh[24] = "-";
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
    int n = snprintf(out, cap, "%s\ngnutls=%s fips=%u sys=%s dh=%s limits=%s", c->prio,
                     gtls.gnutls_check_version(NULL), gtls.gnutls_fips140_mode_enabled(), sys,
                     dh, limits);
    if (n < 0 || (size_t)n >= cap) {
        *why = "priority string too long";
        return -1;
    }
    return 0;
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
    in.lib_options = (unsigned long)(c->init_flags & ~io_only) | (c->compat ? 1UL << 40 : 0UL);
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
