#!/usr/bin/env python3
"""Extract the raw vmlinux BTF blob from a Debian vmlinuz.

Used by scripts/fetch-kernel-btf.sh; standard library only (lz4 and zstd
payloads are handed to the `lz4` / `zstd` command line tools).

Subcommands:
  vmlinuz VMLINUZ OUT_KERNEL   decompress a kernel image; prints the
                               compression (xz, gzip, zstd, lz4, bzip2,
                               lzma, none) and the kind of result (elf/image)
  btf KERNEL OUT_BTF           cut the BTF blob out of an ELF vmlinux
                               (.BTF section) or a raw image (magic scan)
  info BTF                     print "<bytes> <sha256> <type count> <hdr_len>"

The decompression follows the idea of the kernel's scripts/extract-vmlinux:
look for a known compression magic inside the file and decompress from
there.  For an x86 bzImage the setup header's payload_offset is tried first,
then every magic occurrence in file order; a candidate is accepted once it
decompresses to something that looks like a kernel: an ELF, an arm64 or
riscv64 Image, or (s390x, whose compressed payload is the kernel as a flat
binary without any header) a blob of at least 1 MiB that holds a valid BTF
header.

BTF headers: magic 0xEB9F in the blob's byte order (bytes 9f eb little-endian,
eb 9f big-endian), version 1, flags 0, hdr_len 24 (type_off, type_len,
str_off, str_len) or 32 (the same, then layout_off, layout_len: the kind
layout section of newer kernels); every offset is relative to the end of the
header.
"""

import hashlib
import lzma
import bz2
import struct
import subprocess
import sys
import zlib

# (name, magic) - same magics as scripts/extract-vmlinux
MAGICS = [
    ("gzip", b"\x1f\x8b\x08"),
    ("xz", b"\xfd7zXZ\x00"),
    ("bzip2", b"BZh"),
    ("lzma", b"\x5d\x00\x00\x00"),
    ("lzo", b"\x89LZO"),
    ("lz4", b"\x02\x21\x4c\x18"),  # legacy frame, as the kernel uses
    ("zstd", b"\x28\xb5\x2f\xfd"),
]

BTF_MAGIC = 0xEB9F
BTF_HDR_LENS = (24, 32)  # 32: with layout_off/layout_len
BTF_MIN_HDR_LEN = 24
FLAT_KERNEL_MIN = 1 << 20  # a flat (headerless) kernel binary is at least this big

# BTF kinds -> size of the data following struct btf_type (12 bytes)
BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_ARRAY, BTF_KIND_STRUCT = 1, 2, 3, 4
BTF_KIND_UNION, BTF_KIND_ENUM, BTF_KIND_FWD, BTF_KIND_TYPEDEF = 5, 6, 7, 8
BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_FUNC = 9, 10, 11, 12
BTF_KIND_FUNC_PROTO, BTF_KIND_VAR, BTF_KIND_DATASEC, BTF_KIND_FLOAT = 13, 14, 15, 16
BTF_KIND_DECL_TAG, BTF_KIND_TYPE_TAG, BTF_KIND_ENUM64 = 17, 18, 19


def die(msg):
    print("extract-btf: " + msg, file=sys.stderr)
    sys.exit(1)


def looks_like_kernel(data):
    if data[:4] == b"\x7fELF":
        return "elf"
    # arm64 Image header: magic "ARM\x64" at offset 0x38; riscv64: "RSC\x05" there
    # (Documentation/arch/riscv/boot-image-header.rst)
    if len(data) > 0x40 and data[0x38:0x3C] in (b"ARM\x64", b"RSC\x05"):
        return "image"
    return None


def looks_like_flat_kernel(data):
    """A decompressed payload with no header of its own (s390x's vmlinux.bin is
    `objcopy -O binary` of vmlinux): accepted when it is big and holds BTF."""
    return len(data) >= FLAT_KERNEL_MIN and bool(scan_btf(data))


