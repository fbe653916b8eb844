/*
 * ar_route.h - whose TLS library a hooked call belongs to.
 *
 * Our hooks bind every call of their names in the process, also those made
 * by, or through, a second build of the library: a renamed private copy
 * (python wheels bundle libssl-<hash>.so.3; psycopg2-binary does) or any
 * other libssl-like object. Such a call must reach the caller's own
 * library, untouched, or the program breaks: its objects handed to the
 * other build, or no function at all. So while the process maps anything
 * but the one library we resolved (route_mixed), each call is routed by
 * the object it came from (its return address): the function that object
 * reaches without us. A caller whose function is the resolved one takes
 * the hook's usual path. One family per TLS library (OpenSSL, GnuTLS).
 *
 * Cost: none while one build is mapped (an atomic flag). Mixed: a lookup
 * in a table of caller objects; the first call from an object resolves
 * every routed name from it (dlopen(RTLD_NOLOAD), dlsym, dlclose: nothing
 * stays pinned).
 *
 * The loader tells us nothing of dlopen/dlclose: the hooks every build's
 * use starts with (SSL_CTX_new, SSL_new, gnutls_init, ...) call
 * route_refresh, which rescans when dlpi_adds/dlpi_subs changed.
 */
#ifndef AR_ROUTE_H
#define AR_ROUTE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define ROUTE_SLOTS 32

struct route_entry; /* route.c */

struct route {
    const char *primary;           /* a symbol the library defines: "SSL_connect" */
    const char *companion;         /* one its companion defines (libcrypto), or NULL */
    const char *const *names;      /* the routed (hooked) names; a hook's index in it is its id */
    unsigned n;
    /* private (route.c) */
    _Atomic int mixed;
    _Atomic unsigned primaries;
    _Atomic unsigned long long adds, subs;
    uintptr_t bound;               /* base of the library resolved (0: none) */
    pthread_mutex_t lock;
    struct route_entry *_Atomic slot[ROUTE_SLOTS];
};

#define ROUTE_INIT(primary_, companion_, names_, n_)                                     \
    {                                                                                    \
        .primary = (primary_), .companion = (companion_), .names = (names_), .n = (n_),  \
        .mixed = 1, .lock = PTHREAD_MUTEX_INITIALIZER                                    \
    }

/*
 * route_bind - record the library the glue resolved (its base from dl_find;
 * 0 when none) and scan. Call under the glue's load lock. Thread-safe.
 */
void route_bind(struct route *r, uintptr_t base);

/*
 * route_refresh - scan again if objects were mapped or unmapped since the
 * last scan (one dl_iterate_phdr step when nothing changed); the cache of
 * caller objects is dropped when any was unmapped. Returns how many
 * objects defining the primary symbol are mapped. Thread-safe.
 */
unsigned route_refresh(struct route *r);

/* route_mixed - 1 unless exactly the bound library (and one companion) is mapped. */
static inline int route_mixed(struct route *r)
{
    return __builtin_expect(atomic_load_explicit(&r->mixed, memory_order_relaxed), 0);
}

/*
 * route_fn - the function with id `k` (an index in names) that the object
 * holding *caller (a return address) reaches without us (*caller is
 * replaced by the forwarded call's caller when it lies in this library); `usual` (the resolved one, or NULL)
 * when that object reaches the same one, reaches none, or cannot be told.
 * NULL only when neither exists. Only when route_mixed. Thread-safe; takes
 * no lock of ours around loader calls.
 */
void *route_fn(struct route *r, const void **caller, unsigned k, void *usual);

/*
 * route_via_set - around a forwarded call: `caller` (as route_fn left it)
 * is whose call it is, so that a hooked function the forwarded one calls
 * (from inside our hook's frame) is routed the same way. Returns the
 * previous value, to restore after the call. Per thread.
 */
const void *route_via_set(const void *caller);

#endif
