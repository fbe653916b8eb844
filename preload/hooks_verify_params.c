/*
 * hooks_verify_params.c - verification settings that cannot be read back
 * through OpenSSL 3.0's API (a purpose, a trust setting, policies, a named
 * parameter table): once the program sets any, the trust-verdict memo
 * (ar_verdict.h) is off in this process, since its key could not tell two
 * such settings apart. Thin shims; the real function runs unchanged.
 *
 * The X509_* ones live in libcrypto, which a program may use without
 * libssl: then they are found there (RTLD_NEXT, or the mapped libcrypto).
 */
#include "ar_dl.h"
#include "ar_verdict.h"
#include "ossl_sym.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#define AR_EXPORT __attribute__((visibility("default")))

static void *crypto_lookup(const char *name)
{
    void *f = dl_lookup(NULL, name);
    if (f == NULL) {
        struct dl_found scan;
        dl_find("libcrypto.so", &scan);
        void *h = scan.count > 0 ? dlopen(scan.path, RTLD_LAZY | RTLD_NOLOAD) : NULL;
        f = h != NULL ? dl_lookup(h, name) : NULL;
    }
    return f;
}

/* real_: the program's own function, from libssl's view where we found it. */
#define REAL_ANY(name, fail)                                                             \
    __typeof__(&name) real_ = ossl_load() != OSSL_MISSING ? ossl.name : NULL;            \
    if (real_ == NULL)                                                                   \
        real_ = (__typeof__(&name))crypto_lookup(#name);                                 \
    if (real_ == NULL) {                                                                 \
        errno = ENOSYS;                                                                  \
        return fail;                                                                     \
    }

#define DISABLING_HOOK(ret, name, params, args, fail)                                    \
    AR_EXPORT ret name params                                                            \
    {                                                                                    \
        REAL_ANY(name, fail)                                                             \
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
    REAL_ANY(X509_VERIFY_PARAM_lookup, NULL)
    if (name == NULL || (strcmp(name, "default") != 0 && strcmp(name, "ssl_server") != 0))
        verdict_disable();
    return real_(name);
}
