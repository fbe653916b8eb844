/*
 * ar_elf.h - read what the dynamic loader would read from an ELF file,
 * without running it (autoresume --check): its interpreter, the libraries
 * it needs and where it asks for them (DT_NEEDED, DT_RPATH, DT_RUNPATH),
 * its sections and the symbols it defines. Every offset is bounds-checked:
 * a truncated or hostile file is refused, never followed.
 */
#ifndef AR_ELF_H
#define AR_ELF_H

#include <stddef.h>

#define AR_ELF_MAX_NEEDED 256

struct ar_elf {
    int elf_class;          /* ELFCLASS32 or ELFCLASS64 */
    unsigned machine;       /* e_machine */
    int type;               /* e_type: ET_EXEC, ET_DYN */
    int has_interp;         /* PT_INTERP: the loader runs it */
    const char *interp;     /* its path, or NULL */
    int has_dynamic;        /* PT_DYNAMIC */
    const char *needed[AR_ELF_MAX_NEEDED];
    size_t n_needed;
    const char *rpath, *runpath, *soname; /* NULL when absent */
    /* private: the file's bytes, owned */
    const unsigned char *data;
    size_t len;
    int mapped;
};

/*
 * elf_parse - read an ELF image of len bytes at data (not copied: it must
 * outlive *out; elf_free leaves it alone). Returns 0, or -1 with *why set
 * to a static reason (not ELF, another byte order, truncated, corrupt).
 * Strings in *out point into data. Pure; thread-safe.
 */
int elf_parse(const unsigned char *data, size_t len, struct ar_elf *out, const char **why);

/*
 * elf_open - map the file at path read-only and elf_parse it. 0, or -1
 * with *why (a static reason; "cannot open" and the like set errno).
 * Release with elf_free.
 */
int elf_open(const char *path, struct ar_elf *out, const char **why);

/* elf_free - unmap what elf_open mapped; NULL and parsed-only are fine. */
void elf_free(struct ar_elf *e);

/* elf_has_section - 1 if a section of that name exists (".go.buildinfo"). */
int elf_has_section(const struct ar_elf *e, const char *name);

/*
 * elf_defines - 1 if the dynamic or the static symbol table defines the
 * function or object `name` (not an undefined reference to it).
 */
int elf_defines(const struct ar_elf *e, const char *name);

/*
 * elf_find - 1 if the bytes of the file contain `needle` (any string,
 * e.g. "BoringSSL"); if after is not NULL, the version-like text that
 * follows it ([0-9A-Za-z.-]; the longest such text after any of its first
 * 64 occurrences) is copied into after[cap] (NUL-terminated).
 */
int elf_find(const struct ar_elf *e, const char *needle, char *after, size_t cap);

#endif
