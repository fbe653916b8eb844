/*
 * key.c - canonical session keys. See ar_key.h for what goes in and why.
 */
#include "ar_key.h"
#include "ar_fmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct sink {
    char *out;
    size_t cap;
    size_t len;
    int overflow;
};

static void put_raw(struct sink *s, const char *text, size_t n)
{
    if (s->overflow || s->len + n >= s->cap) {
        s->overflow = 1;
        return;
    }
    memcpy(s->out + s->len, text, n);
    s->len += n;
    s->out[s->len] = '\0';
}

static void put_fmt(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(struct sink *s, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) {
        s->overflow = 1;
        return;
    }
    put_raw(s, buf, (size_t)n);
}

static int plain_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_' || c == ':';
}

static void put_cstr(struct sink *s, const char *text)
{
    put_raw(s, text, strlen(text));
}

/* Numbers written by hand (ar_fmt.h): printf costs more than the rest of a key. */
static void put_dec(struct sink *s, unsigned v)
{
    char buf[20];
    put_raw(s, buf, (size_t)(fmt_dec(buf, v) - buf));
}

static void put_hex(struct sink *s, unsigned long long v, int min_digits)
{
    char buf[20];
    put_raw(s, buf, (size_t)(fmt_hex(buf, v, min_digits) - buf));
}

/* ":port", written whole or not at all (as a label is cut short). */
static void put_port(struct sink *s, unsigned port)
{
    char buf[16];
    struct sink t = {buf, sizeof buf, 0, 0};
    put_raw(&t, ":", 1);
    put_dec(&t, port);
    put_raw(s, buf, t.len);
}

/* Field "name=" then the value percent-escaped; NULL and "" differ. */
static void put_field(struct sink *s, const char *name, const unsigned char *v, size_t n, int present)
{
    static const char upper[] = "0123456789ABCDEF";
    put_raw(s, "|", 1);
    put_cstr(s, name);
    if (!present) {
        put_raw(s, "!", 1);
        return;
    }
    put_raw(s, "=", 1);
    size_t i = 0;
    while (i < n && !s->overflow) {
        size_t run = i;
        while (run < n && plain_byte(v[run]))
            run++;
        if (run > i) {
            put_raw(s, (const char *)v + i, run - i); /* a run of plain bytes at once */
            i = run;
            continue;
        }
        char esc[3] = {'%', upper[v[i] >> 4], upper[v[i] & 15]};
        put_raw(s, esc, sizeof esc);
        i++;
    }
}

static void put_str(struct sink *s, const char *name, const char *v)
{
    put_field(s, name, (const unsigned char *)v, v ? strlen(v) : 0, v != NULL);
}

