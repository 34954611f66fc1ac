/*
 * libbpf-judge: libbpf (1.1.x) as the oracle for btfgen's tests.
 *
 * Everything here is derived from what libbpf itself computes and logs; the
 * program never reimplements CO-RE matching.  It installs a libbpf print
 * callback, calls bpf_object__load() and parses the DEBUG/WARN lines that
 * libbpf 1.1 emits from bpf_object__relocate_core() and relo_core.c.
 *
 * Subcommands and exact output formats
 * ------------------------------------
 *
 * libbpf-judge relos OBJ [--btf BTF_PATH] [--log]
 *   Loads OBJ with bpf_object_open_opts.btf_custom_path = BTF_PATH (default:
 *   the running kernel) and its maps' autocreate off (libbpf relocates before
 *   it loads programs; maps sized at run time would fail the load first):
 *   once with every program, as a skeleton loads it, which is the answer when
 *   every record was relocated and none failed; otherwise once per program
 *   with only that program autoloaded (so that one program's failing
 *   relocation does not hide the others').
 *   stdout, one line per CO-RE relocation libbpf processed in any of these
 *   loads, sorted by (program name, relo index):
 *
 *     PROG relo #N: KIND SPEC => OUTCOME
 *
 *   PROG   libbpf's program name (a static subprogram in .text is reported
 *          under its own name, e.g. "sub_read", as libbpf does).
 *   N      libbpf's relo index = index of the record inside its ELF section's
 *          .BTF.ext CO-RE record list (NOT per program: the second program
 *          in a section may start at e.g. #1).
 *   KIND   byte_off | byte_sz | field_exists | signed | lshift_u64 |
 *          rshift_u64 | local_type_id | target_type_id | type_exists |
 *          type_matches | type_size | enumval_exists | enumval_value
 *          (printed bare, without libbpf's <>).
 *   SPEC   libbpf's formatted local spec without the "<kind> " prefix, e.g.
 *            [6] struct task_struct.tgid (0:1 @ offset 4)
 *            [6] struct task_struct.in_iowait (0:3 @ offset 8.1)
 *            [6] struct task_struct.comm[3] (0:4:3 @ offset 12)
 *            [6] struct task_struct                    (type-based kinds)
 *            [17] enum pid_type::PIDTYPE_SID = 3       (enumval kinds)
 *          "?" if libbpf failed before printing the spec (candidate search
 *          or spec parsing failure).
 *   OUTCOME one of
 *            patched insn #I: OLD -> NEW
 *            patched insn #I: OLD -> NEW (mem_sz A -> B)   (LDX/ST/STX size
 *                                                           was adjusted too)
 *            poisoned insn #I
 *            error: MESSAGE
 *          I is libbpf's instruction index relative to the program start (as
 *          libbpf prints it).  OLD/NEW are libbpf's printed values (imm, off
 *          or imm64, decimal).  For target_type_id, NEW is replaced by
 *          "KIND NAME" of that id in the target BTF (e.g. "struct
 *          task_struct"; "<anon>" for an empty name; "0" when libbpf found no
 *          target and patched 0).  MESSAGE is libbpf's first specific WARN
 *          message for the relocation with the "prog 'P': relo #N: " prefix
 *          removed, e.g. "field offset ambiguity: 64 != 128" or
 *          "relocation decision ambiguity: success 8 != success 16"; target
 *          type ids inside it are removed / replaced by "KIND NAME".  If
 *          libbpf logged only its generic failure line, MESSAGE is that
 *          line, e.g. "failed to relocate: -22".
 *   After an error libbpf stops relocating that load, so the program's
 *   later relocations (and those of sections relocated after it in the same
 *   load) are simply absent.
 *   stderr: the LAST line is "load: ok" when the whole object relocated in
 *   one load, or "load: failed (E)" with the first failing per-program
 *   load's E (positive errno/libbpf error code; with no maps created, a
 *   program load fails after relocation).  With --log the whole libbpf log goes to
 *   stderr first.
 *   exit: 0 if OBJ has no CO-RE relocations (nothing printed) or at least one
 *         outcome was captured (even if the load failed later, e.g. in the
 *         verifier); 1 if OBJ has CO-RE relocations but libbpf failed before
 *         relocating; 2 if OBJ cannot be opened (libbpf error on stderr).
 *
 * libbpf-judge records OBJ [--btf BTF_PATH] [--log]
 *   Same load as "relos" (default target: running kernel).  One line per
 *   CO-RE record in .BTF.ext order (section order, then record order):
 *
 *     SECTION relo #N: insn I: KIND SPEC
 *
 *   SECTION is the ELF section name as named in .BTF.ext (e.g.
 *   "kprobe/do_nanosleep", ".text"), N the record index in that section, I
 *   the SECTION-relative instruction index (= insn_off / 8 of the raw
 *   .BTF.ext record; differs from the program-relative index libbpf prints
 *   when a section holds several functions), KIND/SPEC as in "relos".  SPEC
 *   is "?" for a record libbpf did not log (processing stopped after an
 *   error, or the record belongs to an eliminated weak subprogram).  Exit
 *   codes as for relos.
 *
 * libbpf-judge parse BTF_PATH
 *   btf__parse(); stdout "types N" (btf__type_cnt - 1) and
 *   "endian little|big"; exit 0.  On failure the libbpf messages and
 *   "btf__parse: <strerror> (-E)" go to stderr; exit 1.
 *
 * libbpf-judge bench-parse BTF_PATH ITERS
 *   Times ITERS x (btf__parse + btf__free) with CLOCK_MONOTONIC:
 *     libbpf btf__parse: N iters, MEAN ms/iter, min MIN ms   (%.3f)
 *
 * libbpf-judge load OBJ [--btf BTF_PATH] [--log]
 *   For each program (in object order), opens OBJ afresh with only that
 *   program autoloaded and loads it into the running kernel with
 *   btf_custom_path = BTF_PATH; prints "PROG: ok" or "PROG: failed (E)".
 *   exit 0 if all loaded, 1 otherwise, 2 if OBJ cannot be opened.
 *
 * libbpf-judge cands OBJ VMLINUX
 *   For each distinct local type a CO-RE record of OBJ names (ascending id):
 *     [ID] N
 *   N = the number of VMLINUX types libbpf's candidate search
 *   (bpf_core_add_cands) would pair with it: same essential name (the name
 *   cut at its last X___Y flavor separator), a CO-RE compatible kind (equal,
 *   or enum and enum64).  On a live kernel libbpf searches the loaded
 *   modules only for local types with N = 0 (bpf_core_find_cands); a test
 *   combining `relos --btf VMLINUX` and `relos --btf VMLINUX+MODULES` per
 *   local type with this gets libbpf's outcome with the modules loaded.
 *   Type-id relocations (local_type_id) name no candidates; they are listed
 *   all the same.  exit 0, 2 if OBJ or VMLINUX cannot be read.
 *
 * libbpf-judge merge-check VMLINUX FLAT MODULE...
 *   Checks that FLAT holds VMLINUX's types and then each MODULE's own
 *   types (btf__parse_split on VMLINUX), in this order, with type ids moved
 *   past the earlier modules' and vmlinux ids kept: for every type the
 *   kind, vlen, kflag, name, size or referenced type, and every member,
 *   enumerator, parameter, array and datasec entry.  stdout "ok N types", or
 *   the first difference; exit 0 when equal, 1 otherwise, 2 on a parse error.
 *
 *   Linked with libbpf >= 1.5 (scripts/build-judge-sid.sh), btf__parse_split
 *   relocates a MODULE .ko that carries a distilled base (.BTF.base) onto
 *   VMLINUX (btf__relocate), as the kernel does when it loads the module.
 *
 * libbpf-judge distill VMLINUX MODULE OUT_BASE OUT_SPLIT   (libbpf >= 1.5 only)
 *   What pahole --btf_features=distilled_base does: btf__distill_base of
 *   MODULE's split BTF on VMLINUX, written as raw BTF: OUT_BASE the distilled
 *   base (for .BTF.base), OUT_SPLIT the split BTF on it (for .BTF).  stdout
 *   "ok N distilled base types, M split types".
 *
 * libbpf-judge probe
 *   Whether bpf() works here (libbpf_probe_bpf_prog_type on a socket
 *   filter): stdout "bpf: ok", exit 0; or "bpf: unavailable (REASON)",
 *   exit 1.  Every subcommand but parse and bench-parse needs it.
 *
 * libbpf 1.1 facts this relies on (checked against libbpf.so.1.1.2):
 *   - bpf_object__load performs ALL CO-RE relocations (section by section,
 *     bpf_object__relocate_core) before any program is loaded, so a
 *     verifier failure never hides relocations; relocations of programs
 *     with autoload off are skipped, those of static subprograms never are.
 *   - messages used ("libbpf: " prefix stripped):
 *       sec '%s': found %d CO-RE relocations
 *       CO-RE relocating [%d] %s %s: found target candidate [%d] %s %s in [%s]
 *       prog '%s': relo #%d: <%s> SPEC                    (local spec)
 *       prog '%s': relo #%d: patched insn #%d (ALU/ALU64) imm %llu -> %llu
 *       prog '%s': relo #%d: patched insn #%d (LDX/ST/STX) off %llu -> %llu
 *       prog '%s': relo #%d: patched insn #%d (LDX/ST/STX) mem_sz %u -> %u
 *       prog '%s': relo #%d: patched insn #%d (LDIMM64) imm64 %llu -> %llu
 *       prog '%s': relo #%d: substituting insn #%d w/ invalid insn
 *       prog '%s': relo #%d: failed to relocate: %d  (+ earlier specific WARN)
 *       prog '%s': relo #%d: failed to patch insn #%u: %d
 *     "prog '%s': relo #%d: poisoning insn #%d that loads map ...", "bad insn"
 *     and "bad relo type" are data (map) relocations and are ignored.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define EXIT_USAGE 64

/*
 * libbpf 1.1.2 declares btf_ext__raw_data() in btf.h but forgot to export it
 * (it is missing from libbpf.map); the exported equivalent is the older
 * btf_ext__get_raw_data() (LIBBPF_0.0.2), which 1.x no longer declares.
 */
