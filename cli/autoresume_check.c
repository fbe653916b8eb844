/*
 * autoresume-check - say, without running it, whether a program can be
 * served by libautoresume.so and why (`autoresume --check COMMAND`).
 *
 *   autoresume-check PROGRAM
 *
 * It reads the program's ELF dynamic section and those of the libraries it
 * needs, found as the loader finds them (ar_elf.h, DT_RPATH, LD_LIBRARY_PATH,
 * DT_RUNPATH, /etc/ld.so.conf, the default directories), the TLS modules
 * interpreters load late (python's _ssl, ruby's openssl.so, perl's
 * Net::SSLeay, git's https helper) where they keep them, and the marks of
 * the cases that cannot be served. Exit status: 0 served, 1 not served,
 * 3 cannot tell, 2 usage or unreadable program.
 */
#include "ar_elf.h"

#include <elf.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_OBJS 512
#define MAX_DIRS 128

enum { SERVED = 0, NOT_SERVED = 1, USAGE = 2, UNKNOWN = 3 };

struct obj {
    char path[PATH_MAX];
    const char *name;   /* as needed (DT_NEEDED), or the path for roots */
    int parent;         /* index of the object that needs it, -1 for a root */
    const char *late;   /* for a root loaded late: what loads it, else NULL */
    struct ar_elf elf;
};

static struct obj objs[MAX_OBJS];
static int n_objs;
static char *conf_dirs[MAX_DIRS];
static int n_conf_dirs;

/* What was found, in order: one line each, and the verdict they add up to. */
static int served_libs, not_served, unknown;
static char reasons[4096];

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    char line[1024];
    size_t used = strlen(reasons);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Paths and names come from the files read: what is not printable is
     * written \xNN, so none reaches the terminal as a control sequence. */
    for (const unsigned char *p = (const unsigned char *)line; *p && used + 5 < sizeof reasons; p++) {
        if (*p >= 0x20 && *p < 0x7f)
            reasons[used++] = (char)*p;
        else
            used += (size_t)snprintf(reasons + used, sizeof reasons - used, "\\x%02x", *p);
    }
    reasons[used] = '\0';
    if (used + 1 < sizeof reasons) {
        reasons[used] = '\n';
        reasons[used + 1] = '\0';
    }
}

/* ---- where the loader looks ------------------------------------------------ */

static void add_conf_dir(const char *d)
{
    for (int i = 0; i < n_conf_dirs; i++)
        if (strcmp(conf_dirs[i], d) == 0)
            return;
    if (n_conf_dirs < MAX_DIRS && (conf_dirs[n_conf_dirs] = strdup(d)) != NULL)
        n_conf_dirs++;
}

/* /etc/ld.so.conf and what it includes (glob patterns), as ldconfig reads it. */
static void read_ld_conf(const char *path, int depth)
{
    FILE *f = depth < 4 ? fopen(path, "re") : NULL;
    char line[PATH_MAX];
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "#\r\n")] = '\0';
        for (char *end = p + strlen(p); end > p && (end[-1] == ' ' || end[-1] == '\t');)
            *--end = '\0';
        if (*p == '\0')
            continue;
        if (strncmp(p, "include", 7) == 0 && (p[7] == ' ' || p[7] == '\t')) {
            glob_t g;
            char *pat = p + 8 + strspn(p + 8, " \t");
            if (glob(pat, 0, NULL, &g) == 0)
                for (size_t i = 0; i < g.gl_pathc; i++)
                    read_ld_conf(g.gl_pathv[i], depth + 1);
            globfree(&g);
        } else if (*p == '/') {
            add_conf_dir(p);
        }
    }
    fclose(f);
}

/* A library of the program's class and machine, as the loader would accept. */
static int usable_lib(const char *path, const struct ar_elf *like, struct ar_elf *out)
{
    const char *why;
    if (access(path, R_OK) != 0 || elf_open(path, out, &why) != 0)
        return 0;
    if (out->elf_class != like->elf_class || out->machine != like->machine) {
        elf_free(out);
        return 0;
    }
    return 1;
}

