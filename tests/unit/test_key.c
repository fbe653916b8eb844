/* Unit tests for key.c: every security-relevant field changes the key. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "ar_key.h"

static struct ar_key_input base(void)
{
    struct ar_key_input in = {
        .library = "openssl-3.0",
        .has_socket = 1,
        .server_name = "example.org",
        .peer_ip = "127.0.0.1",
        .port = 443,
        .verify_peer = 1,
        .expect_hosts = "example.org",
        .ciphers = "TLS_AES_128_GCM_SHA256",
    };
    return in;
}

static void make(const struct ar_key_input *in, char *out)
{
    const char *why = NULL;
    cr_assert_gt(key_make(in, out, AR_KEY_MAX, &why), 0, "key_make failed: %s", why);
}

TestSuite(key);

Test(key, same_input_same_key)
{
    char a[AR_KEY_MAX], b[AR_KEY_MAX];
    struct ar_key_input in = base();
    make(&in, a);
    make(&in, b);
    cr_assert_str_eq(a, b);
}

/* One mutation per security-relevant field; each must change the key. */
typedef void (*mutate_fn)(struct ar_key_input *);
static void m_name(struct ar_key_input *in) { in->server_name = "b.example.org"; }
static void m_port(struct ar_key_input *in) { in->port = 8443; }
static void m_verify(struct ar_key_input *in) { in->verify_peer = 0; }
static void m_host(struct ar_key_input *in) { in->expect_hosts = "other.example"; }
static void m_host_none(struct ar_key_input *in) { in->expect_hosts = NULL; }
static void m_hip(struct ar_key_input *in) { in->expect_ip = "127.0.0.1"; }
static void m_hflags(struct ar_key_input *in) { in->host_flags = 4; }
static void m_vflags(struct ar_key_input *in) { in->verify_flags = 0x80000; }
static void m_cert(struct ar_key_input *in) { in->client_cert = "ab12"; }
static void m_min(struct ar_key_input *in) { in->min_version = 0x0304; }
static void m_max(struct ar_key_input *in) { in->max_version = 0x0303; }
static void m_opts(struct ar_key_input *in) { in->version_options = 0x20000000; }
static void m_ciph(struct ar_key_input *in) { in->ciphers = "TLS_AES_256_GCM_SHA384"; }
static void m_sid(struct ar_key_input *in) { in->sid_ctx = (const unsigned char *)"Python"; in->sid_ctx_len = 7; }
static void m_lib(struct ar_key_input *in) { in->library = "gnutls-3.7"; }
static void m_nosock(struct ar_key_input *in) { in->has_socket = 0; }
static void m_no_sni(struct ar_key_input *in) { in->server_name = NULL; }
static void m_libopts(struct ar_key_input *in) { in->lib_options = 1UL << 40; }
static void m_policy(struct ar_key_input *in) { in->policy = "sec=0"; }

static const mutate_fn mutations[] = {m_name, m_port, m_verify, m_host, m_host_none, m_hip,
                                      m_hflags, m_vflags, m_cert, m_min, m_max, m_opts, m_ciph,
                                      m_sid, m_lib, m_nosock, m_no_sni, m_libopts, m_policy};
#define N_MUTATIONS (sizeof mutations / sizeof mutations[0])

/* Parameters cross into the test's own process: pass indexes, not pointers. */
ParameterizedTestParameters(key, field_changes_key)
{
    static int idx[N_MUTATIONS];
    for (size_t i = 0; i < N_MUTATIONS; i++)
        idx[i] = (int)i;
    return cr_make_param_array(int, idx, N_MUTATIONS);
}

ParameterizedTest(int *i, key, field_changes_key)
{
    char a[AR_KEY_MAX], b[AR_KEY_MAX];
    struct ar_key_input in = base();
    make(&in, a);
    mutations[*i](&in);
    make(&in, b);
    cr_assert_str_neq(a, b);
}

Test(key, values_cannot_forge_field_boundaries)
{
    char a[AR_KEY_MAX], b[AR_KEY_MAX];
    struct ar_key_input in = base();
    in.server_name = "a|port=1";
    in.port = 2;
    make(&in, a);
    in.server_name = "a";
    in.port = 1;
    make(&in, b);
    cr_assert_str_neq(a, b);
    cr_assert_null(strstr(a, "a|port=1"));
}

Test(key, empty_sid_differs_from_none_set)
{
    /* The sid field is always present; an empty one still differs from "Python\0". */
    char a[AR_KEY_MAX], b[AR_KEY_MAX];
    struct ar_key_input in = base();
    make(&in, a);
    in.sid_ctx = (const unsigned char *)"";
    in.sid_ctx_len = 1;
    make(&in, b);
    cr_assert_str_neq(a, b);
}

Test(key, sni_and_ip_identities_never_meet)
{
    char a[AR_KEY_MAX], b[AR_KEY_MAX];
    struct ar_key_input in = base();
    in.server_name = "127.0.0.1";
    make(&in, a);
    in.server_name = NULL;
    make(&in, b);
    cr_assert_str_neq(a, b);
}

Test(key, no_identity_no_key)
{
    char out[AR_KEY_MAX];
    const char *why = NULL;
    struct ar_key_input in = base();
    in.server_name = NULL;
    in.has_socket = 0;
    cr_assert_eq(key_make(&in, out, sizeof out, &why), -1);
    cr_assert_str_eq(why, "no server identity");
    in.server_name = "";
    cr_assert_eq(key_make(&in, out, sizeof out, &why), -1);
}

