/*
 * ossl_key.h - the session key of an OpenSSL client connection.
 */
#ifndef OSSL_KEY_H
#define OSSL_KEY_H

#include "ossl_state.h"

/*
 * key_from_ssl - derive the key of `ssl` from its settings at the start of
 * its handshake (server name, peer socket, verification, client
 * certificate, limits, ciphers, the session id context recorded in `conn`,
 * the negotiation policy: ossl_policy.h)
 * and store it, malloc'd, in conn->key. conn->label, for logs, is set
 * first, so it names the server even when no key can be made.
 * Returns 0, or -1 with *why set when no session may be keyed (conn->key
 * stays NULL). Must run with the error queue marked: may push errors.
 */
int key_from_ssl(SSL *ssl, struct ar_conn *conn, const char **why);

/*
 * label_from_ssl - only conn->label ("host:port", as key_from_ssl sets it),
 * for the log lines of connections that get no key (caching turned off, a
 * setting that rules out offers). Reads the SSL; never fails.
 */
void label_from_ssl(SSL *ssl, struct ar_conn *conn);

#endif
