/*
 * faults_server.c - a minimal HTTPS server for fault.cert-replaced-untrusted
 * (tests/integration/cases/faults.sh): stateless session tickets under a key
 * read from a file, and a FIXED session id context, so that - unlike nginx,
 * whose session id context is a digest of its certificates - it resumes a
 * session won under another certificate when restarted with the same key
 * file (as a fleet of servers sharing a ticket key may).
 *
 * Build: cc -O2 -Wall -o faults_server faults_server.c -lssl -lcrypto
 * Usage: faults_server PORT CERT KEY TICKET_KEY_FILE LOG READY tls12|tls13
 *   TICKET_KEY_FILE  80 bytes: name (16), HMAC key (32), AES-256 key (32)
 *   LOG              appended, one line per request, in the suite's nginx
 *                    format: "r|. PROTOCOL - PATH" (r = resumed)
 *   READY            written ("ready") once it listens on 127.0.0.1:PORT
 * Serves one connection at a time; answers "ok" to any request; runs until
 * killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

static unsigned char tkey[80];

static int ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc)
{
    OSSL_PARAM params[2];
    (void)s;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (enc) {
        memcpy(key_name, tkey, 16);
        if (RAND_bytes(iv, 16) <= 0 || !EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, tkey + 48, iv) ||
            !EVP_MAC_init(hctx, tkey + 16, 32, params))
            return -1;
        return 1;
    }
    if (memcmp(key_name, tkey, 16) != 0)
        return 0; /* not our key: full handshake */
    if (!EVP_MAC_init(hctx, tkey + 16, 32, params) ||
        !EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, tkey + 48, iv))
        return -1;
    return 2; /* valid, and issue a fresh ticket (as nginx's TLS 1.3 does) */
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: faults_server PORT CERT KEY TICKET_KEY_FILE LOG READY tls12|tls13\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    FILE *kf = fopen(argv[4], "rb");
    if (kf == NULL || fread(tkey, 1, sizeof tkey, kf) != sizeof tkey) {
        fprintf(stderr, "cannot read 80 bytes from %s\n", argv[4]);
        return 2;
    }
    fclose(kf);
    int v = strcmp(argv[7], "tls12") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || !SSL_CTX_use_certificate_chain_file(ctx, argv[2]) ||
        !SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM)) {
        ERR_print_errors_fp(stderr);
        return 2;
    }
    SSL_CTX_set_min_proto_version(ctx, v);
    SSL_CTX_set_max_proto_version(ctx, v);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"faults", 6);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* tickets only */
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);

    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 64) != 0) {
        perror("bind/listen");
        return 3;
    }
    FILE *rf = fopen(argv[6], "w");
    if (rf == NULL)
        return 2;
    fputs("ready\n", rf);
    fclose(rf);

    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            char req[4096];
            int got = 0, r;
            while (got < (int)sizeof req - 1 && (r = SSL_read(ssl, req + got, (int)sizeof req - 1 - got)) > 0) {
                got += r;
                req[got] = '\0';
                if (strstr(req, "\r\n\r\n"))
                    break;
            }
            req[got] = '\0';
            char path[256] = "?";
            sscanf(req, "%*s %255s", path);
            static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
            SSL_write(ssl, resp, (int)sizeof resp - 1);
            FILE *lf = fopen(argv[5], "a");
            if (lf) {
                fprintf(lf, "%s %s - %s\n", SSL_session_reused(ssl) ? "r" : ".", SSL_get_version(ssl), path);
                fclose(lf);
            }
            SSL_shutdown(ssl);
        }
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
    }
}
