#!/usr/bin/env python3
"""Rewrite a raw kernel BTF in the 2026 format: a 32-byte header and a layout section.

    scripts/make-kernel-variants.py [--unknown-kind K] [--reference] IN.btf OUT.btf

Linux 7.1's BTF (pahole >= 1.31) has a 32-byte header: after type_off, type_len, str_off and
str_len come layout_off and layout_len (u32 each), which describe a layout section between the
type and string sections. It holds one 4-byte entry per kind value from 0 (the kernel's
struct btf_layout: u8 info_sz, u8 elem_sz, u16 flags), giving the bytes after a type's 12-byte
header (info_sz) and the bytes of each of its vlen entries (elem_sz), so that a reader can step
over a type of a kind it does not know. The kind field of a type's info word is 7 bits wide
and vlen 24 bits. This script writes IN.btf's types and strings unchanged with such a header
and a layout section for the kinds up to ENUM64 (19), placed as libbpf writes them:
type_off 0, layout_off = type_len, str_off = layout_off + layout_len.

--unknown-kind K  also describe kind K (20..127) in the layout section (info_sz 4, elem_sz 8)
                  and append one type of that kind with vlen 2 (20 bytes of data), which no
                  other type refers to.
--reference       with --unknown-kind: also append a typedef "btfgen_unknown_t" of that type,
                  so that the unknown kind is referenced.

The byte order of IN.btf is kept. IN.btf must have a 24-byte header (a kernel's
/sys/kernel/btf/vmlinux or a test kernel made by scripts/testdata-kernels.sh). Standard library
only; btfgen's tests run it at test time (Tests/BTFTests/LayoutSectionTests.swift).
"""

import argparse
import struct
import sys

BTF_MAGIC = 0xEB9F
# kind -> (info_sz, elem_sz), kinds 0 (void) .. 19 (enum64), as libbpf's layout table
KNOWN = [(0, 0), (4, 0), (0, 0), (12, 0), (0, 12), (0, 12), (0, 8), (0, 0), (0, 0), (0, 0),
         (0, 0), (0, 0), (0, 0), (0, 8), (4, 0), (0, 12), (0, 0), (4, 0), (0, 0), (0, 12)]


def convert(blob, unknown_kind=None, reference=False):
    e = "<" if struct.unpack("<H", blob[:2])[0] == BTF_MAGIC else ">"
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(e + "HBBIIIII", blob)
    if magic != BTF_MAGIC or hdr_len != 24:
        raise SystemExit("make-kernel-variants: want a raw BTF with a 24-byte header")
    types = bytearray(blob[hdr_len + type_off:hdr_len + type_off + type_len])
    strs = bytearray(blob[hdr_len + str_off:hdr_len + str_off + str_len])
    layout = list(KNOWN)
    if unknown_kind is not None:
        if not 20 <= unknown_kind <= 127:
            raise SystemExit("make-kernel-variants: --unknown-kind wants 20..127")
        layout += [(0, 0)] * (unknown_kind + 1 - len(layout))
        layout[unknown_kind] = (4, 8)
        n_types = count_types(types, e)
        unknown_id = n_types + 1
        types += struct.pack(e + "III", 0, (unknown_kind << 24) | 2, 0)
        types += struct.pack(e + "IIIII", 0x11111111, 1, 2, 3, 4)
        if reference:
            name_off = len(strs)
            strs += b"btfgen_unknown_t\0"
            types += struct.pack(e + "III", name_off, 8 << 24, unknown_id)
    lay = b"".join(struct.pack(e + "BBH", i, s, 0) for i, s in layout)
    hdr = struct.pack(e + "HBBIIIIIII", BTF_MAGIC, version, flags, 32, 0, len(types),
                      len(types) + len(lay), len(strs), len(types), len(lay))
    return hdr + bytes(types) + lay + bytes(strs)


def count_types(types, e):
    """The number of types in a type section of known kinds (24-bit vlen, 7-bit kind)."""
    n, pos = 0, 0
    while pos < len(types):
        info = struct.unpack_from(e + "I", types, pos + 4)[0]
        kind, vlen = (info >> 24) & 0x7F, info & 0xFFFFFF
        if not 1 <= kind < len(KNOWN):
            raise SystemExit("make-kernel-variants: type %d has kind %d" % (n + 1, kind))
        info_sz, elem_sz = KNOWN[kind]
        pos += 12 + info_sz + vlen * elem_sz
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--unknown-kind", type=int)
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("input")
    ap.add_argument("output")
    a = ap.parse_args()
    if a.reference and a.unknown_kind is None:
        ap.error("--reference needs --unknown-kind")
    with open(a.input, "rb") as f:
        blob = f.read()
    out = convert(blob, a.unknown_kind, a.reference)
    with open(a.output, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    sys.exit(main())