/* Search a ':'-separated list (with $ORIGIN of the object at origin_path). */
static int search_list(const char *list, const char *origin_path, const char *name,
                       const struct ar_elf *like, char *out, struct ar_elf *elf)
{
    char origin[PATH_MAX], buf[PATH_MAX * 2];
    snprintf(origin, sizeof origin, "%s", origin_path);
    char *slash = strrchr(origin, '/');
    if (slash != NULL)
        *slash = '\0';
    for (const char *p = list; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, ":");
        char dir[PATH_MAX];
        size_t used = 0;
        for (size_t i = 0; i < n && used + 1 < sizeof dir;) {
            if (strncmp(p + i, "$ORIGIN", 7) == 0 || strncmp(p + i, "${ORIGIN}", 9) == 0) {
                used += (size_t)snprintf(dir + used, sizeof dir - used, "%s", origin);
                i += p[i + 1] == '{' ? 9 : 7;
            } else {
                dir[used++] = p[i++];
            }
        }
        if (used >= sizeof dir)
            used = sizeof dir - 1;
        dir[used] = '\0';
        if (used > 0) {
            snprintf(buf, sizeof buf, "%s/%s", dir, name);
            if (strlen(buf) < PATH_MAX && usable_lib(buf, like, elf)) {
                snprintf(out, PATH_MAX, "%s", buf);
                return 1;
            }
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return 0;
}

/* Find `name`, needed by objs[from], as ld.so would. 1 if found. */
static int find_lib(const char *name, int from, char *out, struct ar_elf *elf)
{
    const struct obj *o = &objs[from];
    const struct ar_elf *like = &objs[0].elf;
    if (strchr(name, '/') != NULL) {
        snprintf(out, PATH_MAX, "%s", name);
        return usable_lib(out, like, elf);
    }
    /* DT_RPATH of the needing object and of its parents, unless it has DT_RUNPATH. */
    if (o->elf.runpath == NULL)
        for (int i = from; i >= 0; i = objs[i].parent)
            if (objs[i].elf.rpath != NULL && objs[i].elf.runpath == NULL &&
                search_list(objs[i].elf.rpath, objs[i].path, name, like, out, elf))
                return 1;
    const char *llp = getenv("LD_LIBRARY_PATH");
    if (llp != NULL && search_list(llp, o->path, name, like, out, elf))
        return 1;
    if (o->elf.runpath != NULL && search_list(o->elf.runpath, o->path, name, like, out, elf))
        return 1;
    for (int i = 0; i < n_conf_dirs; i++)
        if (search_list(conf_dirs[i], o->path, name, like, out, elf))
            return 1;
    const char *defaults = like->elf_class == ELFCLASS64 ? "/lib64:/usr/lib64:/lib:/usr/lib"
                                                         : "/lib:/usr/lib";
    return search_list(defaults, o->path, name, like, out, elf);
}

static int add_obj(const char *path, const char *name, int parent, const char *late,
                   struct ar_elf *elf)
{
    for (int i = 0; i < n_objs; i++)
        if (strcmp(objs[i].path, path) == 0) {
            elf_free(elf);
            return i;
        }
    if (n_objs == MAX_OBJS) {
        elf_free(elf);
        return -1;
    }
    struct obj *o = &objs[n_objs];
    snprintf(o->path, sizeof o->path, "%s", path);
    o->name = name;
    o->parent = parent;
    o->late = late;
    o->elf = *elf;
    return n_objs++;
}

/* Every library objs[root] needs, directly or not, breadth first. */
static void closure(int root)
{
    for (int i = root; i < n_objs; i++) {
        for (size_t k = 0; k < objs[i].elf.n_needed; k++) {
            const char *name = objs[i].elf.needed[k];
            char path[PATH_MAX];
            struct ar_elf e;
            if (find_lib(name, i, path, &e))
                add_obj(path, name, i, objs[i].late, &e);
            else if (strncmp(name, "ld-linux", 8) != 0)
                note("  %s: needed by %s, not found (the program would not start)", name,
                     objs[i].path);
        }
    }
}

/* ---- what it found ------------------------------------------------------------- */

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* "through libcurl.so.4, libfoo.so" (the chain from the program), or "directly". */
static void through(int i, char *out, size_t cap)
{
    const char *chain[32];
    int n = 0;
    for (int p = objs[i].parent; p >= 0 && objs[p].parent >= 0 && n < 32; p = objs[p].parent)
        chain[n++] = base(objs[p].path);
    size_t used = 0;
    out[0] = '\0';
    if (n > 0)
        used += (size_t)snprintf(out, cap, "through ");
    for (int k = n - 1; k >= 0 && used < cap; k--)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", chain[k], k ? ", " : "");
    if (objs[i].late != NULL && used < cap)
        snprintf(out + used, cap - used, "%sloaded late: %s", n ? "; " : "", objs[i].late);
    else if (n == 0)
        snprintf(out, cap, "directly");
}

static int version_at_least(const char *v, int a, int b, int c)
{
    int x = 0, y = 0, z = 0;
    sscanf(v, "%d.%d.%d", &x, &y, &z);
    return x != a ? x > a : y != b ? y > b : z >= c;
}

/* The version libcrypto / libgnutls carries in its bytes, or "?". */
static void openssl_version(char *out, size_t cap)
{
    char after[32];
    snprintf(out, cap, "?");
    for (int i = 0; i < n_objs; i++)
        if (strncmp(base(objs[i].path), "libcrypto.so", 12) == 0 &&
            elf_find(&objs[i].elf, "OpenSSL 3.", after, sizeof after)) {
            snprintf(out, cap, "3.%s", after);
            return;
        }
}

static void classify_lib(int i)
{
    const char *b = base(objs[i].path);
    char via[600], v[48];
    through(i, via, sizeof via);
    if (strcmp(b, "libssl.so.3") == 0) {
        openssl_version(v, sizeof v);
        note("  OpenSSL %s: %s (%s): served", v, objs[i].path, via);
        served_libs++;
    } else if (strncmp(b, "libssl.so.", 10) == 0) {
        note("  OpenSSL (%s): %s (%s): not tested (the library is built and tested for OpenSSL 3)",
             b, objs[i].path, via);
        unknown++;
    } else if (strcmp(b, "libgnutls.so.30") == 0) {
        if (!elf_find(&objs[i].elf, "Enabled GnuTLS ", v, sizeof v))
            snprintf(v, sizeof v, "?");
        if (v[0] != '?' && !version_at_least(v, 3, 6, 3)) {
            note("  GnuTLS %s: %s (%s): not served (GnuTLS 3.6.3 or later is needed)", v,
                 objs[i].path, via);
            not_served++;
        } else {
            note("  GnuTLS %s: %s (%s): served", v, objs[i].path, via);
            served_libs++;
        }
    } else if (strcmp(b, "libnss3.so") == 0 || strcmp(b, "libssl3.so") == 0) {
        note("  NSS: %s (%s): not served (NSS is not hooked)", objs[i].path, via);
        not_served++;
    } else if (strncmp(b, "libwolfssl.so", 13) == 0 || strncmp(b, "libmbedtls.so", 13) == 0 ||
               strncmp(b, "libbotan", 8) == 0) {
        note("  %s (%s): not served (a TLS library that is not hooked)", objs[i].path, via);
        not_served++;
    } else if (strcmp(b, "libjvm.so") == 0 || strcmp(b, "libjli.so") == 0) {
        note("  Java: %s (%s): not served (Java's TLS is its own, in Java)", objs[i].path, via);
        not_served++;
    }
}

/* A copy of a TLS library inside the program or a library (not the system's). */
static void classify_embedded(int i)
{
    const struct ar_elf *e = &objs[i].elf;
    const char *b = base(objs[i].path);
    char v[48], via[600];
    if (strncmp(b, "libssl.so", 9) == 0 || strncmp(b, "libcrypto.so", 12) == 0 ||
        strncmp(b, "libgnutls.so", 12) == 0)
        return;
    if (i == 0)
        snprintf(via, sizeof via, "the program itself");
    else
        through(i, via, sizeof via);
    int boring = elf_find(e, "BoringSSL", NULL, 0);
    int ossl = elf_defines(e, "SSL_CTX_new") || elf_find(e, "statem_clnt.c", NULL, 0);
    if (boring && ossl) {
        note("  BoringSSL built into %s (%s): not served (its own copy: calls never reach a "
             "shared libssl)", objs[i].path, via);
        not_served++;
    } else if (ossl) {
        if (elf_find(e, "OpenSSL 3.", v + 2, sizeof v - 2))
            memcpy(v, "3.", 2);
        else
            snprintf(v, sizeof v, "?");
        note("  OpenSSL %s built into %s (%s): not served (statically linked: calls never reach "
             "a shared libssl; nodesource and official node builds are such)", v, objs[i].path, via);
        not_served++;
    }
    if (elf_has_section(e, ".go.buildinfo") || elf_find(e, "\xff Go buildinf:", NULL, 0)) {
        note("  Go program (%s): not served (crypto/tls is Go code, not a C library)", objs[i].path);
        not_served++;
    }
    if (elf_find(e, "rustls", NULL, 0) && i == 0) {
        note("  rustls in %s: not served (rustls is Rust code, not a C library)", objs[i].path);
        not_served++;
    }
    if (strncmp(b, "libnode.so", 10) == 0) {
        note("  node (%s): not served: node installs a client certificate callback on every "
             "context, and a certificate chosen per handshake rules out offers (Debian's node "
             "links the system libssl, and still resumed 0 of 5 runs)", objs[i].path);
        not_served++;
    }
}

/* ---- interpreters: the TLS modules they load late ------------------------------- */

static int glob_first(const char *pattern, char *out)
{
    glob_t g;
    int found = glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0;
    if (found)
        snprintf(out, PATH_MAX, "%s", g.gl_pathv[g.gl_pathc - 1]); /* the newest sorts last */
    globfree(&g);
    return found;
}

static void add_late(const char *path, const char *what)
{
    struct ar_elf e;
    if (!usable_lib(path, &objs[0].elf, &e)) {
        note("  %s: %s is not a usable library", what, path);
        unknown++;
        return;
    }
    int i = add_obj(path, path, -1, what, &e);
    if (i >= 0)
        closure(i);
}

static int needs_prefix(const char *prefix, char *ver, size_t cap)
{
    size_t n = strlen(prefix);
    for (size_t k = 0; k < objs[0].elf.n_needed; k++)
        if (strncmp(objs[0].elf.needed[k], prefix, n) == 0) {
            snprintf(ver, cap, "%s", objs[0].elf.needed[k] + n);
            ver[strcspn(ver, "-")] = '\0';
            return 1;
        }
    return 0;
}

/* 1 if the program is an interpreter we know; its module is added when found. */
static int late_modules(void)
{
    const char *b = base(objs[0].path);
    char pat[PATH_MAX], path[PATH_MAX], ver[64];
    if (strncmp(b, "python3", 7) == 0 || needs_prefix("libpython3.", ver, sizeof ver)) {
        if (strncmp(b, "python3.", 8) == 0)
            snprintf(ver, sizeof ver, "%s", b + 8);
        else if (!needs_prefix("libpython3.", ver, sizeof ver))
            snprintf(ver, sizeof ver, "*");
        ver[strcspn(ver, ".so")] = '\0';
        snprintf(pat, sizeof pat, "/usr/lib/python3.%s/lib-dynload/_ssl.*.so", ver);
        if (glob_first(pat, path) ||
            (snprintf(pat, sizeof pat, "/usr/local/lib/python3.%s/lib-dynload/_ssl.*.so", ver),
             glob_first(pat, path)))
            add_late(path, "python's _ssl module");
        else if (!elf_defines(&objs[0].elf, "PyInit__ssl")) {
            note("  python: its _ssl module was not found (looked for %s): cannot tell", pat);
            unknown++;
        }
        return 1;
    }
    if (strncmp(b, "perl", 4) == 0) {
        if (glob_first("/usr/lib/*/perl5/*/auto/Net/SSLeay/SSLeay.so", path) ||
            glob_first("/usr/local/lib/*/perl/*/auto/Net/SSLeay/SSLeay.so", path) ||
            glob_first("/usr/lib/*/perl/*/auto/Net/SSLeay/SSLeay.so", path))
            add_late(path, "perl's Net::SSLeay (IO::Socket::SSL)");
        else {
            note("  perl: Net::SSLeay was not found (/usr/lib/*/perl5/*/auto/Net/SSLeay/SSLeay.so): "
                 "perl has no TLS without it; cannot tell");
            unknown++;
        }
        return 1;
    }
    if (strncmp(b, "ruby", 4) == 0 || needs_prefix("libruby-", ver, sizeof ver)) {
        if (!needs_prefix("libruby-", ver, sizeof ver))
            snprintf(ver, sizeof ver, "*");
        ver[strcspn(ver, "s")] = '\0'; /* "3.1.so.3.1" -> "3.1." */
        snprintf(pat, sizeof pat, "/usr/lib/*/ruby/%s*/openssl.so", ver);
        if (glob_first(pat, path))
            add_late(path, "ruby's openssl.so");
        else {
            note("  ruby: openssl.so was not found (looked for %s): cannot tell", pat);
            unknown++;
        }
        return 1;
    }
    if (strcmp(b, "git") == 0) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", objs[0].path);
        *strrchr(dir, '/') = '\0';
        int n = snprintf(pat, sizeof pat, "%s/../lib/git-core/git-remote-https", dir);
        if ((n > 0 && (size_t)n < sizeof pat && realpath(pat, path) != NULL) || glob_first("/usr/lib/git-core/git-remote-https", path))
            add_late(path, "git's https helper (git-remote-https, run for https URLs)");
        else {
            note("  git: git-remote-https was not found: cannot tell");
            unknown++;
        }
        return 1;
    }
    return 0;
}

