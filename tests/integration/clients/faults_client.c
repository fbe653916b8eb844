/*
 * faults_client.c - a plain OpenSSL 3 client for the fault.* / prog.* tests
 * (tests/integration/cases/faults.sh).  It knows nothing about autoresume:
 * the tests run it with and without the preload and compare.
 *
 * Build: cc -O2 -Wall -o faults_client faults_client.c -lssl -lcrypto
 * Usage: faults_client [options] HOST PORT
 *   -n N              connections, one after another, one SSL_CTX (1)
 *   --cafile F        verify the server against F (SSL_VERIFY_PEER), and its
 *                     name against --sni (SSL_set1_host); default: no verify
 *   --sni NAME        server name sent (default: none)
 *   --tls12 / --tls13 pin the protocol version
 *   --own-resume      resume like a program that does it itself: offer the
 *                     previous connection's session (SSL_get1_session)
 *   --callbacks       install the program's own new-session callback (with
 *                     SSL_SESS_CACHE_CLIENT) and an info callback, count
 *                     their calls per connection, and read them back
 *   --sync OUT:IN     after connection --sync-after K (default 1): write
 *                     "paused" to fifo OUT, then wait for a line on fifo IN
 *   --maps            print whether an object named *autoresume* is loaded,
 *                     and whether the process runs AT_SECURE
 *   --path P          request path (default /)
 *   --timeout SECS    SSL_CTX_set_timeout: the lifetime OpenSSL gives the
 *                     client's sessions (TLS 1.2 default: 2 h)
 *
 * stdout, per connection:
 *   conn I ok reused=0|1 proto=P status=S [hs_start=A hs_done=B newsess=C
 *        alert_w=D alert_r=E]
 *   conn I error verify=V ssl_error=E reason=R
 * then (--callbacks) "callbacks info-cb-readback=same|other
 * new-session-cb-readback=same|other cache-mode=0xM" and
 * "summary connections=N ok=K failed=F reused=R".
 * Exit status 0 iff every connection succeeded (2: usage).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static const char *host, *port, *sni, *cafile, *sync_spec, *path = "/";
static int n = 1, tls12, tls13, own_resume, callbacks, maps, sync_after = 1;
static long timeout_secs;

/* Counts of the current connection (one thread). */
static int c_hs_start, c_hs_done, c_newsess, c_alert_w, c_alert_r;

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    (void)sess;
    c_newsess++;
    return 0; /* we did not keep a reference */
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    (void)ssl;
    (void)ret;
    if (where & SSL_CB_HANDSHAKE_START)
        c_hs_start++;
    if (where & SSL_CB_HANDSHAKE_DONE)
        c_hs_done++;
    if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE))
        c_alert_w++;
    if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ))
        c_alert_r++;
}

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, "autoresume"))
        *(int *)data = 1;
    return 0;
}

