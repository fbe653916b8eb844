/*
 * faults_fork_probe.c - an LD_PRELOAD shim for the prog.fork-handlers test
 * (tests/integration/cases/faults.sh): reports an OpenSSL lock taken by the
 * child while fork() runs its atfork handlers.  Another thread of the parent
 * may hold that lock at the fork, and OpenSSL has no fork handlers: in the
 * child it may never be released, so a handler that takes it can hang the
 * child inside fork().  The report goes to stderr, one line per child.
 *
 * Build: cc -shared -fPIC -o faults_fork_probe.so faults_fork_probe.c -ldl
 * Use:   LD_PRELOAD="faults_fork_probe.so libautoresume.so" PROGRAM...
 * (first: libcrypto calls its own lock functions through the PLT, so this
 * shim's come first for them too).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The forking thread's: set around the real fork(), and so still set in the
 * child (a copy of that thread) while its atfork handlers run. */
static __thread pid_t forking_from;
static int reported;

pid_t fork(void)
{
    static pid_t (*real)(void);
    if (real == NULL)
        real = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
    forking_from = getpid();
    pid_t pid = real();
    forking_from = 0;
    return pid;
}

static void note(const char *what)
{
    char line[200];
    if (reported)
        return;
    reported = 1;
    int n = snprintf(line, sizeof line, "faults_fork_probe[%d]: %s inside fork() (an atfork child handler)\n",
                     (int)getpid(), what);
    if (n > 0 && write(2, line, (size_t)n) < 0)
        return; /* nothing else to tell */
}

#define PROBE(name)                                                  \
    int name(void *lock)                                             \
    {                                                                \
        static int (*real)(void *);                                  \
        if (real == NULL)                                            \
            real = (int (*)(void *))dlsym(RTLD_NEXT, #name);         \
        if (forking_from != 0 && getpid() != forking_from)           \
            note(#name);                                             \
        return real != NULL ? real(lock) : 0;                        \
    }

PROBE(CRYPTO_THREAD_write_lock)
PROBE(CRYPTO_THREAD_read_lock)
