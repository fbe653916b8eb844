/*
 * ar_key.h - the session key: everything that decides whether a full
 * handshake would have been accepted, in one canonical string.
 *
 * Two connections get the same key only if they talk to the same server
 * identity with the same security settings; the table only ever hands a
 * session to a connection with an identical key. Library-independent: the
 * OpenSSL and GnuTLS glue fill struct ar_key_input from their objects.
 */
#ifndef AR_KEY_H
#define AR_KEY_H

#include <stddef.h>

struct ar_key_input {
    const char *library;        /* e.g. "openssl-3.0"; required */
    int has_socket;             /* peer known from a connected socket */
    const char *server_name;    /* SNI sent, or NULL */
    const char *peer_ip;        /* numeric peer address (or a connect BIO target), or NULL */
    unsigned port;              /* peer port; 0 if unknown */
    unsigned seen_port;         /* no socket: the port of the TCP socket the thread
                                 * connected (ar_conntrack.h), 0 if unknown; used
                                 * only with a server name, as a refinement */
    int verify_peer;            /* peer certificate verified (fails the handshake) */
    const char *expect_hosts;   /* expected names, '\n'-separated, or NULL */
    const char *expect_ip;      /* expected IP (X509_VERIFY_PARAM), or NULL */
    unsigned long host_flags;   /* hostname check flags */
    unsigned long verify_flags; /* X509_V_FLAG_* in effect */
    const char *client_cert;    /* fingerprint of the client certificate, or NULL */
    long min_version;           /* protocol limits (0 = library default) */
    long max_version;
    unsigned long version_options; /* SSL_OP_NO_TLSv1_x bits and the like */
    const char *ciphers;        /* cipher list in order, any text; hashed */
    unsigned long lib_options;  /* other library settings that shape the ClientHello
                                 * (GnuTLS: gnutls_init flags, compatibility mode) */
    const unsigned char *sid_ctx; /* session id context, may be NULL */
    size_t sid_ctx_len;
    const char *policy;         /* the library's negotiation policy as text (what the
                                 * groups, signature algorithms, security level and
                                 * options allow), or NULL; see ossl_policy.h */
};

#define AR_KEY_MAX 4096

/*
 * key_make - write the canonical key for `in` into out[cap] (NUL-terminated).
 * Strings are percent-escaped so no value can forge a field boundary.
 * Returns the key length, or -1 with *why set to a static reason when no key
 * can be made (no server identity, too long). Pure; thread-safe.
 */
int key_make(const struct ar_key_input *in, char *out, size_t cap, const char **why);

/*
 * key_label - "name:port" for log lines ("name:?" when the port is unknown),
 * with unprintable bytes escaped. Always NUL-terminates out[cap].
 */
void key_label(const struct ar_key_input *in, char *out, size_t cap);

/*
 * key_differences - for `autoresume --list`: in words, how `key` differs
 * from others[n] (the keys of the other rows with the same server label):
 * "verify=on" / "verify=off", "verify-name=NAME", "verify-ip=IP",
 * "client-cert=<first 8 hex digits of its SHA-256>" / "client-cert=none",
 * and "settings=XXXX" (a 16-bit tag of everything else: versions, options,
 * ciphers, the negotiation policy, the library, so rows of one program share
 * it and another program's differ), separated by spaces, each only when it
 * differs from at least one of the others. Empty when n is 0 or nothing
 * differs. Never a secret: keys hold none. Pure; NUL-terminates out[cap].
 */
void key_differences(const char *key, const char *const *others, size_t n, char *out, size_t cap);

/* key_hash64 - FNV-1a of len bytes; for long values folded into a key. */
unsigned long long key_hash64(const void *data, size_t len);

/* key_hash64_more - continue a key_hash64 over more bytes. */
unsigned long long key_hash64_more(unsigned long long h, const void *data, size_t len);

#endif
