/*
 * elf.c - the parts of an ELF file the dynamic loader reads, bounds-checked
 * (see ar_elf.h). Both classes, the host's byte order only: a file of
 * another byte order cannot be this machine's program anyway.
 */
#include "ar_elf.h"

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The headers we use, widened to the 64-bit forms. */
struct phdr { unsigned type; unsigned long long offset, vaddr, filesz; };
struct shdr { unsigned name, type, link; unsigned long long offset, size, entsize; };

static int in_file(const struct ar_elf *e, unsigned long long off, unsigned long long n)
{
    return off <= e->len && n <= e->len - off;
}

static unsigned long long header_field(const struct ar_elf *e, size_t off64, size_t off32,
                                       size_t size64, size_t size32)
{
    unsigned long long v = 0;
    size_t off = e->elf_class == ELFCLASS64 ? off64 : off32;
    size_t size = e->elf_class == ELFCLASS64 ? size64 : size32;
    if (size == 2) {
        uint16_t x; memcpy(&x, e->data + off, 2); v = x;
    } else if (size == 4) {
        uint32_t x; memcpy(&x, e->data + off, 4); v = x;
    } else {
        uint64_t x; memcpy(&x, e->data + off, 8); v = x;
    }
    return v;
}

#define EHDR(field) header_field(e, offsetof(Elf64_Ehdr, field), offsetof(Elf32_Ehdr, field), \
                                 sizeof(((Elf64_Ehdr *)0)->field), sizeof(((Elf32_Ehdr *)0)->field))

static int read_phdr(const struct ar_elf *e, unsigned long long off, struct phdr *p)
{
    if (e->elf_class == ELFCLASS64) {
        Elf64_Phdr h;
        if (!in_file(e, off, sizeof h))
            return -1;
        memcpy(&h, e->data + off, sizeof h);
        *p = (struct phdr){h.p_type, h.p_offset, h.p_vaddr, h.p_filesz};
    } else {
        Elf32_Phdr h;
        if (!in_file(e, off, sizeof h))
            return -1;
        memcpy(&h, e->data + off, sizeof h);
        *p = (struct phdr){h.p_type, h.p_offset, h.p_vaddr, h.p_filesz};
    }
    return 0;
}

static int read_shdr(const struct ar_elf *e, unsigned long long off, struct shdr *s)
{
    if (e->elf_class == ELFCLASS64) {
        Elf64_Shdr h;
        if (!in_file(e, off, sizeof h))
            return -1;
        memcpy(&h, e->data + off, sizeof h);
        *s = (struct shdr){h.sh_name, h.sh_type, h.sh_link, h.sh_offset, h.sh_size, h.sh_entsize};
    } else {
        Elf32_Shdr h;
        if (!in_file(e, off, sizeof h))
            return -1;
        memcpy(&h, e->data + off, sizeof h);
        *s = (struct shdr){h.sh_name, h.sh_type, h.sh_link, h.sh_offset, h.sh_size, h.sh_entsize};
    }
    return 0;
}

/* A NUL-terminated string at off inside [base, base+size) of the file, or NULL. */
static const char *string_at(const struct ar_elf *e, unsigned long long base,
                             unsigned long long size, unsigned long long off)
{
    if (!in_file(e, base, size) || off >= size)
        return NULL;
    const char *s = (const char *)e->data + base + off;
    return memchr(s, '\0', size - off) != NULL ? s : NULL;
}

/* File offset of a virtual address, through the PT_LOAD segments. */
static int vaddr_to_offset(const struct ar_elf *e, unsigned long long va, unsigned long long *off)
{
    unsigned long long phoff = EHDR(e_phoff), n = EHDR(e_phnum), size = EHDR(e_phentsize);
    for (unsigned long long i = 0; i < n; i++) {
        struct phdr p;
        if (read_phdr(e, phoff + i * size, &p) != 0)
            return -1;
        if (p.type == PT_LOAD && va >= p.vaddr && va - p.vaddr < p.filesz) {
            *off = p.offset + (va - p.vaddr);
            return 0;
        }
    }
    return -1;
}

