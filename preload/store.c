/*
 * store.c - the per-user store; see ar_store.h for the guarantees.
 *
 * Layout:  DIR/salt              16 random bytes, created once
 *          DIR/k<32 hex>/        one directory per key (salted hash)
 *          DIR/k.../<16 hex>-<8 hex>.t|.s   a ticket / a reusable session
 *          DIR/k.../.tmp-* .claim-*        in-flight files, never read
 * All access goes through directory file descriptors with O_NOFOLLOW, and
 * every file or directory is fstat'ed after open: owner and mode checked.
 */
#include "ar_store.h"
#include "ar_entry.h"
#include "ar_fd.h"
#include "ar_key.h"
#include "ar_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SALT_LEN 16
#define NAME_MAX_LEN 64
#define STALE_TEMP_SECONDS 60

struct ar_store {
    int dirfd;
    uid_t uid; /* the opener's: every file and directory read must be its */
    unsigned char salt[SALT_LEN];
    struct ar_store_limits lim;
};

/* Ours and private: owned by uid, no group/other bits, and of the right type. */
static int private_ok(const struct stat *sb, mode_t type, uid_t uid)
{
    return (sb->st_mode & S_IFMT) == type && sb->st_uid == uid && (sb->st_mode & 077) == 0;
}

int store_default_dir(const char *xdg, char *out, size_t cap)
{
    struct stat sb;
    int n;
    if (xdg != NULL && xdg[0] == '/' && lstat(xdg, &sb) == 0 && private_ok(&sb, S_IFDIR, geteuid()))
        n = snprintf(out, cap, "%s/autoresume", xdg);
    else
        n = snprintf(out, cap, "/tmp/autoresume-%lu", (unsigned long)geteuid());
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, GRND_NONBLOCK);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < n) { /* no entropy yet: names only need to be unlikely to collide */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long x = key_hash64(&ts, sizeof ts) ^ (unsigned long long)getpid() << 32;
        for (size_t i = got; i < n; i++, x = x * 6364136223846793005ULL + 1)
            p[i] = (unsigned char)(x >> 56);
    }
}

/*
 * Names of in-flight files: ".tmp-TAG-N" / ".claim-TAG-N", TAG = the pid and
 * random bits drawn once per process (again in a forked child), N a
 * counter, so no system call is spent on naming per connection.
 */
static char inflight_tag[32];
static atomic_uint inflight_seq;
static pthread_once_t tag_once = PTHREAD_ONCE_INIT;

static void make_tag(void)
{
    unsigned r;
    random_bytes(&r, sizeof r);
    snprintf(inflight_tag, sizeof inflight_tag, "%ld-%08x", (long)getpid(), r);
}

static void tag_init(void)
{
    make_tag();
    (void)pthread_atfork(NULL, NULL, make_tag); /* on failure: the pid differs anyway */
}

static void inflight_name(char out[NAME_MAX_LEN], const char *prefix)
{
    pthread_once(&tag_once, tag_init);
    snprintf(out, NAME_MAX_LEN, "%s%s-%x", prefix, inflight_tag,
             atomic_fetch_add(&inflight_seq, 1));
}

/*
 * A directory stream of its own for dfd: a dup() would share the file offset
 * with every other reader of the same descriptor (threads, forked children).
 */
static DIR *open_stream(int dfd)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL && fd >= 0)
        close(fd);
    return d;
}

static int open_dir_at(int at, const char *name, uid_t uid)
{
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !private_ok(&sb, S_IFDIR, uid)) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

/* Write all of data to a new private temp file in dfd and rename it to `name`. */
static int write_atomically(int dfd, const char *name, const void *data, size_t len, int replace)
{
    char tmp[NAME_MAX_LEN];
    inflight_name(tmp, ".tmp-");
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    const unsigned char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    int saved = done == len ? 0 : errno ? errno : ENOSPC;
    if (close(fd) != 0 && saved == 0)
        saved = errno;
    if (saved == 0 &&
        (replace ? renameat(dfd, tmp, dfd, name) : linkat(dfd, tmp, dfd, name, 0)) != 0)
        saved = errno;
    if (saved != 0 || !replace)
        unlinkat(dfd, tmp, 0);
    errno = saved;
    return saved == 0 ? 0 : -1;
}