Test(key, ip_needs_socket)
{
    char out[AR_KEY_MAX];
    const char *why = NULL;
    struct ar_key_input in = base();
    in.server_name = NULL;
    in.has_socket = 0; /* a stale peer_ip without a socket is not an identity */
    cr_assert_eq(key_make(&in, out, sizeof out, &why), -1);
}

Test(key, too_long_is_refused_not_truncated)
{
    char big[3000], out[AR_KEY_MAX];
    const char *why = NULL;
    memset(big, '|', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct ar_key_input in = base();
    in.server_name = big; /* escapes to 9000 bytes */
    cr_assert_eq(key_make(&in, out, sizeof out, &why), -1);
    cr_assert_str_eq(why, "key too long");
    cr_assert_eq(key_make(&in, out, 8, &why), -1);
}

Test(key, label_is_printable)
{
    char out[64];
    struct ar_key_input in = base();
    in.server_name = "ev\nil\x1b";
    key_label(&in, out, sizeof out);
    cr_assert_str_eq(out, "ev\\x0ail\\x1b:443");
    in.has_socket = 0;
    key_label(&in, out, sizeof out);
    cr_assert_str_eq(out, "ev\\x0ail\\x1b:?");
    char tiny[8];
    key_label(&in, tiny, sizeof tiny);
    cr_assert_eq(strlen(tiny), 7);
}

Test(key, hash_is_fnv1a)
{
    cr_assert_eq(key_hash64("", 0), 1469598103934665603ULL);
    cr_assert_neq(key_hash64("a", 1), key_hash64("b", 1));
}

/* A port seen on the thread's socket (no socket on the connection) splits a
 * name's key by port, never meets a real socket's key, and is no identity. */
Test(key, seen_port_refines_a_name_only)
{
    char nosock[AR_KEY_MAX], seen1[AR_KEY_MAX], seen2[AR_KEY_MAX], tcp[AR_KEY_MAX], label[64];
    const char *why = NULL;
    struct ar_key_input in = base();
    in.has_socket = 0;
    in.peer_ip = NULL;
    in.port = 0;
    make(&in, nosock);
    key_label(&in, label, sizeof label);
    cr_assert_str_eq(label, "example.org:?");
    in.seen_port = 443;
    make(&in, seen1);
    key_label(&in, label, sizeof label);
    cr_assert_str_eq(label, "example.org:443");
    in.seen_port = 8443;
    make(&in, seen2);
    cr_assert_str_neq(seen1, seen2);
    cr_assert_str_neq(seen1, nosock);
    struct ar_key_input t = base();
    make(&t, tcp);
    cr_assert_str_neq(seen1, tcp);
    in.server_name = NULL; /* no name: a seen port is no identity */
    cr_assert_eq(key_make(&in, seen1, sizeof seen1, &why), -1);
    cr_assert_str_eq(why, "no server identity");
}

/* key_differences: the words --list prints for rows of one server. */
static void differences(void (*m)(struct ar_key_input *), void (*m2)(struct ar_key_input *),
                        char *out, size_t cap)
{
    char a[AR_KEY_MAX], b[AR_KEY_MAX];
    struct ar_key_input in = base(), other = base();
    if (m != NULL)
        m(&in);
    if (m2 != NULL)
        m2(&other);
    make(&in, a);
    make(&other, b);
    const char *others[] = {b};
    key_differences(a, others, 1, out, cap);
}

static void m_cert_full(struct ar_key_input *in) { in->client_cert = "0123456789abcdef0123"; }

Test(key, differences_name_what_differs)
{
    char out[256];
    differences(NULL, NULL, out, sizeof out);
    cr_assert_str_eq(out, "", "identical keys");
    differences(NULL, m_verify, out, sizeof out);
    cr_assert_str_eq(out, "verify=on");
    differences(m_verify, NULL, out, sizeof out);
    cr_assert_str_eq(out, "verify=off");
    differences(m_host, NULL, out, sizeof out);
    cr_assert_str_eq(out, "verify-name=other.example");
    differences(m_host_none, NULL, out, sizeof out);
    cr_assert_str_eq(out, "verify-name=-");
    differences(m_hip, NULL, out, sizeof out);
    cr_assert_str_eq(out, "verify-ip=127.0.0.1");
    differences(m_cert_full, NULL, out, sizeof out);
    cr_assert_str_eq(out, "client-cert=01234567");
    differences(NULL, m_cert_full, out, sizeof out);
    cr_assert_str_eq(out, "client-cert=none");
    void (*settings[])(struct ar_key_input *) = {m_hflags, m_vflags, m_min, m_max, m_opts,
                                                 m_ciph, m_sid, m_lib, m_nosock};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        differences(settings[i], NULL, out, sizeof out);
        cr_assert(strncmp(out, "settings=", 9) == 0 && strlen(out) == 13, "mutation %zu: '%s'", i, out);
    }
}

Test(key, differences_settings_tag_is_shared_by_equal_settings)
{
    char a[256], b[256], c[256];
    differences(m_ciph, NULL, a, sizeof a);
    differences(m_ciph, m_verify, b, sizeof b); /* the same settings, verify differs too */
    differences(NULL, m_ciph, c, sizeof c);
    cr_assert_str_eq(b + strlen("verify=on "), a, "same settings, same tag");
    cr_assert_str_neq(a, c, "other settings, other tag");
}

Test(key, differences_no_others_and_small_buffers)
{
    char a[AR_KEY_MAX], out[8];
    struct ar_key_input in = base();
    make(&in, a);
    key_differences(a, NULL, 0, out, sizeof out);
    cr_assert_str_eq(out, "");
    const char *others[] = {"v2|lib=x"};
    key_differences(a, others, 1, out, sizeof out);
    cr_assert_lt(strlen(out), sizeof out, "NUL-terminated within the buffer");
}
