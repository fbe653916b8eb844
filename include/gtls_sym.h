/*
 * gtls_sym.h - the program's own libgnutls, reached through pointers.
 *
 * Like ossl_sym.h: the library never links libgnutls (a program that does
 * not use it must not map it); every GnuTLS function we call, hooked or
 * not, is looked up in the libgnutls the program loaded, early or late
 * (ar_dl.h). Calls go through `gtls.NAME(...)`.
 */
#ifndef GTLS_SYM_H
#define GTLS_SYM_H

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/ocsp.h>
#include <gnutls/x509.h>

#include "ar_route.h"

/* Functions we interpose: the real ones are needed even when disabled. */
#define GTLS_HOOKED(X)                                                                        \
    X(gnutls_init) X(gnutls_deinit) X(gnutls_server_name_set) X(gnutls_handshake) X(gnutls_record_recv)                 \
    X(gnutls_record_recv_seq) X(gnutls_record_send) X(gnutls_session_set_data)                \
    X(gnutls_session_set_verify_function) X(gnutls_session_set_verify_cert)                   \
    X(gnutls_session_set_verify_cert2) X(gnutls_certificate_set_verify_function)              \
    X(gnutls_certificate_free_credentials) X(gnutls_certificate_set_retrieve_function)        \
    X(gnutls_certificate_set_retrieve_function2) X(gnutls_certificate_set_retrieve_function3) \
    X(gnutls_transport_set_push_function) X(gnutls_transport_set_vec_push_function)           \
    X(gnutls_transport_set_pull_function) X(gnutls_priority_init) X(gnutls_priority_init2)     \
    X(gnutls_priority_deinit) X(gnutls_priority_set) X(gnutls_priority_set_direct)            \
    X(gnutls_set_default_priority) X(gnutls_set_default_priority_append)                      \
    X(gnutls_session_enable_compatibility_mode) X(gnutls_handshake_set_hook_function)        \
    X(gnutls_dh_set_prime_bits) X(gnutls_certificate_set_verify_limits)                      \
    X(gnutls_handshake_set_max_packet_length) X(gnutls_record_send2)                         \
    X(gnutls_record_send_range) X(gnutls_record_recv_packet)                                 \
    X(gnutls_session_get_verify_cert_status)

/* Functions we only call. */
#define GTLS_USED(X)                                                                          \
    X(gnutls_check_version) X(gnutls_error_is_fatal) X(gnutls_session_get_flags)              \
    X(gnutls_session_get_data2) X(gnutls_session_is_resumed) X(gnutls_protocol_get_version)   \
    X(gnutls_protocol_get_name) X(gnutls_transport_get_int)         \
    X(gnutls_credentials_get) X(gnutls_certificate_get_peers) X(gnutls_certificate_type_get2) \
    X(gnutls_certificate_get_x509_crt) X(gnutls_certificate_get_verify_flags)                 \
    X(gnutls_certificate_client_get_request_status)                                           \
    X(gnutls_certificate_get_trust_list) X(gnutls_certificate_verify_peers)                   \
    X(gnutls_certificate_verify_peers2) X(gnutls_x509_trust_list_verify_crt2)                 \
    X(gnutls_x509_crt_init) X(gnutls_x509_crt_import) X(gnutls_x509_crt_deinit)               \
    X(gnutls_x509_crt_get_fingerprint) X(gnutls_strerror) X(gnutls_fips140_mode_enabled)           \
    X(gnutls_x509_trust_list_iter_get_ca) X(gnutls_x509_trust_list_iter_deinit)                 \
    X(gnutls_certificate_get_crt_raw) X(gnutls_hash_fast) X(gnutls_priority_kx_list)        \
    X(gnutls_ocsp_status_request_get2) X(gnutls_ocsp_resp_init) X(gnutls_ocsp_resp_import)   \
    X(gnutls_ocsp_resp_get_single) X(gnutls_ocsp_resp_deinit)

/*
 * Newer than 3.6.3, so not counted as missing: hooked ones (3.7.3) exist
 * whenever a program calls them; without gnutls_get_system_config_file
 * (3.6.9) no key can be made (gtls_key.c).
 */
#define GTLS_OPTIONAL(X)                                                                      \
    X(gnutls_get_system_config_file) X(gnutls_ecc_curve_set_enabled)                          \
    X(gnutls_sign_set_secure) X(gnutls_sign_set_secure_for_certs)                             \
    X(gnutls_digest_set_secure) X(gnutls_protocol_set_enabled)                                \
    X(gnutls_record_send_file) /* 3.7.4, hooked */                                          \
    X(gnutls_srp_set_prime_bits) /* hooked; absent where SRP is compiled out */

#define GTLS_FIELD(name) __typeof__(&name) name;
struct gtls_fns {
    GTLS_HOOKED(GTLS_FIELD)
    GTLS_USED(GTLS_FIELD)
    GTLS_OPTIONAL(GTLS_FIELD)
    gnutls_free_function *free_var; /* `gnutls_free` is a variable holding a function */
};
#undef GTLS_FIELD

/* The resolved functions. Valid for hooked ones once gtls_load() >= GTLS_PASSTHROUGH. */
extern struct gtls_fns gtls;

/* Every name we export, for ar_route.h (a few optional ones are not hooked). */
#define GTLS_ROUTE_ID(name) GTLS_ROUTE_##name,
enum gtls_route_id { GTLS_HOOKED(GTLS_ROUTE_ID) GTLS_OPTIONAL(GTLS_ROUTE_ID) GTLS_ROUTE_COUNT };
#undef GTLS_ROUTE_ID

/* Where a hooked call goes (ar_route.h): libgnutls known by gnutls_handshake. */
extern struct route gtls_route;

enum gtls_status {
    GTLS_MISSING = 0, /* no libgnutls found: nothing can be called */
    GTLS_PASSTHROUGH, /* hooked functions callable; no resumption */
    GTLS_READY,       /* everything resolved: resumption possible */
};

/*
 * gtls_load - resolve everything once (thread-safe; retried while libgnutls
 * is not yet found) and report what can be done. Cheap after the first call.
 * Stands aside (GTLS_PASSTHROUGH) when two libgnutls builds are mapped (a
 * renamed copy too: known by what it defines; calls are then routed to each
 * caller's own, ar_route.h), or
 * the one mapped is older than 3.6.3 (TLS 1.3 and the getters we need).
 */
enum gtls_status gtls_load(void);

/* gtls_free_mem - free memory GnuTLS allocated for us (gnutls_free). */
void gtls_free_mem(void *p);

#endif