const void *btf_ext__get_raw_data(const struct btf_ext *btf_ext, __u32 *size);

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "libbpf-judge: out of memory\n");
		exit(3);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xrealloc(NULL, n), s, n);
}

static char *xstrndup(const char *s, size_t n)
{
	char *r = xrealloc(NULL, n + 1);
	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

static bool starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *r = NULL;

	va_start(ap, fmt);
	if (vasprintf(&r, fmt, ap) < 0)
		r = NULL;
	va_end(ap);
	if (!r) {
		fprintf(stderr, "libbpf-judge: out of memory\n");
		exit(3);
	}
	return r;
}

static const char *libbpf_err_str(int err)
{
	static char buf[256];

	if (err < 0)
		err = -err;
	if (libbpf_strerror(err, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "%s", strerror(err));
	return buf;
}

/* ------------------------------------------------------------------ */
/* libbpf log capture                                                   */

struct log_line {
	enum libbpf_print_level level;
	char *text;
};

static struct log_line *g_lines;
static size_t g_nlines, g_caplines;
static char *g_pending;                 /* unterminated message fragment */
static enum libbpf_print_level g_pending_level;
static bool g_echo;                     /* --log: also echo to stderr */
static bool g_quiet;                    /* bench: drop everything */

static void push_line(enum libbpf_print_level level, const char *s, size_t n)
{
	if (g_nlines == g_caplines) {
		g_caplines = g_caplines ? 2 * g_caplines : 1024;
		g_lines = xrealloc(g_lines, g_caplines * sizeof(*g_lines));
	}
	g_lines[g_nlines].level = level;
	g_lines[g_nlines].text = xstrndup(s, n);
	g_nlines++;
}

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char *msg = NULL, *all, *p, *nl;
	int n;

	if (g_quiet)
		return 0;
	n = vasprintf(&msg, fmt, args);
	if (n < 0)
		return 0;
	if (g_echo)
		fputs(msg, stderr);

	if (g_pending) {
		all = xasprintf("%s%s", g_pending, msg);
		free(g_pending);
		g_pending = NULL;
		free(msg);
		level = g_pending_level < level ? g_pending_level : level;
	} else {
		all = msg;
	}
	for (p = all; (nl = strchr(p, '\n')); p = nl + 1)
		push_line(level, p, nl - p);
	if (*p) {
		g_pending = xstrdup(p);
		g_pending_level = level;
	}
	free(all);
	return 0;
}

static void flush_pending(void)
{
	if (g_pending) {
		push_line(g_pending_level, g_pending, strlen(g_pending));
		free(g_pending);
		g_pending = NULL;
	}
}

static void clear_log(void)
{
	size_t i;

	flush_pending();
	for (i = 0; i < g_nlines; i++)
		free(g_lines[i].text);
	g_nlines = 0;
}

