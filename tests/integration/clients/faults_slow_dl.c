/*
 * faults_slow_dl.c - an LD_PRELOAD shim for the prog.fork-in-dl-iterate test
 * (tests/integration/cases/faults.sh): every dl_iterate_phdr(3) call lingers
 * 5 ms inside, while glibc holds the loader's write lock, which fork() does
 * not reset in the child (glibc 2.36 resets dl_load_lock only).  So a fork in
 * one thread nearly always lands while another thread of the same caller is
 * in there, and a child that then calls dl_iterate_phdr blocks for good.
 *
 * Build: cc -shared -fPIC -o faults_slow_dl.so faults_slow_dl.c -ldl
 * Use:   LD_PRELOAD="faults_slow_dl.so libautoresume.so" PROGRAM...
 * (first, so that it comes before libc for every caller).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

typedef int (*phdr_cb)(struct dl_phdr_info *, size_t, void *);

struct slow {
    phdr_cb cb;
    void *arg;
    int slept;
};

static int slow_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct slow *s = arg;
    if (!s->slept) {
        s->slept = 1;
        usleep(5000);
    }
    return s->cb(info, size, s->arg);
}

int dl_iterate_phdr(phdr_cb cb, void *arg)
{
    static int (*real)(phdr_cb, void *);
    if (real == NULL)
        real = (int (*)(phdr_cb, void *))dlsym(RTLD_NEXT, "dl_iterate_phdr");
    if (real == NULL)
        return 0;
    struct slow s = {cb, arg, 0};
    return real(slow_cb, &s);
}