static int parse_dynamic(struct ar_elf *e, const struct phdr *dyn, const char **why)
{
    size_t entsize = e->elf_class == ELFCLASS64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
    unsigned long long strtab = 0, strsz = 0, strtab_off;
    unsigned long long needed[AR_ELF_MAX_NEEDED], rpath = 0, runpath = 0, soname = 0;
    int has_rpath = 0, has_runpath = 0, has_soname = 0;
    size_t n = 0;

    if (!in_file(e, dyn->offset, dyn->filesz)) {
        *why = "dynamic section outside the file";
        return -1;
    }
    for (unsigned long long i = 0; (i + 1) * entsize <= dyn->filesz; i++) {
        long long tag;
        unsigned long long val;
        const unsigned char *p = e->data + dyn->offset + i * entsize;
        if (e->elf_class == ELFCLASS64) {
            Elf64_Dyn d; memcpy(&d, p, sizeof d); tag = d.d_tag; val = d.d_un.d_val;
        } else {
            Elf32_Dyn d; memcpy(&d, p, sizeof d); tag = d.d_tag; val = d.d_un.d_val;
        }
        if (tag == DT_NULL)
            break;
        switch (tag) {
        case DT_NEEDED:
            if (n == AR_ELF_MAX_NEEDED) {
                *why = "too many needed libraries";
                return -1;
            }
            needed[n++] = val;
            break;
        case DT_STRTAB: strtab = val; break;
        case DT_STRSZ: strsz = val; break;
        case DT_RPATH: rpath = val; has_rpath = 1; break;
        case DT_RUNPATH: runpath = val; has_runpath = 1; break;
        case DT_SONAME: soname = val; has_soname = 1; break;
        default: break;
        }
    }
    if (n == 0 && !has_rpath && !has_runpath && !has_soname)
        return 0;
    if (vaddr_to_offset(e, strtab, &strtab_off) != 0) {
        *why = "dynamic string table outside the file";
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        e->needed[i] = string_at(e, strtab_off, strsz, needed[i]);
        if (e->needed[i] == NULL) {
            *why = "a needed library's name outside the string table";
            return -1;
        }
    }
    e->n_needed = n;
    e->rpath = has_rpath ? string_at(e, strtab_off, strsz, rpath) : NULL;
    e->runpath = has_runpath ? string_at(e, strtab_off, strsz, runpath) : NULL;
    e->soname = has_soname ? string_at(e, strtab_off, strsz, soname) : NULL;
    return 0;
}

int elf_parse(const unsigned char *data, size_t len, struct ar_elf *out, const char **why)
{
    struct ar_elf *e = out;
    memset(e, 0, sizeof *e);
    e->data = data;
    e->len = len;
    if (len < EI_NIDENT || memcmp(data, ELFMAG, SELFMAG) != 0) {
        *why = "not an ELF file";
        return -1;
    }
    e->elf_class = data[EI_CLASS];
    if (e->elf_class != ELFCLASS64 && e->elf_class != ELFCLASS32) {
        *why = "unknown ELF class";
        return -1;
    }
    unsigned short one = 1;
    int host = *(unsigned char *)&one == 1 ? ELFDATA2LSB : ELFDATA2MSB;
    if (data[EI_DATA] != host) {
        *why = "ELF file of another byte order";
        return -1;
    }
    if (len < (e->elf_class == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))) {
        *why = "truncated ELF header";
        return -1;
    }
    e->type = (int)EHDR(e_type);
    e->machine = (unsigned)EHDR(e_machine);
    unsigned long long phoff = EHDR(e_phoff), phnum = EHDR(e_phnum), phsize = EHDR(e_phentsize);
    size_t want = e->elf_class == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (phnum > 0 && (phsize < want || phnum > 65535 || !in_file(e, phoff, phnum * phsize))) {
        *why = "program headers outside the file";
        return -1;
    }
    struct phdr dyn = {0, 0, 0, 0};
    for (unsigned long long i = 0; i < phnum; i++) {
        struct phdr p;
        if (read_phdr(e, phoff + i * phsize, &p) != 0) {
            *why = "program headers outside the file";
            return -1;
        }
        if (p.type == PT_INTERP) {
            e->has_interp = 1;
            e->interp = string_at(e, p.offset, p.filesz, 0);
        } else if (p.type == PT_DYNAMIC) {
            e->has_dynamic = 1;
            dyn = p;
        }
    }
    if (e->has_dynamic && parse_dynamic(e, &dyn, why) != 0)
        return -1;
    return 0;
}

