/*
 * memo_inputs.c - verification inputs the trust-verdict memo's key cannot
 * read, changed before connection 3 (memo.changed.* in
 * tests/integration/cases/memo.sh). Three connections in one process, one
 * SSL_CTX, CA file, SSL_VERIFY_PEER, SSL_set1_host localhost; before the
 * third, MODE changes one input so that a full handshake fails:
 *   sslparam | ctxparam | storeparam  copy the built-in "ssl_client" table
 *                (its purpose and trust) onto the SSL, the context or the store
 *   purposeadd   redefine the SSL server purpose to reject everything
 *   trustadd     redefine the SSL server trust to reject everything
 *   lookup       trust comes from a lookup method of the program's that stops
 *                answering
 *   emptyemail   expect the email "" (set, not unset: OpenSSL fails it)
 *   none         change nothing (control: connection 3 succeeds)
 * Build: cc -o memo_inputs memo_inputs.c -lssl -lcrypto
 * Usage: memo_inputs MODE CAFILE PORT
 * Prints "conn I ok reused=R verify=V" or "conn I FAILED verify=TEXT".
 */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static X509 *ca;
static int allow = 1;
static int my_by_subject(X509_LOOKUP *ctx, X509_LOOKUP_TYPE type, const X509_NAME *name, X509_OBJECT *ret)
{
    (void)ctx;
    if (!allow || type != X509_LU_X509 || X509_NAME_cmp(name, X509_get_subject_name(ca)) != 0)
        return 0;
    return X509_OBJECT_set1_X509(ret, ca);
}
static int reject_all(const X509_PURPOSE *xp, const X509 *x, int ca_) { (void)xp; (void)x; (void)ca_; return 0; }

static int treject(X509_TRUST *t, X509 *x, int f) { (void)t; (void)x; (void)f; return X509_TRUST_REJECTED; }
static const X509_VERIFY_PARAM *table(const char *name)
{
    for (int i = 0; i < X509_VERIFY_PARAM_get_count(); i++)
        if (strcmp(X509_VERIFY_PARAM_get0_name(X509_VERIFY_PARAM_get0(i)), name) == 0)
            return X509_VERIFY_PARAM_get0(i);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argv[1], *cafile = argv[2];
    int port = atoi(argv[3]), n = argc > 4 ? atoi(argv[4]) : 3, failed = 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    FILE *f = fopen(cafile, "r");
    ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f) fclose(f);
    if (strcmp(mode, "lookup") == 0) {
        X509_LOOKUP_METHOD *m = X509_LOOKUP_meth_new("mine");
        X509_LOOKUP_meth_set_get_by_subject(m, my_by_subject);
        X509_STORE_add_lookup(SSL_CTX_get_cert_store(ctx), m);
    } else if (strcmp(mode, "capath") == 0)
        SSL_CTX_load_verify_locations(ctx, NULL, cafile);
    else
        SSL_CTX_load_verify_locations(ctx, cafile, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    for (int i = 1; i <= n; i++) {
        if (i == 3) {
            if (!strcmp(mode, "ctxparam")) SSL_CTX_set1_param(ctx, (X509_VERIFY_PARAM *)table("ssl_client"));
            if (!strcmp(mode, "storeparam")) X509_STORE_set1_param(SSL_CTX_get_cert_store(ctx), (X509_VERIFY_PARAM *)table("ssl_client"));
            if (!strcmp(mode, "purposeadd")) X509_PURPOSE_add(X509_PURPOSE_SSL_SERVER, X509_TRUST_SSL_SERVER, 0, reject_all, "SSL server", "sslserver", NULL);
            if (!strcmp(mode, "lookup")) allow = 0;
            if (!strcmp(mode, "trustadd")) X509_TRUST_add(X509_TRUST_SSL_SERVER, 0, treject, "SSL Server", 0, NULL);
        }
        SSL *ssl = SSL_new(ctx);
        SSL_set_tlsext_host_name(ssl, "localhost");
        SSL_set1_host(ssl, "localhost");
        if (i >= 3) {
            if (!strcmp(mode, "sslparam")) SSL_set1_param(ssl, (X509_VERIFY_PARAM *)table("ssl_client"));
            if (!strcmp(mode, "emptyemail")) X509_VERIFY_PARAM_set1_email(SSL_get0_param(ssl), "", 0);
        }
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 99; }
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) != 1) {
            printf("conn %d FAILED verify=%s\n", i, X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
            failed++;
        } else {
            const char *req = "GET / HTTP/1.0\r\n\r\n";
            char buf[4096];
            SSL_write(ssl, req, strlen(req));
            while (SSL_read(ssl, buf, sizeof buf) > 0) {}
            printf("conn %d ok reused=%d verify=%ld\n", i, SSL_session_reused(ssl), SSL_get_verify_result(ssl));
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        close(fd);
    }
    return failed;
}
