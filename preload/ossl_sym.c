/*
 * ossl_sym.c - find the program's libssl and resolve functions from it.
 *
 * dl_iterate_phdr lists every mapped object, including those dlopen'ed with
 * RTLD_LOCAL; dlopen(path, RTLD_NOLOAD) then gives a handle without loading
 * anything, and dlsym on that handle also searches its dependencies
 * (libcrypto). Pointers that lead back into this library (a circular
 * lookup) are rejected.
 */
#include "ossl_sym.h"
#include "ar_log.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

struct ossl_fns ossl;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int load_status = OSSL_MISSING;
static _Atomic unsigned long long seen_adds;

struct libssl_scan {
    char path[4096];
    unsigned count;
    unsigned long long adds;
};

static int is_libssl(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "libssl.so", 9) == 0;
}

static int scan_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct libssl_scan *scan = arg;
    (void)size;
    scan->adds = info->dlpi_adds;
    if (info->dlpi_name == NULL || !is_libssl(info->dlpi_name))
        return 0;
    if (scan->count++ == 0) {
        strncpy(scan->path, info->dlpi_name, sizeof scan->path - 1);
        scan->path[sizeof scan->path - 1] = '\0';
    }
    return 0;
}

static void scan_libssl(struct libssl_scan *scan)
{
    memset(scan, 0, sizeof *scan);
    dl_iterate_phdr(scan_one, scan);
}

/* This library's loaded segments, to recognise a lookup that found our own hook. */
static struct {
    uintptr_t start[8], end[8];
    int n;
} ours;

static int find_ours(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t self = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && self >= lo && self < hi) {
            for (int j = 0; j < info->dlpi_phnum && ours.n < 8; j++) {
                const ElfW(Phdr) *seg = &info->dlpi_phdr[j];
                if (seg->p_type != PT_LOAD)
                    continue;
                ours.start[ours.n] = info->dlpi_addr + seg->p_vaddr;
                ours.end[ours.n] = ours.start[ours.n] + seg->p_memsz;
                ours.n++;
            }
            return 1;
        }
    }
    return 0;
}

/* Whether p points into this very library (a circular lookup). Cheap: no dladdr per symbol. */
static int is_ours(void *p)
{
    for (int i = 0; i < ours.n; i++)
        if ((uintptr_t)p >= ours.start[i] && (uintptr_t)p < ours.end[i])
            return 1;
    return 0;
}

static void *lookup(void *handle, const char *name)
{
    void *p = handle ? dlsym(handle, name) : NULL;
    if (p == NULL)
        p = dlsym(RTLD_NEXT, name);
    if (p != NULL && is_ours(p))
        p = NULL;
    return p;
}

static enum ossl_status resolve_all(void)
{
    struct libssl_scan scan;
    void *handle = NULL;
    int missing_hooked = 0, missing_used = 0;

    scan_libssl(&scan);
    if (ours.n == 0)
        dl_iterate_phdr(find_ours, (void *)(uintptr_t)&find_ours);
    if (scan.count > 0)
        handle = dlopen(scan.path, RTLD_LAZY | RTLD_NOLOAD);
#define OSSL_RESOLVE_HOOKED(name)                                                  \
    if ((ossl.name = (__typeof__(&name))lookup(handle, #name)) == NULL)            \
        missing_hooked++;
#define OSSL_RESOLVE_USED(name)                                                    \
    if ((ossl.name = (__typeof__(&name))lookup(handle, #name)) == NULL) {          \
        log_debug("OpenSSL function %s not found", #name);                         \
        missing_used++;                                                            \
    }
    OSSL_HOOKED(OSSL_RESOLVE_HOOKED)
    OSSL_USED(OSSL_RESOLVE_USED)
#undef OSSL_RESOLVE_HOOKED
#undef OSSL_RESOLVE_USED
    /* The handle only pins a library the program already holds; keep it. */
    atomic_store(&seen_adds, scan.adds);
    if (ossl.SSL_connect == NULL)
        return OSSL_MISSING;
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

static int first_adds(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(unsigned long long *)arg = info->dlpi_adds;
    return 1; /* stop: every entry carries the same counter */
}

int ossl_still_single(void)
{
    struct libssl_scan scan;
    if (atomic_load(&load_status) != OSSL_READY)
        return 0;
    /* dlpi_adds only grows: an unchanged value means nothing new was mapped. */
    unsigned long long adds = 0;
    dl_iterate_phdr(first_adds, &adds);
    if (adds == atomic_load(&seen_adds))
        return 1;
    scan_libssl(&scan);
    if (scan.count > 1) {
        log_warn("a second libssl build was loaded; standing aside");
        atomic_store(&load_status, OSSL_PASSTHROUGH);
        return 0;
    }
    atomic_store(&seen_adds, adds);
    return 1;
}
