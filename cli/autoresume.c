/*
 * autoresume - run a command with transparent TLS session resumption: put
 * libautoresume.so in front of LD_PRELOAD, set the AUTORESUME_* variables
 * its options stand for, and exec the command. It also runs the helpers
 * next to the library for --check, --list and --clear.
 *
 *   autoresume [options] [--] COMMAND [ARGS...]
 *
 * Written in C so that a one-shot run costs one exec more than the command
 * alone (a shell script cost about 1.5 ms per run; bench/run.sh measures).
 * Where the library is (AR_WRAPPER_INSTALLED, set by make install):
 *   - the build tree: libautoresume.so next to this program (build/);
 *   - installed: AR_LIBDIR under the tree this program is in, as the
 *     physical parent of its directory (a DESTDIR staging tree too), else
 *     AR_LIBDIR itself.
 * AUTORESUME_LIBRARY overrides both. Exit status: that of COMMAND, else
 * 1 setup failure, 2 usage, 126 not executable, 127 not found.
 */
#include "ar_env.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef AR_VERSION
#define AR_VERSION "0.0.0"
#endif

#define USAGE_LINE \
    "Usage: autoresume [options] [--] COMMAND [ARGS...] | --check COMMAND | --list | --clear [HOST[:PORT]]"

static const char help_text[] =
    "Usage: autoresume [options] [--] COMMAND [ARGS...]\n"
    "       autoresume --check COMMAND\n"
    "       autoresume --list | --clear [HOST[:PORT]]\n"
    "Run COMMAND with transparent TLS session resumption (OpenSSL and GnuTLS\n"
    "clients: curl, python3, perl, ruby, socat, wget, gnutls-cli...).\n"
    "Sessions are kept in a private per-user store, so separate runs resume too.\n"
    "\n"
    "Options:\n"
    "  -v, --verbose      log one line per TLS connection to stderr\n"
    "                     (AUTORESUME_LOG=info); -vv logs debug detail\n"
    "      --log-file FILE\n"
    "                     append the log to FILE instead of stderr\n"
    "                     (AUTORESUME_LOG_FILE; implies -v unless a level is set)\n"
    "      --stats        print one summary line at exit (AUTORESUME_STATS=1)\n"
    "      --disable      load the library but turn it off (AUTORESUME_DISABLE=1)\n"
    "      --no-store     keep sessions inside the process (AUTORESUME_CACHE=off)\n"
    "      --check COMMAND\n"
    "                     say, without running it, whether COMMAND can be served\n"
    "                     and why (its TLS libraries, linked or loaded late, and\n"
    "                     versions); exit 0 served, 1 not served, 3 cannot tell\n"
    "      --list         list the servers in the session store (no secrets)\n"
    "      --clear [HOST[:PORT]]\n"
    "                     remove all stored sessions, or those of HOST\n"
    "  -h, --help         print this help and exit\n"
    "      --version      print the version and exit\n"
    "  --                 end of options\n"
    "\n"
    "Environment:\n"
    "  AUTORESUME_LIBRARY=PATH   library to preload instead of the default one\n"
    "  AUTORESUME_DISABLE=1      pass every call through unchanged\n"
    "  AUTORESUME_LOG=LEVEL      off, error, warn, info or debug (default off)\n"
    "  AUTORESUME_LOG_FILE=PATH  append log lines to PATH instead of stderr\n"
    "  AUTORESUME_STATS=1        summary line at exit (connections, offered, resumed...)\n"
    "  AUTORESUME_CACHE=DIR|off  session store directory, or off (default\n"
    "                            $XDG_RUNTIME_DIR/autoresume, else /tmp/autoresume-UID)\n"
    "  AUTORESUME_CACHE_MAX_BYTES=N  size cap of the store (default 16777216)\n"
    "  AUTORESUME_MAX_HOSTS=N    servers remembered, per process and in the store\n"
    "                            (default 1000)\n"
    "  AUTORESUME_TICKETS=N      TLS 1.3 tickets kept per server (default 4)\n";

enum action { RUN, CHECK, LIST, CLEAR };

struct opts {
    enum action action;
    int verbose;
    int disable, stats, no_store;
    const char *log_file;   /* NULL: not given */
    const char *clear_match;
    char **cmd;             /* NULL-terminated; NULL for list and clear */
};

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int status, const char *fmt, ...)
{
    char msg[PATH_MAX * 3];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "autoresume: %s\n", msg);
    exit(status);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("autoresume: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n" USAGE_LINE "\n", stderr);
    exit(2);
}

