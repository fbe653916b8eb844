/*
 * ossl_sym.h - the program's own libssl/libcrypto, reached through pointers.
 *
 * The library never links libssl: a program that does not use TLS must not
 * map it. Every OpenSSL function we call, hooked or not, is looked up in the
 * libssl the program loaded, whether at start-up or later with
 * dlopen(RTLD_LOCAL) (python's _ssl module), where dlsym(RTLD_NEXT) cannot
 * see it. Calls go through `ossl.NAME(...)`.
 */
#ifndef OSSL_SYM_H
#define OSSL_SYM_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "ar_route.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

/* Functions we interpose: the real ones are needed even when disabled. */
#define OSSL_HOOKED(X)                                                                        \
    X(SSL_clear) X(SSL_connect) X(SSL_do_handshake) X(SSL_read) X(SSL_read_ex)     \
    X(SSL_peek) X(SSL_peek_ex) X(SSL_write) X(SSL_write_ex) X(SSL_CTX_ctrl)                   \
    X(SSL_CTX_sess_set_new_cb) X(SSL_CTX_sess_get_new_cb) X(SSL_get_peer_cert_chain) X(SSL_CTX_set_session_id_context)   \
    X(SSL_set_session_id_context) X(SSL_CTX_set_cert_verify_callback) X(SSL_ctrl)               \
    X(SSL_dane_enable) X(SSL_CTX_set_cert_cb) X(SSL_set_cert_cb) X(SSL_CONF_CTX_set_ssl)     \
    X(SSL_CONF_cmd) X(SSL_CTX_config) X(SSL_new) X(SSL_CTX_add_client_custom_ext)              \
    X(SSL_CTX_add_custom_ext) X(SSL_set_SSL_CTX) X(SSL_CTX_add_server_custom_ext)            \
    X(SSL_CTX_set_purpose) X(SSL_set_purpose) X(SSL_CTX_set_trust) X(SSL_set_trust)          \
    X(X509_VERIFY_PARAM_set_purpose) X(X509_VERIFY_PARAM_set_trust) X(X509_STORE_set_purpose) \
    X(X509_STORE_set_trust) X(X509_VERIFY_PARAM_set1_policies) X(X509_VERIFY_PARAM_add0_policy) \
    X(X509_VERIFY_PARAM_add0_table) X(X509_VERIFY_PARAM_lookup) X(SSL_CTX_new_ex)             \
    X(SSL_CTX_set_psk_client_callback) X(SSL_set_psk_client_callback)                         \
    X(SSL_CTX_set_psk_use_session_callback) X(SSL_set_psk_use_session_callback) X(SSL_CTX_new) \
    X(SSL_set_tlsext_max_fragment_length) X(SSL_CTX_set_tlsext_max_fragment_length)          \
    X(SSL_set_session_ticket_ext) X(SSL_set_session_ticket_ext_cb) X(SSL_set_session_secret_cb) \
    X(SSL_CTX_remove_session)