static void print_warnings_to_stderr(void)
{
	size_t i;

	flush_pending();
	for (i = 0; i < g_nlines; i++)
		if (g_lines[i].level == LIBBPF_WARN)
			fprintf(stderr, "%s\n", g_lines[i].text);
}

/* ------------------------------------------------------------------ */
/* BTF kind names as libbpf prints them (libbpf.c btf_kind_str)         */

static const char *kind_str(const struct btf_type *t)
{
	switch (btf_kind(t)) {
	case BTF_KIND_UNKN: return "void";
	case BTF_KIND_INT: return "int";
	case BTF_KIND_PTR: return "ptr";
	case BTF_KIND_ARRAY: return "array";
	case BTF_KIND_STRUCT: return "struct";
	case BTF_KIND_UNION: return "union";
	case BTF_KIND_ENUM: return "enum";
	case BTF_KIND_FWD: return "fwd";
	case BTF_KIND_TYPEDEF: return "typedef";
	case BTF_KIND_VOLATILE: return "volatile";
	case BTF_KIND_CONST: return "const";
	case BTF_KIND_RESTRICT: return "restrict";
	case BTF_KIND_FUNC: return "func";
	case BTF_KIND_FUNC_PROTO: return "func_proto";
	case BTF_KIND_VAR: return "var";
	case BTF_KIND_DATASEC: return "datasec";
	case BTF_KIND_FLOAT: return "float";
	case BTF_KIND_DECL_TAG: return "decl_tag";
	case BTF_KIND_TYPE_TAG: return "type_tag";
	case BTF_KIND_ENUM64: return "enum64";
	default: return "unknown";
	}
}