int elf_open(const char *path, struct ar_elf *out, const char **why)
{
    memset(out, 0, sizeof *out);
    /* Never open what is not a regular file: a FIFO would block the open
     * (and any name can come from a hostile DT_NEEDED), a device would be
     * opened. Non-blocking and without a controlling terminal in case it was
     * swapped in between; the fstat below decides. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        *why = "not a regular, non-empty file";
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        *why = "cannot open";
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        close(fd);
        *why = "not a regular, non-empty file";
        return -1;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        *why = "cannot map";
        return -1;
    }
    int rc = elf_parse(p, (size_t)st.st_size, out, why);
    out->mapped = 1;
    if (rc != 0)
        elf_free(out);
    return rc;
}

void elf_free(struct ar_elf *e)
{
    if (e == NULL)
        return;
    if (e->mapped && e->data != NULL)
        munmap((void *)e->data, e->len);
    memset(e, 0, sizeof *e);
}

/* Call fn for each section header until it returns nonzero; its result. */
static int each_section(const struct ar_elf *e, int (*fn)(const struct ar_elf *, const struct shdr *,
                                                          const void *), const void *arg)
{
    if (e->data == NULL)
        return 0;
    unsigned long long shoff = EHDR(e_shoff), n = EHDR(e_shnum), size = EHDR(e_shentsize);
    size_t want = e->elf_class == ELFCLASS64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    if (shoff == 0 || n == 0 || n > 65535 || size < want || !in_file(e, shoff, n * size))
        return 0;
    for (unsigned long long i = 0; i < n; i++) {
        struct shdr s;
        if (read_shdr(e, shoff + i * size, &s) != 0)
            return 0;
        int r = fn(e, &s, arg);
        if (r)
            return r;
    }
    return 0;
}

static int section_named(const struct ar_elf *e, const struct shdr *s, const void *arg)
{
    unsigned long long shoff = EHDR(e_shoff), idx = EHDR(e_shstrndx), size = EHDR(e_shentsize);
    struct shdr names;
    if (idx == SHN_UNDEF || read_shdr(e, shoff + idx * size, &names) != 0)
        return 0;
    const char *name = string_at(e, names.offset, names.size, s->name);
    return name != NULL && strcmp(name, arg) == 0;
}

int elf_has_section(const struct ar_elf *e, const char *name)
{
    return each_section(e, section_named, name);
}

static int table_defines(const struct ar_elf *e, const struct shdr *s, const void *arg)
{
    if (s->type != SHT_DYNSYM && s->type != SHT_SYMTAB)
        return 0;
    size_t entsize = e->elf_class == ELFCLASS64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
    unsigned long long shoff = EHDR(e_shoff), size = EHDR(e_shentsize);
    struct shdr strs;
    if (s->entsize < entsize || !in_file(e, s->offset, s->size) ||
        read_shdr(e, shoff + (unsigned long long)s->link * size, &strs) != 0)
        return 0;
    for (unsigned long long off = 0; off + s->entsize <= s->size; off += s->entsize) {
        unsigned name, shndx;
        const unsigned char *p = e->data + s->offset + off;
        if (e->elf_class == ELFCLASS64) {
            Elf64_Sym y; memcpy(&y, p, sizeof y); name = y.st_name; shndx = y.st_shndx;
        } else {
            Elf32_Sym y; memcpy(&y, p, sizeof y); name = y.st_name; shndx = y.st_shndx;
        }
        if (shndx == SHN_UNDEF)
            continue;
        const char *n = string_at(e, strs.offset, strs.size, name);
        if (n != NULL && strcmp(n, arg) == 0)
            return 1;
    }
    return 0;
}

int elf_defines(const struct ar_elf *e, const char *name)
{
    return each_section(e, table_defines, name);
}

/* The version-like text ([0-9A-Za-z.-]) at p, into out[cap]; its length. */
static size_t version_text(const unsigned char *p, const unsigned char *end, char *out, size_t cap)
{
    size_t i = 0;
    while (p < end && i + 1 < cap &&
           ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            *p == '.' || *p == '-'))
        out[i++] = (char)*p++;
    out[i] = '\0';
    return i;
}

int elf_find(const struct ar_elf *e, const char *needle, char *after, size_t cap)
{
    size_t n = strlen(needle);
    if (e->data == NULL || n == 0)
        return 0;
    const unsigned char *end = e->data + e->len;
    const unsigned char *p = memmem(e->data, e->len, needle, n);
    if (p == NULL)
        return 0;
    if (after == NULL || cap == 0)
        return 1;
    /* The longest text after any of the first occurrences: "OpenSSL 3." is
     * followed by "0" in one message and by "0.19" in the version string. */
    char best[128] = "", cur[128];
    for (int k = 0; p != NULL && k < 64; k++) {
        if (version_text(p + n, end, cur, sizeof cur) > strlen(best))
            memcpy(best, cur, sizeof best);
        p = memmem(p + 1, (size_t)(end - p - 1), needle, n);
    }
    snprintf(after, cap, "%s", best);
    return 1;
}
