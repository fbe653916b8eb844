/*
 * hooks_libc.c - libc entry points we watch: connect() only, to learn the
 * port of connections whose TLS library sees no socket (ar_conntrack.h).
 * Thin: the real connect runs first, its result and errno pass through.
 * Loads nothing: a program that never uses TLS pays a thread-local write.
 */
#include "ar_conntrack.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#define AR_EXPORT __attribute__((visibility("default")))

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
static _Atomic(connect_fn) real_connect;

AR_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    connect_fn real = atomic_load_explicit(&real_connect, memory_order_acquire);
    if (real == NULL) {
        real = (connect_fn)dlsym(RTLD_NEXT, "connect");
        if (real == NULL) {
            errno = ENOSYS;
            return -1;
        }
        atomic_store_explicit(&real_connect, real, memory_order_release);
    }
    int ret = real(fd, sa, len);
    if (ret == 0 || errno == EINPROGRESS || errno == EINTR)
        conntrack_note(fd, sa, len); /* keeps errno */
    return ret;
}