static const char *relo_kind_str(uint32_t kind)
{
	static const char *const names[] = {
		"byte_off", "byte_sz", "field_exists", "signed", "lshift_u64",
		"rshift_u64", "local_type_id", "target_type_id", "type_exists",
		"type_size", "enumval_exists", "enumval_value", "type_matches",
	};
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

/* ------------------------------------------------------------------ */
/* raw .BTF.ext CO-RE records                                           */

struct core_rec {
	char *sec;
	int idx;
	uint32_t insn;          /* section-relative instruction index */
	uint32_t type_id;       /* the local type the record is about */
	uint32_t kind;
};

static struct core_rec *g_recs;
static size_t g_nrecs;
static bool g_recs_ok;

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Reads the object's .BTF.ext via libbpf; returns false if unavailable. */
static bool load_core_records(const char *obj_path)
{
	struct btf_ext *ext = NULL;
	struct btf *btf;
	const uint8_t *d, *p, *end;
	uint32_t size, hdr_len, off, len, rec_size;

	g_quiet = true;
	btf = btf__parse_elf(obj_path, &ext);
	g_quiet = false;
	if (!btf)
		return false;
	if (!ext) {
		btf__free(btf);
		g_recs_ok = true;      /* no .BTF.ext: no CO-RE records */
		return true;
	}
	d = btf_ext__get_raw_data(ext, &size);
	if (!d || size < 8)
		goto bad;
	hdr_len = rd32(d + 4);
	/* struct btf_ext_header: core_relo_off at 24, core_relo_len at 28 */
	if (hdr_len < 32 || size < 32) {
		g_recs_ok = true;
		goto out;
	}
	off = rd32(d + 24);
	len = rd32(d + 28);
	if (len == 0) {
		g_recs_ok = true;
		goto out;
	}
	if ((uint64_t)hdr_len + off + len > size || len < 4)
		goto bad;
	p = d + hdr_len + off;
	end = p + len;
	rec_size = rd32(p);
	p += 4;
	if (rec_size < 16)
		goto bad;
	while (p + 8 <= end) {
		const char *sec = btf__name_by_offset(btf, rd32(p));
		uint32_t n = rd32(p + 4), i;

		p += 8;
		if ((uint64_t)n * rec_size > (uint64_t)(end - p))
			goto bad;
		for (i = 0; i < n; i++, p += rec_size) {
			g_recs = xrealloc(g_recs, (g_nrecs + 1) * sizeof(*g_recs));
			g_recs[g_nrecs].sec = xstrdup(sec ? sec : "?");
			g_recs[g_nrecs].idx = (int)i;
			g_recs[g_nrecs].insn = rd32(p) / 8;
			g_recs[g_nrecs].type_id = rd32(p + 4);
			g_recs[g_nrecs].kind = rd32(p + 12);
			g_nrecs++;
		}
	}
	g_recs_ok = true;
	goto out;
bad:
	fprintf(stderr, "libbpf-judge: malformed .BTF.ext CO-RE section in %s\n", obj_path);
out:
	btf_ext__free(ext);
	btf__free(btf);
	return g_recs_ok;
}

/* ------------------------------------------------------------------ */
/* parsed CO-RE relocation outcomes                                     */

struct relo {
	char *prog;
	int idx;
	char *sec;              /* from "sec '%s': found %d CO-RE relocations" */
	char *kind;             /* NULL until the spec line was seen */
	char *spec;
	int insn;               /* program-relative, from patched/poison line */
	bool patched;
	char *old_val, *new_val, *memsz;
	bool poisoned;
	bool failed;
	char *err_specific;     /* first specific WARN message */
	char *err_generic;      /* "failed to relocate: -22" etc. */
};

static struct relo *g_relos;
static size_t g_nrelos;

/* target candidates found in module BTFs: id -> "kind name" */
struct cand_name {
	long id;
	char *desc;
};
static struct cand_name *g_cands;
static size_t g_ncands;

static struct relo *find_relo(const char *prog, int idx, bool create, const char *sec)
{
	size_t i;

	for (i = g_nrelos; i-- > 0;)
		if (g_relos[i].idx == idx && strcmp(g_relos[i].prog, prog) == 0)
			return &g_relos[i];
	if (!create)
		return NULL;
	g_relos = xrealloc(g_relos, (g_nrelos + 1) * sizeof(*g_relos));
	memset(&g_relos[g_nrelos], 0, sizeof(*g_relos));
	g_relos[g_nrelos].prog = xstrdup(prog);
	g_relos[g_nrelos].idx = idx;
	g_relos[g_nrelos].sec = xstrdup(sec ? sec : "?");
	g_relos[g_nrelos].insn = -1;
	return &g_relos[g_nrelos++];
}

static void parse_relo_line(enum libbpf_print_level level, const char *prog, int idx,
			    const char *rest, const char *cur_sec)
{
	struct relo *r;
	unsigned int insn;
	int n = 0;

	/* data (map) relocations share the "prog '%s': relo #%d:" prefix */
	if ((starts_with(rest, "poisoning insn #") && strstr(rest, "that loads map")) ||
	    strcmp(rest, "bad insn") == 0 || starts_with(rest, "bad relo type "))
		return;

	/* local spec: "<kind> [id] ..." */
	if (rest[0] == '<') {
		const char *gt = strchr(rest, '>');

		if (gt && gt[1] == ' ' && gt[2] == '[') {
			r = find_relo(prog, idx, true, cur_sec);
			if (!r->kind) {
				r->kind = xstrndup(rest + 1, gt - rest - 1);
				r->spec = xstrdup(gt + 2);
			}
			return;
		}
	}

	if (sscanf(rest, "patched insn #%u (%*[^)]) %n", &insn, &n) >= 1 && n > 0) {
		const char *v = rest + n;
		const char *arrow;

		r = find_relo(prog, idx, true, cur_sec);
		if (starts_with(v, "mem_sz ")) {
			free(r->memsz);
			r->memsz = xstrdup(v + strlen("mem_sz "));
			return;
		}
		v = strchr(v, ' ');        /* skip "imm"/"off"/"imm64" */
		if (!v)
			return;
		v++;
		arrow = strstr(v, " -> ");
		if (!arrow)
			return;
		r->patched = true;
		r->insn = (int)insn;
		free(r->old_val);
		free(r->new_val);
		r->old_val = xstrndup(v, arrow - v);
		r->new_val = xstrdup(arrow + 4);
		return;
	}

	if (sscanf(rest, "substituting insn #%u w/ invalid insn", &insn) == 1) {
		r = find_relo(prog, idx, true, cur_sec);
		if (!r->poisoned || (int)insn < r->insn)
			r->insn = (int)insn;
		r->poisoned = true;
		return;
	}

	if (starts_with(rest, "matching candidate #") ||
	    starts_with(rest, "non-matching candidate #") ||
	    strcmp(rest, "no matching targets found") == 0)
		return;

	if (starts_with(rest, "failed to relocate: ") ||
	    starts_with(rest, "failed to patch insn #") ||
	    starts_with(rest, "failed to record relocation: ")) {
		r = find_relo(prog, idx, true, cur_sec);
		r->failed = true;
		if (!r->err_generic)
			r->err_generic = xstrdup(rest);
		return;
	}

	if (level == LIBBPF_WARN) {
		r = find_relo(prog, idx, true, cur_sec);
		if (!r->err_specific)
			r->err_specific = xstrdup(rest);
	}
}

static void parse_log(void)
{
	char *cur_sec = NULL;
	size_t i;

	flush_pending();
	for (i = 0; i < g_nlines; i++) {
		const char *s = g_lines[i].text;
		const char *q;
		char name[512], kname[64], cname[512], mod[256];
		int idx, n = 0;
		long cid;

		if (!starts_with(s, "libbpf: "))
			continue;
		s += strlen("libbpf: ");

		if (starts_with(s, "sec '") &&
		    (q = strstr(s, "': found ")) && strstr(q, " CO-RE relocations")) {
			free(cur_sec);
			cur_sec = xstrndup(s + 5, q - (s + 5));
			continue;
		}
		if (starts_with(s, "CO-RE relocating [")) {
			q = strstr(s, ": found target candidate [");
			if (q && sscanf(q, ": found target candidate [%ld] %63s %511s in [%255[^]]]",
					&cid, kname, cname, mod) == 4 && strcmp(mod, "vmlinux") != 0) {
				g_cands = xrealloc(g_cands, (g_ncands + 1) * sizeof(*g_cands));
				g_cands[g_ncands].id = cid;
				g_cands[g_ncands].desc = xasprintf("%s %s", kname, cname);
				g_ncands++;
			}
			continue;
		}
		if (!starts_with(s, "prog '"))
			continue;
		q = strstr(s + 6, "': relo #");
		if (!q || (size_t)(q - (s + 6)) >= sizeof(name))
			continue;
		memcpy(name, s + 6, q - (s + 6));
		name[q - (s + 6)] = 0;
		if (sscanf(q, "': relo #%d: %n", &idx, &n) < 1 || n == 0)
			continue;
		parse_relo_line(g_lines[i].level, name, idx, q + n, cur_sec);
	}
	free(cur_sec);
}

/* ------------------------------------------------------------------ */
/* target BTF lookups for target_type_id                                */

static struct btf *g_targ_btf;
static bool g_targ_btf_tried;
static const char *g_targ_path;

static char *describe_target_id(const char *val)
{
	char *end;
	unsigned long long id;
	const struct btf_type *t;
	const char *name;
	size_t i;

	id = strtoull(val, &end, 10);
	if (*val == 0 || *end != 0)
		return xstrdup(val);
	if (id == 0)
		return xstrdup("0");
	if (!g_targ_btf_tried) {
		g_targ_btf_tried = true;
		g_quiet = true;
		g_targ_btf = g_targ_path ? btf__parse(g_targ_path, NULL) : btf__load_vmlinux_btf();
		g_quiet = false;
		if (!g_targ_btf)
			fprintf(stderr, "libbpf-judge: cannot load target BTF %s: %s\n",
				g_targ_path ? g_targ_path : "(vmlinux)", strerror(errno));
	}
	if (g_targ_btf && id < btf__type_cnt(g_targ_btf)) {
		t = btf__type_by_id(g_targ_btf, (__u32)id);
		if (t) {
			name = btf__name_by_offset(g_targ_btf, t->name_off);
			return xasprintf("%s %s", kind_str(t), name && *name ? name : "<anon>");
		}
	}
	/* kernel module BTF (running kernel only): libbpf named it in the log */
	for (i = 0; i < g_ncands; i++)
		if ((unsigned long long)g_cands[i].id == id)
			return xstrdup(g_cands[i].desc);
	return xasprintf("?%llu", id);
}

/* "... success 114 != success 120" for target_type_id -> names */
static char *describe_decision_ambiguity(const char *msg)
{
	char a[16], b[16], va[32], vb[32];
	char *da, *db, *r;

	if (sscanf(msg, "relocation decision ambiguity: %15s %31s != %15s %31s", a, va, b, vb) != 4)
		return xstrdup(msg);
	da = describe_target_id(va);
	db = describe_target_id(vb);
	r = xasprintf("relocation decision ambiguity: %s %s != %s %s", a, da, b, db);
	free(da);
	free(db);
	return r;
}

/* drop target ids "[123] " from candidate specs inside error messages */
static char *strip_target_ids(const char *msg)
{
	const char *m = strstr(msg, "candidate #");
	char *r, *w;
	const char *p;

	if (!m)
		return xstrdup(msg);
	r = xrealloc(NULL, strlen(msg) + 1);
	w = r;
	for (p = msg; *p;) {
		if (p > m && p[0] == '[' && p[1] >= '0' && p[1] <= '9') {
			const char *q = p + 1;

			while (*q >= '0' && *q <= '9')
				q++;
			if (*q == ']') {
				p = q + 1;
				if (*p == ' ')
					p++;
				continue;
			}
		}
		*w++ = *p++;
	}
	*w = 0;
	return r;
}

static char *relo_outcome(const struct relo *r)
{
	bool targ_id = r->kind && strcmp(r->kind, "target_type_id") == 0;

	if (r->failed || (!r->patched && !r->poisoned && r->err_specific)) {
		const char *msg = r->err_specific ? r->err_specific :
				  r->err_generic ? r->err_generic : "unknown failure";
		char *m = targ_id ? describe_decision_ambiguity(msg) : strip_target_ids(msg);
		char *out = xasprintf("error: %s", m);

		free(m);
		return out;
	}
	if (r->poisoned)
		return xasprintf("poisoned insn #%d", r->insn);
	if (r->patched) {
		char *nv = targ_id ? describe_target_id(r->new_val) : xstrdup(r->new_val);
		char *out;

		if (r->memsz)
			out = xasprintf("patched insn #%d: %s -> %s (mem_sz %s)", r->insn, r->old_val,
					nv, r->memsz);
		else
			out = xasprintf("patched insn #%d: %s -> %s", r->insn, r->old_val, nv);
		free(nv);
		return out;
	}
	return xstrdup("error: no outcome logged");
}

static int cmp_relo(const void *a, const void *b)
{
	const struct relo *x = a, *y = b;
	int c = strcmp(x->prog, y->prog);

	if (c)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* ------------------------------------------------------------------ */
/* object opening / loading                                             */

struct load_args {
	const char *obj;
	const char *btf;
	bool log;
};

static int parse_obj_args(int argc, char **argv, struct load_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--btf") == 0 && i + 1 < argc)
			a->btf = argv[++i];
		else if (strcmp(argv[i], "--log") == 0)
			a->log = true;
		else if (!a->obj && argv[i][0] != '-')
			a->obj = argv[i];
		else
			return -1;
	}
	return a->obj ? 0 : -1;
}

static struct bpf_object *open_obj(const struct load_args *a)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = a->btf);
	struct bpf_object *obj;
	int err;

	obj = bpf_object__open_file(a->obj, &opts);
	if (!obj) {
		err = -errno;
		print_warnings_to_stderr();
		fprintf(stderr, "libbpf-judge: cannot open %s: %s (%d)\n", a->obj,
			libbpf_err_str(err), err);
		return NULL;
	}
	/*
	 * Real tools size some maps at run time (bcc's libbpf-tools leave stack
	 * maps and per-CPU arrays at 0 entries, and stack maps without a value
	 * size, until main() sets them).  libbpf
	 * creates maps before it relocates, so such a map would fail the load
	 * before any CO-RE outcome is seen: give it the smallest size the kernel
	 * takes.  Relocation outcomes do not depend on map sizes.
	 */
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		/* a stack map's value (the stack depth) is also set at run time */
		if (bpf_map__type(map) == BPF_MAP_TYPE_STACK_TRACE && bpf_map__value_size(map) == 0)
			bpf_map__set_value_size(map, 127 * sizeof(__u64));
		if (bpf_map__max_entries(map) != 0)
			continue;
		switch (bpf_map__type(map)) {
		case BPF_MAP_TYPE_RINGBUF:
		case BPF_MAP_TYPE_USER_RINGBUF:
			bpf_map__set_max_entries(map, (unsigned int)sysconf(_SC_PAGESIZE));
			break;
		case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
			break; /* libbpf sizes it to the number of CPUs */
		default:
			bpf_map__set_max_entries(map, 1);
		}
	}
	return obj;
}