/* Read a whole private regular file (at most max bytes). */
static int read_file_at(int dfd, const char *name, size_t max, uid_t uid, unsigned char **data,
                        size_t *len)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !private_ok(&sb, S_IFREG, uid) || sb.st_size <= 0 ||
        (size_t)sb.st_size > max) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    size_t n = (size_t)sb.st_size, done = 0;
    unsigned char *buf = malloc(n);
    if (buf == NULL) {
        close(fd);
        return -1;
    }
    while (done < n) {
        ssize_t r = read(fd, buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    close(fd);
    if (done != n) {
        free(buf);
        errno = EIO;
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

static int load_salt(struct ar_store *st)
{
    unsigned char *data = NULL;
    size_t len = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (read_file_at(st->dirfd, "salt", SALT_LEN, st->uid, &data, &len) == 0) {
            if (len == SALT_LEN) {
                memcpy(st->salt, data, SALT_LEN);
                free(data);
                return 0;
            }
            free(data);
            unlinkat(st->dirfd, "salt", 0); /* damaged: start a new store generation */
        } else if (errno != ENOENT) {
            unlinkat(st->dirfd, "salt", 0);
        }
        unsigned char fresh[SALT_LEN];
        random_bytes(fresh, sizeof fresh);
        /* link, not rename: if another process won the race, read its salt */
        write_atomically(st->dirfd, "salt", fresh, sizeof fresh, 0);
    }
    return -1;
}

struct ar_store *store_open(const char *dir, const struct ar_store_limits *lim, const char **why)
{
    if (dir == NULL || dir[0] != '/') {
        *why = "store directory must be an absolute path";
        return NULL;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) { /* created once; opened first, as it mostly exists */
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            *why = "cannot create the store directory";
            return NULL;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        *why = "cannot open the store directory (missing, or a symlink)";
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    uid_t uid = geteuid();
    if (sb.st_uid != uid) {
        close(fd);
        *why = "store directory is owned by another user";
        return NULL;
    }
    if ((sb.st_mode & 077) != 0) {
        close(fd);
        *why = "store directory is open to group or others";
        return NULL;
    }
    struct ar_store *st = calloc(1, sizeof *st);
    if (st == NULL) {
        close(fd);
        *why = "out of memory";
        return NULL;
    }
    /* Held until store_close: never as the program's 0, 1 or 2 (the
     * short-lived ones below are closed before the call returns). */
    st->dirfd = fd = fd_above_stdio(fd);
    if (fd < 0) {
        free(st);
        *why = "cannot open the store directory (no descriptor above 2)";
        return NULL;
    }
    st->uid = uid;
    st->lim = *lim;
    if (load_salt(st) != 0) {
        store_close(st);
        *why = "cannot create the store's salt file (read-only or full?)";
        return NULL;
    }
    return st;
}

void store_close(struct ar_store *st)
{
    if (st == NULL)
        return;
    close(st->dirfd);
    free(st);
}

/* Directory name of a key: salted 128-bit hash, so file names reveal no host. */
static void key_dir_name(const struct ar_store *st, const char *key, char out[NAME_MAX_LEN])
{
    size_t klen = strlen(key);
    unsigned long long h1 = key_hash64(st->salt, SALT_LEN), h2 = ~h1;
    for (size_t i = 0; i < klen; i++) {
        h1 = (h1 ^ (unsigned char)key[i]) * 1099511628211ULL;
        h2 = (h2 ^ (unsigned char)key[i]) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
    }
    /* final avalanche (murmur3 fmix64) so similar keys get unrelated names */
    for (int i = 0; i < 2; i++) {
        unsigned long long *h = i ? &h2 : &h1;
        *h ^= *h >> 33;
        *h *= 0xff51afd7ed558ccdULL;
        *h ^= *h >> 33;
        *h *= 0xc4ceb9fe1a85ec53ULL;
        *h ^= *h >> 33;
    }
    snprintf(out, NAME_MAX_LEN, "k%016llx%016llx", h1, h2);
}

/* Session file names: "<16 hex time>-<8 hex random>.t|.s"; anything else is skipped. */
static int session_name(const char *name, char *kind)
{
    size_t n = strlen(name);
    if (n != 16 + 1 + 8 + 2 || name[16] != '-' || name[25] != '.')
        return 0;
    if (name[26] != 't' && name[26] != 's')
        return 0;
    for (int i = 0; i < 25; i++)
        if (i != 16 && !((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    *kind = name[26];
    return 1;
}

struct name_list {
    char (*names)[NAME_MAX_LEN];
    size_t n;
};

static int cmp_desc(const void *a, const void *b)
{
    return -strcmp(a, b);
}

/*
 * Session files of a key directory, newest first; stale temp files removed.
 * Reads kfd itself (getdents64, no stream of its own): every caller opened
 * kfd for this one call, so nothing else moves its offset, and it has not
 * been read yet.
 */
static int list_sessions(int kfd, struct name_list *out)
{
    char buf[8192] __attribute__((aligned(8)));
    size_t cap = 0;
    ssize_t got;
    out->names = NULL;
    out->n = 0;
    while ((got = getdents64(kfd, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < got;) {
            struct dirent64 *de = (struct dirent64 *)(buf + off);
            off += de->d_reclen;
            char kind;
            if (!session_name(de->d_name, &kind)) {
                struct stat sb;
                if ((strncmp(de->d_name, ".tmp-", 5) == 0 ||
                     strncmp(de->d_name, ".claim-", 7) == 0) &&
                    fstatat(kfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                    sb.st_mtime + STALE_TEMP_SECONDS < time(NULL))
                    unlinkat(kfd, de->d_name, 0); /* left by a killed process */
                continue;
            }
            if (out->n == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                void *p = realloc(out->names, ncap * sizeof out->names[0]);
                if (p == NULL)
                    goto done;
                out->names = p;
                cap = ncap;
            }
            memcpy(out->names[out->n++], de->d_name, strlen(de->d_name) + 1); /* 27 bytes, checked */
        }
    }
done:
    if (got < 0 && out->n == 0) {
        free(out->names);
        out->names = NULL;
        return -1;
    }
    if (out->n > 1)
        qsort(out->names, out->n, sizeof out->names[0], cmp_desc);
    return 0;
}

/* Read and validate one session file; -1 means "remove it". */
static int load_entry(int kfd, const char *name, const char *key, uid_t uid, struct ar_entry *e)
{
    unsigned char *data;
    size_t len;
    const char *why = NULL;
    if (read_file_at(kfd, name, AR_ENTRY_MAX, uid, &data, &len) != 0) {
        if (errno == ENOENT)
            return 0;
        log_warn("store: unreadable entry %s removed (%s)", name, strerror(errno));
        return -1;
    }
    int rc = entry_decode(data, len, e, &why);
    free(data);
    if (rc != 0) {
        log_warn("store: bad entry %s removed (%s)", name, why);
        return -1;
    }
    if (key != NULL && strcmp(e->key, key) != 0) {
        session_clear(&e->s);
        log_warn("store: entry %s holds another key; removed", name);
        return -1;
    }
    return 1;
}

static void remove_key_dir(int dirfd, const char *kname);

int store_put(struct ar_store *st, const char *key, const char *label,
              const struct ar_session *s, int64_t now)
{
    char kname[NAME_MAX_LEN], fname[NAME_MAX_LEN];
    struct ar_blob blob;
    struct timespec ts;
    unsigned r;

    if (s->expires <= now || entry_encode(key, label, s, &blob) != 0)
        return -1;
    key_dir_name(st, key, kname);
    clock_gettime(CLOCK_REALTIME, &ts);
    char tag[NAME_MAX_LEN];
    inflight_name(tag, ""); /* unique in the process: no random bytes to draw */
    r = (unsigned)key_hash64_more(key_hash64(&ts, sizeof ts), tag, strlen(tag));
    snprintf(fname, sizeof fname, "%016llx-%08x.%c",
             (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec, r,
             s->single_use ? 't' : 's');
    int rc = -1, created = 0;
    for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
        int kfd = open_dir_at(st->dirfd, kname, st->uid);
        if (kfd < 0 && errno == ENOENT && mkdirat(st->dirfd, kname, 0700) == 0) {
            created = 1; /* a new key: opened first, as it mostly exists */
            kfd = open_dir_at(st->dirfd, kname, st->uid);
        }
        if (kfd < 0) {
            if (errno != ENOENT) {
                log_warn("store: unusable key directory %s removed", kname);
                remove_key_dir(st->dirfd, kname);
            }
            continue;
        }
        /* ENOENT: the directory was emptied and removed under us; retry once. */
        rc = write_atomically(kfd, fname, blob.data, blob.len, 1);
        if (rc == 0) {
            struct name_list l;
            if (list_sessions(kfd, &l) == 0) {
                unsigned tickets = 0;
                for (size_t i = 0; i < l.n; i++) {
                    char kind = l.names[i][26];
                    if (strcmp(l.names[i], fname) == 0)
                        continue;
                    if ((kind == 's' && !s->single_use) ||
                        (kind == 't' && ++tickets >= st->lim.per_key))
                        unlinkat(kfd, l.names[i], 0);
                }
                free(l.names);
            }
        }
        close(kfd);
    }
    free(blob.data);
    if (rc != 0)
        log_debug("store: cannot write an entry (%s)", strerror(errno));
    if (created)
        store_list(st, now, NULL, NULL); /* new key: enforce the caps */
    return rc;
}

static void remove_key_dir(int dirfd, const char *kname)
{
    int kfd = openat(dirfd, kname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (kfd >= 0) {
        DIR *d = open_stream(kfd);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                unlinkat(kfd, de->d_name, 0);
        if (d != NULL)
            closedir(d);
        close(kfd);
        unlinkat(dirfd, kname, AT_REMOVEDIR);
    } else {
        unlinkat(dirfd, kname, 0); /* a file or symlink planted where a key directory goes */
    }
}

int store_take(struct ar_store *st, const char *key, int64_t now, struct ar_session *out)
{
    char kname[NAME_MAX_LEN];
    struct name_list l;
    int found = 0;

    memset(out, 0, sizeof *out);
    key_dir_name(st, key, kname);
    int kfd = open_dir_at(st->dirfd, kname, st->uid);
    if (kfd < 0) {
        if (errno != ENOENT) { /* not a private directory of ours: never read, remove */
            log_warn("store: unusable key directory %s removed", kname);
            remove_key_dir(st->dirfd, kname);
        }
        return 0;
    }
    if (list_sessions(kfd, &l) != 0) {
        close(kfd);
        return -1;
    }
    struct ar_entry *e = malloc(sizeof *e);
    int changed = 0; /* a rename or unlink in kfd, which sets its mtime */
    for (size_t i = 0; e != NULL && i < l.n && !found; i++) {
        const char *name = l.names[i];
        char claimed[NAME_MAX_LEN];
        if (name[26] == 't') {
            inflight_name(claimed, ".claim-");
            /* No replace: a child made without atfork handlers (_Fork) shares
             * our in-flight names, and must not take over our claim. */
            int r = renameat2(kfd, name, kfd, claimed, RENAME_NOREPLACE);
            if (r != 0 && (errno == EINVAL || errno == ENOSYS)) /* a file system without it */
                r = renameat(kfd, name, kfd, claimed);
            if (r != 0)
                continue; /* another process claimed it first */
            name = claimed;
            changed = 1;
        }
        int rc = load_entry(kfd, name, key, st->uid, e);
        if (rc > 0 && session_usable(&e->s, now)) {
            *out = e->s;
            found = 1;
        } else if (rc > 0) {
            session_clear(&e->s);
            rc = -1; /* expired */
        }
        if (rc < 0 || name == claimed)
            changed |= unlinkat(kfd, name, 0) == 0;
    }
    free(e);
    free(l.names);
    if (!changed)
        futimens(kfd, NULL); /* recently used: last to be evicted */
    close(kfd);
    if (!found)
        unlinkat(st->dirfd, kname, AT_REMOVEDIR); /* only succeeds when empty */
    return found;
}

void store_drop(struct ar_store *st, const char *key)
{
    char kname[NAME_MAX_LEN];
    key_dir_name(st, key, kname);
    remove_key_dir(st->dirfd, kname);
}

void store_drop_born(struct ar_store *st, const char *key, int64_t born_max)
{
    char kname[NAME_MAX_LEN];
    struct name_list l;
    key_dir_name(st, key, kname);
    int kfd = open_dir_at(st->dirfd, kname, st->uid);
    if (kfd < 0)
        return;
    struct ar_entry *e = malloc(sizeof *e);
    if (e != NULL && list_sessions(kfd, &l) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            int rc = load_entry(kfd, l.names[i], key, st->uid, e);
            if (rc < 0 || (rc > 0 && e->s.born <= born_max))
                unlinkat(kfd, l.names[i], 0);
            if (rc > 0)
                session_clear(&e->s);
        }
        free(l.names);
    }
    free(e);
    close(kfd);
    unlinkat(st->dirfd, kname, AT_REMOVEDIR); /* only succeeds when empty */
}

struct key_summary {
    char name[NAME_MAX_LEN];
    struct timespec mtime;
    size_t bytes;
};

/* Least recently used first; nanoseconds matter: keys are written in bursts. */
static int cmp_mtime(const void *a, const void *b)
{
    const struct key_summary *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : x->mtime.tv_nsec > y->mtime.tv_nsec;
}

/* Summarize one key directory; removes invalid or expired entries. 0 if empty. */
/* The "lib=" field of a key (key.c writes it second, escaped to [A-Za-z0-9._:-]). */
static void key_library(const char *key, char *out, size_t cap)
{
    const char *p = strstr(key, "|lib=");
    size_t n = 0;
    if (p != NULL) {
        p += 5;
        while (p[n] != '\0' && p[n] != '|' && n + 1 < cap)
            n++;
    }
    if (n == 0) {
        snprintf(out, cap, "?");
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static int summarize(int kfd, uid_t uid, int64_t now, struct ar_store_info *info, char *label, char *key,
                     size_t *bytes)
{
    struct name_list l;
    struct ar_entry *e = malloc(sizeof *e);
    int have = 0;
    memset(info, 0, sizeof *info);
    *bytes = 0;
    if (e == NULL || list_sessions(kfd, &l) != 0) {
        free(e);
        return 0;
    }
    for (size_t i = 0; i < l.n; i++) {
        int rc = load_entry(kfd, l.names[i], NULL, uid, e);
        if (rc > 0 && e->s.expires <= now)
            rc = -1, session_clear(&e->s);
        if (rc < 0)
            unlinkat(kfd, l.names[i], 0);
        if (rc <= 0)
            continue;
        struct stat sb;
        if (fstatat(kfd, l.names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0)
            *bytes += (size_t)sb.st_size;
        if (!have) { /* newest first */
            snprintf(label, AR_ENTRY_MAX_LABEL + 1, "%s", e->label);
            snprintf(key, AR_ENTRY_MAX_KEY + 1, "%s", e->key);
            key_library(e->key, info->library, sizeof info->library);
            info->version = e->s.version;
            info->age = now - e->s.born;
            info->expires_in = e->s.expires - now;
            have = 1;
        }
        if (e->s.single_use)
            info->tickets++;
        else
            info->sessions++;
        session_clear(&e->s);
    }
    free(l.names);
    free(e);
    info->label = label;
    info->key = key;
    return have;
}

/*
 * Walk every key: report it, remove empty/invalid ones, then evict least
 * recently used keys beyond the key and byte caps.
 */
int store_list(struct ar_store *st, int64_t now, void (*fn)(const struct ar_store_info *, void *),
               void *arg)
{
    DIR *d = open_stream(st->dirfd);
    struct key_summary *keys = NULL;
    size_t n = 0, cap = 0, total = 0;
    char label[AR_ENTRY_MAX_LABEL + 1], key[AR_ENTRY_MAX_KEY + 1];
    struct dirent *de;
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        struct stat tsb;
        if (strncmp(de->d_name, ".tmp-", 5) == 0 &&
            fstatat(st->dirfd, de->d_name, &tsb, AT_SYMLINK_NOFOLLOW) == 0 &&
            tsb.st_mtime + STALE_TEMP_SECONDS < time(NULL))
            unlinkat(st->dirfd, de->d_name, 0); /* a salt write that was killed */
        if (de->d_name[0] != 'k' || strlen(de->d_name) != 33)
            continue;
        int kfd = open_dir_at(st->dirfd, de->d_name, st->uid);
        struct ar_store_info info;
        size_t bytes;
        struct stat sb;
        if (kfd < 0 || fstat(kfd, &sb) != 0 || !summarize(kfd, st->uid, now, &info, label, key, &bytes)) {
            if (kfd >= 0)
                close(kfd);
            remove_key_dir(st->dirfd, de->d_name);
            continue;
        }
        close(kfd);
        if (fn != NULL)
            fn(&info, arg);
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            void *p = realloc(keys, ncap * sizeof keys[0]);
            if (p == NULL)
                continue;
            keys = p;
            cap = ncap;
        }
        memcpy(keys[n].name, de->d_name, 34); /* "k" + 32 hex + NUL, checked */
        keys[n].mtime = sb.st_mtim;
        keys[n].bytes = bytes;
        total += bytes;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(keys, n, sizeof keys[0], cmp_mtime);
    size_t kept = n;
    for (size_t i = 0; i < n && (kept > st->lim.max_keys || total > st->lim.max_bytes); i++) {
        remove_key_dir(st->dirfd, keys[i].name);
        total -= keys[i].bytes;
        kept--;
    }
    free(keys);
    return (int)kept;
}

struct clear_ctx {
    const char *match;
    int removed;
};

/*
 * "host" matches any port of host, "host:port" only that one. Labels are
 * "host:port" with the port (or "?") after the last ':', IPv6 hosts bare.
 */
static int label_matches(const char *label, const char *match)
{
    size_t n = strlen(match);
    if (strncmp(label, match, n) != 0)
        return 0;
    return label[n] == '\0' || (label[n] == ':' && strchr(label + n + 1, ':') == NULL);
}

int store_clear(struct ar_store *st, const char *match)
{
    DIR *d = open_stream(st->dirfd);
    char label[AR_ENTRY_MAX_LABEL + 1], key[AR_ENTRY_MAX_KEY + 1];
    struct dirent *de;
    int removed = 0;
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != 'k' || strlen(de->d_name) != 33)
            continue;
        if (match != NULL) {
            int kfd = open_dir_at(st->dirfd, de->d_name, st->uid);
            struct ar_store_info info;
            size_t bytes;
            /* Only what names the server: a key directory with nothing
             * readable in it (another client's ticket in flight, say) is
             * not this server's to clear. */
            int matches = kfd >= 0 &&
                          summarize(kfd, st->uid, time(NULL), &info, label, key, &bytes) &&
                          label_matches(label, match);
            if (kfd >= 0)
                close(kfd);
            if (!matches)
                continue;
        }
        remove_key_dir(st->dirfd, de->d_name);
        removed++;
    }
    closedir(d);
    return removed;
}