def run_tool(argv, data):
    """Run a decompressor on data; keep its output even on a non-zero exit
    (trailing bytes after the stream make some tools complain), the caller
    validates the result."""
    try:
        p = subprocess.run(argv, input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        return None
    return p.stdout


def decompress(kind, data):
    try:
        if kind == "gzip":
            return zlib.decompressobj(wbits=31).decompress(data)
        if kind == "xz":
            return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
        if kind == "lzma":
            return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data)
        if kind == "bzip2":
            return bz2.BZ2Decompressor().decompress(data)
        if kind == "zstd":
            return run_tool(["zstd", "-d", "-c", "-q"], data)
        if kind == "lz4":
            return run_tool(["lz4", "-d", "-c", "-q"], data)
        if kind == "lzo":
            return run_tool(["lzop", "-d", "-c", "-q"], data)
    except (lzma.LZMAError, zlib.error, OSError, EOFError, ValueError):
        return None
    return None


def bzimage_payload(data):
    """(offset, length) of the compressed payload of an x86 bzImage, or None."""
    if len(data) < 0x250 or data[0x202:0x206] != b"HdrS":
        return None
    version = struct.unpack_from("<H", data, 0x206)[0]
    if version < 0x208:
        return None
    setup_sects = data[0x1F1] or 4
    pm_start = (setup_sects + 1) * 512
    off, length = struct.unpack_from("<II", data, 0x248)
    start = pm_start + off
    if length == 0 or start + length > len(data):
        return None
    return start, length


