import BTF

extension Marker {
    /// Builds the trimmed BTF: marked types in their source order, renumbered from 1, structs and
    /// unions with their marked members only, enums with their marked enumerators, references
    /// to unmarked types turned into `void`, strings interned in order of use. The same marks
    /// always give the same bytes; the byte order is the target's.
    public func emit() -> BTF {
        // New ids are positions in the sorted list of marked types, plus one.
        let kept = marked.sorted()
        func remap(_ id: UInt32) -> UInt32 {
            let i = Int(id)
            guard i < types.count, types[i] else { return 0 }
            var lo = 0, hi = kept.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if kept[mid] < i { lo = mid + 1 } else { hi = mid }
            }
            return UInt32(lo + 1)
        }

        var out = BTF(order: target.order)
        var strings = StringTableBuilder()
        var extra: [UInt32] = []
        for i in kept {
            let id = TypeID(UInt32(i))
            let rec = target.records[i]
            let kind = target.kind(id)
            let name = strings.add(from: target, StringOffset(rec.nameOffset))
            let words = target.extraWords(id)
            let base = words.startIndex
            extra.removeAll(keepingCapacity: true)
            var vlen = rec.vlen
            var sizeOrType = rec.sizeOrType
            switch kind {
            case .struct, .union:
                vlen = 0
                for m in 0..<rec.vlen where whole[i] || isSlotMarked(base + 3 * m) {
                    let w = base + 3 * m
                    extra.append(strings.add(from: target, StringOffset(target.words[w])).rawValue)
                    extra.append(remap(target.words[w + 1]))
                    extra.append(target.words[w + 2])
                    vlen += 1
                }
            case .enum, .enum64:
                let stride = kind == .enum64 ? 3 : 2
                vlen = 0
                for e in 0..<rec.vlen where whole[i] || isSlotMarked(base + stride * e) {
                    let w = base + stride * e
                    extra.append(strings.add(from: target, StringOffset(target.words[w])).rawValue)
                    extra.append(target.words[w + 1])
                    if stride == 3 { extra.append(target.words[w + 2]) }
                    vlen += 1
                }
            case .ptr, .typedef, .const, .volatile, .restrict, .typeTag, .func, .var, .declTag:
                sizeOrType = remap(rec.sizeOrType)
                extra.append(contentsOf: words)
            case .array:
                extra.append(remap(target.words[base]))
                extra.append(remap(target.words[base + 1]))
                extra.append(target.words[base + 2])
            case .funcProto:
                sizeOrType = remap(rec.sizeOrType)
                for p in 0..<rec.vlen {
                    let w = base + 2 * p
                    extra.append(strings.add(from: target, StringOffset(target.words[w])).rawValue)
                    extra.append(remap(target.words[w + 1]))
                }
            case .datasec:
                for v in 0..<rec.vlen {
                    let w = base + 3 * v
                    extra.append(remap(target.words[w]))
                    extra.append(target.words[w + 1])
                    extra.append(target.words[w + 2])
                }
            case .int, .float, .fwd, .void:
                extra.append(contentsOf: words)
            }
            let info = (rec.info & ~UInt32(0xff_ffff)) | UInt32(vlen)
            out.append(info: info, name: name, sizeOrType: sizeOrType, extra: extra)
        }
        out.setStrings(strings.bytes)
        return out
    }
}
