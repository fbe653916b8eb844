/*
 * memclient.c - memory benchmark client for libautoresume (bench/run.sh).
 *
 * Makes up to N TLS connections one after another to 127.0.0.1:PORT from one
 * SSL_CTX, rotating the server name over NAMES names (name0.test,
 * name1.test, ...), without verifying the server, sending "GET / HTTP/1.0"
 * and reading the answer to the end. It knows nothing about the library:
 * run it with and without LD_PRELOAD.
 *
 * Every EVERY connections it prints one line:
 *   conns=C rss_kb=R elapsed_s=E resumed_in_block=K failed_in_block=F
 * (VmRSS from /proc/self/status). It stops early, after a whole block, once
 * the next block would end after SECONDS of wall time (at the rate so far),
 * and then prints "stopped-early conns=C".
 *
 * Build: cc -O2 -o build/bench_memclient bench/memclient.c -lssl -lcrypto
 * Usage: bench_memclient PORT N NAMES EVERY SECONDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* One connection; returns 1 resumed, 0 full handshake, -1 failed. */
static int one(SSL_CTX *ctx, int port, const char *name)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ret = -1, one_ = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) {
        close(fd);
        return -1;
    }
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, name);
    if (SSL_connect(ssl) == 1) {
        static const char req[] = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
        char buf[4096];
        if (SSL_write(ssl, req, (int)sizeof req - 1) > 0) {
            while (SSL_read(ssl, buf, sizeof buf) > 0)
                ;
            ret = SSL_session_reused(ssl) ? 1 : 0;
        }
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
    return ret;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORT N NAMES EVERY SECONDS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    long n = atol(argv[2]), names = atol(argv[3]), every = atol(argv[4]);
    double limit = atof(argv[5]);
    if (port <= 0 || n <= 0 || names <= 0 || every <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return 1;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    double t0 = now_s();
    long resumed = 0, failed = 0, total_failed = 0;
    printf("conns=0 rss_kb=%ld elapsed_s=0.00 resumed_in_block=0 failed_in_block=0\n", rss_kb());
    fflush(stdout);
    for (long i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "name%ld.test", i % names);
        int r = one(ctx, port, name);
        if (r > 0)
            resumed++;
        else if (r < 0)
            failed++;
        if ((i + 1) % every == 0) {
            double el = now_s() - t0;
            printf("conns=%ld rss_kb=%ld elapsed_s=%.2f resumed_in_block=%ld failed_in_block=%ld\n",
                   i + 1, rss_kb(), el, resumed, failed);
            fflush(stdout);
            total_failed += failed;
            resumed = failed = 0;
            /* stop if the next block would end after the time limit */
            if (el + el / (double)(i + 1) * (double)every > limit && i + 1 < n) {
                printf("stopped-early conns=%ld\n", i + 1);
                break;
            }
        }
    }
    SSL_CTX_free(ctx);
    return total_failed > 0 ? 1 : 0;
}