/*
 * Opens OBJ for a load that only has to get as far as CO-RE relocation: its
 * maps are not created (libbpf relocates before it loads programs, and map
 * creation is what fails first for tools that size maps at run time, and what
 * costs most).  Program loads then fail, after the outcomes were logged.
 */
static struct bpf_object *open_for_relos(const struct load_args *a)
{
	struct bpf_object *obj = open_obj(a);
	struct bpf_map *map;

	if (!obj)
		return NULL;
	bpf_object__for_each_map(map, obj)
		bpf_map__set_autocreate(map, false);
	return obj;
}

static void forget_relos(void)
{
	size_t i;

	for (i = 0; i < g_nrelos; i++) {
		free(g_relos[i].prog);
		free(g_relos[i].sec);
	}
	g_nrelos = 0;
}

static int cmd_relos(int argc, char **argv, bool records)
{
	struct load_args a;
	struct bpf_object *obj;
	struct bpf_program *prog;
	int err, load_err;
	char **names = NULL;
	size_t i, j, nnames = 0, captured = 0;

	if (parse_obj_args(argc, argv, &a)) {
		fprintf(stderr, "usage: libbpf-judge %s OBJ [--btf BTF_PATH] [--log]\n",
			records ? "records" : "relos");
		return EXIT_USAGE;
	}
	g_echo = a.log;
	g_targ_path = a.btf;

	obj = open_obj(&a);
	if (!obj)
		return 2;
	load_core_records(a.obj);
	bpf_object__for_each_program(prog, obj) {
		names = xrealloc(names, (nnames + 1) * sizeof(*names));
		names[nnames++] = xstrdup(bpf_program__name(prog));
	}
	bpf_object__close(obj);
	clear_log();

	/*
	 * First one load of the whole object, as a program's skeleton loads it
	 * (libbpf's candidate cache is shared by all its programs).  Where every
	 * record was relocated and none failed, that is the answer.
	 */
	load_err = 0;
	obj = open_for_relos(&a);
	if (!obj)
		return 2;
	bpf_object__load(obj);
	bpf_object__close(obj);
	parse_log();
	clear_log();
	{
		size_t done = 0;
		bool failed = false;

		for (j = 0; j < g_nrelos; j++) {
			if (g_relos[j].failed)
				failed = true;
			if (g_relos[j].patched || g_relos[j].poisoned)
				done++;
		}
		if (!failed && g_recs_ok && done == g_nrecs) {
			for (i = 0; i < nnames; i++)
				free(names[i]);
			nnames = 0;
		} else {
			forget_relos();
		}
	}

	/*
	 * Otherwise one load per program, only that one autoloaded: libbpf stops
	 * relocating the whole object at the first failing relocation, so a single
	 * load would hide the outcomes of every program after it.  Relocations of
	 * static subprograms are seen in each load, with the same outcome.
	 */
	for (i = 0; i < nnames; i++) {
		int e;

		obj = open_for_relos(&a);
		if (!obj)
			return 2;
		bpf_object__for_each_program(prog, obj)
			bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), names[i]) == 0);
		e = bpf_object__load(obj);
		if (e && !load_err)
			load_err = e;
		bpf_object__close(obj);
		parse_log();
		clear_log();
		free(names[i]);
	}
	free(names);
	err = load_err < 0 ? -load_err : load_err;

	for (i = 0; i < g_nrelos; i++)
		if (g_relos[i].kind || g_relos[i].patched || g_relos[i].poisoned || g_relos[i].failed)
			captured++;

	if (records) {
		if (g_recs_ok) {
			for (i = 0; i < g_nrecs; i++) {
				const struct core_rec *c = &g_recs[i];
				const struct relo *r = NULL;

				for (j = 0; j < g_nrelos; j++)
					if (g_relos[j].idx == c->idx && strcmp(g_relos[j].sec, c->sec) == 0) {
						r = &g_relos[j];
						break;
					}
				printf("%s relo #%d: insn %u: %s %s\n", c->sec, c->idx, c->insn,
				       r && r->kind ? r->kind : relo_kind_str(c->kind),
				       r && r->spec ? r->spec : "?");
			}
		} else {
			/* no raw .BTF.ext: fall back to libbpf's program-relative insn */
			fprintf(stderr, "libbpf-judge: .BTF.ext unreadable; insn is program-relative\n");
			for (i = 0; i < g_nrelos; i++) {
				const struct relo *r = &g_relos[i];

				printf("%s relo #%d: insn %d: %s %s\n", r->sec, r->idx, r->insn,
				       r->kind ? r->kind : "?", r->spec ? r->spec : "?");
			}
		}
	} else {
		qsort(g_relos, g_nrelos, sizeof(*g_relos), cmp_relo);
		for (i = 0; i < g_nrelos; i++) {
			const struct relo *r = &g_relos[i];
			char *outcome = relo_outcome(r);

			printf("%s relo #%d: %s %s => %s\n", r->prog, r->idx,
			       r->kind ? r->kind : "?", r->spec ? r->spec : "?", outcome);
			free(outcome);
		}
	}
	fflush(stdout);

	if (load_err)
		fprintf(stderr, "load: failed (%d)\n", err);
	else
		fprintf(stderr, "load: ok\n");

	if (g_recs_ok && g_nrecs == 0)
		return 0;
	if (captured == 0) {
		/* has (or may have) CO-RE relocations, but libbpf never got to them */
		if (!g_recs_ok && load_err == 0)
			return 0;
		return 1;
	}
	return 0;
}

