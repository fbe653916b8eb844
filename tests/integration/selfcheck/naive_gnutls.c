/* A deliberately naive GnuTLS "resumption" preload for checking the
 * gnutls.* tests: one session per peer address (ip:port), offered to any
 * later session to that address whatever its trust settings or name.
 * Kept in $AUTORESUME_CACHE/naive-IP-PORT when that is a directory. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef void *gsess;
typedef struct { unsigned char *data; unsigned int size; } datum;

static int (*r_handshake)(gsess);
static void (*r_deinit)(gsess);
static int (*f_set_data)(gsess, const void *, size_t);
static int (*f_get_data2)(gsess, datum *);
static int (*f_get_int)(gsess);
static void (**f_free)(void *);

#define MAXS 64
static struct { gsess s; int started; int done; char key[64]; } tab[MAXS];
static struct { char key[64]; unsigned char *d; size_t n; } mem[16];

static void syms(void)
{
    if (r_handshake) return;
    r_handshake = dlsym(RTLD_NEXT, "gnutls_handshake");
    r_deinit = dlsym(RTLD_NEXT, "gnutls_deinit");
    f_set_data = dlsym(RTLD_NEXT, "gnutls_session_set_data");
    f_get_data2 = dlsym(RTLD_NEXT, "gnutls_session_get_data2");
    f_get_int = dlsym(RTLD_NEXT, "gnutls_transport_get_int");
    f_free = dlsym(RTLD_NEXT, "gnutls_free");
}

static int slot(gsess s, int make)
{
    for (int i = 0; i < MAXS; i++) if (tab[i].s == s) return i;
    if (!make) return -1;
    for (int i = 0; i < MAXS; i++) if (tab[i].s == NULL) { memset(&tab[i], 0, sizeof tab[i]); tab[i].s = s; return i; }
    return -1;
}

static const char *dir(void)
{
    const char *c = getenv("AUTORESUME_CACHE");
    return (c && c[0] == '/') ? c : NULL;
}

static void load(const char *key, gsess s)
{
    unsigned char buf[65536]; size_t n = 0;
    if (dir()) {
        char p[4096]; snprintf(p, sizeof p, "%s/naive-%s", dir(), key);
        FILE *f = fopen(p, "rb");
        if (!f) return;
        n = fread(buf, 1, sizeof buf, f); fclose(f);
        if (n) f_set_data(s, buf, n);
        return;
    }
    for (int i = 0; i < 16; i++) if (mem[i].d && !strcmp(mem[i].key, key)) { f_set_data(s, mem[i].d, mem[i].n); return; }
}

static void save(const char *key, const unsigned char *d, size_t n)
{
    if (dir()) {
        char p[4096]; snprintf(p, sizeof p, "%s/naive-%s", dir(), key);
        FILE *f = fopen(p, "wb");
        if (f) { fwrite(d, 1, n, f); fclose(f); }
        return;
    }
    int j = -1;
    for (int i = 0; i < 16; i++) if (mem[i].d && !strcmp(mem[i].key, key)) j = i;
    for (int i = 0; i < 16 && j < 0; i++) if (!mem[i].d) j = i;
    if (j < 0) return;
    free(mem[j].d); mem[j].d = malloc(n); memcpy(mem[j].d, d, n); mem[j].n = n;
    snprintf(mem[j].key, sizeof mem[j].key, "%s", key);
}

int gnutls_handshake(gsess s)
{
    syms();
    int i = slot(s, 1);
    if (i >= 0 && !tab[i].started) {
        struct sockaddr_in a; socklen_t l = sizeof a; char ip[32];
        tab[i].started = 1;
        int fd = f_get_int(s);
        if (fd >= 0 && getpeername(fd, (struct sockaddr *)&a, &l) == 0 && a.sin_family == AF_INET) {
            inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
            snprintf(tab[i].key, sizeof tab[i].key, "%s-%d", ip, ntohs(a.sin_port));
            load(tab[i].key, s);
        }
    }
    int r = r_handshake(s);
    if (r == 0 && i >= 0) tab[i].done = 1;
    return r;
}

void gnutls_deinit(gsess s)
{
    syms();
    int i = slot(s, 0);
    if (i >= 0) {
        datum d = {0, 0};
        if (tab[i].done && tab[i].key[0] && f_get_data2(s, &d) == 0 && d.size) {
            save(tab[i].key, d.data, d.size);
            (*f_free)(d.data);
        }
        tab[i].s = NULL;
    }
    r_deinit(s);
}
