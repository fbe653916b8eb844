/*
 * route.c - send a hooked call to the caller's own TLS library. See ar_route.h.
 */
#include "ar_route.h"
#include "ar_dl.h"
#include "ar_log.h"

#include <dlfcn.h>
#include <stdlib.h>

struct route_entry {
    uintptr_t lo, hi; /* the caller object's span */
    void *fn[];       /* per name: what it reaches without us (NULL: nothing) */
};

/* Under r->lock. */
static void scan(struct route *r)
{
    struct dl_found p, c;
    dl_find(r->primary, &p);
    unsigned companions = 0;
    if (r->companion != NULL) {
        dl_find(r->companion, &c);
        companions = c.count;
    }
    int mixed = !(p.count == 1 && p.base == r->bound && r->bound != 0 && companions <= 1);
    if (p.subs != atomic_load(&r->subs)) {
        /* Something was unmapped: a cached span may now hold another
         * object. The entries are not freed: a reader may still hold one. */
        for (int i = 0; i < ROUTE_SLOTS; i++)
            atomic_store(&r->slot[i], NULL);
    }
    if (mixed && !atomic_load(&r->mixed))
        log_debug("%u objects define %s; calls go to their caller's own", p.count, r->primary);
    atomic_store(&r->primaries, p.count);
    atomic_store(&r->adds, p.adds);
    atomic_store(&r->subs, p.subs);
    atomic_store(&r->mixed, mixed);
}

void route_bind(struct route *r, uintptr_t base)
{
    pthread_mutex_lock(&r->lock);
    r->bound = base;
    scan(r);
    pthread_mutex_unlock(&r->lock);
}

unsigned route_refresh(struct route *r)
{
    unsigned long long adds, subs;
    dl_counts(&adds, &subs);
    if (adds != atomic_load(&r->adds) || subs != atomic_load(&r->subs)) {
        pthread_mutex_lock(&r->lock);
        scan(r);
        pthread_mutex_unlock(&r->lock);
    }
    return atomic_load(&r->primaries);
}

/* What the object at `caller` reaches for every name: no lock of ours held. */
static struct route_entry *entry_make(struct route *r, const void *caller)
{
    struct dl_object o;
    if (dl_object_at(caller, &o) != 0)
        return NULL;
    struct route_entry *e = calloc(1, sizeof *e + r->n * sizeof e->fn[0]);
    if (e == NULL)
        return NULL;
    e->lo = o.lo;
    e->hi = o.hi;
    /* The program and this library see the global scope, where our hooks
     * come first: dl_lookup(NULL) searches after us. Any other object: its
     * own scope (itself, then its dependencies), through a handle that
     * only pins what is mapped already, dropped at once. */
    void *h = NULL;
    if (!o.is_main && !o.is_ours && (h = dlopen(o.path, RTLD_LAZY | RTLD_NOLOAD)) == NULL) {
        free(e);
        return NULL;
    }
    for (unsigned k = 0; k < r->n; k++)
        e->fn[k] = dl_lookup(h, r->names[k]);
    if (h != NULL)
        dlclose(h);
    return e;
}

static struct route_entry *entry_find(struct route *r, uintptr_t at)
{
    for (int i = 0; i < ROUTE_SLOTS; i++) {
        struct route_entry *e = atomic_load_explicit(&r->slot[i], memory_order_acquire);
        if (e != NULL && at >= e->lo && at < e->hi)
            return e;
    }
    return NULL;
}

/* The caller of the forwarded call this thread is in (route_via_set). */
static __thread const void *via;

const void *route_via_set(const void *caller)
{
    const void *was = via;
    via = caller;
    return was;
}

void *route_fn(struct route *r, const void **callerp, unsigned k, void *usual)
{
    const void *caller = *callerp;
    /* A call from inside this library is a forwarded function calling a
     * hooked one through its PLT (libssl's SSL_CTX_new calls SSL_CTX_new_ex,
     * SSL_connect SSL_do_handshake), from our hook's frame when the call
     * was not a tail call: it belongs to the forwarded call's caller. */
    if (via != NULL && dl_is_ours(caller))
        *callerp = caller = via;
    uintptr_t at = (uintptr_t)caller;
    struct route_entry *e = entry_find(r, at), *made = NULL;
    if (e == NULL) {
        if ((made = entry_make(r, caller)) == NULL)
            return usual;
        pthread_mutex_lock(&r->lock);
        if ((e = entry_find(r, at)) == NULL) {
            for (int i = 0; i < ROUTE_SLOTS && e == NULL; i++)
                if (atomic_load(&r->slot[i]) == NULL) {
                    atomic_store_explicit(&r->slot[i], made, memory_order_release);
                    e = made;
                    made = NULL;
                }
        }
        pthread_mutex_unlock(&r->lock);
        if (e == NULL) /* table full: this call only */
            e = made;
    }
    void *fn = k < r->n && e->fn[k] != NULL ? e->fn[k] : usual;
    free(made); /* not published: a duplicate, or used for this call only */
    return fn;
}
