/*
 * cache.c - uthash table of server keys, each with a short array of
 * sessions (oldest first). LRU order is uthash's insertion order: a key
 * touched is deleted and re-added, so the head is the least recently used.
 */
#include "ar_cache.h"
#include "ar_env.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* uthash must never exit() the host: report allocation failure instead. */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) (oom = 1)
#include <uthash.h>

struct entry {
    char *key;
    char *label;                 /* for publishing tickets to the store; may be NULL */
    unsigned count;
    struct ar_session *sessions; /* [per_key], oldest first */
    UT_hash_handle hh;
};

struct ar_cache {
    pthread_mutex_t lock;
    struct entry *table;
    unsigned max_keys;
    unsigned per_key;
};

static const struct ar_native_ops *native_ops;

void cache_set_native_ops(const struct ar_native_ops *ops)
{
    native_ops = ops;
}

int session_present(const struct ar_session *s)
{
    return s->der.len > 0 || (s->native != NULL && native_ops != NULL && native_ops->encode != NULL);
}

int session_encode(struct ar_session *s, int final)
{
    if (s->der.len > 0)
        return 0;
    if (s->native == NULL || native_ops == NULL || native_ops->encode == NULL)
        return -1;
    struct ar_blob der = {NULL, 0};
    if (native_ops->encode(s->native, &der, final) != 0 || der.len == 0) {
        free(der.data);
        return -1;
    }
    s->der = der;
    return 0;
}

void session_clear(struct ar_session *s)
{
    if (s == NULL)
        return;
    if (s->native != NULL && native_ops != NULL)
        native_ops->unref(s->native);
    free(s->der.data);
    free(s->chain.data);
    memset(s, 0, sizeof *s);
}

int blob_copy(struct ar_blob *dst, const struct ar_blob *src)
{
    dst->data = NULL;
    dst->len = 0;
    if (src->len == 0)
        return 0;
    dst->data = malloc(src->len);
    if (dst->data == NULL)
        return -1;
    memcpy(dst->data, src->data, src->len);
    dst->len = src->len;
    return 0;
}

int session_copy(struct ar_session *dst, const struct ar_session *src)
{
    *dst = *src;
    dst->native = NULL;
    if (blob_copy(&dst->der, &src->der) != 0 || blob_copy(&dst->chain, &src->chain) != 0) {
        free(dst->der.data);
        memset(dst, 0, sizeof *dst);
        return -1;
    }
    if (src->native != NULL && native_ops != NULL)
        dst->native = native_ops->ref(src->native);
    return 0;
}

struct ar_cache *cache_new(unsigned max_keys, unsigned per_key)
{
    if (max_keys == 0 || per_key == 0)
        return NULL;
    struct ar_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->max_keys = max_keys;
    c->per_key = per_key;
    return c;
}

static void entry_free(struct entry *e)
{
    for (unsigned i = 0; i < e->count; i++)
        session_clear(&e->sessions[i]);
    free(e->sessions);
    free(e->key);
    free(e->label);
    free(e);
}

/* Remove session i of e, keeping order. */
static void entry_remove_at(struct entry *e, unsigned i)
{
    session_clear(&e->sessions[i]);
    memmove(&e->sessions[i], &e->sessions[i + 1], (e->count - i - 1) * sizeof e->sessions[0]);
    e->count--;
    memset(&e->sessions[e->count], 0, sizeof e->sessions[0]);
}

/* Move session i of e into *out (the caller owns it then), keeping order. */
static void entry_take_at(struct entry *e, unsigned i, struct ar_session *out)
{
    *out = e->sessions[i];
    memset(&e->sessions[i], 0, sizeof e->sessions[i]);
    entry_remove_at(e, i); /* cleared already: only closes the gap */
}

#define FUTURE_SLACK 60

int session_usable(const struct ar_session *s, int64_t now)
{
    /* The caps hold whatever the stored expiry says (an entry written by an
     * older version, or by hand): they are applied on every read. */
    int64_t cap = s->version >= 0x0304 ? AR_MAX_AGE_TLS13 : AR_MAX_AGE_TLS12;
    return s->expires > now && now < s->born + cap && s->born <= now + FUTURE_SLACK;
}

