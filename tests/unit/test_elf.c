/* Unit tests for check/elf.c: what the loader reads, and hostile files refused. */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_elf.h"

TestSuite(elf);

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

Test(elf, reads_this_program_as_the_loader_does)
{
    struct ar_elf e;
    const char *why = NULL;
    cr_assert_eq(elf_open("/proc/self/exe", &e, &why), 0, "%s", why);
    cr_assert(e.has_interp && e.interp != NULL && strstr(e.interp, "ld-linux") != NULL,
              "interpreter %s", e.interp ? e.interp : "(none)");
    cr_assert(e.has_dynamic);
    int criterion = 0, libc = 0;
    for (size_t i = 0; i < e.n_needed; i++) {
        criterion |= strncmp(e.needed[i], "libcriterion.so", 15) == 0;
        libc |= strcmp(e.needed[i], "libc.so.6") == 0;
    }
    cr_assert(criterion && libc, "DT_NEEDED holds libcriterion and libc");
    cr_assert(elf_defines(&e, "log_protocol_name"), "defines log_protocol_name (symbol table)");
    cr_assert(!elf_defines(&e, "fopen"), "fopen is only referenced");
    cr_assert(!elf_defines(&e, "no_such_symbol_anywhere"));
    cr_assert(elf_has_section(&e, ".dynamic"));
    cr_assert(!elf_has_section(&e, ".go.buildinfo"));
    elf_free(&e);
    elf_free(&e); /* twice is fine */
    elf_free(NULL);
}

Test(elf, reads_a_shared_library_soname)
{
    struct ar_elf e;
    const char *why = NULL;
    cr_assert_eq(elf_open("/proc/self/exe", &e, &why), 0);
    elf_free(&e);
    /* libc's soname, through the path the loader found for this process */
    FILE *m = fopen("/proc/self/maps", "r");
    char line[4096], path[4096] = "";
    while (m != NULL && fgets(line, sizeof line, m) != NULL) {
        char *p = strchr(line, '/');
        if (p != NULL && strstr(p, "/libc.so.6") != NULL) {
            p[strcspn(p, "\n")] = '\0';
            snprintf(path, sizeof path, "%s", p);
            break;
        }
    }
    if (m != NULL)
        fclose(m);
    cr_assert(path[0], "libc mapped");
    cr_assert_eq(elf_open(path, &e, &why), 0, "%s", why);
    cr_assert_str_eq(e.soname, "libc.so.6");
    cr_assert(elf_defines(&e, "fopen"), "libc defines fopen");
    cr_assert_eq(e.type, ET_DYN);
    elf_free(&e);
}

Test(elf, every_truncation_is_refused_or_read_within_bounds)
{
    size_t len;
    unsigned char *full = slurp("/proc/self/exe", &len);
    size_t cuts[] = {0, 1, 4, 16, 63, 64, 65, 200, 511, 4096, 8192, len / 3, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t n = cuts[i] < len ? cuts[i] : len;
        unsigned char *part = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        memcpy(part, full, n);
        struct ar_elf e;
        const char *why = NULL;
        int rc = elf_parse(part, n, &e, &why);
        cr_assert(rc == 0 || why != NULL, "cut at %zu: a reason when refused", n);
        if (rc == 0) {
            elf_defines(&e, "log_protocol_name");
            elf_has_section(&e, ".text");
        }
        free(part);
    }
    free(full);
}

Test(elf, corrupt_headers_are_refused)
{
    size_t len;
    unsigned char *img = slurp("/proc/self/exe", &len);
    struct ar_elf e;
    const char *why = NULL;

    unsigned char *bad = malloc(len);
    memcpy(bad, img, len);
    bad[EI_DATA] = bad[EI_DATA] == ELFDATA2LSB ? ELFDATA2MSB : ELFDATA2LSB;
    cr_assert_eq(elf_parse(bad, len, &e, &why), -1);
    cr_assert_str_eq(why, "ELF file of another byte order");

    memcpy(bad, img, len);
    Elf64_Ehdr h;
    memcpy(&h, bad, sizeof h);
    h.e_phoff = (Elf64_Off)len - 8; /* program headers past the end */
    memcpy(bad, &h, sizeof h);
    cr_assert_eq(elf_parse(bad, len, &e, &why), -1);

    memcpy(bad, img, len);
    memcpy(bad, "#!/bin/sh\n", 10);
    cr_assert_eq(elf_parse(bad, len, &e, &why), -1);
    cr_assert_str_eq(why, "not an ELF file");

    memcpy(bad, img, len);
    memcpy(&h, bad, sizeof h);
    h.e_shoff = (Elf64_Off)len - 8; /* sections past the end: none are read */
    memcpy(bad, &h, sizeof h);
    cr_assert_eq(elf_parse(bad, len, &e, &why), 0);
    cr_assert(!elf_defines(&e, "log_protocol_name"));
    free(bad);
    free(img);
    cr_assert_eq(elf_open("/nonexistent/file", &e, &why), -1);
    cr_assert_eq(elf_open("/proc/self", &e, &why), -1);
}

Test(elf, find_gives_the_longest_version_text)
{
    static const unsigned char text[] = "\x7f" "ELF junk OpenSSL 3.0 short ... OpenSSL 3.0.19 27 Jan";
    struct ar_elf e = {.data = text, .len = sizeof text - 1};
    char v[32];
    cr_assert(elf_find(&e, "OpenSSL 3.", v, sizeof v));
    cr_assert_str_eq(v, "0.19");
    cr_assert(!elf_find(&e, "BoringSSL", v, sizeof v));
    cr_assert(elf_find(&e, "junk", NULL, 0));
}
