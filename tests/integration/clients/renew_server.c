/*
 * renew_server.c - a TLS 1.2 server that renews the session ticket on every
 * resumption (its ticket key callback returns 2, as nginx's does for a
 * ticket under an older key), for cases/lifecycle.sh. One request per
 * connection; it answers "Reused" or "New" (SSL_session_reused) and closes.
 *
 * usage: renew_server CERT KEY
 * Listens on a port of 127.0.0.1 the kernel picks, prints "listening PORT"
 * once it accepts, and serves until killed.
 */
#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char key_name[16], aes_key[32], hmac_key[32];

static int ticket_key(SSL *s, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *c,
                      EVP_MAC_CTX *h, int enc)
{
    (void)s;
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                      OSSL_PARAM_construct_end()};
    if (enc) {
        memcpy(name, key_name, sizeof key_name);
        if (RAND_bytes(iv, 16) != 1 || !EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, aes_key, iv) ||
            !EVP_MAC_init(h, hmac_key, sizeof hmac_key, p))
            return -1;
        return 1;
    }
    if (memcmp(name, key_name, sizeof key_name) != 0)
        return 0;
    if (!EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), NULL, aes_key, iv) ||
        !EVP_MAC_init(h, hmac_key, sizeof hmac_key, p))
        return -1;
    return 2; /* valid, and a new ticket comes with the resumed handshake */
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: renew_server CERT KEY\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (RAND_bytes(key_name, sizeof key_name) != 1 || RAND_bytes(aes_key, sizeof aes_key) != 1 ||
        RAND_bytes(hmac_key, sizeof hmac_key) != 1)
        return 1;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) ||
        SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1 ||
        !SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key)) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 16) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &len) != 0) {
        perror("renew_server: listen");
        return 1;
    }
    printf("listening %d\n", ntohs(a.sin_port));
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        SSL *s = SSL_new(ctx);
        SSL_set_fd(s, fd);
        if (SSL_accept(s) == 1) {
            char buf[256];
            if (SSL_read(s, buf, sizeof buf) > 0) {
                const char *w = SSL_session_reused(s) ? "Reused, \n" : "New, \n";
                SSL_write(s, w, (int)strlen(w));
            }
            SSL_shutdown(s);
        }
        ERR_clear_error();
        SSL_free(s);
        close(fd);
    }
}
