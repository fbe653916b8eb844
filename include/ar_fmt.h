/*
 * ar_fmt.h - numbers into key text without printf, which costs more than
 * the rest of a key (the key is made for every connection). Each writes
 * exactly what the printf conversion named beside it writes.
 */
#ifndef AR_FMT_H
#define AR_FMT_H

#include <string.h>

/* fmt_hex - "%llx", at least min_digits digits zero-padded ("%016llx": 16),
 * min_digits at most 20. Writes no NUL; returns the end of what it wrote. */
static inline char *fmt_hex(char *out, unsigned long long v, int min_digits)
{
    static const char digits[] = "0123456789abcdef";
    char buf[20];
    int i = (int)sizeof buf;
    do {
        buf[--i] = digits[v & 15];
        v >>= 4;
    } while (v != 0 || (int)sizeof buf - i < min_digits);
    memcpy(out, buf + i, sizeof buf - (size_t)i);
    return out + (sizeof buf - (size_t)i);
}

/* fmt_dec - "%lld" (at most 20 bytes). Writes no NUL; returns the end. */
static inline char *fmt_dec(char *out, long long v)
{
    char buf[20];
    int i = (int)sizeof buf;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        buf[--i] = '-';
    memcpy(out, buf + i, sizeof buf - (size_t)i);
    return out + (sizeof buf - (size_t)i);
}

/* fmt_str - the bytes of s without its NUL; returns the end. */
static inline char *fmt_str(char *out, const char *s)
{
    size_t n = strlen(s);
    memcpy(out, s, n);
    return out + n;
}

#endif