/* ---- the program ------------------------------------------------------------------ */

/* PATH search for a name without a slash, as the shell would. */
static int which(const char *name, char *out)
{
    const char *path = getenv("PATH");
    if (strchr(name, '/') != NULL) {
        snprintf(out, PATH_MAX, "%s", name);
        return access(out, F_OK) == 0;
    }
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        if (snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, name) < PATH_MAX &&
            access(out, X_OK) == 0)
            return 1;
        p += n;
        if (*p == ':')
            p++;
    }
    return 0;
}

/* "#!/usr/bin/env python3" or "#!/usr/bin/python3 -u": the interpreter's path. */
static int script_interpreter(const char *path, char *out)
{
    FILE *f = fopen(path, "re");
    char line[PATH_MAX];
    int ok = 0;
    if (f == NULL)
        return 0;
    if (fgets(line, sizeof line, f) != NULL && line[0] == '#' && line[1] == '!') {
        char *p = line + 2 + strspn(line + 2, " \t"), *arg;
        p[strcspn(p, "\r\n")] = '\0';
        arg = p + strcspn(p, " \t");
        if (*arg)
            *arg++ = '\0';
        arg += strspn(arg, " \t");
        if (strcmp(base(p), "env") == 0 && *arg) {
            while (strncmp(arg, "-S", 2) == 0 || arg[0] == '-') /* env -S python3 -u */
                arg += strcspn(arg, " \t"), arg += strspn(arg, " \t");
            arg[strcspn(arg, " \t")] = '\0';
            ok = *arg && which(arg, out);
        } else {
            snprintf(out, PATH_MAX, "%s", p);
            ok = 1;
        }
    }
    fclose(f);
    return ok;
}

