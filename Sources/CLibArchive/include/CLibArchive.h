#ifndef BTFGEN_CLIBARCHIVE_H
#define BTFGEN_CLIBARCHIVE_H
/*
 * libarchive, loaded on first use. btfgen calls the archive_* functions declared by
 * <archive.h> as usual; lazy.c defines each one it uses as a trampoline into libarchive.so.13,
 * opened with dlopen the first time a compressed kernel is read or a tar.xz written. Runs
 * over raw BTF never load it (nor its dependency chain: libxml2, ICU, nettle, ...).
 */
#include <stddef.h>
#include <archive.h>
#include <archive_entry.h>

/*
 * Loads libarchive if needed. Returns 0 when it is usable; otherwise -1, with a one-line
 * reason (the library file and dlopen's or dlsym's message) in `error`.
 */
int btfgen_archive_load(char *error, size_t size);
#endif
