#!/usr/bin/env python3
"""Write btfgen's malformed-input cases into a directory.

    scripts/make-malformed.py [--objects DIR] OUT_DIR
    scripts/make-malformed.py [--objects DIR] --fuzz-seeds OUT_DIR

Every case is derived at run time from real inputs: the BPF objects in
testdata/bpf (their ELF headers, .BTF and .BTF.ext sections) and small raw
BTFs built here.  Nothing binary is committed.  Standard library only.

OUT_DIR receives one file per case, the inputs the cases are run against
(kernel.btf: the .BTF of core_fields.bpf.o as a raw BTF; good.bpf.o: that
object itself) and manifest.json:

    {"kernel": "kernel.btf", "object": "good.bpf.o",
     "cases": [{"name": ..., "file": ..., "roles": [...], "expect": ...,
                "where": [...], "why": ...}, ...]}

roles   how HostileInputTests runs the file through the btfgen CLI:
          kernel  btfgen -i FILE --object good.bpf.o -o OUT
          object  btfgen -i kernel.btf --object FILE -o OUT, and btfgen relocs FILE
        (a case may carry its own "kernel" to run an object against, or its own
        "object" to run a kernel with).
expect  error       one-line error naming the file and the place; exit 1 as a
                    kernel, exit 2 as an object; no output written
        ok          succeeds (a positive control)
        relocerror  the object loads, but some of its relocations fail to
                    resolve: reported as results, the trimmed BTF is written
        nothing     nothing to trim (an empty file): a directory run skips it; named
                    by --input it fails with one line saying so, exit 1, no output
                    written
where   substrings the error line must contain (its location).

With --fuzz-seeds, OUT_DIR gets the seed corpora of scripts/fuzz.sh instead, one directory per
fuzz target: btf/ (the fixtures' .BTF sections and every raw-BTF case), ext/ (their .BTF.ext
sections), elf/ and trim/ (the fixture objects and every object case).
"""

import json
import os
import struct
import sys

# ---------------------------------------------------------------- BTF -------

# Why a case that breaks one of the kernel's own rules is "ok": btfgen reads every BTF libbpf's
# btf__parse reads, and only warns (FormatRule in Sources/BTF/Errors.swift).
KERNEL_RULE = "a kernel rule libbpf does not apply: btfgen warns, and rejects it only when parsing strictly"


