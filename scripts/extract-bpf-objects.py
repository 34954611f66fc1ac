#!/usr/bin/env python3
"""Find the BPF ELF objects (e_machine 247, EM_BPF) in an unpacked Debian package.

    extract-bpf-objects.py ROOT OUT_DIR

ROOT is a `dpkg-deb -x` tree. Every regular file under it is scanned for ELF images: a file that
is itself an EM_BPF ELF is taken whole (xdp-tools may ship plain .o files); in any other file
(libbpf-tools embeds each tool's .bpf.o in .rodata through the bpftool skeleton) each `\\x7fELF`
magic is parsed as an ELF header and, when it is EM_BPF, the image is cut to
max(e_shoff + e_shnum * e_shentsize, e_phoff + e_phnum * e_phentsize, end of every section's
data).

An object is kept when `bpftool btf dump file OBJ` reads it and its .BTF.ext holds at least one
CO-RE relocation record; it is written to OUT_DIR/<tool>.bpf.o, the tool named after the host
file (`-libbpf`, `.so*`, `.o` and `.bpf` dropped from the name; `<tool>.<n>.bpf.o` when one
host holds several objects). Objects whose bytes were already kept from another host file are
not written again.

Prints one tab-separated line per object found, on stdout:

    kept     NAME  HOST  OFFSET  SHA256  BYTES  CORE_RELOS
    skipped  -     HOST  OFFSET  SHA256  BYTES  REASON

HOST is relative to ROOT, OFFSET is the image's byte offset inside HOST.
"""

import hashlib
import os
import re
import struct
import subprocess
import sys

EM_BPF = 247
SHT_NOBITS = 8
ELF_MAGIC = b"\x7fELF"
MAX_SECTIONS = 65535


class NotAnImage(Exception):
    """The bytes at an ELF magic are not a well-formed ELF image."""


def image_extent(buf, start):
    """Returns (e_machine, byte order, image size) of the ELF image at buf[start:]."""
    if len(buf) - start < 52:
        raise NotAnImage("truncated ELF header")
    ei_class, ei_data, ei_version = buf[start + 4], buf[start + 5], buf[start + 6]
    if ei_class not in (1, 2) or ei_data not in (1, 2) or ei_version != 1:
        raise NotAnImage("bad e_ident")
    order = "<" if ei_data == 1 else ">"
    if ei_class == 2:
        if len(buf) - start < 64:
            raise NotAnImage("truncated ELF64 header")
        (_type, machine, _version, _entry, phoff, shoff, _flags, ehsize, phentsize, phnum,
         shentsize, shnum, _shstrndx) = struct.unpack_from(order + "HHIQQQIHHHHHH", buf, start + 16)
        sh_fmt, sh_min = order + "IIQQQQIIQQ", 64
    else:
        (_type, machine, _version, _entry, phoff, shoff, _flags, ehsize, phentsize, phnum,
         shentsize, shnum, _shstrndx) = struct.unpack_from(order + "HHIIIIIHHHHHH", buf, start + 16)
        sh_fmt, sh_min = order + "IIIIIIIIII", 40
    avail = len(buf) - start
    end = ehsize
    if phnum:
        end = max(end, phoff + phnum * phentsize)
    if shoff == 0:
        raise NotAnImage("no section header table")
    if shentsize < sh_min:
        raise NotAnImage(f"e_shentsize {shentsize}")
    if shoff > avail or shoff + shentsize > avail:
        raise NotAnImage("section header table out of bounds")
    if shnum == 0:  # extended numbering: the count is section 0's sh_size
        shnum = struct.unpack_from(sh_fmt, buf, start + shoff)[5]
        if shnum == 0 or shnum > MAX_SECTIONS:
            raise NotAnImage("bad extended section count")
    table_end = shoff + shnum * shentsize
    if table_end > avail:
        raise NotAnImage("section header table out of bounds")
    end = max(end, table_end)
    for i in range(shnum):
        fields = struct.unpack_from(sh_fmt, buf, start + shoff + i * shentsize)
        sh_type, sh_offset, sh_size = fields[1], fields[4], fields[5]
        if sh_type == SHT_NOBITS or sh_size == 0:
            continue
        if sh_offset > avail or sh_size > avail - sh_offset:
            raise NotAnImage(f"section {i} out of bounds")
        end = max(end, sh_offset + sh_size)
    if end > avail:
        raise NotAnImage("image runs past the end of the file")
    return machine, order, end


def sections(img, order):
    """Yields (name, offset, size) of each section of a well-formed ELF image."""
    is64 = img[4] == 2
    if is64:
        shoff, = struct.unpack_from(order + "Q", img, 40)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", img, 58)
        sh_fmt = order + "IIQQQQIIQQ"
    else:
        shoff, = struct.unpack_from(order + "I", img, 32)
        shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", img, 46)
        sh_fmt = order + "IIIIIIIIII"
    first = struct.unpack_from(sh_fmt, img, shoff)
    if shnum == 0:
        shnum = first[5]
    if shstrndx == 0xFFFF:
        shstrndx = first[7]
    headers = [struct.unpack_from(sh_fmt, img, shoff + i * shentsize) for i in range(shnum)]
    if shstrndx >= shnum:
        return
    str_off, str_size = headers[shstrndx][4], headers[shstrndx][5]
    strtab = img[str_off:str_off + str_size]
    for h in headers:
        name_end = strtab.find(b"\0", h[0])
        name = strtab[h[0]:name_end if name_end >= 0 else len(strtab)].decode("latin-1")
        yield name, h[4], h[5]


