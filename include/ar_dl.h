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

struct dl_found {
    char path[4096];          /* first mapped object whose file name starts with the prefix */
    unsigned count;           /* how many such objects are mapped */
    unsigned long long adds;  /* dlpi_adds at the time of the scan */
};

/*
 * dl_find - scan the mapped objects for file names starting with `prefix`
 * ("libssl.so", "libgnutls.so"). Never loads anything. Thread-safe.
 */
void dl_find(const char *prefix, struct dl_found *out);

/*
 * dl_lookup - `name` from `handle` (may be NULL), else dlsym(RTLD_NEXT).
 * A pointer into this very library (our own hook: a circular lookup) is
 * reported as NULL. Thread-safe.
 */
void *dl_lookup(void *handle, const char *name);

/* dl_adds - the loader's count of objects ever mapped; it only grows. */
/* All three are fork-safe: fork() waits for a scan in progress (dl.c). */
unsigned long long dl_adds(void);

#endif