def kernel_variants():
    """scripts/make-kernel-variants.py as a module (its convert() writes the 2026 format)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-kernel-variants.py")
    spec = importlib.util.spec_from_file_location("make_kernel_variants", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

BTF_MAGIC = 0xEB9F
KIND = dict(int=1, ptr=2, array=3, struct=4, union=5, enum=6, fwd=7, typedef=8,
            volatile=9, const=10, restrict=11, func=12, func_proto=13, var=14,
            datasec=15, float=16, decl_tag=17, type_tag=18, enum64=19)
# kind -> (fixed extra bytes, bytes per vlen entry), as in Sources/BTF/Kind.swift
EXTRA = {1: (4, 0), 2: (0, 0), 3: (12, 0), 4: (0, 12), 5: (0, 12), 6: (0, 8),
         7: (0, 0), 8: (0, 0), 9: (0, 0), 10: (0, 0), 11: (0, 0), 12: (0, 0),
         13: (0, 8), 14: (4, 0), 15: (0, 12), 16: (0, 0), 17: (4, 0),
         18: (0, 0), 19: (0, 12)}


class BTFBuilder:
    """Builds a raw BTF blob type by type; ids are returned by each add."""

    def __init__(self, endian="<"):
        self.e = endian
        self.types = []          # bytes of each type, id = index + 1
        self.strs = bytearray(b"\0")
        self.offs = {"": 0}

    def s(self, name):
        if name not in self.offs:
            self.offs[name] = len(self.strs)
            self.strs += name.encode() + b"\0"
        return self.offs[name]

    def add(self, kind, name="", vlen=0, size_or_type=0, extra=(), kflag=0):
        info = (kflag << 31) | (KIND[kind] << 24) | (vlen & 0xFFFF)
        b = struct.pack(self.e + "III", self.s(name), info, size_or_type)
        b += b"".join(struct.pack(self.e + "I", w & 0xFFFFFFFF) for w in extra)
        self.types.append(b)
        return len(self.types)

    def int(self, name, size=4, bits=32, signed=True):
        return self.add("int", name, 0, size, [(1 << 24 if signed else 0) | bits])

    def ref(self, kind, target, name=""):
        return self.add(kind, name, 0, target)

    def struct(self, name, size, members, kind="struct"):
        extra = []
        for mname, mtype, bitoff in members:
            extra += [self.s(mname), mtype, bitoff]
        return self.add(kind, name, len(members), size, extra)

    def array(self, elem, index, n):
        return self.add("array", "", 0, 0, [elem, index, n])

    def func_proto(self, ret, params):
        extra = []
        for pname, ptype in params:
            extra += [self.s(pname), ptype]
        return self.add("func_proto", "", len(params), ret, extra)

    def placeholder(self):
        """Reserves an id whose type is filled in later with set()."""
        self.types.append(b"")
        return len(self.types)

    def set(self, tid, kind, name="", vlen=0, size_or_type=0, extra=()):
        n = len(self.types)
        self.add(kind, name, vlen, size_or_type, extra)
        self.types[tid - 1] = self.types.pop()
        assert len(self.types) == n

    def build(self, extra_strings=b""):
        types = b"".join(self.types)
        strs = bytes(self.strs) + extra_strings
        hdr = struct.pack(self.e + "HBBIIIII", BTF_MAGIC, 1, 0, 24, 0, len(types), len(types), len(strs))
        return hdr + types + strs


def btf_layout(blob):
    """(endian, hdr_len, type_off, type_len, str_off, str_len, [(id, offset, kind, vlen)])."""
    e = "<" if struct.unpack("<H", blob[:2])[0] == BTF_MAGIC else ">"
    _, _, _, hl, to, tl, so, sl = struct.unpack(e + "HBBIIIII", blob[:24])
    types = []
    pos, end = hl + to, hl + to + tl
    while pos < end:
        _, info, _ = struct.unpack_from(e + "III", blob, pos)
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        types.append((len(types) + 1, pos, kind, vlen))
        fixed, per = EXTRA[kind]
        pos += 12 + fixed + vlen * per
    return e, hl, to, tl, so, sl, types


def btf_type_name(blob, pos):
    e, hl, _, _, so, _, _ = btf_layout(blob)
    (name_off,) = struct.unpack_from(e + "I", blob, pos)
    start = hl + so + name_off
    return blob[start:blob.index(b"\0", start)].decode()


def btf_string_offset(blob, text):
    e, hl, _, _, so, sl, _ = btf_layout(blob)
    strs = blob[hl + so: hl + so + sl]
    i = strs.find(b"\0" + text.encode() + b"\0")
    return None if i < 0 else i + 1


def btf_add_strings(blob, names):
    """The blob with strings appended to its string section (which must come last), and
    the offsets of the new strings."""
    e, hl, to, tl, so, sl, _ = btf_layout(blob)
    assert hl + so + sl == len(blob), "string section is not last"
    offs, extra = [], bytearray()
    for n in names:
        offs.append(sl + len(extra))
        extra += n.encode() + b"\0"
    out = bytearray(blob) + extra
    struct.pack_into(e + "I", out, 20, sl + len(extra))
    return bytes(out), offs


def put32(blob, off, value, e="<"):
    b = bytearray(blob)
    struct.pack_into(e + "I", b, off, value & 0xFFFFFFFF)
    return bytes(b)


def put_bytes(blob, off, data):
    b = bytearray(blob)
    b[off:off + len(data)] = data
    return bytes(b)


# ---------------------------------------------------------------- ELF -------

class ELF:
    """The few ELF64 facts the cases need: header fields and section headers."""

    def __init__(self, data):
        self.data = bytes(data)
        assert data[:4] == b"\x7fELF" and data[4] == 2, "ELF64 only"
        self.e = "<" if data[5] == 1 else ">"
        (self.shoff,) = struct.unpack_from(self.e + "Q", data, 0x28)
        self.shentsize, self.shnum, self.shstrndx = struct.unpack_from(self.e + "HHH", data, 0x3A)
        self.sections = []
        for i in range(self.shnum):
            h = self.shoff + i * self.shentsize
            name, typ, _flags, _addr, off, size = struct.unpack_from(self.e + "IIQQQQ", data, h)
            self.sections.append(dict(index=i, hdr=h, name_off=name, type=typ, offset=off, size=size))
        strtab = self.sections[self.shstrndx]
        for s in self.sections:
            start = strtab["offset"] + s["name_off"]
            s["name"] = data[start:data.index(b"\0", start)].decode()

    def section(self, name):
        return next(s for s in self.sections if s["name"] == name)

    def contents(self, name):
        s = self.section(name)
        return self.data[s["offset"]:s["offset"] + s["size"]]

    def replace(self, name, new):
        """The file with section `name` holding `new`, appended at the end (8-aligned)."""
        s = self.section(name)
        out = bytearray(self.data)
        out += b"\0" * (-len(out) % 8)
        off = len(out)
        out += new
        struct.pack_into(self.e + "QQ", out, s["hdr"] + 24, off, len(new))
        return bytes(out)

    def set_shdr(self, name, field, value):
        """The file with one section header field (offset or size or type) changed."""
        s = self.section(name)
        pos, fmt = {"type": (4, "I"), "offset": (24, "Q"), "size": (32, "Q"), "name": (0, "I")}[field]
        out = bytearray(self.data)
        struct.pack_into(self.e + fmt, out, s["hdr"] + pos, value)
        return bytes(out)


def slim_elf(btf, ext, endian="<"):
    """A minimal relocatable BPF ELF64 holding only .shstrtab, .BTF and .BTF.ext: what btfgen
    reads of an object, without the program bytes a fuzzer would waste mutations on."""
    names = b"\0.shstrtab\0.BTF\0.BTF.ext\0"
    body = bytearray(b"\0" * 64)
    secs = []
    for name_off, typ, data, align in ((1, 3, names, 1), (11, 1, btf, 4), (16, 1, ext, 4)):
        body += b"\0" * (-len(body) % align)
        secs.append((name_off, typ, len(body), len(data), align))
        body += data
    body += b"\0" * (-len(body) % 8)
    shoff = len(body)
    body += b"\0" * 64
    for name_off, typ, off, size, align in secs:
        body += struct.pack(endian + "IIQQQQIIQQ", name_off, typ, 0, 0, off, size, 0, 0, align, 0)
    ident = b"\x7fELF" + bytes([2, 1 if endian == "<" else 2, 1]) + b"\0" * 9
    struct.pack_into(endian + "16sHHIQQQIHHHHHH", body, 0, ident, 1, 247, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 4, 1)
    return bytes(body)


def ext_layout(ext):
    """(endian, hdr_len, {sub: (abs_offset, length)}) of a .BTF.ext blob."""
    e = "<" if struct.unpack("<H", ext[:2])[0] == BTF_MAGIC else ">"
    (hl,) = struct.unpack_from(e + "I", ext, 4)
    subs = {}
    for name, field in (("func_info", 8), ("line_info", 16), ("core_relo", 24)):
        if field + 8 <= hl:
            off, length = struct.unpack_from(e + "II", ext, field)
            subs[name] = (hl + off, length)
    return e, hl, subs


def build_ext(sec_name_off, relos, endian="<"):
    """A .BTF.ext with only CO-RE relocations: relos = [(insn_off, type_id, access_off, kind)]."""
    body = struct.pack(endian + "I", 16)
    body += struct.pack(endian + "II", sec_name_off, len(relos))
    for r in relos:
        body += struct.pack(endian + "IIII", *r)
    hdr = struct.pack(endian + "HBBI" + "IIIIII", BTF_MAGIC, 1, 0, 32, 0, 0, 0, 0, 0, len(body))
    return hdr + body


# --------------------------------------------------------------- cases ------

class Cases:
    def __init__(self, out):
        self.out = out
        self.cases = []

    def add(self, name, data, roles, expect, where=(), why="", ext="", **extra):
        fname = name + (ext or (".bpf.o" if "object" in roles else ".btf"))
        with open(os.path.join(self.out, fname), "wb") as f:
            f.write(data)
        c = dict(name=name, file=fname, roles=list(roles), expect=expect, where=list(where), why=why)
        c.update(extra)
        self.cases.append(c)


def raw_btf_cases(c, kernel):
    """Header and type-section damage to a real raw BTF (the .BTF of core_fields.bpf.o)."""
    K = ["kernel"]
    e, hl, to, tl, so, sl, types = btf_layout(kernel)

    # Truncation at (inside) every header field.
    for field, at in (("magic", 1), ("version", 2), ("flags", 3), ("hdr_len", 4), ("hdr_len_mid", 6),
                      ("type_off", 8), ("type_len", 12), ("str_off", 16), ("str_len", 20), ("str_len_mid", 23)):
        if at < 2:
            # One byte: neither BTF magic nor ELF. Named as the kernel, it is an error.
            c.add("hdr_trunc_" + field, kernel[:at], K, "error", ["offset 0x0", "not a BTF or ELF file (magic 9f)"],
                  "file cut inside the BTF magic: neither BTF nor ELF, an error for a named kernel")
        else:
            c.add("hdr_trunc_" + field, kernel[:at], K, "error", ["offset 0x0", "truncated header"],
                  "file cut at header offset %d (%s)" % (at, field))
    c.add("empty", b"", K, "nothing", ["nothing to trim: empty file"], "empty file named by --input: fails, nothing to trim")
    c.add("hdr_only", kernel[:24], K, "error", ["offset 0x"], "header, no sections")
    c.add("body_trunc", kernel[:hl + to + tl // 2], K, "error", ["past the end"], "file cut in the type section")

    c.add("bad_magic", put_bytes(kernel, 0, b"\x9f\xec"), K, "error", ["offset 0x0", "not a BTF or ELF file (magic 9f ec"],
          "wrong magic: neither BTF nor ELF, an error for a named kernel")
    c.add("bad_magic_as_object", put_bytes(kernel, 0, b"\x9f\xec"), ["object"], "error", ["offset 0x0", "not an ELF file"])
    c.add("bad_version", put_bytes(kernel, 2, b"\x02"), K, "ok", [], "version 2: " + KERNEL_RULE)
    c.add("bad_flags", put_bytes(kernel, 3, b"\x01"), K, "ok", [], "flags 1: " + KERNEL_RULE)
    c.add("hdr_len_short", put32(kernel, 4, 8, e), K, "error", ["offset 0x4", "header length"])
    c.add("hdr_len_huge", put32(kernel, 4, 0xFFFFFFFF, e), K, "error", ["offset 0x4", "past the end"])
    grown = kernel[:24] + b"\0" * 8 + kernel[24:]
    grown = put32(grown, 4, 32, e)
    c.add("hdr_tail_nonzero", put_bytes(grown, 28, b"\x01"), K, "error", ["offset 0x1c", "layout section"],
          "32-byte header whose layout_len is 1: not a whole layout entry")
    c.add("hdr_tail_zero", grown, K, "ok", [], "longer header, extra bytes zero (the kernel accepts it)")
    grown40 = put32(kernel[:24] + b"\0" * 16 + kernel[24:], 4, 40, e)
    c.add("hdr_tail_nonzero_40", put_bytes(grown40, 36, b"\x01"), K, "ok", [],
          "40-byte header with a non-zero byte past layout_len: " + KERNEL_RULE)
    c.add("layout_2026", kernel_variants().convert(kernel), K, "ok", [],
          "2026 format: 32-byte header and layout section (Linux 7.1, pahole >= 1.31)")
    c.add("type_off_unaligned", put32(kernel, 8, 2, e), K, "error", ["offset 0x8", "aligned"])
    c.add("type_len_unaligned", put32(kernel, 12, tl - 2, e), K, "error", ["offset 0xc", "multiple of 4"])
    c.add("type_len_2g_types", put32(kernel, 12, 0xFFFFFFF0, e), K, "error", ["offset 0xc", "past the end"],
          "type_len 0xfffffff0: a header claiming about 2^31 types")
    c.add("str_len_4g", put32(kernel, 20, 0xFFFFFF00, e), K, "error", ["offset 0x14", "past the end"],
          "str_len 0xffffff00: a multi-GB string section")
    c.add("str_off_huge", put32(kernel, 16, 0xFFFFFFFC, e), K, "error", ["offset 0x14", "past the end"])
    c.add("type_off_wraps", put32(put32(kernel, 8, 0xFFFFFFFC, e), 12, 8, e), K, "error",
          ["offset 0xc", "past the end"], "type_off + type_len wraps around 2^32")
    c.add("sections_overlap", put32(kernel, 16, 0, e), K, "error", ["offset 0x10", "overlap"])
    strs_start = hl + so
    c.add("str_no_leading_nul", put_bytes(kernel, strs_start, b"X"), K, "error", ["empty string"])
    c.add("str_no_trailing_nul", put_bytes(kernel, strs_start + sl - 1, b"X"), K, "error", ["NUL-terminated"])
    c.add("str_len_zero", put32(kernel, 20, 0, e), K, "error", ["empty string"])

    def first(kind):
        return next(t for t in types if t[2] == KIND[kind] and t[3] > 0) if kind in ("struct", "enum", "func_proto") \
            else next(t for t in types if t[2] == KIND[kind])

    tid, pos, _, _ = first("struct")
    c.add("type_name_off_range", put32(kernel, pos, sl + 7, e), K, "error",
          ["type [%d]" % tid, "name offset"], "a type's name past the string section")
    c.add("member_name_off_range", put32(kernel, pos + 12, 0xFFFFFFFF, e), K, "error",
          ["type [%d]" % tid, "name offset"])
    c.add("member_type_range", put32(kernel, pos + 16, 0xFFFFFFFF, e), K, "error",
          ["type [%d]" % tid, "out of range"], "member type id 0xffffffff")
    c.add("member_type_next", put32(kernel, pos + 16, len(types) + 1, e), K, "error",
          ["type [%d]" % tid, "[%d] out of range" % (len(types) + 1)], "member type id one past the last")
    c.add("member_past_size", put32(kernel, pos + 20, 0xFFFFFF, e), K, "ok", [],
          "a member past its struct's size (pahole from old debuginfo writes such structs): " + KERNEL_RULE)
    # vlen past the section: the struct claims 0xffff members.
    info = struct.unpack_from(e + "I", kernel, pos + 4)[0]
    c.add("vlen_past_section", put32(kernel, pos + 4, (info & ~0xFFFF) | 0xFFFF, e), K, "error",
          ["type [%d]" % tid, "vlen 65535"])
    c.add("unknown_kind_20", put32(kernel, pos + 4, (20 << 24), e), K, "error", ["type [%d]" % tid, "unknown kind 20"])
    c.add("unknown_kind_31", put32(kernel, pos + 4, (31 << 24), e), K, "error", ["type [%d]" % tid, "unknown kind 31"])
    c.add("kind_void", put32(kernel, pos + 4, 0, e), K, "error", ["type [%d]" % tid, "unknown kind 0"])
    ptid, ppos, _, _ = first("ptr")
    c.add("ptr_target_range", put32(kernel, ppos + 8, 0x7FFFFFFF, e), K, "error", ["type [%d]" % ptid, "out of range"])
    c.add("ptr_vlen", put32(kernel, ppos + 4, (KIND["ptr"] << 24) | 3, e), K, "ok", [], "vlen 3 on a ptr: " + KERNEL_RULE)
    itid, ipos, _, _ = first("int")
    c.add("int_size_3", put32(kernel, ipos + 8, 3, e), K, "ok", [], "int size 3: " + KERNEL_RULE)
    c.add("int_bits_200", put32(kernel, ipos + 12, 200, e), K, "ok", [], "int of 200 bits: " + KERNEL_RULE)
    ftid, fpos, _, _ = first("func")
    c.add("func_not_proto", put32(kernel, fpos + 8, itid, e), K, "error", ["type [%d]" % ftid, "func_proto"])
    # The last type cut short: the type section ends 4 bytes into its header.
    last_id, last_pos, _, _ = types[-1]
    cut = hl + to + tl - last_pos - 4
    trunc = put32(kernel, 12, tl - cut, e)
    trunc = trunc[:last_pos + 4] + trunc[hl + to + tl:]
    trunc = put32(trunc, 16, so - cut, e)
    c.add("last_type_truncated", trunc, K, "error", ["type [%d]" % last_id, "truncated"],
          "type section ends inside the last type's header")

    # The same blob big-endian is still valid.
    c.add("kernel_itself", kernel, K, "ok", [], "positive control: the unmodified raw BTF")


def built_btf_cases(c):
    """Small BTFs built here: loops, deep chains, deep nesting, positive cycles."""
    K = ["kernel"]

    def base():
        b = BTFBuilder()
        i = b.int("int")
        return b, i

    b, i = base()
    t = b.placeholder()
    b.set(t, "typedef", "loop", 0, t)
    c.add("typedef_self", b.build(), K, "error", ["type [%d]" % t, "loops"], "typedef naming itself")

    b, i = base()
    a = b.placeholder()
    v = b.ref("volatile", a)
    b.set(a, "const", "", 0, v)
    c.add("const_volatile_cycle", b.build(), K, "error", ["loops"], "const -> volatile -> const")

    b, i = base()
    a = b.placeholder()
    cst = b.ref("const", a)
    td = b.ref("typedef", cst, "t2")
    b.set(a, "typedef", "t1", 0, td)
    c.add("typedef_const_cycle", b.build(), K, "error", ["loops"], "typedef -> const -> typedef -> typedef")

    b, i = base()
    a = b.placeholder()
    b.set(a, "array", "", 0, 0, [a, i, 4])
    c.add("array_self", b.build(), K, "error", ["type [%d]" % a, "loops"], "array of itself")

    b, i = base()
    a = b.placeholder()
    cst = b.ref("const", a)
    b.set(a, "array", "", 0, 0, [cst, i, 4])
    c.add("array_const_cycle", b.build(), K, "error", ["loops"], "array of const of the array")

    b, i = base()
    cur = i
    for n in range(40):
        cur = b.ref("typedef", cur, "td%d" % n)
    c.add("typedef_chain_40", b.build(), K, "error", ["deeper than 32"], "40 typedefs in a row (the kernel resolves 32)")

    b, i = base()
    a = b.placeholder()
    b.set(a, "ptr", "", 0, a)
    c.add("ptr_self", b.build(), K, "error", ["type [%d]" % a, "loops"], "a pointer to itself: the kernel's \"Loop detected\"")

    b, i = base()
    a = b.placeholder()
    t = b.ref("typedef", a, "self_p")
    b.set(a, "ptr", "", 0, t)
    c.add("ptr_typedef_loop", b.build(), K, "error", ["loops"], "a pointer to a typedef of itself")

    b, i = base()
    p = i
    for _ in range(40):
        p = b.ref("ptr", p)
    c.add("ptr_chain_deep", b.build(), K, "error", ["modifier/pointer chain deeper than 32"], "int followed by 40 pointers")

    b, i = base()
    node = b.placeholder()
    p = b.ref("ptr", node)
    b.set(node, "struct", "node", 2, 16, [b.s("next"), p, 0, b.s("val"), i, 64])
    b.ref("typedef", p, "node_p")
    c.add("ptr_struct_cycle", b.build(), K, "ok", [], "positive control: struct node { struct node *next; }")

    b, i = base()
    fp = b.func_proto(i, [("x", i)])
    b.add("func", "f", 1, fp)
    b.add("var", "v", 0, i, [1])
    b.add("datasec", ".data", 1, 4, [5, 0, 4])
    c.add("datasec_var_ok", b.build(), K, "ok", [], "positive control: func, var and datasec")

    b, i = base()
    p = b.ref("ptr", i)
    b.add("struct", "s", 2, 8, [b.s("x"), p, 3 << 24, b.s("y"), i, 32], kflag=1)
    c.add("bitfield_of_ptr", b.build(), K, "error", ["type [3]", "bitfield of ptr"],
          "a 3-bit member of pointer type (the kernel rejects it; libbpf would read a type id as its size)")

    b, i = base()
    e = b.add("enum", "e", 1, 4, [b.s("E0"), 0])
    td = b.ref("typedef", e, "e_t")
    b.add("struct", "s", 2, 8, [b.s("x"), td, 3 << 24, b.s("y"), i, (5 << 24) | 3], kflag=1)
    c.add("bitfield_of_enum_typedef", b.build(), K, "ok", [], "positive control: bitfields of a typedef'd enum and an int")

    b, i = base()
    b.add("enum", "e", 1, 3, [b.s("E0"), 0])
    c.add("enum_size_3", b.build(), K, "ok", [], "enum size 3: " + KERNEL_RULE)

    # A struct member of func type: valid BTF (libbpf does not object), and the trimmed BTF
    # must keep the func's prototype. core_types.bpf.o's type_matches on struct rlimit keeps
    # every member of the kernel's rlimit.
    b, i = base()
    ul = b.int("unsigned long", 8, 64, False)
    fp = b.func_proto(i, [("x", i)])
    f = b.add("func", "f", 1, fp)
    b.struct("rlimit", 24, [("rlim_cur", ul, 0), ("rlim_max", ul, 64), ("fn", f, 128)])
    c.add("member_of_func_type", b.build(), K, "ok", [],
          "positive control: a struct member of func type; the trimmed BTF keeps its func_proto",
          object="types.bpf.o")

    b, i = base()
    b.add("var", "v", 0, 0, [1])
    c.add("var_void", b.build(), K, "ok", [], "var of type void: " + KERNEL_RULE)

    b, i = base()
    b.add("datasec", ".data", 1, 4, [0xFFFFFFF0, 0, 4])
    c.add("datasec_var_range", b.build(), K, "error", ["type [2]", "out of range"])

    b, i = base()
    b.add("decl_tag", "tag", 0, i, [0xFFFFFFFE])
    c.add("decl_tag_component", b.build(), K, "ok", [], "decl_tag component -2: " + KERNEL_RULE)

    b, i = base()
    b.add("fwd", "f", 2, 0)
    c.add("fwd_vlen", b.build(), K, "ok", [], "vlen 2 on a fwd: " + KERNEL_RULE)

    b, i = base()
    b.add("func_proto", "", 1, i, [0, 0x7FFFFFFF])
    c.add("param_type_range", b.build(), K, "error", ["type [2]", "param 0"])

    b, i = base()
    b.add("array", "", 0, 0, [i, 0xFFFFFFFF, 1])
    c.add("array_index_range", b.build(), K, "error", ["type [2]", "array index"])

    # 10000 nested structs: s0 { int x; }, s1 { struct s0 a; }, ... (libbpf bounds its
    # recursion at 32 levels; nothing here may recurse per level).
    b, i = deep_structs(10000)
    c.add("nested_structs_10000", b.build(), K, "ok", [], "positive control: 10000 structs nested by value")
    return


def deep_structs(n):
    b = BTFBuilder()
    i = b.int("int")
    prev = b.struct("s0", 4, [("x", i, 0)])
    for k in range(1, n):
        prev = b.struct("s%d" % k, 4, [("a", prev, 0)])
    return b, i


def elf_cases(c, good_path):
    """Damage to the ELF structure of a real object, used both as a kernel (ELF with .BTF) and
    as an object."""
    KO = ["kernel", "object"]
    data = open(good_path, "rb").read()
    elf = ELF(data)
    e = elf.e
    btf = elf.section(".BTF")

    c.add("elf_trunc_ident", data[:12], KO, "error", ["offset 0x0"], "ELF magic, then nothing", ext=".o")
    c.add("elf_trunc_header", data[:40], KO, "error", ["ELF header", "truncated"], "cut inside the ELF header", ext=".o")
    c.add("elf_bad_class", put_bytes(data, 4, b"\x03"), KO, "error", ["offset 0x4", "class"], ext=".o")
    c.add("elf_bad_data", put_bytes(data, 5, b"\x07"), KO, "error", ["offset 0x5", "encoding"], ext=".o")
    c.add("elf_shoff_past_end", put_bytes(data, 0x28, struct.pack(e + "Q", len(data) + 4096)), KO, "error",
          ["e_shoff", "past the end"], "e_shoff past the end", ext=".o")
    c.add("elf_shoff_huge", put_bytes(data, 0x28, struct.pack(e + "Q", 0xFFFFFFFFFFFFFF00)), KO, "error",
          ["e_shoff", "past the end"], "e_shoff near 2^64", ext=".o")
    tiny = bytearray(data[:64])
    struct.pack_into(e + "Q", tiny, 0x28, 64)
    struct.pack_into(e + "HHH", tiny, 0x3A, 64, 0xFFFF, 1)
    c.add("elf_shnum_ffff_tiny", bytes(tiny), KO, "error", ["e_shoff", "past the end"],
          "e_shnum 0xffff in a 64-byte file", ext=".o")
    c.add("elf_shnum_ffff", put_bytes(data, 0x3C, struct.pack(e + "H", 0xFFFF)), KO, "error",
          ["e_shnum", "65535 section headers"], "e_shnum 0xffff, headers past the end", ext=".o")
    # e_shnum 0: the real count is in section 0's sh_size (extended numbering); make it huge.
    ext_num = put_bytes(data, 0x3C, struct.pack(e + "H", 0))
    ext_num = put_bytes(ext_num, elf.shoff + 32, struct.pack(e + "Q", 0xFFFFFFFF))
    c.add("elf_shnum_extended_huge", ext_num, KO, "error", ["e_shnum", "4294967295 section headers"],
          "e_shnum 0 and section 0 claiming 2^32 sections", ext=".o")
    c.add("elf_shentsize_bad", put_bytes(data, 0x3A, struct.pack(e + "H", 13)), KO, "error",
          ["e_shentsize", "13"], "e_shentsize 13", ext=".o")
    c.add("elf_shstrndx_range", put_bytes(data, 0x3E, struct.pack(e + "H", 0xFF00)), KO, "error",
          ["e_shstrndx", "out of range"], "e_shstrndx past the section count", ext=".o")
    c.add("elf_btf_offset_past_end", elf.set_shdr(".BTF", "offset", len(data) + 100), KO, "error",
          ["section %d (.BTF)" % btf["index"], "past the end"], ext=".o")
    c.add("elf_btf_size_huge", elf.set_shdr(".BTF", "size", 0x7FFFFFFFFFFFFFFF), KO, "error",
          ["section %d (.BTF)" % btf["index"], "past the end"], ext=".o")
    wrap = ELF(elf.set_shdr(".BTF", "offset", 0xFFFFFFFFFFFFFF00)).set_shdr(".BTF", "size", 0x200)
    c.add("elf_btf_offset_wraps", wrap, KO, "error", ["section %d (.BTF)" % btf["index"]],
          "sh_offset + sh_size wraps around 2^64", ext=".o")
    c.add("elf_btf_nobits", elf.set_shdr(".BTF", "type", 8), KO, "error", [".BTF+0x0", "truncated header"],
          ".BTF as SHT_NOBITS: no bytes", ext=".o")
    ext_sec = elf.section(".BTF.ext")
    c.add("elf_btf_overlaps_ext", elf.set_shdr(".BTF", "offset", ext_sec["offset"]), KO, "error",
          [".BTF+0x"], ".BTF pointing at the bytes of .BTF.ext (overlapping sections)", ext=".o")
    c.add("elf_ext_overlaps_btf", elf.set_shdr(".BTF.ext", "offset", btf["offset"]), ["object"], "error",
          [".BTF.ext+0x"], ".BTF.ext pointing at the bytes of .BTF (overlapping sections)", ext=".o")
    strtab = elf.sections[elf.shstrndx]
    c.add("elf_name_off_range", put_bytes(data, btf["hdr"], struct.pack(e + "I", strtab["size"] + 1000)), KO,
          "error", ["section %d" % btf["index"], "name offset"], "the .BTF section's name offset past .strtab", ext=".o")
    c.add("elf_good_as_kernel", data, ["kernel"], "ok", [], "positive control: an object's ELF as the kernel", ext=".o")


def ext_cases(c, good_path):
    """Damage to the .BTF.ext (and .BTF) of a real object, in place."""
    O = ["object"]
    data = open(good_path, "rb").read()
    elf = ELF(data)
    ext_sec = elf.section(".BTF.ext")
    base = ext_sec["offset"]
    ext = elf.contents(".BTF.ext")
    e, hl, subs = ext_layout(ext)
    cr_off, cr_len = subs["core_relo"]
    fi_off, _ = subs["func_info"]
    rec0 = cr_off + 4 + 8          # first core_relo record, relative to .BTF.ext

    def patch(rel, value, fmt="I"):
        out = bytearray(data)
        struct.pack_into(e + fmt, out, base + rel, value)
        return bytes(out)

    X = ".BTF.ext+"
    c.add("ext_bad_magic", patch(0, 0x1234, "H"), O, "error", [X + "0x0", "bad magic"])
    c.add("ext_bad_version", patch(2, 9, "B"), O, "error", [X + "0x2", "version"])
    c.add("ext_bad_flags", patch(3, 1, "B"), O, "error", [X + "0x3", "flags"])
    c.add("ext_hdr_len_short", patch(4, 4), O, "error", [X + "0x4", "header length"])
    c.add("ext_hdr_len_huge", patch(4, 0xFFFFFFF0), O, "error", [X + "0x4", "past the end"])
    c.add("ext_sub_off_huge", patch(24, 0xFFFFFFF0), O, "error", [X + "0x18", "past the end"],
          "core_relo subsection offset past the end")
    c.add("ext_sub_len_huge", patch(28, 0xFFFFFFF0), O, "error", [X + "0x18", "past the end"],
          "core_relo subsection length 0xfffffff0")
    c.add("ext_sub_off_unaligned", patch(8, struct.unpack_from(e + "I", ext, 8)[0] + 2), O, "error",
          [X + "0x8", "aligned"])
    c.add("ext_relo_recsize_8", patch(cr_off, 8), O, "error", [X + hex(cr_off), "record size 8"],
          "core_relo record size smaller than a record")
    c.add("ext_relo_recsize_17", patch(cr_off, 17), O, "error", [X + hex(cr_off), "record size 17"])
    c.add("ext_relo_recsize_huge", patch(cr_off, 0xFFFFFFFC), O, "error", [X, "past the end"],
          "core_relo record size 0xfffffffc")
    c.add("ext_func_recsize_0", patch(fi_off, 0), O, "error", [X + hex(fi_off), "record size 0"])
    c.add("ext_sec_name_range", patch(cr_off + 4, 0xFFFFFFFF), O, "error",
          [X + hex(cr_off + 4), "section name offset"], "core_relo section name past the strings")
    c.add("ext_sec_name_zero", patch(cr_off + 4, 0), O, "error", [X + hex(cr_off + 4), "section name offset 0"])
    c.add("ext_num_records_huge", patch(cr_off + 8, 0x7FFFFFFF), O, "error", [X + hex(cr_off + 8), "past the end"],
          "2^31 records claimed")
    c.add("ext_num_records_zero", patch(cr_off + 8, 0), O, "error", [X + hex(cr_off + 8), "no records"])
    c.add("ext_relo_type_range", patch(rec0 + 4, 0xFFFFFFFF), O, "error", [X + hex(rec0 + 4), "relo #0", "out of range"])
    c.add("ext_relo_access_range", patch(rec0 + 8, 0xFFFFFFF0), O, "error", [X + hex(rec0 + 8), "relo #0", "access string"])
    c.add("ext_relo_kind_13", patch(rec0 + 12, 13), O, "error", [X + hex(rec0 + 12), "unknown kind 13"])
    c.add("ext_relo_insn_unaligned", patch(rec0, 3), O, "error", [X + hex(rec0), "instruction offset"])
    c.add("ext_truncated", ELF(data).replace(".BTF.ext", ext[:6]), O, "error", [X + "0x0", "truncated header"])
    c.add("ext_cut_in_records", ELF(data).replace(".BTF.ext", ext[:cr_off + cr_len - 6]), O, "error",
          [X, "past the end"], ".BTF.ext cut inside the core_relo records")

    # The object's own .BTF, damaged: the object cannot be loaded.
    btf_sec = elf.section(".BTF")
    btf = elf.contents(".BTF")
    be, bhl, bto, btl, bso, bsl, btypes = btf_layout(btf)
    tid, tpos, _, _ = next(t for t in btypes if t[2] == KIND["struct"] and t[3] > 0)
    out = bytearray(data)
    struct.pack_into(be + "I", out, btf_sec["offset"] + tpos + 16, 0xFFFF)
    c.add("obj_btf_member_type_range", bytes(out), O, "error", ["type [%d]" % tid, "out of range"])
    out = bytearray(data)
    struct.pack_into(be + "I", out, btf_sec["offset"] + 20, 0xFFFFFF00)
    c.add("obj_btf_str_len_4g", bytes(out), O, "error", [".BTF+0x14", "past the end"])

    # Access strings the .BTF.ext parser accepts (they are only strings): libbpf parses each
    # element with sscanf("%d"), so huge numbers wrap as a C long truncated to int, and fails
    # the relocation (the load) when an index is out of range or the string is malformed;
    # btfgen reports such a relocation as failed. A huge or negative *first* index is pointer
    # arithmetic on the root and is accepted.
    struct_id = next(t[0] for t in btypes if t[2] == KIND["struct"] and t[3] > 0
                     and btf_type_name(btf, t[1]) == "task_struct")
    accesses = [("0:4294967295", "relocerror"), ("0:99999999999", "relocerror"), ("0:-1", "relocerror"),
                (":".join(["0"] * 100), "relocerror"), ("0:0:0:0:0:0:0:0:0", "relocerror"), ("abc", "relocerror"),
                ("0::", "relocerror"), ("", "relocerror"), ("-2147483648", "ok"),
                # These resolve, but to offsets the record's instruction (the template's first)
                # does not hold: libbpf fails them when it patches the instruction.
                ("99999999999999999999999999", "relocerror"), ("4294967295:8", "relocerror")]
    newbtf, offs = btf_add_strings(btf, [a for a, _ in accesses])
    obj = ELF(data).replace(".BTF", newbtf)
    for n, ((acc, expect), off) in enumerate(zip(accesses, offs)):
        out = bytearray(obj)
        o = ELF(obj).section(".BTF.ext")["offset"]
        struct.pack_into(e + "IIII", out, o + rec0, 0, struct_id, off, 0)   # byte_off on task_struct
        label = acc if len(acc) <= 30 else acc[:12] + "...(%d chars)" % len(acc)
        c.add("ext_access_%d" % n, bytes(out), O, expect, [],
              "byte_off relocation on task_struct with access string %r" % label, access=acc)


def object_with(template_path, btf_blob, relos, sec_name, imms=None):
    """The template object with its .BTF replaced by `btf_blob` (plus the program section's
    name) and its .BTF.ext by the given CO-RE relocations. With `imms` (instruction offset ->
    value), the program section gets `r0 = value` (BPF_ALU64 | BPF_MOV | BPF_K) at each offset,
    so that the instruction holds what libbpf checks before patching it."""
    template = open(template_path, "rb").read()
    blob, (name_off,) = btf_add_strings(btf_blob, [sec_name])
    obj = ELF(template).replace(".BTF", blob)
    obj = ELF(obj).replace(".BTF.ext", build_ext(name_off, relos))
    if imms:
        out = bytearray(obj)
        base = ELF(obj).section(sec_name)["offset"]
        for off, value in imms.items():
            struct.pack_into("<BBhi", out, base + off, 0xB7, 0, 0, value)
        obj = bytes(out)
    return obj


def graph_cases(c, template, out_dir):
    """Objects whose local BTF is built here, run against kernels built the same way: deep
    nesting, huge and long access strings, comparisons that blow up exponentially."""
    O = ["object"]
    sec = "raw_tracepoint/sys_enter"

    # 10000 nested structs on both sides.
    b, _ = deep_structs(10000)
    deep_kernel = "deep_kernel.btf"
    with open(os.path.join(out_dir, deep_kernel), "wb") as f:
        f.write(b.build())
    top = len(b.types)
    accesses = [":".join(["0"] * 100), ":".join(["0"] * 60), "0:4294967295", "0:99999999999", "0"]
    blob, offs = btf_add_strings(b.build(), accesses)
    relos = [(0, top, offs[0], 0), (8, top, offs[1], 0), (16, top, offs[2], 0), (24, top, offs[3], 1),
             (32, top, offs[4], 12), (40, top, offs[4], 8), (48, top, offs[4], 9)]
    c.add("deep_nesting_object", object_with(template, blob, relos, sec), O, "relocerror", [],
          "10000 nested structs; byte_off with 100 and 60 accessors and huge indices; type_matches,"
          " type_exists and type_size on the outermost struct", kernel=deep_kernel)

    # A harmless pointer cycle, used by type and field relocations: must resolve.
    b = BTFBuilder()
    i = b.int("int")
    node = b.placeholder()
    p = b.ref("ptr", node)
    b.set(node, "struct", "node", 2, 16, [b.s("next"), p, 0, b.s("val"), i, 64])
    cyc = b.build()
    cyc_kernel = "cycle_kernel.btf"
    with open(os.path.join(out_dir, cyc_kernel), "wb") as f:
        f.write(cyc)
    blob, offs = btf_add_strings(cyc, ["0", "0:1", "0:0"])
    relos = [(0, node, offs[0], 12), (8, node, offs[0], 8), (16, node, offs[1], 0), (24, node, offs[2], 1),
             (32, node, offs[0], 9), (40, node, offs[0], 7)]
    # The values libbpf expects in the instructions: 1, 1, node.val's offset 8, the pointer's
    # size 8, sizeof(node) 16; target_type_id's is not checked, but it must be an immediate.
    c.add("ptr_cycle_object", object_with(template, blob, relos, sec, {0: 1, 8: 1, 16: 8, 24: 8, 32: 16, 40: 0}), O, "ok", [],
          "positive control: type_matches, type_exists, byte_off through struct node { node *next; }",
          kernel=cyc_kernel)

    # type_exists on typedef cb -> ptr -> fp23(ptr -> fp22 x4) ... fp0(): libbpf's compatibility
    # check recurses per parameter and stops at depth 32 only: 4^23 calls.
    b = BTFBuilder()
    i = b.int("int")
    fp = b.func_proto(i, [])
    for k in range(23):
        p = b.ref("ptr", fp)
        fp = b.func_proto(i, [(n, p) for n in "abcd"])
    p = b.ref("ptr", fp)
    cb = b.ref("typedef", p, "cb")
    blow = b.build()
    blow_kernel = "fp_blowup_kernel.btf"
    with open(os.path.join(out_dir, blow_kernel), "wb") as f:
        f.write(blow)
    blob, offs = btf_add_strings(blow, ["0"])
    relos = [(0, cb, offs[0], 8), (8, cb, offs[0], 12)]
    c.add("fp_param_blowup", object_with(template, blob, relos, sec), O, "relocerror", [],
          "func_protos of four pointers to the next, 24 deep: exponential type_exists / type_matches",
          kernel=blow_kernel)

    # type_matches on m23 { m22 a, b, c, d; } ... m0 { int x; }: 4^23 member comparisons.
    b = BTFBuilder()
    i = b.int("int")
    prev = b.struct("m0", 4, [("x", i, 0)])
    for k in range(1, 24):
        prev = b.struct("m%d" % k, 16, [(n, prev, 0) for n in "abcd"])
    blow = b.build()
    blow_kernel2 = "struct_blowup_kernel.btf"
    with open(os.path.join(out_dir, blow_kernel2), "wb") as f:
        f.write(blow)
    blob, offs = btf_add_strings(blow, ["0"])
    relos = [(0, prev, offs[0], 12), (8, prev, offs[0], 8)]
    c.add("struct_member_blowup", object_with(template, blob, relos, sec), O, "relocerror", [],
          "structs of 4 same-typed members, 24 deep: exponential type_matches", kernel=blow_kernel2)

    # Field access through a tree of anonymous members that never finds the name.
    b = BTFBuilder()
    i = b.int("int")
    prev = b.struct("", 4, [("x", i, 0)])
    for k in range(1, 40):
        prev = b.struct("", 4, [("", prev, 0), ("", prev, 0), ("", prev, 0)])
    top_k = b.struct("anon_tree", 4, [("", prev, 0)])
    kblob = b.build()
    anon_kernel = "anon_tree_kernel.btf"
    with open(os.path.join(out_dir, anon_kernel), "wb") as f:
        f.write(kblob)
    lb = BTFBuilder()
    li = lb.int("int")
    lt = lb.struct("anon_tree", 4, [("missing", li, 0)])
    blob, offs = btf_add_strings(lb.build(), ["0:0"])
    relos = [(0, lt, offs[0], 0), (8, lt, offs[0], 2)]
    c.add("anon_member_blowup", object_with(template, blob, relos, sec), O, "relocerror", [],
          "a member looked up through 3^39 paths of anonymous members", kernel=anon_kernel)


def fuzz_seeds(objects, out):
    """Seed corpora for the fuzz targets: fixtures, then the malformed cases."""
    import glob
    import tempfile
    dirs = {t: os.path.join(out, t) for t in ("btf", "ext", "elf", "trim")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)

    def put(target, name, data):
        with open(os.path.join(dirs[target], name), "wb") as f:
            f.write(data)

    fixtures = sorted(glob.glob(os.path.join(objects, "*.bpf.o")) + glob.glob(os.path.join(objects, "bpfeb", "*.bpf.o")))
    for path in fixtures:
        name = ("eb-" if "bpfeb" in path else "") + os.path.basename(path)
        data = open(path, "rb").read()
        elf = ELF(data)
        put("btf", name + ".btf", elf.contents(".BTF"))
        put("ext", name + ".ext", elf.contents(".BTF.ext"))
        put("elf", name, data)
        put("trim", name, data)
        slim = slim_elf(elf.contents(".BTF"), elf.contents(".BTF.ext"), elf.e)
        put("elf", "slim-" + name, slim)
        put("trim", "slim-" + name, slim)
    with tempfile.TemporaryDirectory() as tmp:
        c = generate(objects, tmp)
        for case in c.cases:
            data = open(os.path.join(tmp, case["file"]), "rb").read()
            if len(data) > 64 * 1024:
                continue
            if "kernel" in case["roles"] and not case["file"].endswith(".o"):
                put("btf", case["file"], data)
            if "object" in case["roles"] or case["file"].endswith(".o"):
                put("elf", case["file"], data)
                put("trim", case["file"], data)
                if data[:4] == b"\x7fELF":
                    try:
                        put("ext", case["name"] + ".ext", ELF(data).contents(".BTF.ext"))
                    except Exception:  # damaged ELF: no .BTF.ext to take
                        pass
    for t, d in dirs.items():
        print("make-malformed: %d %s seeds in %s" % (len(os.listdir(d)), t, d))


def generate(objects, out):
    os.makedirs(out, exist_ok=True)
    good = os.path.join(objects, "core_fields.bpf.o")
    data = open(good, "rb").read()
    kernel = ELF(data).contents(".BTF")
    with open(os.path.join(out, "kernel.btf"), "wb") as f:
        f.write(kernel)
    with open(os.path.join(out, "good.bpf.o"), "wb") as f:
        f.write(data)
    with open(os.path.join(out, "types.bpf.o"), "wb") as f:
        f.write(open(os.path.join(objects, "core_types.bpf.o"), "rb").read())

    c = Cases(out)
    raw_btf_cases(c, kernel)
    built_btf_cases(c)
    elf_cases(c, good)
    ext_cases(c, good)
    graph_cases(c, os.path.join(objects, "core_types.bpf.o"), out)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(dict(kernel="kernel.btf", object="good.bpf.o", cases=c.cases), f, indent=1)
    return c


def main():
    args = sys.argv[1:]
    objects = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "bpf")
    if len(args) >= 2 and args[0] == "--objects":
        objects = args[1]
        args = args[2:]
    if len(args) == 2 and args[0] == "--fuzz-seeds":
        fuzz_seeds(objects, args[1])
        return
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    c = generate(objects, out)
    print("make-malformed: %d cases in %s" % (len(c.cases), out))


if __name__ == "__main__":
    main()
