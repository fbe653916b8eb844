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

/*
 * Whether the object defines `name` in its own dynamic symbol table (not an
 * undefined reference to it): read from its mapped DT_GNU_HASH or DT_HASH,
 * so without any loader call (we run inside dl_iterate_phdr). glibc has
 * relocated the d_ptr entries in place; a loader that did not (or the
 * vDSO) left them smaller than the load address.
 */
static uintptr_t dyn_ptr(const struct dl_phdr_info *info, ElfW(Addr) v)
{
    return v < info->dlpi_addr ? info->dlpi_addr + v : v;
}

static int sym_is(const ElfW(Sym) *sym, const char *strtab, const char *name)
{
    return sym->st_shndx != SHN_UNDEF && sym->st_value != 0 && strcmp(strtab + sym->st_name, name) == 0;
}

static int defines(const struct dl_phdr_info *info, const char *name)
{
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (dyn == NULL)
        return 0;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *gnu = NULL, *sysv = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_SYMTAB)
            symtab = (const ElfW(Sym) *)dyn_ptr(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_STRTAB)
            strtab = (const char *)dyn_ptr(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_GNU_HASH)
            gnu = (const uint32_t *)dyn_ptr(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_HASH)
            sysv = (const uint32_t *)dyn_ptr(info, dyn->d_un.d_ptr);
    }
    if (symtab == NULL || strtab == NULL)
        return 0;
    if (gnu != NULL) {
        uint32_t nbuckets = gnu[0], symoffset = gnu[1], bloom_size = gnu[2], shift = gnu[3];
        const ElfW(Addr) *bloom = (const ElfW(Addr) *)(gnu + 4);
        const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
        const uint32_t *chain = buckets + nbuckets;
        uint32_t h = 5381;
        for (const unsigned char *c = (const unsigned char *)name; *c; c++)
            h = h * 33 + *c;
        const unsigned bits = sizeof(ElfW(Addr)) * 8;
        if (nbuckets == 0 || bloom_size == 0)
            return 0;
        ElfW(Addr) word = bloom[(h / bits) % bloom_size];
        ElfW(Addr) mask = ((ElfW(Addr))1 << (h % bits)) | ((ElfW(Addr))1 << ((h >> shift) % bits));
        if ((word & mask) != mask)
            return 0;
        uint32_t i = buckets[h % nbuckets];
        if (i < symoffset)
            return 0;
        for (;; i++) {
            uint32_t h2 = chain[i - symoffset];
            if ((h | 1) == (h2 | 1) && sym_is(&symtab[i], strtab, name))
                return 1;
            if (h2 & 1)
                return 0;
        }
    }
    if (sysv != NULL) {
        uint32_t nbucket = sysv[0], h = 0, g;
        const uint32_t *bucket = sysv + 2, *chain = bucket + nbucket;
        for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
            h = (h << 4) + *c;
            if ((g = h & 0xf0000000u) != 0)
                h ^= g >> 24;
            h &= ~g;
        }
        if (nbucket == 0)
            return 0;
        for (uint32_t i = bucket[h % nbucket]; i != STN_UNDEF; i = chain[i])
            if (sym_is(&symtab[i], strtab, name))
                return 1;
    }
    return 0;
}

static int is_ours(void *p);
static pthread_once_t ours_once = PTHREAD_ONCE_INIT;
static void find_ours_once(void);

/* The lowest mapped address of the object: its base. */
static uintptr_t object_base(const struct dl_phdr_info *info)
{
    uintptr_t lo = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_addr + info->dlpi_phdr[i].p_vaddr < lo)
            lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
    return lo;
}

struct scan {
    const char *symbol;
    struct dl_found *out;
};

static int scan_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct scan *s = arg;
    (void)size;
    s->out->adds = info->dlpi_adds;
    s->out->subs = info->dlpi_subs;
    uintptr_t base = object_base(info);
    if (base == UINTPTR_MAX || is_ours((void *)base) || !defines(info, s->symbol))
        return 0;
    if (s->out->count++ == 0) {
        const char *name = info->dlpi_name != NULL ? info->dlpi_name : "";
        strncpy(s->out->path, name, sizeof s->out->path - 1);
        s->out->path[sizeof s->out->path - 1] = '\0';
        s->out->base = base;
    }
    return 0;
}

void dl_find(const char *symbol, struct dl_found *out)
{
    struct scan s = {symbol, out};
    pthread_once(&ours_once, find_ours_once);
    memset(out, 0, sizeof *out);
    walk(scan_one, &s);
}

struct at {
    uintptr_t addr;
    struct dl_object *out;
    int index, found;
};

static int at_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct at *a = arg;
    (void)size;
    int first = a->index++ == 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        lo = s < lo ? s : lo;
        hi = e > hi ? e : hi;
    }
    if (a->addr < lo || a->addr >= hi)
        return 0;
    a->out->lo = lo;
    a->out->hi = hi;
    a->out->is_main = first;
    const char *name = info->dlpi_name != NULL ? info->dlpi_name : "";
    strncpy(a->out->path, name, sizeof a->out->path - 1);
    a->out->path[sizeof a->out->path - 1] = '\0';
    a->found = 1;
    return 1;
}

int dl_is_ours(const void *p)
{
    pthread_once(&ours_once, find_ours_once);
    return is_ours((void *)p);
}

int dl_object_at(const void *addr, struct dl_object *out)
{
    struct at a = {(uintptr_t)addr, out, 0, 0};
    pthread_once(&ours_once, find_ours_once);
    memset(out, 0, sizeof *out);
    walk(at_one, &a);
    if (a.found)
        out->is_ours = is_ours((void *)out->lo);
    return a.found ? 0 : -1;
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

static int first_counts(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    unsigned long long *c = arg;
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1; /* stop: every entry carries the same counters */
}

unsigned long long dl_adds(void)
{
    unsigned long long c[2] = {0, 0};
    walk(first_counts, c);
    return c[0];
}

void dl_counts(unsigned long long *adds, unsigned long long *subs)
{
    unsigned long long c[2] = {0, 0};
    walk(first_counts, c);
    *adds = c[0];
    *subs = c[1];
}