def core_relo_count(img, order):
    """Number of CO-RE relocation records in the image's .BTF.ext, or a reason string."""
    ext = next(((off, size) for name, off, size in sections(img, order) if name == ".BTF.ext"), None)
    if ext is None:
        return "no .BTF.ext section"
    data = img[ext[0]:ext[0] + ext[1]]
    if len(data) < 8:
        return ".BTF.ext: truncated header"
    magic, _version, _flags, hdr_len = struct.unpack_from(order + "HBBI", data, 0)
    if magic != 0xEB9F:
        return f".BTF.ext: bad magic {magic:#x}"
    if hdr_len < 32 or len(data) < 32:
        return ".BTF.ext: no core_relo section (header of %d bytes)" % hdr_len
    core_off, core_len = struct.unpack_from(order + "II", data, 24)
    if core_len == 0:
        return "no CO-RE relocations (.BTF.ext core_relo_len 0)"
    base = hdr_len + core_off
    if base > len(data) or core_len > len(data) - base or core_len < 4:
        return ".BTF.ext: core_relo section out of bounds"
    record_size, = struct.unpack_from(order + "I", data, base)
    if record_size < 16:
        return f".BTF.ext: core_relo record size {record_size}"
    pos, end, count = base + 4, base + core_len, 0
    while pos < end:
        if end - pos < 8:
            return ".BTF.ext: truncated core_relo block"
        _sec_name, num = struct.unpack_from(order + "II", data, pos)
        pos += 8 + num * record_size
        if pos > end:
            return ".BTF.ext: core_relo block runs past the section"
        count += num
    if count == 0:
        return "no CO-RE relocations (0 records)"
    return count


def tool_name(host):
    name = os.path.basename(host)
    name = re.sub(r"\.so(\.[0-9]+)*$", "", name)
    for suffix in ("-libbpf", ".o", ".bpf"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name)


def find_images(buf):
    """Yields (offset, image bytes, byte order) for each EM_BPF image in buf, or (offset, None, reason)."""
    pos = buf.find(ELF_MAGIC)
    while pos >= 0:
        try:
            machine, order, size = image_extent(buf, pos)
        except (NotAnImage, struct.error):
            pos = buf.find(ELF_MAGIC, pos + 1)
            continue
        if machine == EM_BPF:
            yield pos, buf[pos:pos + size], order
            pos = buf.find(ELF_MAGIC, pos + size)
        elif pos == 0:
            pos = buf.find(ELF_MAGIC, 1)  # the host itself: look inside it
        else:
            pos = buf.find(ELF_MAGIC, pos + 1)


def bpftool_reads(path):
    r = subprocess.run(["bpftool", "btf", "dump", "file", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode == 0:
        return None
    msg = " ".join(r.stderr.split())[:200]
    return f"bpftool btf dump failed: {msg or 'exit %d' % r.returncode}"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: extract-bpf-objects.py ROOT OUT_DIR")
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    hosts = []
    for d, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                hosts.append(p)
    hosts.sort()
    kept = {}  # sha256 -> name
    used = set()
    rows = []
    for path in hosts:
        with open(path, "rb") as fh:
            buf = fh.read()
        if ELF_MAGIC not in buf:
            continue
        host = os.path.relpath(path, root)
        found = list(find_images(buf))
        for index, (offset, img, order) in enumerate(found, 1):
            sha = hashlib.sha256(img).hexdigest()
            base = tool_name(host) if len(found) == 1 else f"{tool_name(host)}.{index}"
            if sha in kept:
                rows.append(("skipped", "-", host, offset, sha, len(img), f"same bytes as {kept[sha]}"))
                continue
            relos = core_relo_count(img, order)
            if isinstance(relos, str):
                rows.append(("skipped", "-", host, offset, sha, len(img), relos))
                continue
            name, n = base, 1
            while name in used:
                n += 1
                name = f"{base}-{n}"
            dest = os.path.join(out, name + ".bpf.o")
            tmp = dest + ".tmp"
            with open(tmp, "wb") as fh:
                fh.write(img)
            failure = bpftool_reads(tmp)
            if failure:
                os.unlink(tmp)
                rows.append(("skipped", "-", host, offset, sha, len(img), failure))
                continue
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
            used.add(name)
            kept[sha] = name + ".bpf.o"
            rows.append(("kept", name + ".bpf.o", host, offset, sha, len(img), relos))
    for row in rows:
        print("\t".join(str(x) for x in row))


if __name__ == "__main__":
    main()
