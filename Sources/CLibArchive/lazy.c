#define _GNU_SOURCE
#include "CLibArchive.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The soname of the libarchive Debian and Ubuntu ship (package libarchive13 / libarchive13t64). */
#define LIBARCHIVE "libarchive.so.13"

/* Every function btfgen calls, in one list: the table of pointers and the trampolines. */
#define BTFGEN_ARCHIVE_FUNCTIONS(X)                                                          \
	X(mode_t, archive_entry_filetype, (struct archive_entry *e), (e))                    \
	X(void, archive_entry_free, (struct archive_entry *e), (e))                          \
	X(struct archive_entry *, archive_entry_new, (void), ())                             \
	X(const char *, archive_entry_pathname, (struct archive_entry *e), (e))              \
	X(const char *, archive_entry_hardlink, (struct archive_entry *e), (e))              \
	X(void, archive_entry_set_filetype, (struct archive_entry *e, unsigned int t), (e, t)) \
	X(void, archive_entry_set_gid, (struct archive_entry *e, la_int64_t g), (e, g))      \
	X(void, archive_entry_set_gname, (struct archive_entry *e, const char *n), (e, n))   \
	X(void, archive_entry_set_hardlink, (struct archive_entry *e, const char *t), (e, t)) \
	X(void, archive_entry_set_mtime, (struct archive_entry *e, time_t s, long ns), (e, s, ns)) \
	X(void, archive_entry_set_pathname, (struct archive_entry *e, const char *p), (e, p)) \
	X(void, archive_entry_set_perm, (struct archive_entry *e, mode_t m), (e, m))         \
	X(void, archive_entry_set_size, (struct archive_entry *e, la_int64_t s), (e, s))     \
	X(void, archive_entry_set_uid, (struct archive_entry *e, la_int64_t u), (e, u))      \
	X(void, archive_entry_set_uname, (struct archive_entry *e, const char *n), (e, n))   \
	X(la_int64_t, archive_entry_size, (struct archive_entry *e), (e))                    \
	X(int, archive_entry_size_is_set, (struct archive_entry *e), (e))                    \
	X(const char *, archive_error_string, (struct archive *a), (a))                      \
	X(int, archive_format, (struct archive *a), (a))                                     \
	X(la_ssize_t, archive_read_data, (struct archive *a, void *b, size_t n), (a, b, n))  \
	X(int, archive_read_free, (struct archive *a), (a))                                  \
	X(struct archive *, archive_read_new, (void), ())                                    \
	X(int, archive_read_next_header, (struct archive *a, struct archive_entry **e), (a, e)) \
	X(int, archive_read_open_memory, (struct archive *a, const void *b, size_t n), (a, b, n)) \
	X(int, archive_read_support_filter_gzip, (struct archive *a), (a))                   \
	X(int, archive_read_support_filter_xz, (struct archive *a), (a))                     \
	X(int, archive_read_support_filter_zstd, (struct archive *a), (a))                   \
	X(int, archive_read_support_format_empty, (struct archive *a), (a))                  \
	X(int, archive_read_support_format_raw, (struct archive *a), (a))                    \
	X(int, archive_read_support_format_tar, (struct archive *a), (a))                    \
	X(int, archive_write_add_filter_xz, (struct archive *a), (a))                        \
	X(int, archive_write_close, (struct archive *a), (a))                                \
	X(la_ssize_t, archive_write_data, (struct archive *a, const void *b, size_t n), (a, b, n)) \
	X(int, archive_write_free, (struct archive *a), (a))                                 \
	X(int, archive_write_header, (struct archive *a, struct archive_entry *e), (a, e))   \
	X(struct archive *, archive_write_new, (void), ())                                   \
	X(int, archive_write_open_memory, (struct archive *a, void *b, size_t n, size_t *u), (a, b, n, u)) \
	X(int, archive_write_set_bytes_in_last_block, (struct archive *a, int n), (a, n))    \
	X(int, archive_write_set_format_ustar, (struct archive *a), (a))

#define POINTER(ret, name, params, args) ret(*name) params;
static struct {
	BTFGEN_ARCHIVE_FUNCTIONS(POINTER)
} table;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];

static void load(void)
{
	/* $BTFGEN_LIBARCHIVE names another build of the library (a path or a soname). */
	const char *name = getenv("BTFGEN_LIBARCHIVE");
	void *lib;
	const char *what;

	if (!name || !*name)
		name = LIBARCHIVE;
	lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		what = dlerror();
		snprintf(load_error, sizeof(load_error), "cannot load libarchive (apt-get install libarchive13): %s",
			 what ? what : name);
		return;
	}
