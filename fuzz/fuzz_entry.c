/*
 * fuzz_entry.c - libFuzzer target for entry_decode (preload/entry.c).
 *
 * Every input is decoded twice: as is (envelope checks: magic, length,
 * checksum) and "resealed" - with the magic, the length field and the
 * trailing checksum rewritten to be correct - so that random bytes reach
 * the field parser. Whenever decoding succeeds the entry is re-encoded; the
 * encoding must succeed, equal the input byte for byte (the format is
 * canonical) and decode to the same fields.
 *
 *   make fuzz FUZZ_SECONDS=60      (see fuzz/fuzz.mk)
 */
#include "ar_entry.h"
#include "ar_key.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_entry: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

static int blob_eq(const struct ar_blob *a, const struct ar_blob *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void check_decoded(const unsigned char *in, size_t len, const struct ar_entry *e)
{
    static struct ar_entry again;
    struct ar_blob out;
    const char *why = NULL;

    /* what decoding accepts is within every bound */
    CHECK(e->key[0] != '\0' && strlen(e->key) <= AR_ENTRY_MAX_KEY);
    CHECK(strlen(e->label) <= AR_ENTRY_MAX_LABEL);
    CHECK(e->s.der.len > 0 && e->s.der.len <= AR_ENTRY_MAX_DER && e->s.der.data != NULL);
    CHECK(e->s.chain.len <= AR_ENTRY_MAX_CHAIN && (e->s.chain.len == 0) == (e->s.chain.data == NULL));
    CHECK(e->s.single_use == 0 || e->s.single_use == 1);
    CHECK(e->s.version >= 0);

    CHECK(entry_encode(e->key, e->label, &e->s, &out) == 0);
    CHECK(out.len == len && memcmp(out.data, in, len) == 0);
    CHECK(entry_decode(out.data, out.len, &again, &why) == 0);
    CHECK(strcmp(again.key, e->key) == 0 && strcmp(again.label, e->label) == 0);
    CHECK(blob_eq(&again.s.der, &e->s.der) && blob_eq(&again.s.chain, &e->s.chain));
    CHECK(again.s.born == e->s.born && again.s.expires == e->s.expires);
    CHECK(again.s.single_use == e->s.single_use && again.s.verify_result == e->s.verify_result);
    CHECK(again.s.version == e->s.version);
    session_clear(&again.s);
    free(out.data);
}

static void one(const unsigned char *buf, size_t len)
{
    static struct ar_entry e; /* ~4.4 KiB: keep it off the stack */
    const char *why = NULL;
    if (entry_decode(buf, len, &e, &why) == 0) {
        check_decoded(buf, len, &e);
        session_clear(&e.s);
    } else {
        CHECK(why != NULL);
        CHECK(e.key[0] == '\0' && e.s.der.data == NULL && e.s.chain.data == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so ASan catches any read past the end */
    unsigned char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    if (size)
        memcpy(buf, data, size);
    one(buf, size);

    if (size >= 16 && size <= AR_ENTRY_MAX) {
        memcpy(buf, "ARS1", 4);
        for (int i = 0; i < 4; i++)
            buf[4 + i] = (unsigned char)(size >> (8 * (3 - i)));
        unsigned long long sum = key_hash64(buf, size - 8);
        for (int i = 0; i < 8; i++)
            buf[size - 8 + (size_t)i] = (unsigned char)(sum >> (8 * (7 - i)));
        one(buf, size);
    }
    free(buf);
    return 0;
}
