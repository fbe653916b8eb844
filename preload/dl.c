/*
 * dl.c - find mapped libraries and resolve from them. See ar_dl.h.
 */
#include "ar_dl.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

/*
 * glibc's fork() resets the loader's main lock in the child, but not the one
 * dl_iterate_phdr holds while it calls back (dl_load_write_lock, glibc 2.36):
 * a child forked while one of our threads was in there blocks for good in its
 * own next dl_iterate_phdr, which every OpenSSL offer makes (dl_adds). So all
 * our calls go through walk(), under a mutex that fork() takes first: no
 * thread of ours is inside dl_iterate_phdr when a child is made.
 */
static pthread_mutex_t walk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t walk_once = PTHREAD_ONCE_INIT;

static void walk_fork_prepare(void)
{
    pthread_mutex_lock(&walk_lock);
}

static void walk_fork_release(void)
{
    pthread_mutex_unlock(&walk_lock);
}

static void walk_setup(void)
{
    /* On failure (out of memory) we are only as fork-safe as before. */
    (void)pthread_atfork(walk_fork_prepare, walk_fork_release, walk_fork_release);
}

/* dl_iterate_phdr(cb, arg); cb must take no lock. */
static int walk(int (*cb)(struct dl_phdr_info *, size_t, void *), void *arg)
{
    pthread_once(&walk_once, walk_setup);
    pthread_mutex_lock(&walk_lock);
    int rc = dl_iterate_phdr(cb, arg);
    pthread_mutex_unlock(&walk_lock);
    return rc;
}

struct scan {
    const char *prefix;
    struct dl_found *out;
};

static int scan_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct scan *s = arg;
    (void)size;
    s->out->adds = info->dlpi_adds;
    if (info->dlpi_name == NULL)
        return 0;
    const char *base = strrchr(info->dlpi_name, '/');
    base = base ? base + 1 : info->dlpi_name;
    if (strncmp(base, s->prefix, strlen(s->prefix)) != 0)
        return 0;
    if (s->out->count++ == 0) {
        strncpy(s->out->path, info->dlpi_name, sizeof s->out->path - 1);
        s->out->path[sizeof s->out->path - 1] = '\0';
    }
    return 0;
}

void dl_find(const char *prefix, struct dl_found *out)
{
    struct scan s = {prefix, out};
    memset(out, 0, sizeof *out);
    walk(scan_one, &s);
}

/* This library's loaded segments, to recognise a lookup that found our own hook. */
static struct {
    uintptr_t start[8], end[8];
    int n;
} ours;
static pthread_once_t ours_once = PTHREAD_ONCE_INIT;

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

static void find_ours_once(void)
{
    walk(find_ours, (void *)(uintptr_t)&find_ours);
}

/* Whether p points into this very library. Cheap: no dladdr per symbol. */
static int is_ours(void *p)
{
    for (int i = 0; i < ours.n; i++)
        if ((uintptr_t)p >= ours.start[i] && (uintptr_t)p < ours.end[i])
            return 1;
    return 0;
}

void *dl_lookup(void *handle, const char *name)
{
    pthread_once(&ours_once, find_ours_once);
    void *p = handle ? dlsym(handle, name) : NULL;
    if (p == NULL)
        p = dlsym(RTLD_NEXT, name);
    if (p != NULL && is_ours(p))
        p = NULL;
    return p;
}

static int first_adds(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(unsigned long long *)arg = info->dlpi_adds;
    return 1; /* stop: every entry carries the same counter */
}

unsigned long long dl_adds(void)
{
    unsigned long long adds = 0;
    walk(first_adds, &adds);
    return adds;
}
