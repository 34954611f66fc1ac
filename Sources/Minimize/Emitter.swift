import BTF
import CORE

extension Marker {
    /// Builds the trimmed BTF: marked types in their source order, renumbered from 1, structs and
    /// unions with their marked members only, enums with their marked enumerators, references
    /// to unmarked types turned into `void`, strings interned in order of use. The same marks
    /// always give the same bytes; the byte order is the target's.
    /// - Parameter renaming: new names for some types (by index in the target), written instead
    ///   of theirs: how module types that must not become CO-RE candidates are kept out of the
    ///   candidate search (see `moduleClashes`).
    public func emit(renaming: [Int: [UInt8]] = [:]) -> BTF {
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
            let name = renaming[i].map { strings.add($0) } ?? strings.add(from: target, StringOffset(rec.nameOffset))
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

extension Marker {
    /// The marked module types that a search of the trimmed BTF as one file would take for
    /// candidates where libbpf on the live kernel never does, with the names to write instead.
    ///
    /// On a live kernel libbpf looks for a local type's candidates in a module only when vmlinux
    /// has none (`CandidateIndex.candidates`). A trimmed BTF is read as one file, so a module type
    /// kept for another reason (an embedded struct on a field's path, a pointer's shell) whose
    /// essential name and kind pair it with a local type that vmlinux serves would become a
    /// candidate: another match, or an ambiguity. Such a type is written as
    /// `btfgen_MODULE__NAME`, whose essential name pairs with nothing. Only names some local type
    /// asks for (`wanted`) are looked at. `type_matches` compares nested types' names too: where
    /// a renamed type sits inside a matched type the check before writing finds the difference.
    public func moduleClashes(wanted: Set<ArraySlice<UInt8>>, index: CandidateIndex) -> [Int: [UInt8]] {
        guard let split = target.firstModuleTypeID else { return [:] }
        var renames: [Int: [UInt8]] = [:]
        for i in marked where i >= Int(split) {
            let id = TypeID(UInt32(i))
            let kind = target.kind(id)
            guard kind == .struct || kind == .union || kind.isEnum else { continue }
            let essential = target.essentialName(id)
            guard !essential.isEmpty, wanted.contains(essential),
                  let first = index.candidates(essentialName: essential, kind: kind, in: target).first,
                  first.rawValue < split, let module = target.module(of: id) else { continue }
            renames[i] = Array("btfgen_\(module.name)__".utf8) + target.stringBytes(target.nameOffset(id))
        }
        return renames
    }
}
