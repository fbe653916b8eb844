/* Unit tests for config.c and the log level parser: odd values fall back. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "ar_config.h"
#include "ar_env.h"

static const char *env_names[8], *env_values[8];
static int env_n;

static char *fake_getenv(const char *name)
{
    for (int i = 0; i < env_n; i++)
        if (strcmp(env_names[i], name) == 0)
            return (char *)env_values[i];
    return NULL;
}

static void set(const char *name, const char *value)
{
    env_names[env_n] = name;
    env_values[env_n++] = value;
}

static void reset(void) { env_n = 0; }

TestSuite(config, .init = reset);

Test(config, defaults)
{
    struct ar_config cfg;
    char problems[256];
    cr_assert_eq(config_parse(&cfg, fake_getenv, problems, sizeof problems), 0);
    cr_assert_eq(cfg.disabled, 0);
    cr_assert_eq(cfg.log_level, AR_LOG_OFF);
    cr_assert_null(cfg.log_file);
    cr_assert_eq(cfg.max_hosts, AR_DEFAULT_MAX_HOSTS);
    cr_assert_eq(cfg.tickets, AR_DEFAULT_TICKETS);
    cr_assert_str_empty(problems);
}

Test(config, values)
{
    struct ar_config cfg;
    char problems[256];
    set(AR_ENV_DISABLE, "1");
    set(AR_ENV_LOG, "DEBUG");
    set(AR_ENV_LOG_FILE, "/tmp/x");
    set(AR_ENV_MAX_HOSTS, "7");
    set(AR_ENV_TICKETS, "64");
    cr_assert_eq(config_parse(&cfg, fake_getenv, problems, sizeof problems), 0);
    cr_assert_eq(cfg.disabled, 1);
    cr_assert_eq(cfg.log_level, AR_LOG_DEBUG);
    cr_assert_str_eq(cfg.log_file, "/tmp/x");
    cr_assert_eq(cfg.max_hosts, 7);
    cr_assert_eq(cfg.tickets, 64);
}

Test(config, disable_zero_and_empty_mean_enabled)
{
    struct ar_config cfg;
    char problems[256];
    set(AR_ENV_DISABLE, "0");
    config_parse(&cfg, fake_getenv, problems, sizeof problems);
    cr_assert_eq(cfg.disabled, 0);
    reset();
    set(AR_ENV_DISABLE, "");
    config_parse(&cfg, fake_getenv, problems, sizeof problems);
    cr_assert_eq(cfg.disabled, 0);
}

static const char *const bad_counts[] = {"", "0", "-1", "abc", "12abc", " 5",
                                         "99999999999999999999", "1000001", "+3", "0x10"};
#define N_BAD (sizeof bad_counts / sizeof bad_counts[0])

/* Parameters cross into the test's own process: pass indexes, not pointers. */
ParameterizedTestParameters(config, bad_counts_keep_defaults)
{
    static int idx[N_BAD];
    for (size_t i = 0; i < N_BAD; i++)
        idx[i] = (int)i;
    return cr_make_param_array(int, idx, N_BAD);
}

ParameterizedTest(int *i, config, bad_counts_keep_defaults)
{
    struct ar_config cfg;
    char problems[256];
    set(AR_ENV_MAX_HOSTS, bad_counts[*i]);
    set(AR_ENV_TICKETS, bad_counts[*i]);
    cr_assert_eq(config_parse(&cfg, fake_getenv, problems, sizeof problems), 2);
    cr_assert_eq(cfg.max_hosts, AR_DEFAULT_MAX_HOSTS);
    cr_assert_eq(cfg.tickets, AR_DEFAULT_TICKETS);
    cr_assert_not_null(strstr(problems, AR_ENV_MAX_HOSTS));
}

Test(config, bad_log_level_turns_warnings_on)
{
    struct ar_config cfg;
    char problems[256];
    set(AR_ENV_LOG, "verbose");
    cr_assert_eq(config_parse(&cfg, fake_getenv, problems, sizeof problems), 1);
    cr_assert_eq(cfg.log_level, AR_LOG_WARN);
    cr_assert_not_null(strstr(problems, "AUTORESUME_LOG"));
}

Test(config, problems_buffer_never_overflows)
{
    struct ar_config cfg;
    char problems[16];
    set(AR_ENV_LOG, "verbose-verbose-verbose-verbose");
    set(AR_ENV_TICKETS, "many-many-many-many");
    config_parse(&cfg, fake_getenv, problems, sizeof problems);
    cr_assert_lt(strlen(problems), sizeof problems);
}

Test(config, log_levels)
{
    enum ar_log_level l;
    cr_assert_eq(log_parse_level("info", &l), 0);
    cr_assert_eq(l, AR_LOG_INFO);
    cr_assert_eq(log_parse_level("3", &l), 0);
    cr_assert_eq(l, AR_LOG_INFO);
    cr_assert_eq(log_parse_level("Off", &l), 0);
    cr_assert_eq(l, AR_LOG_OFF);
    cr_assert_eq(log_parse_level(NULL, &l), 0);
    cr_assert_eq(log_parse_level("5", &l), -1);
    cr_assert_eq(log_parse_level("infox", &l), -1);
}