/* One of --check, --list, --clear (opt) at most. */
static void set_action(struct opts *o, enum action a, const char *opt)
{
    if (o->action != RUN && o->action != a)
        usage_error("%s cannot be combined with another of --check, --list, --clear", opt);
    o->action = a;
}

static void parse(int argc, char **argv, struct opts *o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help_text, stdout);
            exit(fflush(stdout) == 0 ? 0 : 1);
        } else if (strcmp(a, "--version") == 0) {
            printf("autoresume %s\n", AR_VERSION);
            exit(fflush(stdout) == 0 ? 0 : 1);
        } else if (strcmp(a, "--verbose") == 0) {
            o->verbose++;
        } else if (a[0] == '-' && a[1] == 'v') {
            /* -v, -vv, -vvv ...: each v raises the level one step */
            for (const char *f = a + 1; *f; f++) {
                if (*f != 'v')
                    usage_error("unknown option: %s", a);
                o->verbose++;
            }
        } else if (strcmp(a, "--log-file") == 0) {
            if (i + 1 >= argc)
                usage_error("option --log-file needs a FILE argument");
            o->log_file = argv[++i];
        } else if (strncmp(a, "--log-file=", 11) == 0) {
            o->log_file = a + 11;
        } else if (strcmp(a, "--disable") == 0) {
            o->disable = 1;
        } else if (strcmp(a, "--stats") == 0) {
            o->stats = 1;
        } else if (strcmp(a, "--no-store") == 0) {
            o->no_store = 1;
        } else if (strcmp(a, "--list") == 0) {
            set_action(o, LIST, a);
        } else if (strcmp(a, "--check") == 0) {
            set_action(o, CHECK, a);
        } else if (strcmp(a, "--clear") == 0) {
            set_action(o, CLEAR, a);
            if (i + 1 < argc && argv[i + 1][0] != '-')
                o->clear_match = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            usage_error("unknown option: %s", a);
        } else {
            break;
        }
    }
    if (o->action == RUN || o->action == CHECK) {
        if (i >= argc)
            usage_error("no command given");
        if (argv[i][0] == '\0')
            usage_error("empty command name");
        o->cmd = argv + i;
        if (o->action == CHECK && i + 1 < argc)
            usage_error("--check takes one COMMAND, without its arguments");
    } else if (i < argc) {
        usage_error("--%s takes no command", o->action == LIST ? "list" : "clear");
    }
    if (o->log_file != NULL && o->log_file[0] == '\0')
        usage_error("option --log-file needs a non-empty FILE argument");
    if (o->clear_match != NULL && o->clear_match[0] == '\0')
        usage_error("--clear needs a non-empty HOST[:PORT], or none to clear all");
}

static int is_file(const char *path, int mode)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, mode) == 0;
}

/* Append s to the path in out (PATH_MAX bytes), dying if it does not fit. */
static void path_cat(char *out, const char *s)
{
    size_t have = strlen(out), add = strlen(s);
    if (have + add >= PATH_MAX)
        die(1, "path too long: %s%s", out, s);
    memcpy(out + have, s, add + 1);
}

/* Copy s into out (PATH_MAX bytes), dying if it does not fit. */
static void path_set(char *out, const char *s)
{
    out[0] = '\0';
    path_cat(out, s);
}

/* path made absolute against the current directory, into out (PATH_MAX). */
static void absolute(const char *path, char *out)
{
    if (path[0] == '/') {
        path_set(out, path);
        return;
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        die(1, "cannot resolve %s: %s", path, strerror(errno));
    path_set(out, cwd);
    path_cat(out, "/");
    path_cat(out, path);
}

static int search_path(const char *cmd, char *found);

/*
 * The program's own physical path, symlinks resolved: /proc/self/exe, else
 * (no /proc) the path execve was given (AT_EXECFN: the shell's PATH lookup
 * already done, whatever argv[0] says), else argv[0], looked up in PATH as
 * the shell did when it has no slash. 0 on success.
 */
static int self_path(const char *argv0, char *out)
{
    ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 1);
    if (n > 0) {
        out[n] = '\0';
        return 0;
    }
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    if (execfn != NULL && strchr(execfn, '/') != NULL && realpath(execfn, out) != NULL)
        return 0;
    char found[PATH_MAX];
    if (strchr(argv0, '/') == NULL) {
        if (search_path(argv0, found) != 0)
            return -1;
        argv0 = found;
    }
    return realpath(argv0, out) != NULL ? 0 : -1;
}

