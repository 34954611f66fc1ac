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

/*
 * Compresses `in` as one .xz stream: xz -6's LZMA2 settings (liblzma preset 6, CRC64), with
 * the dictionary no larger than the input needs (at least liblzma's 4 KiB minimum) and at
 * most `BTFGEN_XZ_DICT_MAX`. The bytes decode as any xz stream, in a window of at most 1 MiB;
 * the encoder takes at most about 14 MB, not preset 6's 94 MB. liblzma (liblzma.so.5, which libarchive itself needs) is loaded on first
 * use. Returns 0 with the stream's length in `*out_len`; -1 with a one-line reason in `error`
 * (`out` too small: ask `btfgen_xz_bound`).
 */
#define BTFGEN_XZ_DICT_MAX (1u << 20)
int btfgen_xz_compress(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_size,
		       size_t *out_len, char *error, size_t size);

/* The most bytes `btfgen_xz_compress` can write for `in_len` input bytes. */
size_t btfgen_xz_bound(size_t in_len);
#endif