static void entry_expire(struct entry *e, int64_t now)
{
    for (unsigned i = e->count; i-- > 0;)
        if (!session_usable(&e->sessions[i], now))
            entry_remove_at(e, i);
}

static void table_remove(struct ar_cache *c, struct entry *e)
{
    HASH_DEL(c->table, e);
    entry_free(e);
}

/*
 * Move e to the most-recently-used end. Returns e, or NULL if re-adding it
 * failed for lack of memory (e is freed then: the table stays consistent).
 */
static struct entry *table_touch(struct ar_cache *c, struct entry *e)
{
    int oom = 0;
    /* Same key, same hash: uthash's own copy spares hashing the key again. */
    unsigned hashv = e->hh.hashv, keylen = e->hh.keylen;
    HASH_DEL(c->table, e);
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, c->table, e->key, keylen, hashv, e);
    if (oom) {
        entry_free(e);
        return NULL;
    }
    return e;
}

void cache_free(struct ar_cache *c)
{
    if (c == NULL)
        return;
    struct entry *e, *tmp;
    HASH_ITER(hh, c->table, e, tmp) {
        table_remove(c, e);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static struct entry *entry_new(struct ar_cache *c, const char *key)
{
    struct entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->key = strdup(key);
    e->sessions = calloc(c->per_key, sizeof e->sessions[0]);
    if (e->key == NULL || e->sessions == NULL) {
        entry_free(e);
        return NULL;
    }
    int oom = 0;
    HASH_ADD_KEYPTR(hh, c->table, e->key, strlen(e->key), e);
    if (oom) {
        entry_free(e);
        return NULL;
    }
    /* Evict least recently used keys beyond the cap (never e: it is newest). */
    while (HASH_COUNT(c->table) > c->max_keys)
        table_remove(c, c->table);
    return e;
}

/* key's entry, made most recently used, or a new one (NULL: out of memory). Under c->lock. */
static struct entry *entry_for(struct ar_cache *c, const char *key)
{
    struct entry *e;
    HASH_FIND_STR(c->table, key, e);
    return e == NULL ? entry_new(c, key) : table_touch(c, e);
}

int cache_put(struct ar_cache *c, const char *key, struct ar_session *s, int64_t now)
{
    int rc = -1;
    if (s->expires <= now || !session_present(s)) {
        session_clear(s);
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    struct entry *e = entry_for(c, key);
    if (e != NULL) {
        entry_expire(e, now);
        if (!s->single_use) /* a newer reusable session supersedes older ones */
            for (unsigned i = e->count; i-- > 0;)
                if (!e->sessions[i].single_use)
                    entry_remove_at(e, i);
        if (e->count == c->per_key)
            entry_remove_at(e, 0);
        e->sessions[e->count++] = *s;
        memset(s, 0, sizeof *s);
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    session_clear(s);
    return rc;
}

int cache_keep_ticket(struct ar_cache *c, const char *key, const char *label,
                      struct ar_session *s, int64_t now, unsigned share,
                      struct ar_session *spilled)
{
    int rc = -1;
    memset(spilled, 0, sizeof *spilled);
    if (s->expires <= now || !session_present(s) || !s->single_use) {
        session_clear(s);
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    struct entry *e = entry_for(c, key);
    if (e != NULL && (e->label == NULL || strcmp(e->label, label) != 0)) {
        char *l = strdup(label);
        if (l != NULL) {
            free(e->label);
            e->label = l;
        }
    }
    if (e != NULL) {
        entry_expire(e, now);
        unsigned tickets = 0, oldest = 0;
        for (unsigned i = e->count; i-- > 0;)
            if (e->sessions[i].single_use) {
                tickets++;
                oldest = i;
            }
        if (tickets > 0 && (tickets >= share || e->count == c->per_key)) {
            /* the oldest ticket goes out, not away */
            entry_take_at(e, oldest, spilled);
        } else if (e->count == c->per_key) {
            entry_remove_at(e, 0);
        }
        e->sessions[e->count++] = *s;
        memset(s, 0, sizeof *s);
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    session_clear(s);
    return rc;
}

size_t cache_drain_tickets(struct ar_cache *c,
                           void (*fn)(const char *key, const char *label, struct ar_session *s,
                                      void *arg),
                           void *arg)
{
    struct drained {
        char *key, *label;
        struct ar_session s;
    } *out = NULL;
    size_t n = 0, cap = 0;

    /* At exit: exit() called from a signal handler that interrupted this
     * thread inside the table would wait forever; give up instead. */
    int locked = 0;
    for (int tries = 0; tries < 200 && !locked; tries++) {
        locked = pthread_mutex_trylock(&c->lock) == 0;
        if (!locked)
            sched_yield();
    }
    if (!locked)
        return 0;
    struct entry *e, *tmp;
    HASH_ITER(hh, c->table, e, tmp) {
        for (unsigned i = e->count; i-- > 0;) {
            if (!e->sessions[i].single_use)
                continue;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                void *p = realloc(out, ncap * sizeof out[0]);
                if (p == NULL)
                    break;
                out = p;
                cap = ncap;
            }
            out[n].key = strdup(e->key);
            out[n].label = strdup(e->label != NULL ? e->label : "?");
            entry_take_at(e, i, &out[n].s);
            n++;
        }
        if (e->count == 0)
            table_remove(c, e);
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        if (out[i].key != NULL && out[i].label != NULL)
            fn(out[i].key, out[i].label, &out[i].s, arg);
        session_clear(&out[i].s);
        free(out[i].key);
        free(out[i].label);
    }
    free(out);
    return n;
}

int cache_take(struct ar_cache *c, const char *key, int64_t now, struct ar_session *out)
{
    int rc = 0;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&c->lock);
    struct entry *e;
    HASH_FIND_STR(c->table, key, e);
    if (e != NULL) {
        entry_expire(e, now);
        if (e->count == 0) {
            table_remove(c, e);
        } else {
            struct ar_session *s = &e->sessions[e->count - 1];
            if (s->single_use) {
                entry_take_at(e, e->count - 1, out);
                rc = 1;
            } else {
                rc = session_copy(out, s) == 0 ? 1 : -1;
            }
            if (e->count == 0)
                table_remove(c, e);
            else
                (void)table_touch(c, e);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void cache_drop(struct ar_cache *c, const char *key)
{
    pthread_mutex_lock(&c->lock);
    struct entry *e;
    HASH_FIND_STR(c->table, key, e);
    if (e != NULL)
        table_remove(c, e);
    pthread_mutex_unlock(&c->lock);
}

void cache_drop_born(struct ar_cache *c, const char *key, int64_t born_max)
{
    pthread_mutex_lock(&c->lock);
    struct entry *e;
    HASH_FIND_STR(c->table, key, e);
    if (e != NULL) {
        for (unsigned i = e->count; i-- > 0;)
            if (e->sessions[i].born <= born_max)
                entry_remove_at(e, i);
        if (e->count == 0)
            table_remove(c, e);
    }
    pthread_mutex_unlock(&c->lock);
}

size_t cache_count(struct ar_cache *c, size_t *sessions)
{
    pthread_mutex_lock(&c->lock);
    size_t keys = HASH_COUNT(c->table), n = 0;
    for (struct entry *e = c->table; e != NULL; e = e->hh.next)
        n += e->count;
    pthread_mutex_unlock(&c->lock);
    if (sessions)
        *sessions = n;
    return keys;
}

void cache_fork_prepare(struct ar_cache *c)
{
    pthread_mutex_lock(&c->lock);
}

void cache_fork_parent(struct ar_cache *c)
{
    pthread_mutex_unlock(&c->lock);
}

void cache_fork_child(struct ar_cache *c)
{
    pthread_mutex_unlock(&c->lock);
    struct entry *e, *tmp;
    HASH_ITER(hh, c->table, e, tmp) {
        for (unsigned i = e->count; i-- > 0;)
            if (e->sessions[i].single_use) {
                /* This runs inside fork(), and another thread of the parent
                 * may have held any of OpenSSL's locks then (OpenSSL has no
                 * fork handlers): freeing the parsed form (SSL_SESSION_free,
                 * X509_free) takes them and could block the child for good.
                 * The child leaves it unfreed: a few objects at most, in the
                 * child only. */
                e->sessions[i].native = NULL;
                entry_remove_at(e, i);
            }
        if (e->count == 0)
            table_remove(c, e);
    }
}
