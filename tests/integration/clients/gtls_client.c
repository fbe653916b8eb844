/*
 * gtls_client.c - a GnuTLS client for the integration tests: N connections
 * in one process, each with a new session (and by default new credentials),
 * an HTTP/1.0 GET each, and the ways real GnuTLS programs verify.
 *
 *   gtls_client [OPTION...] HOST PORT
 *     -n N          connections (default 1)
 *     -s NAME       SNI and expected host name (default: none / HOST)
 *     -h NAME       expected host name only (default: -s NAME, else HOST)
 *     -v MODE       none | auto (gnutls_session_set_verify_cert) |
 *                   callback (gnutls_certificate_set_verify_function) |
 *                   manual (gnutls_certificate_verify_peers3 after the
 *                   handshake, as wget does) | manual-full (the same,
 *                   full handshakes only: a program whose own cache (-o)
 *                   holds only sessions it verified); default none
 *     -c CAFILE     trust only this CA file
 *     -L            load CAFILE into the credentials only after the
 *                   handshake, right before verifying, as libcurl 8 does
 *                   (git's https transport on Debian 13)
 *     -C CERT -K KEY  client certificate
 *     -p PRIORITY   priority string (default: gnutls_set_default_priority)
 *     -P PRIORITY   the priority string of the odd-numbered connections
 *                   (1, 3, ...; -p for the others)
 *     -D BITS       gnutls_dh_set_prime_bits(BITS) on the odd-numbered
 *                   connections: the least DH prime they accept
 *     -o            own resumption: keep gnutls_session_get_data2 of each
 *                   connection and gnutls_session_set_data it on the next
 *     -I SIGN       gnutls_sign_set_secure(SIGN, 0) at start-up: a
 *                   process-wide setting (allowlisting mode of the system
 *                   configuration only)
 *     -k            one credentials object for all connections
 *     -T            gnutls_init with GNUTLS_NO_TICKETS, as libcurl up to 8.10
 *                   does (git's https transport on Debian 12)
 *     -t T          T threads, each making the N connections (conn numbers
 *                   thread*N+i), sharing nothing but the process
 *     -H WHICH      a handshake hook counting its calls, printed per connection
 *                   ('hooks I pre=A post=B'): WHICH = any (every message, both
 *                   points), ticket (NewSessionTicket, after parsing), cert
 *                   (the server's Certificate, after parsing) or
 *                   cert-reject-last (the same, refusing it on the last
 *                   connection: a certificate pin that does not match)
 *     -E CERT:KEY   one more client key pair in the credentials of even
 *                   connections; -O CERT:KEY the same for odd ones
 *     -Y USER:HEX   PSK credentials (gnutls_psk_set_client_credentials) on
 *                   even connections; -y USER:HEX on odd ones
 *     -W NAME       -v auto on odd connections: the host name buffer given to
 *                   gnutls_session_set_verify_cert is rewritten to NAME after
 *                   the call, before the handshake (GnuTLS reads it then)
 *     -M BYTES      gnutls_handshake_set_max_packet_length(BYTES) on the
 *                   odd-numbered connections: a handshake whose messages add
 *                   up to more is refused (GNUTLS_E_HANDSHAKE_TOO_LARGE)
 *     -w NAME       -v auto, odd connections: a non-blocking handshake; after
 *                   its first GNUTLS_E_AGAIN (the ClientHello is out, nothing
 *                   verified yet) the host name buffer is rewritten to NAME
 *                   (GnuTLS reads it when it verifies the server); with -X
 *                   the first read of that handshake returns EAGAIN
 *     -A CHANGE     connection 1 only: the first read of the handshake returns
 *                   EAGAIN (so its first gnutls_handshake call returns
 *                   GNUTLS_E_AGAIN, the ClientHello out), and then CHANGE is
 *                   made before the next call: dh:BITS
 *                   (gnutls_dh_set_prime_bits), prio:STRING
 *                   (gnutls_priority_set_direct), mpl:BYTES
 *                   (gnutls_handshake_set_max_packet_length) or cert-pin (a
 *                   hook on the server's Certificate that refuses it); all
 *                   connections use the push/pull functions of -X
 *     -S            record I/O with gnutls_record_send2 and
 *                   gnutls_record_recv_packet instead of _send and _recv
 *     -N            print TCP_NODELAY after the handshake and after the first
 *                   write, and the bytes of that write TCP had not sent yet
 *                   right after it ('nodelay I hs=A write=B held=U'; the
 *                   program never sets TCP_NODELAY)
 *     -r            with -v callback: the callback rejects every certificate
 *                   after verifying it (a pin that does not match)
 *     -X            push/pull functions over the socket instead of
 *                   gnutls_transport_set_int, as libcurl-gnutls does (the
 *                   library sees no descriptor)
 *     -Q PORT       the odd-numbered connections go to PORT (two servers
 *                   of one name alternately)
 *     -R BITS       gnutls_srp_set_prime_bits(BITS) on the odd-numbered
 *                   connections (GnuTLS 3.7: the field of -D)
 *     -e            gnutls_init with GNUTLS_ENABLE_EARLY_DATA, and the request
 *                   handed to gnutls_record_send_early_data before the
 *                   handshake (GnuTLS sends it only when resuming, as 0-RTT
 *                   data); prints 'early I accepted=A' (GNUTLS_SFLAGS_EARLY_DATA)
 *     -V            print gnutls_session_get_verify_cert_status after the
 *                   handshake ('vcstatus I 0xS'; on a failed one too)
 *     -x            end with _exit(0), skipping exit-time destructors (under
 *                   the ASan runtime, libp11-kit's hangs in freelocale)
 *
 * Prints per connection: 'conn I ok resumed=R proto=P certs=K' or
 * 'conn I error STAGE: TEXT'. Exits 0 once all ran; the caller judges.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *expect_host;
static int reject_all, lazy_trust, push_pull, odd_port;
static __thread int hook_pre, hook_post;

static __thread int hook_refuses; /* this connection's Certificate hook refuses */

