extension BTF {
    /// The number of bytes `serialized()` produces.
    public var serializedSize: Int {
        Int(headerLength) + (records.count - 1) * 12 + typeWordCount * 4 + writtenLayoutEntries * KindLayout.byteSize
            + strings.count
    }

    /// Words after the type headers, summed over all types.
    private var typeWordCount: Int { extraWordTotal }

    /// The layout section entries the writer writes: all of `layoutSection` with a header of 32
    /// bytes or more, none with a shorter one (which has no `layout_off`/`layout_len`).
    private var writtenLayoutEntries: Int { headerLength >= UInt32(btfLayoutHeaderSize) ? layoutSection?.count ?? 0 : 0 }

    /// The raw BTF bytes: header, type section, layout section, string section, in `order`
    /// (default: the order the BTF was read in). A parsed BTF written back in its own order
    /// gives its input bytes when its sections lay in that order without gaps, as libbpf and
    /// pahole write them; the writer always writes version 1, flags 0 and zeros for header
    /// fields it does not know (what the kernel requires), whatever the input held.
    ///
    /// The header is `headerLength` bytes: 24 (`type_off` … `str_len`), or 32 and more, with
    /// `layout_off` and `layout_len` (0 and 0 without a layout section) and zeros after them.
    /// What trimmed output carries: a BTF built by `append` has a 24-byte header and no layout
    /// section, which libbpf 1.1.2 (Debian bookworm) and every later libbpf and kernel read; a
    /// 32-byte header is read by libbpf 1.1.2 too when little-endian (it ignores the fields past
    /// `str_len`), but not big-endian (it refuses any other header length for a swapped BTF),
    /// and kernels before the layout section refuse non-zero `layout_off`/`layout_len`. A BTF
    /// holding a type of a kind btfgen does not know needs its layout section to be read back.
    public func serialized(order: ByteOrder? = nil) -> [UInt8] {
        let order = order ?? self.order
        let swap = order != ByteOrder.host
        let extraWords = typeWordCount
        let typeLen = (records.count - 1) * 12 + extraWords * 4
        let hdrLen = Int(headerLength)
        let layoutEntries = writtenLayoutEntries
        let layoutLen = layoutEntries * KindLayout.byteSize
        let total = hdrLen + typeLen + layoutLen + strings.count
        let sizes = self.sizes
        return [UInt8](unsafeUninitializedCapacity: total) { buf, initialized in
            let raw = UnsafeMutableRawBufferPointer(buf)
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            func put32(_ v: UInt32, _ at: Int) {
                raw.storeBytes(of: swap ? v.byteSwapped : v, toByteOffset: at, as: UInt32.self)
            }
            raw.storeBytes(of: swap ? btfMagic.byteSwapped : btfMagic, toByteOffset: 0, as: UInt16.self)
            raw[2] = 1
            raw[3] = 0
            put32(UInt32(hdrLen), 4)
            put32(0, 8)
            put32(UInt32(typeLen), 12)
            put32(UInt32(typeLen + layoutLen), 16)
            put32(UInt32(strings.count), 20)
            if hdrLen >= btfLayoutHeaderSize {
                put32(layoutLen > 0 ? UInt32(typeLen) : 0, 24)
                put32(UInt32(layoutLen), 28)
            }
            var at = hdrLen
            words.withUnsafeBufferPointer { w in
                for r in records.dropFirst() {
                    put32(r.nameOffset, at)
                    put32(r.info, at + 4)
                    put32(r.sizeOrType, at + 8)
                    at += 12
                    let start = Int(r.firstWord)
                    let s = sizes[Int(r.kindValue)]
                    let n = Int(s.fixedWords) + r.vlen * Int(s.vlenWords)
                    if swap {
                        for j in start..<(start + n) { put32(w[j], at); at += 4 }
                    } else if n > 0 {
                        UnsafeMutableRawBufferPointer(rebasing: raw[at..<(at + 4 * n)])
                            .copyMemory(from: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: w[start..<(start + n)])))
                        at += 4 * n
                    }
                }
            }
            if let layout = layoutSection, layoutEntries > 0 {
                for entry in layout {
                    raw[at] = entry.infoSize
                    raw[at + 1] = entry.elementSize
                    raw.storeBytes(of: swap ? entry.flags.byteSwapped : entry.flags, toByteOffset: at + 2, as: UInt16.self)
                    at += KindLayout.byteSize
                }
            }
            strings.withUnsafeBytes { s in
                UnsafeMutableRawBufferPointer(rebasing: raw[at..<(at + s.count)]).copyMemory(from: s)
            }
            initialized = total
        }
    }
}
