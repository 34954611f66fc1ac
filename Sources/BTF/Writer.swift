extension BTF {
    /// The number of bytes `serialized()` produces.
    public var serializedSize: Int {
        Int(headerLength) + (records.count - 1) * 12 + typeWordCount * 4 + strings.count
    }

    /// Words after the type headers, summed over all types.
    private var typeWordCount: Int { extraWordTotal }

    /// The raw BTF bytes: header, type section, string section, in `order` (default: the order
    /// the BTF was read in). A parsed BTF written back in its own order gives its input bytes.
    public func serialized(order: ByteOrder? = nil) -> [UInt8] {
        let order = order ?? self.order
        let swap = order != ByteOrder.host
        let extraWords = typeWordCount
        let typeLen = (records.count - 1) * 12 + extraWords * 4
        let hdrLen = Int(headerLength)
        let total = hdrLen + typeLen + strings.count
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
            put32(UInt32(typeLen), 16)
            put32(UInt32(strings.count), 20)
            var at = hdrLen
            words.withUnsafeBufferPointer { w in
                for r in records.dropFirst() {
                    put32(r.nameOffset, at)
                    put32(r.info, at + 4)
                    put32(r.sizeOrType, at + 8)
                    at += 12
                    let start = Int(r.firstWord)
                    let n = BTF.extraWordCount(kindValue: r.kindValue, vlen: r.vlen)
                    if swap {
                        for j in start..<(start + n) { put32(w[j], at); at += 4 }
                    } else if n > 0 {
                        UnsafeMutableRawBufferPointer(rebasing: raw[at..<(at + 4 * n)])
                            .copyMemory(from: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: w[start..<(start + n)])))
                        at += 4 * n
                    }
                }
            }
            strings.withUnsafeBytes { s in
                UnsafeMutableRawBufferPointer(rebasing: raw[at..<(at + s.count)]).copyMemory(from: s)
            }
            initialized = total
        }
    }
}