/* Functions we only call. */
#define OSSL_USED(X)                                                                          \
    X(SSL_get_SSL_CTX) X(SSL_is_server) X(SSL_in_before) X(SSL_is_init_finished)              \
    X(SSL_set_connect_state) X(SSL_get_session) X(SSL_set_session) X(SSL_session_reused)      \
    X(SSL_get_error) X(SSL_get_version) X(SSL_get_servername) X(SSL_get_fd) X(SSL_get_rbio) X(BIO_find_type) X(BIO_ptr_ctrl)                   \
    X(SSL_get_verify_mode) X(SSL_get_verify_callback) X(SSL_get_verify_result)                \
    X(SSL_get0_param) X(SSL_get_certificate) X(SSL_get_privatekey) X(SSL_get_options) \
    X(SSL_get_ciphers) X(SSL_CIPHER_get_name)                      \
    X(SSL_get_security_level) X(SSL_get_ex_data) X(SSL_set_ex_data) X(SSL_CTX_get_ex_data)    \
    X(SSL_CTX_set_ex_data) X(SSL_CTX_get_client_cert_cb) X(SSL_CTX_get_cert_store)            \
    X(SSL_CTX_sess_get_remove_cb) X(SSL_CTX_get_ssl_method)                                         \
    X(TLS_client_method) X(SSL_get_ex_data_X509_STORE_CTX_idx) X(SSL_SESSION_free)            \
    X(SSL_SESSION_is_resumable) X(SSL_SESSION_get_protocol_version)                            \
    X(SSL_SESSION_get_timeout) X(SSL_SESSION_get_ticket_lifetime_hint)                        \
    X(SSL_SESSION_set_max_early_data) X(i2d_SSL_SESSION) X(d2i_SSL_SESSION)                   \
    X(OpenSSL_version_num) X(OPENSSL_sk_num) X(OPENSSL_sk_value) X(OPENSSL_sk_new_null)       \
    X(OPENSSL_sk_push) X(OPENSSL_sk_pop_free) X(CRYPTO_free) X(CRYPTO_get_ex_new_index)       \
    X(ERR_set_mark) X(ERR_pop_to_mark) X(EVP_sha256) X(X509_digest) X(i2d_X509) X(d2i_X509)    \
    X(X509_free) X(X509_STORE_CTX_new) X(X509_STORE_CTX_free) X(X509_STORE_CTX_init)          \
    X(X509_STORE_CTX_set_default) X(X509_STORE_CTX_get0_param) X(X509_STORE_CTX_set_ex_data)  \
    X(X509_STORE_CTX_set_verify_cb) X(X509_STORE_CTX_get_error) X(X509_verify_cert)           \
    X(X509_verify_cert_error_string) X(X509_VERIFY_PARAM_set1) X(X509_VERIFY_PARAM_get0_host) \
    X(X509_VERIFY_PARAM_get1_ip_asc) X(X509_VERIFY_PARAM_get_hostflags)                       \
    X(X509_VERIFY_PARAM_get_flags) X(X509_VERIFY_PARAM_set_auth_level)    \
    X(X509_STORE_get0_objects) X(SSL_set_verify_result) X(SSL_SESSION_dup) X(X509_chain_up_ref) X(ERR_new) X(ERR_set_debug) X(ERR_set_error)     \
    X(SSL_free) X(SSL_set_bio) X(BIO_new) X(BIO_s_mem) X(BIO_ctrl)                 \
    X(SSL_set_msg_callback) X(SSL_set_info_callback) X(SSL_clear_options)                      \
    X(SSL_get_security_callback) X(SSL_ct_is_enabled) X(BIO_free)                            \
    X(SSL_CTX_get_security_callback) X(SSL_CTX_get_ciphers) X(SSL_CTX_get_options)            \
    X(SSL_CTX_get_security_level) X(SSL_is_dtls) X(CRYPTO_get_ex_data)                     \
    X(SSL_in_init) /* hooked too, as SSL_is_init_finished (hooks_openssl.c) */                  \
    X(X509_STORE_CTX_get_by_subject) X(X509_OBJECT_new) X(X509_OBJECT_free)                   \
    X(X509_get_issuer_name) X(X509_get_subject_name) X(X509_STORE_get_get_issuer)             \
    X(X509_STORE_get_lookup_certs) X(SSL_SESSION_new) X(SSL_SESSION_get0_peer) X(X509_up_ref)                                       \
    X(X509_STORE_CTX_get0_chain) X(X509_get0_notAfter) X(ASN1_TIME_to_tm) X(X509_STORE_up_ref) \
    X(X509_STORE_free) X(X509_get0_trust_objects) X(X509_get0_reject_objects)                 \
    X(X509_VERIFY_PARAM_get_inh_flags) X(X509_VERIFY_PARAM_get_depth)                        \
    X(X509_VERIFY_PARAM_get_auth_level) X(X509_VERIFY_PARAM_get_time)                        \
    X(X509_VERIFY_PARAM_get0_email) X(X509_STORE_get_verify) X(X509_STORE_get_verify_cb)      \
    X(X509_STORE_get_check_issued) X(X509_STORE_get_check_revocation) X(X509_STORE_get_get_crl) \
    X(X509_STORE_get_check_crl) X(X509_STORE_get_cert_crl) X(X509_STORE_get_check_policy)     \
    X(X509_STORE_get_lookup_crls) X(X509_STORE_get_cleanup) X(OPENSSL_init_crypto)          \
    X(OPENSSL_atexit) X(SSL_version) X(SSL_get_current_cipher) X(SSL_CIPHER_get_kx_nid)     \
    X(SSL_CIPHER_get_auth_nid) X(SSL_SESSION_get_ex_data) X(SSL_SESSION_set_ex_data)        \
    X(SSL_SESSION_get_id) X(SSL_SESSION_set1_id) X(SSL_SESSION_set_protocol_version)

/*
 * Functions that only some libssl versions have, or that a newer one
 * deprecates: name and our own pointer type, so no deprecated declaration
 * is referenced and a function newer than the headers we build with can
 * still be used. NULL when the program's libssl lacks one; callers check,
 * or use the wrappers below.
 */
#define OSSL_OPTIONAL(X)                                                                      \
    X(SSL_SESSION_get_time_ex, time_t (*)(const SSL_SESSION *)) /* 3.3 */                     \
    X(SSL_SESSION_get_time, long (*)(const SSL_SESSION *))      /* deprecated in 3.4 */       \
    X(SSL_is_quic, int (*)(const SSL *))                        /* 3.2 */                     \
    X(OSSL_QUIC_client_method, const SSL_METHOD *(*)(void))     /* 3.2 */                     \
    X(OSSL_QUIC_client_thread_method, const SSL_METHOD *(*)(void)) /* 3.2 */                  \
    X(SSL_get0_server_cert_type, int (*)(const SSL *, unsigned char **, size_t *)) /* 3.2 */  \
    X(SSL_get0_client_cert_type, int (*)(const SSL *, unsigned char **, size_t *)) /* 3.2 */  \
    X(SSL_get_srp_username, char *(*)(SSL *)) /* deprecated in 3.0; not in no-srp builds */