int main(int argc, char **argv)
{
    char given[PATH_MAX], real[PATH_MAX], interp[PATH_MAX];
    const char *why = NULL;
    if (argc != 2 || argv[1][0] == '\0' || argv[1][0] == '-') {
        fprintf(stderr, "usage: autoresume-check PROGRAM\n");
        return USAGE;
    }
    if (!which(argv[1], given) || realpath(given, real) == NULL) {
        fprintf(stderr, "autoresume: %s: not found\n", argv[1]);
        return USAGE;
    }
    struct stat st;
    if (stat(real, &st) != 0) {
        fprintf(stderr, "autoresume: %s: %s\n", real, strerror(errno));
        return USAGE;
    }
    int setid = (st.st_mode & (S_ISUID | S_ISGID)) != 0;
    struct ar_elf e;
    printf("%s", argv[1]);
    if (strcmp(argv[1], real) != 0)
        printf(" (%s)", real);
    if (elf_open(real, &e, &why) != 0) {
        if (script_interpreter(real, interp) && realpath(interp, given) != NULL &&
            elf_open(given, &e, &why) == 0) {
            printf(": a script run by %s", given);
            snprintf(real, sizeof real, "%s", given);
            if (stat(real, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
                setid = 1;
        } else {
            printf(": cannot tell: %s\n", why ? why : "not a program");
            return UNKNOWN;
        }
    }
    printf("\n");
    read_ld_conf("/etc/ld.so.conf", 0);
    struct ar_elf copy = e;
    add_obj(real, real, -1, NULL, &copy);
    if (setid) {
        note("  set-user-ID or set-group-ID: not served (the loader ignores LD_PRELOAD for such "
             "programs)");
        not_served++;
    }
    if (!objs[0].elf.has_interp && !objs[0].elf.has_dynamic) {
        note("  statically linked: not served (no dynamic loader runs, so nothing is preloaded)");
        not_served++;
    }
    closure(0);
    int interpreter = late_modules();
    for (int i = 0; i < n_objs; i++)
        classify_lib(i);
    for (int i = 0; i < n_objs; i++)
        classify_embedded(i);

    int verdict;
    const char *word;
    if (setid || (!objs[0].elf.has_interp && !objs[0].elf.has_dynamic)) {
        verdict = NOT_SERVED, word = "not served";
    } else if (served_libs > 0 && not_served == 0) {
        verdict = SERVED, word = "served";
    } else if (served_libs > 0) {
        verdict = NOT_SERVED,
        word = "not served (it links a TLS library that is served, but see below)";
    } else if (not_served > 0) {
        verdict = NOT_SERVED, word = "not served";
    } else {
        verdict = UNKNOWN, word = "cannot tell";
        if (unknown == 0)
            note(interpreter ? "  no TLS module found for this interpreter"
                             : "  links no TLS library (a library it loads later with dlopen "
                               "may still be served: try autoresume -v)");
    }
    printf("verdict: %s\n%s", word, reasons);
    for (int i = 0; i < n_objs; i++)
        elf_free(&objs[i].elf);
    return verdict;
}