static int tcp_connect(void)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void do_sync(void)
{
    char out[512], *in;
    snprintf(out, sizeof out, "%s", sync_spec);
    in = strchr(out, ':');
    if (in == NULL) {
        fprintf(stderr, "bad --sync\n");
        exit(2);
    }
    *in++ = '\0';
    int fdin = open(in, O_RDWR); /* does not block on Linux */
    FILE *f = fopen(out, "w");
    if (fdin < 0 || f == NULL) {
        fprintf(stderr, "sync: %s\n", strerror(errno));
        exit(2);
    }
    fputs("paused\n", f);
    fclose(f);
    char buf[256];
    if (read(fdin, buf, sizeof buf) <= 0) {
        fprintf(stderr, "sync: no answer\n");
        exit(2);
    }
    close(fdin);
    printf("synced\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-n") && v) { n = atoi(v); i++; }
        else if (!strcmp(a, "--cafile") && v) { cafile = v; i++; }
        else if (!strcmp(a, "--sni") && v) { sni = v; i++; }
        else if (!strcmp(a, "--sync") && v) { sync_spec = v; i++; }
        else if (!strcmp(a, "--sync-after") && v) { sync_after = atoi(v); i++; }
        else if (!strcmp(a, "--path") && v) { path = v; i++; }
        else if (!strcmp(a, "--timeout") && v) { timeout_secs = atol(v); i++; }
        else if (!strcmp(a, "--tls12")) tls12 = 1;
        else if (!strcmp(a, "--tls13")) tls13 = 1;
        else if (!strcmp(a, "--own-resume")) own_resume = 1;
        else if (!strcmp(a, "--callbacks")) callbacks = 1;
        else if (!strcmp(a, "--maps")) maps = 1;
        else { fprintf(stderr, "unknown option %s\n", a); return 2; }
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: faults_client [options] HOST PORT\n");
        return 2;
    }
    host = argv[i];
    port = argv[i + 1];

    if (maps) {
        int found = 0;
        dl_iterate_phdr(phdr_cb, &found);
        printf("maps autoresume=%s at_secure=%lu uid=%d euid=%d\n", found ? "yes" : "no",
               getauxval(AT_SECURE), (int)getuid(), (int)geteuid());
        fflush(stdout);
    }

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return 1;
    if (cafile) {
        if (!SSL_CTX_load_verify_locations(ctx, cafile, NULL)) {
            fprintf(stderr, "cannot load %s\n", cafile);
            return 2;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (timeout_secs > 0)
        SSL_CTX_set_timeout(ctx, timeout_secs);
    if (tls12)
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    if (tls13)
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    if (callbacks) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
        SSL_CTX_set_info_callback(ctx, info_cb);
    }

    int ok = 0, failed = 0, reused_total = 0;
    SSL_SESSION *prev = NULL;
    for (int k = 1; k <= n; k++) {
        c_hs_start = c_hs_done = c_newsess = c_alert_w = c_alert_r = 0;
        int fd = tcp_connect();
        if (fd < 0) {
            printf("conn %d error verify=none ssl_error=none reason=connect:%s\n", k, strerror(errno));
            failed++;
            continue;
        }
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (sni)
            SSL_set_tlsext_host_name(ssl, sni);
        if (cafile && sni)
            SSL_set1_host(ssl, sni);
        if (own_resume && prev)
            SSL_set_session(ssl, prev);
        int r = SSL_connect(ssl);
        if (r != 1) {
            unsigned long e = ERR_peek_last_error();
            char buf[256] = "none";
            if (e)
                ERR_error_string_n(e, buf, sizeof buf);
            for (char *p = buf; *p; p++)
                if (*p == ' ')
                    *p = '_';
            printf("conn %d error verify=%ld ssl_error=%d reason=%s", k,
                   SSL_get_verify_result(ssl), SSL_get_error(ssl, r), buf);
            if (callbacks)
                printf(" hs_start=%d hs_done=%d newsess=%d alert_w=%d alert_r=%d", c_hs_start,
                       c_hs_done, c_newsess, c_alert_w, c_alert_r);
            printf("\n");
            ERR_clear_error();
            failed++;
            SSL_free(ssl);
            close(fd);
            continue;
        }
        char req[512], resp[4096];
        int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                           path, sni ? sni : host);
        int got = 0, rr;
        if (SSL_write(ssl, req, len) == len) {
            while ((rr = SSL_read(ssl, resp + got, (int)sizeof resp - 1 - got)) > 0)
                got += rr;
        }
        resp[got] = '\0';
        char status[8] = "none";
        if (got > 12 && !strncmp(resp, "HTTP/1.1 ", 9))
            snprintf(status, sizeof status, "%.3s", resp + 9);
        int reused = SSL_session_reused(ssl);
        SSL_shutdown(ssl);
        if (own_resume) {
            SSL_SESSION *s = SSL_get1_session(ssl);
            if (s) {
                SSL_SESSION_free(prev);
                prev = s;
            }
        }
        printf("conn %d %s reused=%d proto=%s status=%s", k, status[0] == '2' ? "ok" : "error",
               reused, SSL_get_version(ssl), status);
        if (callbacks)
            printf(" hs_start=%d hs_done=%d newsess=%d alert_w=%d alert_r=%d", c_hs_start, c_hs_done,
                   c_newsess, c_alert_w, c_alert_r);
        printf("\n");
        fflush(stdout);
        if (status[0] == '2') {
            ok++;
            reused_total += reused;
        } else {
            failed++;
        }
        SSL_free(ssl);
        close(fd);
        if (sync_spec && k == sync_after)
            do_sync();
    }
    if (callbacks)
        printf("callbacks info-cb-readback=%s new-session-cb-readback=%s cache-mode=0x%lx\n",
               SSL_CTX_get_info_callback(ctx) == info_cb ? "same" : "other",
               SSL_CTX_sess_get_new_cb(ctx) == new_session_cb ? "same" : "other",
               (unsigned long)SSL_CTX_get_session_cache_mode(ctx));
    printf("summary connections=%d ok=%d failed=%d reused=%d\n", n, ok, failed, reused_total);
    SSL_SESSION_free(prev);
    SSL_CTX_free(ctx);
    return failed == 0 ? 0 : 1;
}
