/*
 * ar_hello.h - the negotiation policy of a client, read off the ClientHello
 * its TLS library writes.
 *
 * Which groups, signature algorithms, cipher suites and extensions a client
 * offers is the library's answer to everything that decides whether a full
 * handshake would be accepted: the program's settings, its security level,
 * the system's crypto policy (OPENSSL_CONF), the providers loaded. A
 * resumed TLS 1.2 handshake skips the server's key exchange and signature,
 * so a session won under one policy must not be offered under another: the
 * digest of that ClientHello goes into the session key. Library-independent
 * and pure: the glue produces the bytes (ossl_policy.c).
 */
#ifndef AR_HELLO_H
#define AR_HELLO_H

#include <stddef.h>

/*
 * hello_digest - digest of the policy-bearing parts of one ClientHello, as
 * a library writes it: in one or more handshake records (headers included;
 * a hello longer than the fragment limit comes split), and nothing else:
 * the cipher suites, the compression methods, and every extension with its
 * contents, in order, except those that vary from one connection to the
 * next (server name, padding, session ticket contents, pre-shared key, key
 * share contents, early data, cookie). Where the records are split does not
 * change the digest. Returns 0 with *out set, or -1 if data[len] is not
 * exactly one complete, well-formed ClientHello in handshake records (or
 * memory for joining them ran out). Never reads outside data[len].
 * Thread-safe.
 */
int hello_digest(const unsigned char *data, size_t len, unsigned long long *out);

/*
 * hello_digest_sigalgs - digest of the signature algorithm lists of one
 * ClientHello (the signature_algorithms and
 * signature_algorithms_cert extensions, with their types, in order; nothing
 * else), for a TLS 1.3 hello whose other parts a TLS 1.2 hello already
 * holds. Same input, checks and return values as hello_digest; a hello
 * without either extension has a digest too.
 */
int hello_digest_sigalgs(const unsigned char *data, size_t len, unsigned long long *out);

#endif