static int cmd_load(int argc, char **argv)
{
	struct load_args a;
	struct bpf_object *obj;
	struct bpf_program *prog;
	char **names = NULL;
	size_t n = 0, i;
	int failures = 0;

	if (parse_obj_args(argc, argv, &a)) {
		fprintf(stderr, "usage: libbpf-judge load OBJ [--btf BTF_PATH] [--log]\n");
		return EXIT_USAGE;
	}
	g_echo = a.log;

	obj = open_obj(&a);
	if (!obj)
		return 2;
	bpf_object__for_each_program(prog, obj) {
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(bpf_program__name(prog));
	}
	bpf_object__close(obj);

	for (i = 0; i < n; i++) {
		int err;

		obj = open_obj(&a);
		if (!obj)
			return 2;
		bpf_object__for_each_program(prog, obj)
			bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), names[i]) == 0);
		err = bpf_object__load(obj);
		if (!err) {
			prog = bpf_object__find_program_by_name(obj, names[i]);
			if (!prog || bpf_program__fd(prog) < 0)
				err = -ENOENT;
		}
		if (err) {
			printf("%s: failed (%d)\n", names[i], -err);
			failures++;
		} else {
			printf("%s: ok\n", names[i]);
		}
		fflush(stdout);
		bpf_object__close(obj);
		clear_log();
		free(names[i]);
	}
	free(names);
	return failures ? 1 : 0;
}

static int cmd_parse(int argc, char **argv)
{
	struct btf *btf;
	int err;

	if (argc != 1) {
		fprintf(stderr, "usage: libbpf-judge parse BTF_PATH\n");
		return EXIT_USAGE;
	}
	btf = btf__parse(argv[0], NULL);
	if (!btf) {
		err = -errno;
		print_warnings_to_stderr();
		fprintf(stderr, "btf__parse: %s (%d)\n", libbpf_err_str(err), err);
		return 1;
	}
	printf("types %u\n", btf__type_cnt(btf) - 1);
	printf("endian %s\n", btf__endianness(btf) == BTF_BIG_ENDIAN ? "big" : "little");
	btf__free(btf);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmd_bench_parse(int argc, char **argv)
{
	long iters, i;
	char *end;
	double total = 0, min = 0;

	if (argc != 2 || (iters = strtol(argv[1], &end, 10)) <= 0 || *end) {
		fprintf(stderr, "usage: libbpf-judge bench-parse BTF_PATH ITERS\n");
		return EXIT_USAGE;
	}
	for (i = 0; i < iters; i++) {
		double t0, dt;
		struct btf *btf;
		int err;

		g_quiet = true;
		t0 = now_ms();
		btf = btf__parse(argv[0], NULL);
		err = -errno;
		btf__free(btf);
		dt = now_ms() - t0;
		g_quiet = false;
		if (!btf) {
			fprintf(stderr, "btf__parse: %s (%d)\n", libbpf_err_str(err), err);
			return 1;
		}
		total += dt;
		if (i == 0 || dt < min)
			min = dt;
	}
	printf("libbpf btf__parse: %ld iters, %.3f ms/iter, min %.3f ms\n", iters,
	       total / iters, min);
	return 0;
}

/*
 * libbpf relocates only inside bpf_object__load, which first checks that a
 * trivial program loads: without a working bpf() (not root, unprivileged BPF
 * disabled, seccomp) there is no oracle at all.  Tests ask here and skip.
 */
/* ------------------------------------------------------------------ */
/* kernel modules: libbpf's vmlinux-first candidate rule, merged BTF     */

static bool is_flavor_sep(const char *s)
{
	return s[0] != '_' && s[1] == '_' && s[2] == '_' && s[3] == '_' && s[4] != '_';
}

/* libbpf bpf_core_essential_name_len */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);
	long i;

	for (i = (long)n - 5; i >= 0; i--)
		if (is_flavor_sep(name + i))
			return (size_t)i + 1;
	return n;
}