/* The library to preload, as an absolute physical path, into lib. */
static void find_library(const char *argv0, char *lib)
{
    const char *env = getenv(AR_ENV_LIBRARY);
    char buf[PATH_MAX];
    if (env != NULL && env[0] != '\0') {
        absolute(env, buf);
        if (!is_file(buf, R_OK))
            die(1, "library not found: %s (from " AR_ENV_LIBRARY ")", buf);
        /* Make the directory part physical and free of "." and "..". */
        char *slash = strrchr(buf, '/');
        char dir[PATH_MAX];
        *slash = '\0';
        if (realpath(buf[0] ? buf : "/", dir) == NULL)
            die(1, "cannot resolve the directory of %s/%s", buf, slash + 1);
        path_set(lib, strcmp(dir, "/") == 0 ? "" : dir);
        path_cat(lib, "/");
        path_cat(lib, slash + 1);
        return;
    }

    char self[PATH_MAX];
    int have_self = self_path(argv0, self) == 0;
#ifdef AR_WRAPPER_INSTALLED
    /* LIBDIR under the tree this program is in, then LIBDIR itself. */
    char first[PATH_MAX] = "";
    const char *second = AR_LIBDIR "/libautoresume.so";
    if (have_self) {
        const char *rel = AR_LIBDIR;
        size_t plen = strlen(AR_PREFIX);
        while (plen > 0 && AR_PREFIX[plen - 1] == '/')
            plen--; /* PREFIX=/usr/ */
        if (strncmp(rel, AR_PREFIX, plen) == 0)
            rel += plen;
        *strrchr(self, '/') = '\0'; /* the program's directory */
        char *up = strrchr(self, '/');
        if (up != NULL)
            *up = '\0';
        path_set(first, self);
        path_cat(first, rel);
        path_cat(first, "/libautoresume.so");
    }
    if (first[0] != '\0' && is_file(first, R_OK))
        path_set(lib, first);
    else if (is_file(second, R_OK))
        path_set(lib, second);
    else
        die(1, "libautoresume.so not found (looked for\n  %s\n  %s)\n"
               "reinstall it, or set " AR_ENV_LIBRARY " to its path",
            first[0] ? first : "(this program's own tree: its path is unknown)", second);
#else
    if (!have_self)
        die(1, "cannot find the directory of %s; set " AR_ENV_LIBRARY, argv0);
    *strrchr(self, '/') = '\0'; /* the program's directory */
    path_set(buf, self);
    path_cat(buf, "/libautoresume.so");
    if (!is_file(buf, R_OK))
        die(1, "libautoresume.so not found (looked for\n  %s)\n"
               "run 'make' in the source tree, or set " AR_ENV_LIBRARY " to its path", buf);
    path_set(lib, buf);
#endif
}

/* PATH when it is unset: the shell's (dash's) default. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * Look cmd (no slash) up in PATH as the shell does: the first regular,
 * executable file; an empty element is the current directory. 0 with its
 * path in found, -1 if there is none.
 */
static int search_path(const char *cmd, char *found)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = DEFAULT_PATH;
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        size_t dlen = (size_t)(end - p);
        const char *dir = p;
        if (dlen == 0) {
            dir = "."; /* an empty element is the current directory */
            dlen = 1;
        }
        if (dlen + 1 + strlen(cmd) < PATH_MAX) {
            snprintf(found, PATH_MAX, "%.*s/%s", (int)dlen, dir, cmd);
            if (is_file(found, X_OK))
                return 0;
        }
        if (*end == '\0')
            return -1;
        p = end;
    }
}

/*
 * Find COMMAND as the shell's exec would, into found: a path with a slash
 * must exist (and with need_exec be an executable file), a name is looked
 * up in PATH (search_path). Dies 127 (not found) or 126 (not executable).
 */
static void find_command(const char *cmd, int need_exec, char *found)
{
    if (strchr(cmd, '/') != NULL) {
        struct stat st;
        if (stat(cmd, &st) != 0) /* as the shell: 127 if it is not there, else 126 */
            die(errno == ENOENT || errno == ENOTDIR ? 127 : 126, "%s: %s", cmd, strerror(errno));
        if (need_exec && (!S_ISREG(st.st_mode) || access(cmd, X_OK) != 0))
            die(126, "%s: not an executable file", cmd);
        path_set(found, cmd);
        return;
    }
    if (search_path(cmd, found) == 0)
        return;
    die(127, "%s: command not found", cmd);
}

