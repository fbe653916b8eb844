/*
 * gtls_sym.c - find the program's libgnutls and resolve functions from it
 * (ar_dl.h).
 */
#include "gtls_sym.h"
#include "ar_dl.h"
#include "ar_log.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct gtls_fns gtls;

#define GTLS_ROUTE_NAME(name) #name,
static const char *const routed_names[] = {GTLS_HOOKED(GTLS_ROUTE_NAME) GTLS_OPTIONAL(GTLS_ROUTE_NAME)};
#undef GTLS_ROUTE_NAME
struct route gtls_route = ROUTE_INIT("gnutls_handshake", NULL, routed_names, GTLS_ROUTE_COUNT);

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int load_status = GTLS_MISSING;

static enum gtls_status resolve_all(void)
{
    struct dl_found scan;
    void *handle = NULL;
    int missing_hooked = 0, missing_used = 0;

    dl_find("gnutls_handshake", &scan);
    if (scan.count > 0 && scan.path[0] != '\0')
        handle = dlopen(scan.path, RTLD_LAZY | RTLD_NOLOAD);
#define GTLS_RESOLVE_HOOKED(name)                                                  \
    if ((gtls.name = (__typeof__(&name))dl_lookup(handle, #name)) == NULL)         \
        missing_hooked++;
#define GTLS_RESOLVE_USED(name)                                                    \
    if ((gtls.name = (__typeof__(&name))dl_lookup(handle, #name)) == NULL) {       \
        log_debug("GnuTLS function %s not found", #name);                          \
        missing_used++;                                                            \
    }
#define GTLS_RESOLVE_OPTIONAL(name) gtls.name = (__typeof__(&name))dl_lookup(handle, #name);
    GTLS_HOOKED(GTLS_RESOLVE_HOOKED)
    GTLS_USED(GTLS_RESOLVE_USED)
    GTLS_OPTIONAL(GTLS_RESOLVE_OPTIONAL)
#undef GTLS_RESOLVE_HOOKED
#undef GTLS_RESOLVE_USED
#undef GTLS_RESOLVE_OPTIONAL
    gtls.free_var = dl_lookup(handle, "gnutls_free");
    if (gtls.free_var == NULL)
        missing_used++;
    /* The handle only pins a library the program already holds; keep it. */
    struct dl_object at;
    route_bind(&gtls_route, gtls.gnutls_handshake != NULL && dl_object_at((void *)gtls.gnutls_handshake, &at) == 0 ? at.lo : 0);
    if (gtls.gnutls_handshake == NULL)
        return GTLS_MISSING;
    if (missing_hooked || missing_used) {
        log_warn("libgnutls %s lacks %d functions we need; resumption off",
                 scan.count ? scan.path : "(unknown)", missing_hooked + missing_used);
        return GTLS_PASSTHROUGH;
    }
    if (gtls.gnutls_check_version("3.6.3") == NULL) {
        log_warn("libgnutls %s is older than 3.6.3; resumption off", gtls.gnutls_check_version(NULL));
        return GTLS_PASSTHROUGH;
    }
    if (scan.count > 1) {
        log_warn("%u libgnutls builds are loaded; standing aside", scan.count);
        return GTLS_PASSTHROUGH;
    }
    log_debug("using %s", scan.count ? scan.path : "libgnutls found by RTLD_NEXT");
    return GTLS_READY;
}

enum gtls_status gtls_load(void)
{
    int st = atomic_load_explicit(&load_status, memory_order_acquire);
    if (st != GTLS_MISSING)
        return (enum gtls_status)st;
    pthread_mutex_lock(&load_lock);
    st = atomic_load(&load_status);
    if (st == GTLS_MISSING) {
        st = resolve_all();
        atomic_store_explicit(&load_status, st, memory_order_release);
    }
    pthread_mutex_unlock(&load_lock);
    return (enum gtls_status)st;
}

void gtls_free_mem(void *p)
{
    if (p != NULL && gtls.free_var != NULL && *gtls.free_var != NULL)
        (*gtls.free_var)(p);
}
