/*
 * verdict.c - the trust-verdict memo. See ar_verdict.h.
 *
 * A handful of entries, replaced round-robin: a process talks to few
 * servers at a time, and a miss only costs the verification it would have
 * made anyway.
 */
#include "ar_verdict.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static struct verdict_entry {
    int used;
    struct ar_verdict_key key;
    int64_t from, until; /* valid for from <= now < until */
    void *hold;
} slots[AR_VERDICT_SLOTS];
static unsigned next_slot;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const struct ar_verdict_ops *ops;
static atomic_int disabled;

void verdict_set_ops(const struct ar_verdict_ops *o)
{
    ops = o;
}

int verdict_key_equal(const struct ar_verdict_key *a, const struct ar_verdict_key *b)
{
    if (a->store != b->store || a->store_objects != b->store_objects ||
        a->chain_len != b->chain_len || a->flags != b->flags || a->inh_flags != b->inh_flags ||
        a->hostflags != b->hostflags || a->depth != b->depth || a->auth_level != b->auth_level ||
        a->security_level != b->security_level || a->verify_mode != b->verify_mode ||
        a->check_time != b->check_time || a->text_len != b->text_len)
        return 0;
    for (int i = 0; i < a->chain_len && i < AR_VERDICT_CHAIN_MAX; i++)
        if (a->chain[i] != b->chain[i])
            return 0;
    return memcmp(a->text, b->text, a->text_len) == 0;
}

int verdict_key_text(struct ar_verdict_key *k, const char *s)
{
    size_t n = strlen(s) + 1;
    if (n > AR_VERDICT_TEXT_MAX - k->text_len)
        return -1;
    memcpy(k->text + k->text_len, s, n);
    k->text_len += n;
    return 0;
}

/* Empty slot e; returns its hold for release outside the lock. */
static void *vacate(struct verdict_entry *e)
{
    void *h = e->hold;
    e->used = 0;
    e->hold = NULL;
    return h;
}

static void release(void *h)
{
    if (h != NULL && ops != NULL)
        ops->release(h);
}

int verdict_find(const struct ar_verdict_key *k, int64_t now)
{
    void *dropped[AR_VERDICT_SLOTS];
    int ndropped = 0, hit = 0;

    if (atomic_load_explicit(&disabled, memory_order_relaxed) || ops == NULL)
        return 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < AR_VERDICT_SLOTS && !hit; i++) {
        struct verdict_entry *e = &slots[i];
        if (!e->used || !verdict_key_equal(&e->key, k))
            continue;
        if (now < e->from || now >= e->until || !ops->still_good(e->hold))
            dropped[ndropped++] = vacate(e);
        else
            hit = 1;
    }
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < ndropped; i++)
        release(dropped[i]);
    return hit;
}

int verdict_add(const struct ar_verdict_key *k, void *hold, int64_t now, int64_t not_after)
{
    int64_t until = now + AR_VERDICT_MAX_AGE;
    void *old = NULL;

    if (not_after < until)
        until = not_after; /* the verification passed, so now <= not_after */
    if (atomic_load_explicit(&disabled, memory_order_relaxed) || ops == NULL || until <= now) {
        release(hold);
        return 0;
    }
    pthread_mutex_lock(&lock);
    struct verdict_entry *e = NULL;
    for (int i = 0; i < AR_VERDICT_SLOTS && e == NULL; i++)
        if (slots[i].used && verdict_key_equal(&slots[i].key, k))
            e = &slots[i]; /* the same inputs again (a racing thread): refresh */
    if (e == NULL)
        e = &slots[next_slot++ % AR_VERDICT_SLOTS];
    if (e->used)
        old = vacate(e);
    e->key = *k;
    e->from = now;
    e->until = until;
    e->hold = hold;
    e->used = 1;
    pthread_mutex_unlock(&lock);
    release(old);
    return 1;
}

void verdict_disable(void)
{
    atomic_store(&disabled, 1);
}

int verdict_enabled(void)
{
    return !atomic_load_explicit(&disabled, memory_order_relaxed);
}

void verdict_fork_lock(void)
{
    pthread_mutex_lock(&lock);
}

void verdict_fork_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

void verdict_reset(void)
{
    void *dropped[AR_VERDICT_SLOTS];
    int n = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < AR_VERDICT_SLOTS; i++)
        if (slots[i].used)
            dropped[n++] = vacate(&slots[i]);
    next_slot = 0;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n; i++)
        release(dropped[i]);
    atomic_store(&disabled, 0);
}

int verdict_count(void)
{
    int n = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < AR_VERDICT_SLOTS; i++)
        n += slots[i].used;
    pthread_mutex_unlock(&lock);
    return n;
}
