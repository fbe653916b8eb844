/*
 * ossl_sym.c - find the program's libssl and resolve functions from it
 * (ar_dl.h). dlsym on the libssl handle also searches its dependencies
 * (libcrypto).
 */
#include "ossl_sym.h"
#include "ar_dl.h"
#include "ar_log.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

struct ossl_fns ossl;

#define OSSL_ROUTE_NAME(name) #name,
static const char *const routed_names[] = {OSSL_ROUTED(OSSL_ROUTE_NAME)};
#undef OSSL_ROUTE_NAME
struct route ossl_route = ROUTE_INIT("SSL_connect", "X509_verify_cert", routed_names, OSSL_ROUTE_COUNT);

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int load_status = OSSL_MISSING;

static enum ossl_status resolve_all(void)
{
    struct dl_found scan;
    void *handle = NULL;
    int missing_hooked = 0, missing_used = 0;

    dl_find("SSL_connect", &scan);
    if (scan.count > 0 && scan.path[0] != '\0')
        handle = dlopen(scan.path, RTLD_LAZY | RTLD_NOLOAD);
#define OSSL_RESOLVE_HOOKED(name)                                                  \
    if ((ossl.name = (__typeof__(&name))dl_lookup(handle, #name)) == NULL)            \
        missing_hooked++;
#define OSSL_RESOLVE_USED(name)                                                    \
    if ((ossl.name = (__typeof__(&name))dl_lookup(handle, #name)) == NULL) {          \
        log_debug("OpenSSL function %s not found", #name);                         \
        missing_used++;                                                            \
    }
#define OSSL_RESOLVE_OPTIONAL(name, type) ossl.name = (__typeof__(type))dl_lookup(handle, #name);
    OSSL_HOOKED(OSSL_RESOLVE_HOOKED)
    OSSL_USED(OSSL_RESOLVE_USED)
    OSSL_OPTIONAL(OSSL_RESOLVE_OPTIONAL)
#undef OSSL_RESOLVE_HOOKED
#undef OSSL_RESOLVE_USED
#undef OSSL_RESOLVE_OPTIONAL
    /* One of the two is needed; a future libssl may drop the old one. */
    if (ossl.SSL_SESSION_get_time_ex == NULL && ossl.SSL_SESSION_get_time == NULL) {
        log_debug("OpenSSL has neither SSL_SESSION_get_time_ex nor SSL_SESSION_get_time");
        missing_used++;
    }
    /* The handle only pins a library the program already holds; keep it. */
    if (ossl.SSL_connect == NULL) {
        route_bind(&ossl_route, 0);
        return OSSL_MISSING;
    }
    struct dl_object at;
    route_bind(&ossl_route, dl_object_at((void *)ossl.SSL_connect, &at) == 0 ? at.lo : 0);
    if (missing_hooked || missing_used) {
        log_warn("libssl %s lacks %d functions we need; resumption off",
                 scan.count ? scan.path : "(unknown)", missing_hooked + missing_used);
        return OSSL_PASSTHROUGH;
    }
    if (scan.count > 1) {
        log_warn("%u libssl builds are loaded; standing aside", scan.count);
        return OSSL_PASSTHROUGH;
    }
    log_debug("using %s", scan.count ? scan.path : "libssl found by RTLD_NEXT");
    return OSSL_READY;
}

enum ossl_status ossl_load(void)
{
    int st = atomic_load_explicit(&load_status, memory_order_acquire);
    if (st != OSSL_MISSING)
        return (enum ossl_status)st;
    pthread_mutex_lock(&load_lock);
    st = atomic_load(&load_status);
    if (st == OSSL_MISSING) {
        st = resolve_all();
        atomic_store_explicit(&load_status, st, memory_order_release);
    }
    pthread_mutex_unlock(&load_lock);
    return (enum ossl_status)st;
}

int ossl_still_single(void)
{
    if (atomic_load(&load_status) != OSSL_READY)
        return 0;
    if (route_refresh(&ossl_route) > 1) {
        log_warn("a second libssl build was loaded; standing aside");
        atomic_store(&load_status, OSSL_PASSTHROUGH);
        return 0;
    }
    return 1;
}

int64_t ossl_session_time(const SSL_SESSION *sess)
{
    if (ossl.SSL_SESSION_get_time_ex != NULL)
        return (int64_t)ossl.SSL_SESSION_get_time_ex(sess);
    return (int64_t)ossl.SSL_SESSION_get_time(sess);
}

int ossl_is_quic(const SSL *ssl)
{
    if (ossl.SSL_is_quic != NULL && ossl.SSL_is_quic(ssl))
        return 1;
    if (ossl.OSSL_QUIC_client_method == NULL)
        return 0;
    const SSL_METHOD *m = ossl.SSL_CTX_get_ssl_method(ossl.SSL_get_SSL_CTX(ssl));
    return m == ossl.OSSL_QUIC_client_method() ||
           (ossl.OSSL_QUIC_client_thread_method != NULL && m == ossl.OSSL_QUIC_client_thread_method());
}