static int count_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                      const gnutls_datum_t *msg)
{
    (void)s, (void)incoming, (void)msg;
    if (when == GNUTLS_HOOK_PRE)
        hook_pre++;
    else
        hook_post++;
    return hook_refuses && htype == GNUTLS_HANDSHAKE_CERTIFICATE_PKT ? GNUTLS_E_CERTIFICATE_ERROR : 0;
}

static int nodelay_of(int fd)
{
    int v = -1;
    socklen_t len = sizeof v;
    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    return v;
}

/* Bytes queued on the socket that TCP has not sent yet (Nagle holding them). */
static int unsent_of(int fd)
{
    int v = -1;
    ioctl(fd, SIOCOUTQNSD, &v);
    return v;
}

/* -X: the transport is the program's own, as libcurl-gnutls's. */
static ssize_t push_fd(gnutls_transport_ptr_t t, const void *buf, size_t len)
{
    return send((int)(intptr_t)t, buf, len, MSG_NOSIGNAL);
}

/* -w: the first read of the handshake finds nothing yet, as an event loop's
 * read right after sending the ClientHello does. */
static __thread int pull_again_once;

static ssize_t pull_fd(gnutls_transport_ptr_t t, void *buf, size_t len)
{
    if (pull_again_once) {
        pull_again_once = 0;
        errno = EAGAIN;
        return -1;
    }
    return recv((int)(intptr_t)t, buf, len, 0);
}

static int tcp_connect(const char *host, int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int verify_cb(gnutls_session_t session)
{
    unsigned status = 0;
    if (gnutls_certificate_verify_peers3(session, expect_host, &status) < 0 || status != 0)
        return -1;
    return reject_all ? -1 : 0;
}

static gnutls_certificate_credentials_t make_creds(const char *ca, const char *vmode,
                                                   const char *cert, const char *key)
{
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        return NULL;
    if (ca != NULL && !lazy_trust &&
        gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM) < 0)
        fprintf(stderr, "cannot load %s\n", ca);
    if (cert != NULL &&
        gnutls_certificate_set_x509_key_file(cred, cert, key, GNUTLS_X509_FMT_PEM) < 0)
        fprintf(stderr, "cannot load %s\n", cert);
    if (strcmp(vmode, "callback") == 0)
        gnutls_certificate_set_verify_function(cred, verify_cb);
    return cred;
}

/* Options, read-only once the workers run. */
static int n = 1, own = 0, shared_creds = 0, show_nodelay = 0, no_tickets = 0, port;
static int odd_dh_bits = -1, odd_srp_bits = -1;
static const char *odd_prio = NULL;
static const char *hooks = NULL;
static const char *extra_even = NULL, *extra_odd = NULL, *psk_even = NULL, *psk_odd = NULL,
                  *late_name = NULL, *again_name = NULL, *again_change = NULL;
static long odd_max_hs = -1;
static int io2 = 0, early = 0, show_vc = 0;