static bool any_enum(const struct btf_type *t)
{
	return btf_kind(t) == BTF_KIND_ENUM || btf_kind(t) == BTF_KIND_ENUM64;
}

static int cmd_cands(int argc, char **argv)
{
	struct btf *local, *vmlinux;
	uint32_t *ids = NULL, n, i, j;
	size_t nids = 0, k;

	if (argc != 2) {
		fprintf(stderr, "usage: libbpf-judge cands OBJ VMLINUX\n");
		return EXIT_USAGE;
	}
	if (!load_core_records(argv[0]))
		return 2;
	local = btf__parse_elf(argv[0], NULL);
	vmlinux = btf__parse(argv[1], NULL);
	if (!local || !vmlinux) {
		fprintf(stderr, "libbpf-judge: cannot parse %s\n", local ? argv[1] : argv[0]);
		return 2;
	}
	for (k = 0; k < g_nrecs; k++) {
		for (j = 0; j < nids && ids[j] != g_recs[k].type_id; j++)
			;
		if (j == nids) {
			ids = xrealloc(ids, (nids + 1) * sizeof(*ids));
			ids[nids++] = g_recs[k].type_id;
		}
	}
	/* ascending ids */
	for (i = 1; i < nids; i++)
		for (j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			uint32_t t = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	n = btf__type_cnt(vmlinux);
	for (k = 0; k < nids; k++) {
		const struct btf_type *lt = btf__type_by_id(local, ids[k]);
		const char *lname = lt ? btf__name_by_offset(local, lt->name_off) : NULL;
		size_t llen, count = 0;

		if (!lt || !lname || !lname[0]) {
			printf("[%u] 0\n", ids[k]);
			continue;
		}
		llen = essential_len(lname);
		for (i = 1; i < n; i++) {
			const struct btf_type *t = btf__type_by_id(vmlinux, i);
			const char *name = btf__name_by_offset(vmlinux, t->name_off);

			if (btf_kind(t) != btf_kind(lt) && !(any_enum(t) && any_enum(lt)))
				continue;
			if (!name || !name[0] || essential_len(name) != llen || strncmp(name, lname, llen) != 0)
				continue;
			count++;
		}
		printf("[%u] %zu\n", ids[k], count);
	}
	return 0;
}

/* Compares type `a` of BTF A with type `b` of B, ids of A mapped by `shift`
 * from `from` on. */
static const char *type_diff(const struct btf *A, uint32_t a, const struct btf *B, uint32_t b,
			     uint32_t from, uint32_t shift)
{
	const struct btf_type *ta = btf__type_by_id(A, a), *tb = btf__type_by_id(B, b);
	uint32_t i, vlen;
#define MAP(id) ((id) >= from ? (id) + shift : (id))
#define NAMES_DIFFER(oa, ob) (strcmp(btf__name_by_offset(A, oa), btf__name_by_offset(B, ob)) != 0)

	if (!ta || !tb)
		return "type missing";
	if (btf_kind(ta) != btf_kind(tb) || btf_vlen(ta) != btf_vlen(tb) || btf_kflag(ta) != btf_kflag(tb))
		return "kind, vlen or kflag";
	if (NAMES_DIFFER(ta->name_off, tb->name_off))
		return "name";
	vlen = btf_vlen(ta);
	switch (btf_kind(ta)) {
	case BTF_KIND_INT:
		if (ta->size != tb->size || btf_int_encoding(ta) != btf_int_encoding(tb) ||
		    btf_int_offset(ta) != btf_int_offset(tb) || btf_int_bits(ta) != btf_int_bits(tb))
			return "int";
		return NULL;
	case BTF_KIND_FLOAT:
	case BTF_KIND_FWD:
		return ta->size != tb->size ? "size" : NULL;
	case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG: case BTF_KIND_FUNC:
		return MAP(ta->type) != tb->type ? "referenced type" : NULL;
	case BTF_KIND_VAR:
		if (MAP(ta->type) != tb->type || btf_var(ta)->linkage != btf_var(tb)->linkage)
			return "var";
		return NULL;
	case BTF_KIND_DECL_TAG:
		if (MAP(ta->type) != tb->type || btf_decl_tag(ta)->component_idx != btf_decl_tag(tb)->component_idx)
			return "decl_tag";
		return NULL;
	case BTF_KIND_ARRAY: {
		const struct btf_array *x = btf_array(ta), *y = btf_array(tb);
		if (MAP(x->type) != y->type || MAP(x->index_type) != y->index_type || x->nelems != y->nelems)
			return "array";
		return NULL;
	}
	case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
		const struct btf_member *x = btf_members(ta), *y = btf_members(tb);
		if (ta->size != tb->size)
			return "size";
		for (i = 0; i < vlen; i++)
			if (NAMES_DIFFER(x[i].name_off, y[i].name_off) || MAP(x[i].type) != y[i].type || x[i].offset != y[i].offset)
				return "member";
		return NULL;
	}
	case BTF_KIND_ENUM: {
		const struct btf_enum *x = btf_enum(ta), *y = btf_enum(tb);
		if (ta->size != tb->size)
			return "size";
		for (i = 0; i < vlen; i++)
			if (NAMES_DIFFER(x[i].name_off, y[i].name_off) || x[i].val != y[i].val)
				return "enumerator";
		return NULL;
	}
	case BTF_KIND_ENUM64: {
		const struct btf_enum64 *x = btf_enum64(ta), *y = btf_enum64(tb);
		if (ta->size != tb->size)
			return "size";
		for (i = 0; i < vlen; i++)
			if (NAMES_DIFFER(x[i].name_off, y[i].name_off) || x[i].val_lo32 != y[i].val_lo32 || x[i].val_hi32 != y[i].val_hi32)
				return "enumerator";
		return NULL;
	}
	case BTF_KIND_FUNC_PROTO: {
		const struct btf_param *x = btf_params(ta), *y = btf_params(tb);
		if (MAP(ta->type) != tb->type)
			return "return type";
		for (i = 0; i < vlen; i++)
			if (NAMES_DIFFER(x[i].name_off, y[i].name_off) || MAP(x[i].type) != y[i].type)
				return "param";
		return NULL;
	}
	case BTF_KIND_DATASEC: {
		const struct btf_var_secinfo *x = btf_var_secinfos(ta), *y = btf_var_secinfos(tb);
		if (ta->size != tb->size)
			return "size";
		for (i = 0; i < vlen; i++)
			if (MAP(x[i].type) != y[i].type || x[i].offset != y[i].offset || x[i].size != y[i].size)
				return "datasec entry";
		return NULL;
	}
	default:
		return "unknown kind";
	}
#undef MAP
#undef NAMES_DIFFER
}