def cmd_vmlinuz(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    if looks_like_kernel(data):
        result, comp = data, "none"
    else:
        candidates = []  # (offset, end or None)
        hdr = bzimage_payload(data)
        if hdr:
            candidates.append((hdr[0], hdr[0] + hdr[1]))
        hits = []
        for name, magic in MAGICS:
            pos = data.find(magic)
            while pos != -1:
                hits.append(pos)
                pos = data.find(magic, pos + 1)
        candidates += [(p, None) for p in sorted(set(hits))]
        result = comp = None
        tried = 0
        unrecognised = None  # (size, compression, offset) of the largest other payload
        for start, end in candidates:
            chunk = data[start:end]
            for name, magic in MAGICS:
                if not chunk.startswith(magic):
                    continue
                tried += 1
                out = decompress(name, chunk)
                if out and (looks_like_kernel(out) or looks_like_flat_kernel(out)):
                    result, comp = out, name
                    break
                if out and (unrecognised is None or len(out) > unrecognised[0]):
                    unrecognised = (len(out), name, start)
            if result is not None:
                break
            if tried > 200:
                break
        if result is None:
            if unrecognised and unrecognised[0] >= FLAT_KERNEL_MIN:
                die("%s: the %s payload at 0x%x decompresses to %d bytes with no ELF or Image "
                    "header and no BTF (a flat kernel built without CONFIG_DEBUG_INFO_BTF?)"
                    % ((src, unrecognised[1], unrecognised[2], unrecognised[0])))
            die("%s: no compressed kernel found (%d candidates tried)" % (src, tried))
    with open(dst, "wb") as f:
        f.write(result)
    print(comp, looks_like_kernel(result) or "flat")


def btf_header(data, off, split=False):
    """Parse and sanity-check a BTF header at off (split: a module's BTF, whose
    strings continue its base's and need not start with "").

    Returns (endian, total, hdr_len, sections) or None; sections is a list of
    (offset, length) relative to the end of the header: types, strings and, for
    hdr_len 32, the layout section."""
    if off + BTF_MIN_HDR_LEN > len(data):
        return None
    for endian in ("<", ">"):
        magic, version, flags, hdr_len = struct.unpack_from(endian + "HBBI", data, off)
        if magic != BTF_MAGIC:
            continue
        if version != 1 or flags != 0 or hdr_len not in BTF_HDR_LENS:
            return None
        if off + hdr_len > len(data):
            return None
        fields = struct.unpack_from(endian + "I" * ((hdr_len - 8) // 4), data, off + 8)
        type_off, type_len, str_off, str_len = fields[:4]
        sections = [(type_off, type_len), (str_off, str_len)]
        if hdr_len == 32:
            sections.append((fields[4], fields[5]))
            if fields[4] % 4 or fields[5] % 4:
                return None
        if type_off % 4 or type_len % 4 or type_len == 0 or str_len == 0:
            return None
        for i, (a_off, a_len) in enumerate(sections):
            for b_off, b_len in sections[i + 1:]:
                if a_len and b_len and a_off + a_len > b_off and b_off + b_len > a_off:
                    return None  # sections overlap
        total = hdr_len + max(o + n for o, n in sections)
        if off + total > len(data):
            return None
        s = off + hdr_len + str_off
        # the string section starts with "" and ends with a NUL
        if (data[s] != 0 and not split) or data[s + str_len - 1] != 0:
            return None
        return endian, total, hdr_len, sections
    return None


def scan_btf(data):
    """Every valid BTF header in data (either byte order): [(total, offset)]."""
    found = []
    for magic in (b"\x9f\xeb\x01\x00", b"\xeb\x9f\x01\x00"):
        pos = data.find(magic)
        while pos != -1:
            h = btf_header(data, pos)
            if h:
                found.append((h[1], pos))
            pos = data.find(magic, pos + 1)
    return found


def elf_btf_section(data):
    ei_class, ei_data = data[4], data[5]
    e = "<" if ei_data == 1 else ">"
    if ei_class == 2:
        e_shoff = struct.unpack_from(e + "Q", data, 0x28)[0]
        e_shentsize, e_shnum, e_shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
        fmt, name_i, off_i, size_i = e + "IIQQQQIIQQ", 0, 4, 5
    elif ei_class == 1:
        e_shoff = struct.unpack_from(e + "I", data, 0x20)[0]
        e_shentsize, e_shnum, e_shstrndx = struct.unpack_from(e + "HHH", data, 0x2E)
        fmt, name_i, off_i, size_i = e + "IIIIIIIIII", 0, 4, 5
    else:
        die("unknown ELF class %d" % ei_class)
    shdrs = [struct.unpack_from(fmt, data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
    strtab = shdrs[e_shstrndx]
    stroff = strtab[off_i]
    for sh in shdrs:
        n = sh[name_i]
        name = data[stroff + n:data.index(b"\0", stroff + n)]
        if name == b".BTF":
            return data[sh[off_i]:sh[off_i] + sh[size_i]]
    die("ELF has no .BTF section")


def cmd_btf(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    if data[:4] == b"\x7fELF":
        blob = elf_btf_section(data)
        h = btf_header(blob, 0, split=True)
        if not h:
            die(".BTF section has a bad header")
        blob = blob[:h[1]]
        how = "elf"
    else:
        found = scan_btf(data)
        if not found:
            die("no BTF header found in raw image")
        if len(found) > 1:
            print("extract-btf: %d BTF headers found, taking the largest: %s"
                  % (len(found), found), file=sys.stderr)
        total, pos = max(found)
        blob = data[pos:pos + total]
        how = "image@0x%x" % pos
    with open(dst, "wb") as f:
        f.write(blob)
    print(how, len(blob))


def count_types(blob):
    endian, _total, hdr_len, sections = btf_header(blob, 0)
    type_off, type_len = sections[0]
    p = hdr_len + type_off
    end = p + type_len
    n = 0
    while p < end:
        _name, info, _size = struct.unpack_from(endian + "III", blob, p)
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        p += 12
        if kind == BTF_KIND_INT:
            p += 4
        elif kind == BTF_KIND_ARRAY:
            p += 12
        elif kind in (BTF_KIND_STRUCT, BTF_KIND_UNION):
            p += 12 * vlen
        elif kind == BTF_KIND_ENUM:
            p += 8 * vlen
        elif kind == BTF_KIND_ENUM64:
            p += 12 * vlen
        elif kind == BTF_KIND_FUNC_PROTO:
            p += 8 * vlen
        elif kind == BTF_KIND_VAR:
            p += 4
        elif kind == BTF_KIND_DATASEC:
            p += 12 * vlen
        elif kind == BTF_KIND_DECL_TAG:
            p += 4
        elif kind in (BTF_KIND_PTR, BTF_KIND_FWD, BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE,
                      BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_FUNC, BTF_KIND_FLOAT,
                      BTF_KIND_TYPE_TAG):
            pass
        else:
            die("unknown BTF kind %d at type #%d" % (kind, n + 1))
        n += 1
    if p != end:
        die("type section does not end on a type boundary")
    return n


def cmd_info(src):
    with open(src, "rb") as f:
        blob = f.read()
    h = btf_header(blob, 0)
    if not h:
        die("%s: not a BTF blob" % src)
    print(len(blob), hashlib.sha256(blob).hexdigest(), count_types(blob), h[2])


def main(argv):
    if len(argv) == 4 and argv[1] == "vmlinuz":
        cmd_vmlinuz(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "btf":
        cmd_btf(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "info":
        cmd_info(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