#define RESOLVE(ret, fn, params, args)                                                             \
	*(void **)&table.fn = dlsym(lib, #fn);                                                     \
	if (!table.fn) {                                                                           \
		snprintf(load_error, sizeof(load_error), "%s has no %s: too old a libarchive", name, #fn); \
		return;                                                                            \
	}
	BTFGEN_ARCHIVE_FUNCTIONS(RESOLVE)
}

int btfgen_archive_load(char *error, size_t size)
{
	pthread_once(&once, load);
	if (load_error[0]) {
		if (error && size)
			snprintf(error, size, "%s", load_error);
		return -1;
	}
	return 0;
}

/* Reached only if a caller skipped btfgen_archive_load: a programming error, not bad input. */
static void require_loaded(void)
{
	if (btfgen_archive_load(NULL, 0) != 0) {
		fprintf(stderr, "btfgen: %s\n", load_error);
		abort();
	}
}

#define TRAMPOLINE(ret, name, params, args) \
	ret name params                     \
	{                                   \
		require_loaded();           \
		return table.name args;     \
	}
BTFGEN_ARCHIVE_FUNCTIONS(TRAMPOLINE)

/* liblzma, for btfgen_xz_compress: the soname Debian and Ubuntu ship (package liblzma5). */
#include <lzma.h>
#define LIBLZMA "liblzma.so.5"

static struct {
	lzma_bool (*lzma_lzma_preset)(lzma_options_lzma *options, uint32_t preset);
	lzma_ret (*lzma_stream_buffer_encode)(lzma_filter *filters, lzma_check check, const lzma_allocator *allocator,
					      const uint8_t *in, size_t in_size, uint8_t *out, size_t *out_pos,
					      size_t out_size);
} xz;

static pthread_once_t xz_once = PTHREAD_ONCE_INIT;
static char xz_error[512];

static void load_xz(void)
{
	void *lib = dlopen(LIBLZMA, RTLD_NOW | RTLD_LOCAL);
	const char *what;

	if (!lib) {
		what = dlerror();
		snprintf(xz_error, sizeof(xz_error), "cannot load liblzma (apt-get install liblzma5): %s", what ? what : LIBLZMA);
		return;
	}
	*(void **)&xz.lzma_lzma_preset = dlsym(lib, "lzma_lzma_preset");
	*(void **)&xz.lzma_stream_buffer_encode = dlsym(lib, "lzma_stream_buffer_encode");
	if (!xz.lzma_lzma_preset || !xz.lzma_stream_buffer_encode)
		snprintf(xz_error, sizeof(xz_error), "%s lacks lzma_lzma_preset or lzma_stream_buffer_encode: too old a liblzma", LIBLZMA);
}

size_t btfgen_xz_bound(size_t in_len)
{
	/* liblzma's lzma_stream_buffer_bound: incompressible data grows by a few bytes per 64 KiB
	 * chunk, plus the stream and block headers; this is a generous upper bound of it. */
	return in_len + in_len / 64 + 64 * 1024;
}

int btfgen_xz_compress(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_size,
		       size_t *out_len, char *error, size_t size)
{
	lzma_options_lzma options;
	lzma_filter filters[2];
	lzma_ret ret;
	uint32_t dict = LZMA_DICT_SIZE_MIN;

	pthread_once(&xz_once, load_xz);
	if (xz_error[0]) {
		snprintf(error, size, "%s", xz_error);
		return -1;
	}
	if (xz.lzma_lzma_preset(&options, 6)) {
		snprintf(error, size, "liblzma: no preset 6");
		return -1;
	}
	/* A dictionary larger than the input finds no more matches: the same compressed data,
	 * from an encoder whose tables grow with the dictionary (about 10 bytes a byte for bt4).
	 * Past 1 MiB it finds little more in a pack: outputs alike (kernels of one release) are
	 * neighbours in path order. Preset 6's 8 MiB took a 94 MB encoder for a 2,000-kernel pack,
	 * and an 8 MiB window from every reader that unpacks it. */
	if (in_len > dict)
		dict = in_len < BTFGEN_XZ_DICT_MAX ? (uint32_t)in_len : BTFGEN_XZ_DICT_MAX;
	options.dict_size = dict;
	filters[0].id = LZMA_FILTER_LZMA2;
	filters[0].options = &options;
	filters[1].id = LZMA_VLI_UNKNOWN;
	filters[1].options = NULL;
	*out_len = 0;
	ret = xz.lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC64, NULL, in, in_len, out, out_len, out_size);
	if (ret != LZMA_OK) {
		snprintf(error, size, "liblzma: compression failed (%s)", ret == LZMA_BUF_ERROR ? "output buffer too small"
						       : ret == LZMA_MEM_ERROR ? "out of memory" : "error");
		return -1;
	}
	return 0;
}
