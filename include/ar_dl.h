/*
 * ar_dl.h - find a TLS library the program mapped, and resolve functions
 * from it without ever loading it ourselves.
 *
 * dl_iterate_phdr lists every mapped object, including those dlopen'ed with
 * RTLD_LOCAL (python's _ssl), where dlsym(RTLD_NEXT) cannot see them;
 * dlopen(path, RTLD_NOLOAD) then gives a handle without loading anything.
 * Shared by the OpenSSL and GnuTLS glue.
 */
#ifndef AR_DL_H
#define AR_DL_H

#include <stddef.h>

#include <stdint.h>

struct dl_found {
    char path[4096];          /* first mapped object that defines the symbol ("" for the program) */
    uintptr_t base;           /* its lowest mapped address */
    unsigned count;           /* how many such objects are mapped */
    unsigned long long adds;  /* dlpi_adds at the time of the scan */
    unsigned long long subs;  /* dlpi_subs at the time of the scan */
};

/*
 * dl_find - scan the mapped objects (this library left out) for those whose
 * own dynamic symbol table defines `symbol` ("SSL_connect", "gnutls_handshake"):
 * a library is known by what it defines, not by its file name, so a renamed
 * private copy (a python wheel's libssl-<hash>.so.3) counts too. Reads the
 * objects' mapped hash tables; never loads anything. Thread-safe.
 */
void dl_find(const char *symbol, struct dl_found *out);

struct dl_object {
    char path[4096];  /* as the loader names it ("" for the program) */
    uintptr_t lo, hi; /* the span of its mapped segments */
    int is_main;      /* the program itself (the loader's first object) */
    int is_ours;      /* this very library */
};

/*
 * dl_object_at - the mapped object whose segments' span holds addr: 0, or
 * -1 if none does. Never loads anything. Thread-safe.
 */
int dl_object_at(const void *addr, struct dl_object *out);

/* dl_is_ours - 1 if p points into this very library. Thread-safe. */
int dl_is_ours(const void *p);

/*
 * dl_lookup - `name` from `handle` (may be NULL), else dlsym(RTLD_NEXT).
 * A pointer into this very library (our own hook: a circular lookup) is
 * reported as NULL. Thread-safe.
 */
void *dl_lookup(void *handle, const char *name);

/* dl_adds - the loader's count of objects ever mapped; it only grows. */
unsigned long long dl_adds(void);

/* dl_counts - dl_adds, and the count of objects ever unmapped, in one walk. */
/* All of these are fork-safe: fork() waits for a scan in progress (dl.c). */
void dl_counts(unsigned long long *adds, unsigned long long *subs);

#endif
