/*
 * hooks_libc.c - libc entry points we watch: connect() only, to learn the
 * port of connections whose TLS library sees no socket (ar_conntrack.h).
 * Thin: the real connect runs first, its result and errno pass through.
 * Loads nothing and makes no system call of its own: a program that never
 * uses TLS pays a few thread-local writes per connect.
 */
#include "ar_conntrack.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AR_EXPORT __attribute__((visibility("default")))

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
static _Atomic(connect_fn) real_connect;

/* The kernel's connect, should no libc one be found after us. */
static int raw_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    return (int)syscall(SYS_connect, fd, sa, len);
}

static connect_fn resolve(void)
{
    connect_fn real = (connect_fn)dlsym(RTLD_NEXT, "connect");
    if (real == NULL)
        real = raw_connect;
    atomic_store_explicit(&real_connect, real, memory_order_release);
    return real;
}

/* At load: dlsym is not async-signal-safe, and a first connect() may run in a handler. */
__attribute__((constructor)) static void resolve_early(void)
{
    int saved = errno;
    resolve();
    errno = saved;
}

AR_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    connect_fn real = atomic_load_explicit(&real_connect, memory_order_acquire);
    if (real == NULL)
        real = resolve();
    int ret = real(fd, sa, len);
    if (ret == 0 || errno == EINPROGRESS || errno == EINTR)
        conntrack_note(fd, sa, len); /* no system call: errno stays */
    return ret;
}