#define OSSL_FIELD(name) __typeof__(&name) name;
#define OSSL_OPTIONAL_FIELD(name, type) __typeof__(type) name;
struct ossl_fns {
    OSSL_HOOKED(OSSL_FIELD)
    OSSL_USED(OSSL_FIELD)
    OSSL_OPTIONAL(OSSL_OPTIONAL_FIELD)
};
#undef OSSL_FIELD
#undef OSSL_OPTIONAL_FIELD

/* The resolved functions. Valid for hooked ones once ossl_load() >= OSSL_PASSTHROUGH. */
extern struct ossl_fns ossl;

/*
 * Every name we export, for ar_route.h: hooked ones, the two in OSSL_USED
 * we hook too, and libcrypto's that only hooks_verify_params.c resolves.
 */
#define OSSL_ROUTED(X)                                                                        \
    OSSL_HOOKED(X) X(SSL_is_init_finished) X(SSL_in_init) X(X509_VERIFY_PARAM_get0)           \
    X(X509_PURPOSE_add) X(X509_TRUST_add) X(X509_TRUST_set_default) X(X509_STORE_add_lookup)  \
    X(X509_STORE_get0_objects)

#define OSSL_ROUTE_ID(name) OSSL_ROUTE_##name,
enum ossl_route_id { OSSL_ROUTED(OSSL_ROUTE_ID) OSSL_ROUTE_COUNT };
#undef OSSL_ROUTE_ID

/*
 * Where a hooked call goes (ar_route.h): libssl known by SSL_connect,
 * libcrypto by X509_verify_cert. Bound by ossl_load.
 */
extern struct route ossl_route;

/*
 * OSSL_ROUTE - in a hook, before its usual path: a call from an object
 * whose libssl (or libcrypto) is not the one we resolved goes to its own,
 * untouched, and the hook returns what it returned. `real` is the resolved
 * function or NULL; `fail` what to return (errno ENOSYS) when neither has
 * one. OSSL_ROUTE_VOID for functions without a result.
 */
#define OSSL_ROUTE(name, real, fail, args)                                               \
    if (route_mixed(&ossl_route)) {                                                      \
        const void *from_ = __builtin_return_address(0);                                 \
        __typeof__(&name) to_ = (__typeof__(&name))route_fn(&ossl_route, &from_,         \
                                                            OSSL_ROUTE_##name, (void *)(real)); \
        if (to_ == NULL)                                                                 \
            return errno = ENOSYS, fail;                                                 \
        if (to_ != (real)) {                                                             \
            const void *was_ = route_via_set(from_);                                     \
            __typeof__(to_ args) ret_ = to_ args;                                        \
            route_via_set(was_);                                                         \
            return ret_;                                                                 \
        }                                                                                \
    }
#define OSSL_ROUTE_VOID(name, real, args)                                                \
    if (route_mixed(&ossl_route)) {                                                      \
        const void *from_ = __builtin_return_address(0);                                 \
        __typeof__(&name) to_ = (__typeof__(&name))route_fn(&ossl_route, &from_,         \
                                                            OSSL_ROUTE_##name, (void *)(real)); \
        if (to_ == NULL)                                                                 \
            return;                                                                      \
        if (to_ != (real)) {                                                             \
            const void *was_ = route_via_set(from_);                                     \
            to_ args;                                                                    \
            route_via_set(was_);                                                         \
            return;                                                                      \
        }                                                                                \
    }

enum ossl_status {
    OSSL_MISSING = 0,  /* no libssl found: nothing can be called */
    OSSL_PASSTHROUGH,  /* hooked functions callable; no resumption */
    OSSL_READY,        /* everything resolved: resumption possible */
};

/*
 * ossl_load - resolve everything once (thread-safe; retried while libssl is
 * not yet found) and report what can be done. Cheap after the first call.
 * Stands aside (OSSL_PASSTHROUGH) when two libssl builds are mapped, a
 * renamed copy too (libssl is known by the functions it defines): calls are
 * then routed to each caller's own (OSSL_ROUTE), and no resumption is tried.
 */
enum ossl_status ossl_load(void);

/*
 * ossl_session_time - when sess was made (seconds since the epoch), through
 * SSL_SESSION_get_time_ex where the program's libssl has it (no 2038 limit)
 * and SSL_SESSION_get_time before 3.3. Only once ossl_load() == OSSL_READY,
 * which requires one of them.
 */
int64_t ossl_session_time(const SSL_SESSION *sess);

/*
 * ossl_is_quic - 1 if ssl belongs to a QUIC connection (OpenSSL 3.2+): a
 * QUIC connection or stream object, or the TLS object inside a QUIC
 * connection, which the QUIC stack drives through SSL_do_handshake (so our
 * hook sees it) and which shares the connection's QUIC context. We leave
 * them alone: QUIC carries its session state (transport parameters) in
 * ways our keys and offers do not follow. 0 for libssl without QUIC.
 */
int ossl_is_quic(const SSL *ssl);

/*
 * ossl_still_single - whether the process still maps a single libssl; checked
 * again only when the set of loaded objects changed (route_refresh). Thread-safe.
 */
int ossl_still_single(void);

#endif