/* CERT:KEY of -E / -O into cred. */
static void add_pair(gnutls_certificate_credentials_t cred, const char *spec)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *colon = strchr(buf, ':');
    if (colon == NULL || (*colon = '\0',
                          gnutls_certificate_set_x509_key_file(cred, buf, colon + 1, GNUTLS_X509_FMT_PEM) < 0))
        fprintf(stderr, "cannot load the key pair %s\n", spec);
}

/* USER:HEX of -Y / -y: new PSK credentials (the caller frees them). */
static gnutls_psk_client_credentials_t make_psk(const char *spec)
{
    gnutls_psk_client_credentials_t psk = NULL;
    char user[256];
    const char *colon = strchr(spec, ':');
    if (colon == NULL || (size_t)(colon - spec) >= sizeof user ||
        gnutls_psk_allocate_client_credentials(&psk) < 0)
        return NULL;
    memcpy(user, spec, (size_t)(colon - spec));
    user[colon - spec] = '\0';
    gnutls_datum_t k = {(unsigned char *)(colon + 1), (unsigned)strlen(colon + 1)};
    if (gnutls_psk_set_client_credentials(psk, user, &k, GNUTLS_PSK_KEY_HEX) < 0)
        fprintf(stderr, "cannot set the PSK %s\n", spec);
    return psk;
}
/* -A CHANGE on s, in the middle of its handshake. */
static void apply_change(gnutls_session_t s, const char *change)
{
    if (strncmp(change, "dh:", 3) == 0) {
        gnutls_dh_set_prime_bits(s, (unsigned)atoi(change + 3));
    } else if (strncmp(change, "prio:", 5) == 0) {
        if (gnutls_priority_set_direct(s, change + 5, NULL) < 0)
            fprintf(stderr, "bad priority string %s\n", change + 5);
    } else if (strncmp(change, "mpl:", 4) == 0) {
        gnutls_handshake_set_max_packet_length(s, (size_t)atol(change + 4));
    } else if (strcmp(change, "cert-pin") == 0) {
        hook_refuses = 1;
        gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CERTIFICATE_PKT, GNUTLS_HOOK_POST,
                                           count_hook);
    } else {
        fprintf(stderr, "unknown change %s\n", change);
    }
}

static const char *sni = NULL, *vmode = "none", *ca = NULL, *cert = NULL, *key = NULL,
                  *prio = NULL, *host;

