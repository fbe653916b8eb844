/*
 * hooks_verify_params.c - verification settings that cannot be read back
 * through OpenSSL 3.0's API (a purpose, a trust setting, policies, a named
 * parameter table, a copy of a built-in one, the global purpose and trust
 * tables, a certificate lookup method of its own): once the program uses
 * any, the trust-verdict memo (ar_verdict.h) is off in this process, since
 * its key could not tell two such settings apart (and a lookup of the
 * program's can answer differently later). Thin shims; the real function
 * runs unchanged.
 *
 * The X509_* ones live in libcrypto, which a program may use without
 * libssl: then they are found there (RTLD_NEXT, or the mapped libcrypto).
 */
#include "ar_dl.h"
#include "ar_verdict.h"
#include "ossl_sym.h"

#include <openssl/x509v3.h>

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#define AR_EXPORT __attribute__((visibility("default")))

static void *crypto_lookup(const char *name)
{
    void *f = dl_lookup(NULL, name);
    if (f == NULL) {
        struct dl_found scan;
        dl_find("X509_verify_cert", &scan);
        void *h = scan.count > 0 && scan.path[0] != '\0' ? dlopen(scan.path, RTLD_LAZY | RTLD_NOLOAD) : NULL;
        f = h != NULL ? dl_lookup(h, name) : NULL;
    }
    return f;
}

/* real_: the program's own function, from libssl's view where we found it. */
/* A call from an object with a libcrypto (or libssl) of its own goes there,
 * untouched (OSSL_ROUTE); these are set-up calls, so each looks for a
 * newly mapped build first (route_refresh). */