/* Is lib already one of LD_PRELOAD's entries (separated by spaces or colons)? */
static int preload_has(const char *preload, const char *lib)
{
    size_t len = strlen(lib);
    for (const char *p = preload; *p;) {
        size_t n = strcspn(p, " :");
        if (n == len && memcmp(p, lib, len) == 0)
            return 1;
        p += n;
        if (*p)
            p++;
    }
    return 0;
}

static void set(const char *name, const char *value)
{
    if (setenv(name, value, 1) != 0)
        die(1, "cannot set %s: %s", name, strerror(errno));
}

/* Run the helper TOOL ("check" or "store") next to the library with args[1..]. */
static void exec_tool(const char *lib, const char *tool, char **args)
{
    char path[PATH_MAX];
    path_set(path, lib);
    *strrchr(path, '/') = '\0';
    path_cat(path, "/autoresume-");
    path_cat(path, tool);
    if (access(path, X_OK) != 0)
        die(1, "%s tool not found: %s", tool, path);
    args[0] = path;
    execv(path, args);
    die(1, "cannot run %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
    struct opts o = {.action = RUN};
    char lib[PATH_MAX], found[PATH_MAX];
    /* Set-user-ID (or otherwise AT_SECURE), it would hand its privilege to
     * any command with any library: that is a packaging mistake. */
    if (getauxval(AT_SECURE))
        die(1, "refusing to run set-user-ID or set-group-ID");
    parse(argc, argv, &o);
    find_library(argc > 0 ? argv[0] : "autoresume", lib);
    if (strpbrk(lib, " :") != NULL)
        die(1, "library path contains a space or colon, which LD_PRELOAD cannot hold: %s", lib);

    /* Set before the store tool runs too: --no-store --list says the store is off. */
    if (o.stats)
        set(AR_ENV_STATS, "1");
    if (o.no_store)
        set(AR_ENV_CACHE, "off");
    if (o.action == CHECK) {
        find_command(o.cmd[0], 0, found);
        char *args[] = {NULL, found, NULL};
        exec_tool(lib, "check", args);
    } else if (o.action == LIST) {
        char *args[] = {NULL, "list", NULL};
        exec_tool(lib, "store", args);
    } else if (o.action == CLEAR) {
        char *args[] = {NULL, "clear", (char *)o.clear_match, NULL};
        exec_tool(lib, "store", args);
    }

    find_command(o.cmd[0], 1, found);
    const char *level = getenv(AR_ENV_LOG);
    if (o.verbose >= 2)
        set(AR_ENV_LOG, "debug");
    else if (o.verbose == 1 || (o.log_file != NULL && (level == NULL || level[0] == '\0')))
        set(AR_ENV_LOG, "info");
    if (o.log_file != NULL) {
        char abs[PATH_MAX];
        absolute(o.log_file, abs); /* the command may change directory */
        set(AR_ENV_LOG_FILE, abs);
    }
    if (o.disable)
        set(AR_ENV_DISABLE, "1");

    const char *preload = getenv("LD_PRELOAD");
    if (preload == NULL || preload[0] == '\0') {
        set("LD_PRELOAD", lib);
    } else if (!preload_has(preload, lib)) {
        char *both = malloc(strlen(lib) + 1 + strlen(preload) + 1);
        if (both == NULL)
            die(1, "out of memory");
        sprintf(both, "%s:%s", lib, preload);
        set("LD_PRELOAD", both);
        free(both);
    }
    execv(found, o.cmd);
    if (errno == ENOEXEC) { /* a script without #!: the shell runs it, as execvp(3) does */
        int n = 0;
        while (o.cmd[n] != NULL)
            n++;
        char **args = malloc(((size_t)n + 2) * sizeof *args);
        if (args != NULL) {
            args[0] = "/bin/sh";
            args[1] = found;
            memcpy(args + 2, o.cmd + 1, (size_t)n * sizeof *args); /* with the NULL */
            execv("/bin/sh", args);
        }
    }
    die(errno == ENOENT ? 127 : 126, "%s: %s", o.cmd[0], strerror(errno));
}