static void *worker(void *arg)
{
    int base = (int)(intptr_t)arg * n;
    gnutls_datum_t saved = {NULL, 0};
    gnutls_certificate_credentials_t cred = NULL;
    int cred_has_ca = 0; /* -L: CAFILE was loaded into cred */

    for (int i = base; i < base + n; i++) {
        gnutls_session_t s;
        const char *err = NULL;
        int ret = 0;
        if (cred == NULL) {
            cred = make_creds(ca, vmode, cert, key);
            cred_has_ca = 0;
            const char *extra = i % 2 ? extra_odd : extra_even;
            if (cred != NULL && extra != NULL)
                add_pair(cred, extra);
        }
        const char *psk_spec = i % 2 ? psk_odd : psk_even;
        gnutls_psk_client_credentials_t psk = psk_spec != NULL ? make_psk(psk_spec) : NULL;
        char host_buf[256];
        int fd = tcp_connect(host, i % 2 && odd_port > 0 ? odd_port : port);
        if (fd < 0) {
            printf("conn %d error connect: refused\n", i);
            if (psk != NULL)
                gnutls_psk_free_client_credentials(psk);
            continue;
        }
        gnutls_init(&s, GNUTLS_CLIENT | (no_tickets ? GNUTLS_NO_TICKETS : 0) |
                            (early ? GNUTLS_ENABLE_EARLY_DATA : 0));
        const char *p = i % 2 && odd_prio != NULL ? odd_prio : prio;
        if (p != NULL && gnutls_priority_set_direct(s, p, NULL) < 0)
            fprintf(stderr, "bad priority string %s\n", p);
        else if (p == NULL)
            gnutls_set_default_priority(s);
        if (i % 2 && odd_max_hs >= 0)
            gnutls_handshake_set_max_packet_length(s, (size_t)odd_max_hs);
        if (i % 2 && odd_dh_bits >= 0)
            gnutls_dh_set_prime_bits(s, (unsigned)odd_dh_bits);
        if (i % 2 && odd_srp_bits >= 0)
            gnutls_srp_set_prime_bits(s, (unsigned)odd_srp_bits);
        gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
        if (sni != NULL)
            gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni, strlen(sni));
        if (strcmp(vmode, "auto") == 0)
        {
            /* GnuTLS keeps the pointer: -W rewrites what it points to. */
            snprintf(host_buf, sizeof host_buf, "%s", expect_host);
            gnutls_session_set_verify_cert(s, host_buf, 0);
            if (i % 2 && late_name != NULL)
                snprintf(host_buf, sizeof host_buf, "%s", late_name);
        }
        if (psk != NULL)
            gnutls_credentials_set(s, GNUTLS_CRD_PSK, psk);
        if (own && saved.data != NULL)
            gnutls_session_set_data(s, saved.data, saved.size);
        hook_pre = hook_post = 0;
        hook_refuses = hooks != NULL && strcmp(hooks, "cert-reject-last") == 0 && i == base + n - 1;
        if (hooks != NULL && strcmp(hooks, "any") == 0)
            gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH, count_hook);
        else if (hooks != NULL && strncmp(hooks, "cert", 4) == 0)
            gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CERTIFICATE_PKT, GNUTLS_HOOK_POST,
                                               count_hook);
        else if (hooks != NULL)
            gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                               GNUTLS_HOOK_POST, count_hook);
        if (push_pull) {
            gnutls_transport_set_ptr(s, (gnutls_transport_ptr_t)(intptr_t)fd);
            gnutls_transport_set_push_function(s, push_fd);
            gnutls_transport_set_pull_function(s, pull_fd);
        } else {
            gnutls_transport_set_int(s, fd);
        }
        int nonblock = i % 2 && again_name != NULL && strcmp(vmode, "auto") == 0;
        if (nonblock)
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        char ereq[512];
        snprintf(ereq, sizeof ereq, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", expect_host);
        if (early && gnutls_record_send_early_data(s, ereq, strlen(ereq)) < 0)
            fprintf(stderr, "gnutls_record_send_early_data failed\n");
        int rewritten = 0, changed = i != 1 || again_change == NULL;
        pull_again_once = (nonblock && push_pull) || !changed;
        do {
            ret = gnutls_handshake(s);
            if (!changed && ret == GNUTLS_E_AGAIN) {
                changed = 1;
                apply_change(s, again_change);
            }
            if (nonblock && ret == GNUTLS_E_AGAIN) {
                if (!rewritten) {
                    snprintf(host_buf, sizeof host_buf, "%s", again_name);
                    rewritten = 1;
                }
                struct pollfd pfd = {fd, gnutls_record_get_direction(s) ? POLLOUT : POLLIN, 0};
                poll(&pfd, 1, 5000);
            }
        } while (ret < 0 && !gnutls_error_is_fatal(ret));
        if (nonblock)
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        if (show_vc)
            printf("vcstatus %d %#x\n", i, gnutls_session_get_verify_cert_status(s));
        if (early)
            printf("early %d accepted=%d\n", i,
                   (gnutls_session_get_flags(s) & GNUTLS_SFLAGS_EARLY_DATA) != 0);
        if (ret < 0) {
            printf("conn %d error handshake: %s\n", i, gnutls_strerror(ret));
            goto next;
        }
        unsigned listed = 0;
        gnutls_certificate_get_peers(s, &listed);
        if (lazy_trust && ca != NULL && !cred_has_ca &&
            gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM) < 0)
            fprintf(stderr, "cannot load %s\n", ca);
        cred_has_ca = 1;
        if (strcmp(vmode, "manual") == 0 ||
            (strcmp(vmode, "manual-full") == 0 && !gnutls_session_is_resumed(s))) {
            unsigned status = 0;
            ret = gnutls_certificate_verify_peers3(s, expect_host, &status);
            if (ret < 0 || status != 0) {
                printf("conn %d error verify: %s\n", i,
                       ret < 0 ? gnutls_strerror(ret) : "certificate not trusted");
                goto next;
            }
        }
        char req[512], buf[4096];
        snprintf(req, sizeof req, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", expect_host);
        int nd_hs = nodelay_of(fd);
        if ((io2 ? gnutls_record_send2(s, req, strlen(req), 0, 0)
                 : gnutls_record_send(s, req, strlen(req))) < 0) {
            err = "send";
        } else {
            int held = unsent_of(fd);
            if (show_nodelay)
                printf("nodelay %d hs=%d write=%d held=%d\n", i, nd_hs, nodelay_of(fd), held);
            for (;;) {
                ssize_t r;
                if (io2) {
                    gnutls_packet_t pkt = NULL;
                    r = gnutls_record_recv_packet(s, &pkt);
                    if (pkt != NULL)
                        gnutls_packet_deinit(pkt);
                } else {
                    r = gnutls_record_recv(s, buf, sizeof buf);
                }
                if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                    continue;
                if (r <= 0) {
                    if (r < 0 && r != GNUTLS_E_PREMATURE_TERMINATION)
                        err = gnutls_strerror((int)r);
                    break;
                }
            }
        }
        if (err != NULL) {
            printf("conn %d error io: %s\n", i, err);
            goto next;
        }
        if (hooks != NULL)
            printf("hooks %d pre=%d post=%d\n", i, hook_pre, hook_post);
        printf("conn %d ok resumed=%d proto=%s certs=%u\n", i, gnutls_session_is_resumed(s),
               gnutls_protocol_get_name(gnutls_protocol_get_version(s)), listed);
        if (own) {
            gnutls_free(saved.data);
            saved.data = NULL;
            if (gnutls_session_get_data2(s, &saved) < 0)
                saved.data = NULL;
        }
    next:
        gnutls_bye(s, GNUTLS_SHUT_WR);
        gnutls_deinit(s);
        close(fd);
        if (psk != NULL)
            gnutls_psk_free_client_credentials(psk);
        if (!shared_creds) {
            gnutls_certificate_free_credentials(cred);
            cred = NULL;
        }
    }
    gnutls_free(saved.data);
    if (cred != NULL)
        gnutls_certificate_free_credentials(cred);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 1, fast_exit = 0, opt;
    const char *vhost = NULL, *insecure_sign = NULL;

    while ((opt = getopt(argc, argv, "n:s:h:v:c:C:K:p:P:D:I:okrxXQ:LNTt:H:E:O:Y:y:W:M:w:SeVR:A:")) != -1) {
        switch (opt) {
        case 'n': n = atoi(optarg); break;
        case 's': sni = optarg; break;
        case 'h': vhost = optarg; break;
        case 'v': vmode = optarg; break;
        case 'c': ca = optarg; break;
        case 'C': cert = optarg; break;
        case 'K': key = optarg; break;
        case 'p': prio = optarg; break;
        case 'P': odd_prio = optarg; break;
        case 'D': odd_dh_bits = atoi(optarg); break;
        case 'I': insecure_sign = optarg; break;
        case 'o': own = 1; break;
        case 'k': shared_creds = 1; break;
        case 'x': fast_exit = 1; break;
        case 'X': push_pull = 1; break;
        case 'Q': odd_port = atoi(optarg); break;
        case 'r': reject_all = 1; break;
        case 'L': lazy_trust = 1; break;
        case 'N': show_nodelay = 1; break;
        case 'T': no_tickets = 1; break;
        case 't': threads = atoi(optarg); break;
        case 'H': hooks = optarg; break;
        case 'E': extra_even = optarg; break;
        case 'O': extra_odd = optarg; break;
        case 'Y': psk_even = optarg; break;
        case 'y': psk_odd = optarg; break;
        case 'W': late_name = optarg; break;
        case 'M': odd_max_hs = atol(optarg); break;
        case 'w': again_name = optarg; break;
        case 'S': io2 = 1; break;
        case 'e': early = 1; break;
        case 'R': odd_srp_bits = atoi(optarg); break;
        case 'V': show_vc = 1; break;
        case 'A': again_change = optarg; push_pull = 1; break;
        default: return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: %s [-n N] [-s NAME] [-h NAME] [-v MODE] [-c CA] [-p PRIO] [-P PRIO] [-D BITS] [-I SIGN] [-o] [-k] [-r] [-x] [-X] [-Q PORT] [-L] [-N] [-T] [-t T] [-H any|ticket] HOST PORT\n",
                argv[0]);
        return 2;
    }
    host = argv[optind];
    port = atoi(argv[optind + 1]);
    expect_host = vhost ? vhost : sni ? sni : host;
    setvbuf(stdout, NULL, _IOLBF, 0);
    gnutls_global_init();
    if (insecure_sign != NULL &&
        gnutls_sign_set_secure(gnutls_sign_get_id(insecure_sign), 0) < 0)
        fprintf(stderr, "gnutls_sign_set_secure %s failed\n", insecure_sign);

    pthread_t tids[64];
    if (threads < 1 || threads > 64)
        return 2;
    for (int t = 0; t < threads; t++)
        if (pthread_create(&tids[t], NULL, worker, (void *)(intptr_t)t) != 0)
            return 1;
    for (int t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    gnutls_global_deinit();
    if (fast_exit) {
        fflush(stdout);
        _exit(0);
    }
    return 0;
}