unsigned long long key_hash64_more(unsigned long long h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

unsigned long long key_hash64(const void *data, size_t len)
{
    return key_hash64_more(1469598103934665603ULL, data, len);
}

int key_make(const struct ar_key_input *in, char *out, size_t cap, const char **why)
{
    struct sink s = {out, cap, 0, 0};

    if (cap == 0 || in->library == NULL || in->library[0] == '\0') {
        *why = "no library tag";
        return -1;
    }
    out[0] = '\0';
    /* A name the client asked for, or the address it reached: never mixed. */
    int has_name = in->server_name != NULL && in->server_name[0] != '\0';
    int has_ip = in->has_socket && in->peer_ip != NULL && in->peer_ip[0] != '\0';
    if (!has_name && !has_ip) {
        *why = "no server identity";
        return -1;
    }
    put_raw(&s, "v2", 2);
    put_str(&s, "lib", in->library);
    /* A port seen on the thread's socket only ever splits a name's key. */
    int seen = !in->has_socket && has_name && in->seen_port != 0;
    put_str(&s, "via", in->has_socket ? "tcp" : seen ? "seen" : "nosock");
    if (has_name)
        put_str(&s, "sni", in->server_name);
    else
        put_str(&s, "peer", in->peer_ip);
    put_raw(&s, "|port=", 6);
    put_dec(&s, in->has_socket ? in->port : seen ? in->seen_port : 0u);
    put_raw(&s, in->verify_peer ? "|vp=1" : "|vp=0", 5);
    put_str(&s, "host", in->expect_hosts);
    put_str(&s, "hip", in->expect_ip);
    put_raw(&s, "|hf=", 4);
    put_hex(&s, in->host_flags, 1);
    put_raw(&s, "|vf=", 4);
    put_hex(&s, in->verify_flags, 1);
    put_str(&s, "cc", in->client_cert);
    put_raw(&s, "|ver=", 5);
    put_hex(&s, (unsigned long)in->min_version, 1);
    put_raw(&s, "-", 1);
    put_hex(&s, (unsigned long)in->max_version, 1);
    put_raw(&s, "|vo=", 4);
    put_hex(&s, in->version_options, 1);
    const char *ciphers = in->ciphers ? in->ciphers : "";
    put_raw(&s, "|ciph=", 6);
    put_hex(&s, key_hash64(ciphers, strlen(ciphers)), 16);
    put_raw(&s, "|lo=", 4);
    put_hex(&s, in->lib_options, 1);
    put_field(&s, "sid", in->sid_ctx, in->sid_ctx_len, 1);
    put_str(&s, "pol", in->policy);
    if (s.overflow) {
        *why = "key too long";
        return -1;
    }
    return (int)s.len;
}

void key_label(const struct ar_key_input *in, char *out, size_t cap)
{
    struct sink s = {out, cap, 0, 0};
    if (cap == 0)
        return;
    out[0] = '\0';
    const char *name = in->server_name && in->server_name[0] ? in->server_name
                       : in->peer_ip                          ? in->peer_ip
                                                              : "?";
    for (const unsigned char *p = (const unsigned char *)name; *p && !s.overflow && p - (const unsigned char *)name < 80; p++) {
        if (*p > 0x20 && *p < 0x7f)
            put_raw(&s, (const char *)p, 1);
        else
            put_fmt(&s, "\\x%02x", *p);
    }
    if (in->has_socket)
        put_port(&s, in->port);
    else if (in->seen_port != 0 && in->server_name && in->server_name[0])
        put_port(&s, in->seen_port);
    else
        put_raw(&s, ":?", 2);
    if (s.overflow && cap > 4)
        memcpy(out + cap - 4, "...", 4);
}

/* The value of field `name` in a key ("" when absent or written "name!"). */
static void key_field(const char *key, const char *name, const char **val, size_t *len)
{
    size_t n = strlen(name);
    *val = "";
    *len = 0;
    for (const char *p = strchr(key, '|'); p != NULL; p = strchr(p + 1, '|')) {
        if (strncmp(p + 1, name, n) != 0 || (p[1 + n] != '=' && p[1 + n] != '!'))
            continue;
        if (p[1 + n] == '!') {
            *val = "!"; /* absent differs from empty */
            *len = 1;
            return;
        }
        *val = p + 2 + n;
        *len = strcspn(*val, "|");
        return;
    }
}

static int field_differs(const char *key, const char *const *others, size_t n, const char *name)
{
    const char *v, *w;
    size_t vl, wl;
    key_field(key, name, &v, &vl);
    for (size_t i = 0; i < n; i++) {
        key_field(others[i], name, &w, &wl);
        if (vl != wl || memcmp(v, w, vl) != 0)
            return 1;
    }
    return 0;
}

/* The fields no word below names: one program's settings, hashed together. */
static const char *const settings_fields[] = {"lib", "via", "sni", "peer", "port", "hf", "vf",
                                              "ver", "vo", "ciph", "lo", "sid", "pol"};

static unsigned long long settings_hash(const char *key)
{
    unsigned long long h = key_hash64("", 0);
    for (size_t i = 0; i < sizeof settings_fields / sizeof settings_fields[0]; i++) {
        const char *v;
        size_t len;
        key_field(key, settings_fields[i], &v, &len);
        h = key_hash64_more(h, v, len);
        h = key_hash64_more(h, "|", 1);
    }
    return h;
}

/* A field's value as a word: printable, at most 40 bytes, "-" when absent. */
static void put_value(struct sink *s, const char *key, const char *name)
{
    const char *v;
    size_t len;
    key_field(key, name, &v, &len);
    if (len == 0 || (len == 1 && v[0] == '!')) {
        put_raw(s, "-", 1);
        return;
    }
    put_raw(s, v, len > 40 ? 40 : len);
    if (len > 40)
        put_raw(s, "...", 3);
}

void key_differences(const char *key, const char *const *others, size_t n, char *out, size_t cap)
{
    struct sink s = {out, cap, 0, 0};
    if (cap == 0)
        return;
    out[0] = '\0';
    if (n == 0)
        return;
    if (field_differs(key, others, n, "vp")) {
        const char *v;
        size_t len;
        key_field(key, "vp", &v, &len);
        put_fmt(&s, " verify=%s", len == 1 && v[0] == '1' ? "on" : "off");
    }
    if (field_differs(key, others, n, "host")) {
        put_raw(&s, " verify-name=", 13);
        put_value(&s, key, "host");
    }
    if (field_differs(key, others, n, "hip")) {
        put_raw(&s, " verify-ip=", 11);
        put_value(&s, key, "hip");
    }
    if (field_differs(key, others, n, "cc")) {
        const char *v;
        size_t len;
        key_field(key, "cc", &v, &len);
        if (len >= 8 && v[0] != '!')
            put_fmt(&s, " client-cert=%.8s", v); /* a fingerprint's start: no secret */
        else
            put_raw(&s, " client-cert=none", 17);
    }
    unsigned long long h = settings_hash(key);
    for (size_t i = 0; i < n; i++) {
        if (settings_hash(others[i]) != h) {
            put_fmt(&s, " settings=%04llx", (h ^ (h >> 32)) & 0xffff);
            break;
        }
    }
    if (s.overflow && cap > 4)
        memcpy(out + cap - 4, "...", 4);
    if (out[0] == ' ')
        memmove(out, out + 1, strlen(out));
}
