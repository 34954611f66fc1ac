extension BTF {
    /// The raw BTF bytes: header, type section, string section, in `order` (default: the order
    /// the BTF was read in). A parsed BTF written back in its own order gives its input bytes.
    public func serialized(order: ByteOrder? = nil) -> [UInt8] {
        let order = order ?? self.order
        let typeLen = (records.count - 1) * 12 + words.count * 4
        let hdrLen = Int(headerLength)
        var w = ByteWriter(order: order, capacity: hdrLen + typeLen + strings.count)
        w.u16(btfMagic)
        w.u8(1)
        w.u8(0)
        w.u32(UInt32(hdrLen))
        w.u32(0)
        w.u32(UInt32(typeLen))
        w.u32(UInt32(typeLen))
        w.u32(UInt32(strings.count))
        for _ in btfHeaderSize..<hdrLen { w.u8(0) }
        for i in 1..<records.count {
            let r = records[i]
            w.u32(r.nameOffset)
            w.u32(r.info)
            w.u32(r.sizeOrType)
            let start = Int(r.firstWord)
            for j in start..<(start + BTF.extraWordCount(kindValue: r.kindValue, vlen: r.vlen)) { w.u32(words[j]) }
        }
        w.append(strings)
        return w.bytes
    }
}