#define REAL_ANY(name, fail, args)                                                       \
    __typeof__(&name) real_ = ossl_load() != OSSL_MISSING ? ossl.name : NULL;            \
    if (real_ == NULL)                                                                   \
        real_ = (__typeof__(&name))crypto_lookup(#name);                                 \
    route_refresh(&ossl_route);                                                          \
    OSSL_ROUTE(name, real_, fail, args)                                                  \
    if (real_ == NULL) {                                                                 \
        errno = ENOSYS;                                                                  \
        return fail;                                                                     \
    }

#define DISABLING_HOOK(ret, name, params, args, fail)                                    \
    AR_EXPORT ret name params                                                            \
    {                                                                                    \
        REAL_ANY(name, fail, args)                                                       \
        verdict_disable();                                                               \
        return real_ args;                                                               \
    }

DISABLING_HOOK(int, SSL_CTX_set_purpose, (SSL_CTX *ctx, int purpose), (ctx, purpose), 0)
DISABLING_HOOK(int, SSL_set_purpose, (SSL *ssl, int purpose), (ssl, purpose), 0)
DISABLING_HOOK(int, SSL_CTX_set_trust, (SSL_CTX *ctx, int trust), (ctx, trust), 0)
DISABLING_HOOK(int, SSL_set_trust, (SSL *ssl, int trust), (ssl, trust), 0)
DISABLING_HOOK(int, X509_VERIFY_PARAM_set_purpose, (X509_VERIFY_PARAM *p, int purpose),
               (p, purpose), 0)
DISABLING_HOOK(int, X509_VERIFY_PARAM_set_trust, (X509_VERIFY_PARAM *p, int trust), (p, trust), 0)
DISABLING_HOOK(int, X509_STORE_set_purpose, (X509_STORE *s, int purpose), (s, purpose), 0)
DISABLING_HOOK(int, X509_STORE_set_trust, (X509_STORE *s, int trust), (s, trust), 0)
DISABLING_HOOK(int, X509_VERIFY_PARAM_set1_policies,
               (X509_VERIFY_PARAM *p, STACK_OF(ASN1_OBJECT) *policies), (p, policies), 0)
DISABLING_HOOK(int, X509_VERIFY_PARAM_add0_policy, (X509_VERIFY_PARAM *p, ASN1_OBJECT *policy),
               (p, policy), 0)
DISABLING_HOOK(int, X509_VERIFY_PARAM_add0_table, (X509_VERIFY_PARAM *p), (p), 0)

/* OpenSSL itself looks up "default" (X509_STORE_CTX_init) and "ssl_server"
 * (a client's verification); a program copying another table (its purpose
 * and trust) is what the memo cannot key. */
AR_EXPORT const X509_VERIFY_PARAM *X509_VERIFY_PARAM_lookup(const char *name)
{
    REAL_ANY(X509_VERIFY_PARAM_lookup, NULL, (name))
    if (name == NULL || (strcmp(name, "default") != 0 && strcmp(name, "ssl_server") != 0))
        verdict_disable();
    return real_(name);
}

/* Found in libcrypto only (not in the ossl table): resolved once. */
#define CRYPTO_HOOK_REAL(name, fail, args)                                               \
    static __typeof__(&name) real_;                                                      \
    if (real_ == NULL)                                                                   \
        real_ = (__typeof__(&name))crypto_lookup(#name);                                 \
    route_refresh(&ossl_route);                                                          \
    OSSL_ROUTE(name, real_, fail, args)                                                  \
    if (real_ == NULL)                                                                   \
        return errno = ENOSYS, fail;

#define CRYPTO_DISABLING_HOOK(ret, name, params, args, fail)                             \
    AR_EXPORT ret name params                                                            \
    {                                                                                    \
        CRYPTO_HOOK_REAL(name, fail, args)                                               \
        verdict_disable();                                                               \
        return real_ args;                                                               \
    }

/* A built-in table by index ("ssl_client"...), to copy its purpose and trust
 * with SSL_set1_param, X509_VERIFY_PARAM_set1 or _inherit. */
CRYPTO_DISABLING_HOOK(const X509_VERIFY_PARAM *, X509_VERIFY_PARAM_get0, (int id), (id), NULL)
/* What a purpose or trust id means, process-wide. */
CRYPTO_DISABLING_HOOK(int, X509_PURPOSE_add,
                      (int id, int trust, int flags, int (*ck)(const X509_PURPOSE *, const X509 *, int),
                       const char *name, const char *sname, void *arg),
                      (id, trust, flags, ck, name, sname, arg), 0)
CRYPTO_DISABLING_HOOK(int, X509_TRUST_add,
                      (int id, int flags, int (*ck)(X509_TRUST *, X509 *, int), const char *name,
                       int arg1, void *arg2),
                      (id, flags, ck, name, arg1, arg2), 0)
typedef int (*trust_fn)(int, X509 *, int);
AR_EXPORT trust_fn X509_TRUST_set_default(trust_fn trust)
{
    CRYPTO_HOOK_REAL(X509_TRUST_set_default, NULL, (trust))
    verdict_disable();
    return real_(trust);
}

/* Lookups that load into the store's own objects (so its object count shows
 * what they added) are OpenSSL's file, directory and OSSL_STORE ones; any
 * other method may answer differently from one verification to the next. */
AR_EXPORT X509_LOOKUP *X509_STORE_add_lookup(X509_STORE *store, X509_LOOKUP_METHOD *m)
{
    CRYPTO_HOOK_REAL(X509_STORE_add_lookup, NULL, (store, m))
    static X509_LOOKUP_METHOD *(*file_)(void), *(*dir_)(void), *(*ostore_)(void);
    if (file_ == NULL)
        file_ = (X509_LOOKUP_METHOD * (*)(void)) crypto_lookup("X509_LOOKUP_file");
    if (dir_ == NULL)
        dir_ = (X509_LOOKUP_METHOD * (*)(void)) crypto_lookup("X509_LOOKUP_hash_dir");
    if (ostore_ == NULL)
        ostore_ = (X509_LOOKUP_METHOD * (*)(void)) crypto_lookup("X509_LOOKUP_store");
    if (m == NULL || !((file_ != NULL && m == file_()) || (dir_ != NULL && m == dir_()) ||
                       (ostore_ != NULL && m == ostore_())))
        verdict_disable();
    return real_(store, m);
}

/* The store's object list handed out for the program to read, or edit: an
 * object taken out and another put in would leave the count the memo keys
 * on unchanged. (The memo's own count goes through ossl, not here.) */
CRYPTO_DISABLING_HOOK(STACK_OF(X509_OBJECT) *, X509_STORE_get0_objects, (const X509_STORE *v), (v), NULL)