static int cmd_merge_check(int argc, char **argv)
{
	struct btf *base, *flat;
	uint32_t base_cnt, next, i;
	int m;

	if (argc < 2) {
		fprintf(stderr, "usage: libbpf-judge merge-check VMLINUX FLAT MODULE...\n");
		return EXIT_USAGE;
	}
	base = btf__parse(argv[0], NULL);
	flat = btf__parse(argv[1], NULL);
	if (!base || !flat) {
		fprintf(stderr, "libbpf-judge: cannot parse %s\n", base ? argv[1] : argv[0]);
		return 2;
	}
	base_cnt = btf__type_cnt(base);
	for (i = 1; i < base_cnt; i++) {
		const char *d = type_diff(base, i, flat, i, base_cnt, 0);
		if (d) {
			printf("vmlinux type [%u]: %s differs\n", i, d);
			return 1;
		}
	}
	next = base_cnt;
	for (m = 2; m < argc; m++) {
		struct btf *mod = btf__parse_split(argv[m], base);
		uint32_t cnt, shift = next - base_cnt;

		if (!mod) {
			fprintf(stderr, "libbpf-judge: btf__parse_split %s failed\n", argv[m]);
			return 2;
		}
		cnt = btf__type_cnt(mod);
		for (i = base_cnt; i < cnt; i++) {
			const char *d = type_diff(mod, i, flat, i + shift, base_cnt, shift);
			if (d) {
				printf("%s type [%u] (merged [%u]): %s differs\n", argv[m], i, i + shift, d);
				return 1;
			}
		}
		next += cnt - base_cnt;
		btf__free(mod);
	}
	if (btf__type_cnt(flat) != next) {
		printf("merged BTF has %u types, vmlinux and the modules %u\n", btf__type_cnt(flat) - 1, next - 1);
		return 1;
	}
	printf("ok %u types\n", next - 1);
	return 0;
}

#if LIBBPF_MAJOR_VERSION > 1 || (LIBBPF_MAJOR_VERSION == 1 && LIBBPF_MINOR_VERSION >= 5)
#define HAVE_DISTILL 1
static int write_raw(const struct btf *btf, const char *path)
{
	uint32_t size;
	const void *data = btf__raw_data(btf, &size);
	FILE *f = data ? fopen(path, "wb") : NULL;

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		fprintf(stderr, "libbpf-judge: cannot write %s\n", path);
		return 2;
	}
	return 0;
}

/* What pahole --btf_features=distilled_base does for an out-of-tree module:
 * btf__distill_base() of the module's split BTF, written as the raw .BTF.base
 * and .BTF sections. */
static int cmd_distill(int argc, char **argv)
{
	struct btf *base, *split, *new_base = NULL, *new_split = NULL;
	int err;

	if (argc != 4) {
		fprintf(stderr, "usage: libbpf-judge distill VMLINUX MODULE OUT_BASE OUT_SPLIT\n");
		return EXIT_USAGE;
	}
	base = btf__parse(argv[0], NULL);
	split = base ? btf__parse_split(argv[1], base) : NULL;
	if (!split) {
		fprintf(stderr, "libbpf-judge: cannot parse %s\n", base ? argv[1] : argv[0]);
		return 2;
	}
	err = btf__distill_base(split, &new_base, &new_split);
	if (err) {
		fprintf(stderr, "libbpf-judge: btf__distill_base %s: %s\n", argv[1], libbpf_err_str(err));
		return 2;
	}
	if (write_raw(new_base, argv[2]) || write_raw(new_split, argv[3]))
		return 2;
	printf("ok %u distilled base types, %u split types\n", btf__type_cnt(new_base) - 1,
	       btf__type_cnt(new_split) - btf__type_cnt(new_base));
	return 0;
}
#endif

static int cmd_probe(void)
{
	int r;

	g_quiet = true;
	r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCKET_FILTER, NULL);
	g_quiet = false;
	if (r == 1) {
		printf("bpf: ok\n");
		return 0;
	}
	printf("bpf: unavailable (%s)\n", r < 0 ? libbpf_err_str(r) : "a trivial program does not load: not root, or BPF disabled");
	return 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: libbpf-judge relos OBJ [--btf BTF_PATH] [--log]\n"
		"       libbpf-judge records OBJ [--btf BTF_PATH] [--log]\n"
		"       libbpf-judge parse BTF_PATH\n"
		"       libbpf-judge bench-parse BTF_PATH ITERS\n"
		"       libbpf-judge load OBJ [--btf BTF_PATH] [--log]\n"
		"       libbpf-judge cands OBJ VMLINUX\n"
		"       libbpf-judge merge-check VMLINUX FLAT MODULE...\n"
		"       libbpf-judge probe\n"
#ifdef HAVE_DISTILL
		"       libbpf-judge distill VMLINUX MODULE OUT_BASE OUT_SPLIT\n"
#endif
		);
}

int main(int argc, char **argv)
{
	libbpf_set_print(capture_print);

	if (argc < 2) {
		usage();
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "relos") == 0)
		return cmd_relos(argc - 2, argv + 2, false);
	if (strcmp(argv[1], "records") == 0)
		return cmd_relos(argc - 2, argv + 2, true);
	if (strcmp(argv[1], "parse") == 0)
		return cmd_parse(argc - 2, argv + 2);
	if (strcmp(argv[1], "bench-parse") == 0)
		return cmd_bench_parse(argc - 2, argv + 2);
	if (strcmp(argv[1], "load") == 0)
		return cmd_load(argc - 2, argv + 2);
	if (strcmp(argv[1], "cands") == 0)
		return cmd_cands(argc - 2, argv + 2);
	if (strcmp(argv[1], "merge-check") == 0)
		return cmd_merge_check(argc - 2, argv + 2);
#ifdef HAVE_DISTILL
	if (strcmp(argv[1], "distill") == 0)
		return cmd_distill(argc - 2, argv + 2);
#endif
	if (strcmp(argv[1], "probe") == 0 && argc == 2)
		return cmd_probe();
	usage();
	return EXIT_USAGE;
}
