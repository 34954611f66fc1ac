/// Limits that keep hostile input from exhausting time or memory.
public enum BTFLimits {
    /// Mirrors libbpf's `BTF_MAX_NR_TYPES`.
    public static let maxTypes = 0x7fff_ffff
    /// Mirrors libbpf's `BTF_MAX_STR_OFFSET`.
    public static let maxStringOffset = 0x7fff_ffff
    /// How far modifier and array chains are followed; the kernel's `MAX_RESOLVE_DEPTH`.
    public static let maxChainDepth = 32
}

public let btfMagic: UInt16 = 0xeb9f
/// The header every BTF starts with: magic to `str_len`.
public let btfHeaderSize = 24
/// The header of BTF with a layout section (Linux 7.1, pahole ≥ 1.31): `layout_off` and
/// `layout_len` follow `str_len`.
public let btfLayoutHeaderSize = 32

/// Where a BTF blob's sections lie, as its header declares them (offsets from the blob's start).
package struct BTFLayout: Sendable {
    package var order: ByteOrder
    package var headerLength: Int
    package var typeStart: Int
    package var typeLength: Int
    package var stringStart: Int
    package var stringLength: Int
    /// The layout section (0 bytes when the header is shorter than 32 bytes or `layout_len` is 0).
    package var layoutStart = 0
    package var layoutLength = 0
    /// The kernel rules the header breaks (version, flags, unknown header bytes).
    package var warnings: [FormatWarning] = []

    package init(order: ByteOrder, headerLength: Int, typeStart: Int, typeLength: Int, stringStart: Int,
                 stringLength: Int) {
        self.order = order
        self.headerLength = headerLength
        self.typeStart = typeStart
        self.typeLength = typeLength
        self.stringStart = stringStart
        self.stringLength = stringLength
    }
}

extension BTF {
    /// How error messages name a place in a blob: `.BTF+0x18`, or `offset 0x18` for a raw file.
    package static func locator(_ section: String) -> (Int) -> String {
        { offset in section.isEmpty ? "offset \(hex(offset))" : "\(section)+\(hex(offset))" }
    }

    /// Reads and checks the header of a blob of `blobSize` bytes; `header` holds at least its
    /// first `min(blobSize, header length)` bytes.
    ///
    /// Mirrors libbpf `btf_parse_hdr` and the kernel's `btf_parse_hdr` and
    /// `btf_parse_layout_sec`. The kernel's rules libbpf does not apply (version 1, flags 0,
    /// header bytes past the fields btfgen knows all zero) are warnings unless `strict`.
    package static func layout(header bytes: UnsafeRawBufferPointer, blobSize: Int, at: (Int) -> String,
                               strict: Bool = false) throws(FormatError) -> BTFLayout {
        var warnings: [FormatWarning] = []
        func note(_ rule: FormatRule, _ offset: Int, _ message: String) throws(FormatError) {
            let w = FormatWarning(rule: rule, type: nil, location: at(offset), message: message)
            if strict { throw w.error }
            warnings.append(w)
        }
        func fail(_ rule: FormatRule, _ offset: Int, _ message: String) -> FormatError {
            FormatError(at(offset), message, rule: rule)
        }
        guard blobSize >= btfHeaderSize, bytes.count >= btfHeaderSize else {
            throw fail(.header, 0, "truncated header: \(blobSize) bytes, need \(btfHeaderSize)")
        }
        let probe = ByteReader(bytes, order: .little)
        let order: ByteOrder
        switch probe.u16(0)! {
        case btfMagic: order = .little
        case btfMagic.byteSwapped: order = .big
        case let m: throw fail(.header, 0, "bad magic 0x\(String(m, radix: 16)), want 0xeb9f")
        }
        let r = ByteReader(bytes, order: order)
        let version = r.u8(2)!, flags = r.u8(3)!
        if version != 1 { try note(.headerVersion, 2, "unsupported version \(version)") }
        if flags != 0 { try note(.headerFlags, 3, "unsupported flags 0x\(String(flags, radix: 16))") }
        let hdrLen = Int(r.u32(4)!)
        guard hdrLen >= btfHeaderSize else {
            throw fail(.headerLength, 4, "header length \(hdrLen) shorter than \(btfHeaderSize)")
        }
        guard hdrLen <= blobSize else {
            throw fail(.header, 4, "header length \(hdrLen) past the end (\(blobSize) bytes)")
        }
        precondition(hdrLen <= bytes.count, "BTF.layout needs the whole header")
        // The kernel accepts a longer header only when the fields it does not know are zero;
        // libbpf reads it whatever they hold.
        let known = hdrLen >= btfLayoutHeaderSize ? btfLayoutHeaderSize : btfHeaderSize
        if let i = (known..<hdrLen).first(where: { r.u8($0)! != 0 }) {
            try note(.headerTail, i, "unsupported non-zero header field (header length \(hdrLen))")
        }
        let typeOff = Int(r.u32(8)!), typeLen = Int(r.u32(12)!)
        let strOff = Int(r.u32(16)!), strLen = Int(r.u32(20)!)
        let body = blobSize - hdrLen
        guard typeOff % 4 == 0 else { throw fail(.sectionBounds, 8, "type section offset \(typeOff) not 4-byte aligned") }
        guard typeLen % 4 == 0 else { throw fail(.sectionBounds, 12, "type section length \(typeLen) not a multiple of 4") }
        guard typeOff <= body, typeLen <= body - typeOff else {
            throw fail(.sectionBounds, 12, "type section \(hex(typeOff))+\(typeLen) past the end (\(body) bytes after header)")
        }
        guard strOff <= body, strLen <= body - strOff else {
            throw fail(.sectionBounds, 20, "string section \(hex(strOff))+\(strLen) past the end (\(body) bytes after header)")
        }
        guard strLen <= BTFLimits.maxStringOffset else {
            throw fail(.sectionBounds, 20, "string section too large (\(strLen) bytes)")
        }
        guard typeOff + typeLen <= strOff || strOff + strLen <= typeOff else {
            throw fail(.sectionBounds, 16, "type and string sections overlap")
        }
        var layout = BTFLayout(order: order, headerLength: hdrLen, typeStart: hdrLen + typeOff, typeLength: typeLen,
                               stringStart: hdrLen + strOff, stringLength: strLen)
        // The layout section, as the kernel's btf_parse_layout_sec checks it (libbpf before 1.8
        // ignores both fields).
        if hdrLen >= btfLayoutHeaderSize, case let layoutLen = Int(r.u32(28)!), layoutLen != 0 {
            let layoutOff = Int(r.u32(24)!)
            guard layoutOff % 4 == 0 else {
                throw fail(.layoutSection, 24, "layout section offset \(layoutOff) not 4-byte aligned")
            }
            guard layoutLen % KindLayout.byteSize == 0 else {
                throw fail(.layoutSection, 28, "layout section length \(layoutLen) not a multiple of \(KindLayout.byteSize)")
            }
            guard layoutOff <= body, layoutLen <= body - layoutOff else {
                throw fail(.layoutSection, 28, "layout section \(hex(layoutOff))+\(layoutLen) past the end (\(body) bytes after header)")
            }
            guard layoutOff + layoutLen <= typeOff || typeOff + typeLen <= layoutOff || typeLen == 0 else {
                throw fail(.layoutSection, 24, "layout and type sections overlap")
            }
            guard layoutOff + layoutLen <= strOff || strOff + strLen <= layoutOff || strLen == 0 else {
                throw fail(.layoutSection, 24, "layout and string sections overlap")
            }
            layout.layoutStart = hdrLen + layoutOff
            layout.layoutLength = layoutLen
        }
        layout.warnings = warnings
        return layout
    }

    /// Parses and validates a BTF blob (a raw `.btf` file or an ELF `.BTF` section).
    ///
    /// Accepts every BTF libbpf's `btf__parse` accepts (libbpf 1.1.2 and libbpf ≥ 1.8: the
    /// 32-byte header, its layout section, and types of kinds btfgen does not know, which the
    /// layout section says how to step over), except what a `FormatRule` of class `.error`
    /// rejects: every type id and string offset in range, counts within the section, modifier
    /// chains that end. The kernel's other rules are `warnings`, or errors when `strict`.
    /// Follows libbpf's `btf_parse_hdr`, `btf_parse_str_sec`, `btf_parse_layout_sec`,
    /// `btf_parse_type_sec` and `btf_sanity_check`.
    /// - Parameter section: how error locations name the blob (`.BTF` gives `.BTF+0x18`).
    /// - Parameter strict: reject BTF that breaks a kernel rule instead of warning.
    public init(parsing bytes: UnsafeRawBufferPointer, section: String = ".BTF", strict: Bool = false) throws(FormatError) {
        let at = BTF.locator(section)
        let layout = try BTF.layout(header: bytes, blobSize: bytes.count, at: at, strict: strict)
        // Decode the whole type section into host-order words at once.
        let wordCount = layout.typeLength / 4
        let swap = layout.order != ByteOrder.host
        let words = [UInt32](unsafeUninitializedCapacity: wordCount) { dst, initialized in
            let src = UnsafeRawBufferPointer(rebasing: bytes[layout.typeStart..<(layout.typeStart + layout.typeLength)])
            UnsafeMutableRawBufferPointer(dst).copyMemory(from: src)
            if swap { for i in 0..<wordCount { dst[i] = dst[i].byteSwapped } }
            initialized = wordCount
        }
        let strings = Array(UnsafeRawBufferPointer(rebasing: bytes[layout.stringStart..<(layout.stringStart + layout.stringLength)]))
        let layoutBytes = layout.layoutLength == 0 ? nil
            : Array(UnsafeRawBufferPointer(rebasing: bytes[layout.layoutStart..<(layout.layoutStart + layout.layoutLength)]))
        try self.init(layout: layout, words: words, strings: strings, layoutSection: layoutBytes, at: at, strict: strict)
    }

    /// Parses and validates the sections of a blob whose header gave `layout`: `words` is the
    /// type section in host order, `strings` the string section, `layoutSection` the layout
    /// section's bytes as stored (nil when the caller did not read it: then a type of a kind
    /// btfgen does not know is an error, and the BTF has no `layoutSection`).
    package init(layout sections: BTFLayout, words: [UInt32], strings: [UInt8], layoutSection: [UInt8]? = nil,
                 at: (Int) -> String, strict: Bool = false) throws(FormatError) {
        let strStart = sections.stringStart, strLen = sections.stringLength
        guard strLen > 0, strings[0] == 0 else {
            throw FormatError(at(strStart), "string section must start with an empty string", rule: .stringSection)
        }
        guard strings[strLen - 1] == 0 else {
            throw FormatError(at(strStart + strLen - 1), "string section is not NUL-terminated", rule: .stringSection)
        }
        let kindLayout: [KindLayout]? = layoutSection.map { raw in
            let r = raw.withUnsafeBytes { ByteReader($0, order: sections.order) }
            return (0..<(raw.count / KindLayout.byteSize)).map { i in
                KindLayout(infoSize: raw[4 * i], elementSize: raw[4 * i + 1], flags: r.u16(4 * i + 2)!)
            }
        }
        let layoutNotRead = layoutSection == nil && sections.layoutLength > 0
        // One pass over the words indexes the types and runs the quick validity check of
        // `validate()`. Type ids are checked against the final count through the largest id
        // referenced; a func naming a later type is checked once the table is full. The table
        // is allocated for 20 bytes a type (real kernels average 25): only its pages written are
        // touched, but in 2 MB pages (btfgen's heap has them) all of it is. A section of smaller
        // types overflows it and is indexed again in a table for the most it can hold (a type
        // is at least 12 bytes).
        let sizes = KindSizes.table(kindLayout)
        let layoutNote = kindLayout == nil ? (layoutNotRead ? " (layout section not read)" : " (no layout section describes it)") : ""
        func index(capacity: Int) -> (records: [Record], kinds: [UInt8], pass: IndexPass) {
            var pass = IndexPass()
            var kinds: [UInt8] = []
            let records = [Record](unsafeUninitializedCapacity: capacity) { recs, initialized in
                kinds = [UInt8](unsafeUninitializedCapacity: capacity) { kindBytes, kindsInitialized in
                    words.withUnsafeBufferPointer { wp in
                        sizes.withUnsafeBufferPointer { sizes in
                            pass = BTF.indexTypes(wp, into: recs, kinds: kindBytes, sizes: sizes, strLen: strLen,
                                                  typeStart: sections.typeStart, at: at, layoutNote: layoutNote)
                        }
                    }
                    kindsInitialized = pass.typeCount + 1
                }
                initialized = pass.typeCount + 1
            }
            return (records, kinds, pass)
        }
        let most = words.count / 3 + 1
        var (records, kinds, pass) = index(capacity: min(most, words.count / 5 + 2))
        if pass.overflowed { (records, kinds, pass) = index(capacity: most) }
        if let failure = pass.failure { throw failure }
        var looksValid = pass.looksValid && Int(pass.maxRef) < records.count
        for i in pass.laterFuncs where looksValid {
            let target = Int(records[i].sizeOrType)
            looksValid = target < records.count && records[target].kindValue == Kind.funcProto.rawValue
        }
        self.init(order: sections.order, headerLength: UInt32(sections.headerLength), layoutSection: kindLayout,
                  records: records, kinds: kinds, words: words, strings: strings, memberTotal: pass.members,
                  unknownKindCount: pass.unknownKinds)
        let typeWarnings = try validate(quickCheckPassed: looksValid, strict: strict)
        warnings = sections.warnings + typeWarnings
    }

    /// What the index pass found.
    private struct IndexPass {
        var typeCount = 0
        /// Whether every type passed the quick check (funcs naming later types aside).
        var looksValid = true
        /// The largest type id any type refers to.
        var maxRef: UInt32 = 0
        /// Funcs naming a type not yet indexed when they were: checked once the table is full.
        var laterFuncs: [Int] = []
        /// Struct and union members, over all types.
        var members = 0
        /// Types of a kind btfgen does not know.
        var unknownKinds = 0
        var failure: FormatError?
        /// The table filled up before the section ended: index it again in a larger one.
        var overflowed = false
    }

    /// The quick check's sink while the index pass runs: only yes or no, the largest id
    /// referenced, and the funcs whose target is not indexed yet.
    private struct IndexSink: TypeCheckSink {
        var ok = true
        var maxRef: UInt32 = 0
        var id = 0
        let kindBytes: UnsafeMutableBufferPointer<UInt8>

        @inline(__always) mutating func ref(_ target: UInt32, _ site: CheckSite) { maxRef = max(maxRef, target) }
        @inline(__always) mutating func funcTarget(_ target: UInt32) {
            // A later type's kind is not written yet: the index pass keeps such funcs for later.
            // The kind byte, not the record: funcs are almost half of a kernel's types, and the
            // kind table (a byte per type) stays in cache where the records do not.
            if Int(target) < id && kindBytes[Int(target)] != Kind.funcProto.rawValue { ok = false }
        }
        @inline(__always) mutating func violation(_ rule: FormatRule, _ site: CheckSite, _ a: UInt32, _ b: UInt32) { ok = false }
    }

    /// The index pass: writes each type's record and kind (ids from 1; slot 0 is void's) and
    /// runs the quick validity check, with its state in locals so that it stays in registers.
    private static func indexTypes(_ wp: UnsafeBufferPointer<UInt32>, into recs: UnsafeMutableBufferPointer<Record>,
                                   kinds kindBytes: UnsafeMutableBufferPointer<UInt8>,
                                   sizes: UnsafeBufferPointer<KindSizes>, strLen: Int, typeStart: Int,
                                   at: (Int) -> String, layoutNote: String) -> IndexPass {
        recs[0] = Record(nameOffset: 0, info: 0, sizeOrType: 0, firstWord: 0)
        kindBytes[0] = 0
        let wordCount = wp.count
        let strLimit = UInt32(strLen)
        // Plain locals, captured by no closure, so that they stay in registers.
        var typeCount = 0
        var laterFuncs: [Int] = []
        var sink = IndexSink(kindBytes: kindBytes)
        var members = 0
        var unknownKinds = 0
        var failure: FormatError?
        var overflowed = false
        var w = 0
        while w < wordCount {
            let id = typeCount &+ 1
            if id >= recs.count {
                overflowed = true
                break
            }
            guard wordCount &- w >= 3 else {
                failure = FormatError(at(typeStart + w * 4), "type [\(id)]: truncated header (\((wordCount - w) * 4) bytes left in type section)",
                                      rule: .typeSection)
                break
            }
            let nameOff = wp[w], info = wp[w &+ 1]
            let kindValue = Int((info >> 24) & BTFInfo.kindMask)
            let perKind = sizes[kindValue]
            guard perKind.valid else {
                failure = FormatError(at(typeStart + w * 4), "type [\(id)]: unknown kind \(kindValue)\(layoutNote)", rule: .unknownKind)
                break
            }
            let extraWords = Int(perKind.fixedWords) &+ Int(info & BTFInfo.vlenMask) &* Int(perKind.vlenWords)
            guard extraWords <= wordCount &- w &- 3, nameOff < strLimit, id <= BTFLimits.maxTypes else {
                let pos = typeStart + w * 4
                if id > BTFLimits.maxTypes {
                    failure = FormatError(at(pos), "too many types", rule: .typeSection)
                } else if nameOff >= strLimit {
                    failure = FormatError(at(pos), "type [\(id)]: name offset \(nameOff) out of range (string section is \(strLen) bytes)",
                                          rule: .nameOffset)
                } else {
                    let kind = Kind(rawValue: UInt8(kindValue)).map { "\($0)" } ?? "kind \(kindValue)"
                    failure = FormatError(at(pos), "type [\(id)]: \(kind) with vlen \(info & BTFInfo.vlenMask) needs \(extraWords * 4) bytes, \((wordCount - w - 3) * 4) left in type section",
                                          rule: .typeSection)
                }
                break
            }
            let r = Record(nameOffset: nameOff, info: info, sizeOrType: wp[w &+ 2], firstWord: UInt32(truncatingIfNeeded: w &+ 3))
            recs[id] = r
            typeCount = id
            if perKind.known {
                kindBytes[id] = UInt8(truncatingIfNeeded: kindValue)
                if kindValue == Int(Kind.struct.rawValue) || kindValue == Int(Kind.union.rawValue) { members &+= r.vlen }
                if sink.ok {
                    if kindValue == Int(Kind.func.rawValue) && Int(r.sizeOrType) >= id { laterFuncs.append(id) }
                    sink.id = id
                    BTF.checkType(r, wp, strLen: strLimit, &sink)
                }
            } else {
                // Read with the layout section: kept as it is, checked for nothing more (libbpf
                // ≥ 1.8 checks its name only, as the guard above did).
                kindBytes[id] = 0
                unknownKinds &+= 1
            }
            w &+= 3 &+ extraWords
        }
        return IndexPass(typeCount: typeCount, looksValid: sink.ok, maxRef: sink.maxRef, laterFuncs: laterFuncs,
                         members: members, unknownKinds: unknownKinds, failure: failure, overflowed: overflowed)
    }

    /// Parses and validates a BTF blob held in an array.
    public init(parsing bytes: [UInt8], section: String = ".BTF", strict: Bool = false) throws(FormatError) {
        let result: Result<BTF, FormatError> = bytes.withUnsafeBytes { buf in
            do throws(FormatError) { return .success(try BTF(parsing: buf, section: section, strict: strict)) } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// Checks the types as the parser does: references between types, names, sizes, loops.
    ///
    /// Mirrors libbpf `btf_validate_type` (ids and string offsets) and part of the kernel's
    /// `btf_check_all_metas` (int encodings, member offsets, modifier loops). Returns what breaks
    /// a kernel rule (`FormatRule.Severity.kernel`) as warnings, or throws it when `strict`.
    @discardableResult
    public func validate(strict: Bool = false) throws(FormatError) -> [FormatWarning] {
        if unknownKindCount > 0 {
            for i in 1..<records.count where !sizes[Int(records[i].kindValue)].valid {
                throw FormatError("type [\(i)]", "unknown kind \(records[i].kindValue) (no layout section describes it)",
                                  rule: .unknownKind)
            }
        }
        return try validate(quickCheckPassed: allTypesLookValid(), strict: strict)
    }

    /// `validate()`, given the outcome of the quick pass (the parser runs it while it indexes
    /// the types). The common case, BTF that breaks no rule, passes it; only then is the
    /// explaining pass skipped. Both passes run the same checks (`checkType`).
    private func validate(quickCheckPassed: Bool, strict: Bool) throws(FormatError) -> [FormatWarning] {
        var warnings: [FormatWarning] = []
        if !quickCheckPassed {
            warnings = try explain(strict: strict)
        }
        try checkChains()
        try checkBitfields()
        return warnings
    }

    /// Checks the types from id `first` on, as `validate()` checks every type, with the types
    /// before it taken as already valid: how split BTF appended to its base is checked. Every
    /// rule is applied; what breaks a kernel rule is returned as warnings.
    func validateTypes(from first: Int) throws(FormatError) -> [FormatWarning] {
        let warnings = try explain(strict: false, from: first)
        try checkChains(from: first)
        try checkBitfields(from: first)
        return warnings
    }

    /// The explaining pass: `checkType` over every type, saying what each rule it breaks is.
    /// Throws the first error (the first violation at all when `strict`); returns the warnings.
    private func explain(strict: Bool, from first: Int = 1) throws(FormatError) -> [FormatWarning] {
        let result: Result<[FormatWarning], FormatError> = records.withUnsafeBufferPointer { recs in
            words.withUnsafeBufferPointer { w in
                var sink = ExplainSink(recs: recs, strLen: UInt32(strings.count), strict: strict)
                for i in first..<recs.count where sizes[Int(recs[i].kindValue)].known {
                    sink.id = i
                    BTF.checkType(recs[i], w, strLen: UInt32(strings.count), &sink)
                    if let error = sink.error { return .failure(error) }
                }
                return .success(sink.warnings)
            }
        }
        return try result.get()
    }

    /// The quick pass over a whole BTF (for `validate()` on a BTF built in memory): yes or no.
    private func allTypesLookValid() -> Bool {
        let strLen = UInt32(strings.count)
        return records.withUnsafeBufferPointer { recs in
            words.withUnsafeBufferPointer { w in
                var sink = WholeSink(recs: recs)
                for i in 1..<recs.count where sizes[Int(recs[i].kindValue)].known {
                    BTF.checkType(recs[i], w, strLen: strLen, &sink)
                    if !sink.ok { return false }
                }
                return Int(sink.maxRef) < recs.count
            }
        }
    }

    /// The rules that look at one type alone (see `FormatRule`), each written once: the quick
    /// passes run this with a sink that only notes whether anything was reported, the explaining
    /// pass with one that words each report. A referenced type id goes to `ref` (the index pass
    /// checks the largest against the final count), a func's type to `funcTarget`; every other
    /// rule the type breaks to `violation`, with up to two values the message shows.
    @inline(__always)
    static func checkType<S: TypeCheckSink>(_ r: Record, _ w: UnsafeBufferPointer<UInt32>, strLen: UInt32, _ s: inout S) {
        let k = r.kindValue
        let vlen = r.vlen
        let first = Int(r.firstWord)
        let st = r.sizeOrType
        switch k {
        case 4, 5: // struct, union
            let sizeBits = UInt64(st) * 8
            let kflag = r.kflag
            var base = first
            for i in 0..<vlen {
                let offset = w[base + 2]
                let bitOffset = kflag ? offset & 0xff_ffff : offset
                let bitfieldSize = kflag ? offset >> 24 : 0
                if w[base] >= strLen { s.violation(.nameOffset, .member(i), w[base], 0) }
                s.ref(w[base + 1], .member(i))
                if UInt64(bitOffset) + UInt64(bitfieldSize) > sizeBits { s.violation(.memberOffset, .member(i), bitOffset, st) }
                base += 3
            }
        case 6, 19: // enum, enum64
            if k == 6 && st != 1 && st != 2 && st != 4 && st != 8 { s.violation(.enumSize, .type, st, 0) }
            let stride = k == 19 ? 3 : 2
            var base = first
            for i in 0..<vlen {
                if w[base] >= strLen { s.violation(.nameOffset, .enumerator(i), w[base], 0) }
                base += stride
            }
        case 13: // func_proto
            s.ref(st, .returnType)
            var base = first
            for i in 0..<vlen {
                if w[base] >= strLen { s.violation(.nameOffset, .param(i), w[base], 0) }
                s.ref(w[base + 1], .param(i))
                base += 2
            }
        case 2, 8, 9, 10, 11, 18: // ptr, typedef, volatile, const, restrict, type_tag
            s.ref(st, .type)
        case 12: // func
            s.ref(st, .type)
            s.funcTarget(st)
            if vlen > 2 { s.violation(.funcLinkage, .type, UInt32(vlen), 0) }
        case 1: // int
            let enc = w[first]
            let bits = enc & 0xff, off = (enc >> 16) & 0xff
            if st != 1 && st != 2 && st != 4 && st != 8 && st != 16 { s.violation(.intSize, .type, st, 0) }
            if bits == 0 || bits > 128 || UInt64(off + bits) > UInt64(st) * 8 { s.violation(.intBits, .type, enc, st) }
            if enc & 0xf800_0000 != 0 || (enc >> 24) & 0x7 == 3 {
                s.violation(.intEncoding, .type, enc, 0)
            }
        case 3: // array
            s.ref(w[first], .arrayElement)
            s.ref(w[first + 1], .arrayIndex)
        case 14: // var
            s.ref(st, .type)
            if st == 0 { s.violation(.varVoid, .type, 0, 0) }
        case 15: // datasec
            var base = first
            for i in 0..<vlen {
                s.ref(w[base], .datasecEntry(i))
                base += 3
            }
        case 16: // float
            if st != 2 && st != 4 && st != 8 && st != 12 && st != 16 { s.violation(.floatSize, .type, st, 0) }
        case 17: // decl_tag
            s.ref(st, .type)
            if Int32(bitPattern: w[first]) < -1 { s.violation(.declTagComponent, .type, w[first], 0) }
        default: // fwd (7), and kinds without checks
            break
        }
        // Kinds whose extra data does not depend on vlen must have vlen 0 (func's is its linkage).
        let withVlen: UInt32 = 1 << 4 | 1 << 5 | 1 << 6 | 1 << 12 | 1 << 13 | 1 << 15 | 1 << 19
        if vlen != 0 && k < 32 && withVlen >> UInt32(k) & 1 == 0 { s.violation(.fixedKindVlen, .type, UInt32(vlen), 0) }
    }

    /// Rejects bitfield members whose type (modifiers and typedefs skipped) is not an int or an
    /// enum. Mirrors the kernel's `btf_generic_check_kflag_member` ("Invalid member
    /// bitfield_size"). libbpf would take such a member's byte size from the type's size field,
    /// which for a pointer holds a type id: a trimmed, renumbered BTF would relocate differently.
    /// Runs after `checkChains`, so every modifier chain is known to end.
    private func checkBitfields(from first: Int = 1) throws(FormatError) {
        let composites: UInt32 = 1 << Kind.struct.rawValue | 1 << Kind.union.rawValue
        let withBitfields = kinds.withUnsafeBufferPointer { kinds in
            records.withUnsafeBufferPointer { recs in
                (first..<recs.count).filter { composites >> (kinds[$0] & 0x1f) & 1 != 0 && recs[$0].kflag }
            }
        }
        for index in withBitfields {
            let r = records[index]
            let base = Int(r.firstWord)
            for i in 0..<r.vlen where words[base + 3 * i + 2] >> 24 != 0 {
                var t = Int(words[base + 3 * i + 1])
                var k = records[t].kindValue
                while k == Kind.typedef.rawValue || k == Kind.const.rawValue || k == Kind.volatile.rawValue
                        || k == Kind.restrict.rawValue || k == Kind.typeTag.rawValue {
                    t = Int(records[t].sizeOrType)
                    k = records[t].kindValue
                }
                guard k == Kind.int.rawValue || k == Kind.enum.rawValue || k == Kind.enum64.rawValue else {
                    let kind = k == 0 ? "void" : Kind(rawValue: k).map { "\($0)" } ?? "kind \(k)"
                    throw FormatError("type [\(index)]", "member \(i) is a bitfield of \(kind) [\(t)]: only ints and enums can be bitfields",
                                      rule: .bitfieldType)
                }
            }
        }
    }

    /// Rejects chains the kernel's resolver refuses: modifier/array chains and modifier/pointer
    /// chains that loop or run deeper than it resolves. A pointer to a struct ends a pointer
    /// chain (`struct node { struct node *next; }` is fine); a pointer to itself, or to a typedef
    /// of itself, is the kernel's "Loop detected".
    ///
    /// One scan over the types; each chain length is memoised (per relation) so every type is
    /// walked once. Modifier/pointer chains are walked from pointers only: chains of modifiers
    /// alone are the modifier/array walks'.
    private func checkChains(from first: Int = 1) throws(FormatError) {
        // Chain lengths from each type, one array per relation; -1 while being walked.
        var arrayDepth = [Int8](repeating: 0, count: records.count)
        var pointerDepth = [Int8](repeating: 0, count: records.count)
        let failure: FormatError? = records.withUnsafeBufferPointer { recs in
            kinds.withUnsafeBufferPointer { kinds in
                words.withUnsafeBufferPointer { words in
                    arrayDepth.withUnsafeMutableBufferPointer { arrayDepth in
                        pointerDepth.withUnsafeMutableBufferPointer { pointerDepth in
                            BTF.firstBadChain(recs, kinds, words, from: first, arrayDepth: arrayDepth, pointerDepth: pointerDepth)
                        }
                    }
                }
            }
        }
        if let failure { throw failure }
    }

    /// The work of `checkChains`: walks the chains from every modifier, array and pointer in id
    /// order and returns what is wrong with the first bad one.
    private static func firstBadChain(_ recs: UnsafeBufferPointer<Record>, _ kinds: UnsafeBufferPointer<UInt8>,
                                      _ words: UnsafeBufferPointer<UInt32>, from first: Int,
                                      arrayDepth: UnsafeMutableBufferPointer<Int8>,
                                      pointerDepth: UnsafeMutableBufferPointer<Int8>) -> FormatError? {
        let modifiers: UInt32 = 1 << Kind.typedef.rawValue | 1 << Kind.const.rawValue | 1 << Kind.volatile.rawValue
            | 1 << Kind.restrict.rawValue | 1 << Kind.typeTag.rawValue
        let ptr: UInt32 = 1 << Kind.ptr.rawValue
        let arrayChain = modifiers | 1 << Kind.array.rawValue, pointerChain = modifiers | ptr
        // The chain being walked; a walk ends by the time it is one longer than the limit. A
        // buffer, not a var the nested function captures: that would be checked for exclusive
        // access at every store.
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: BTFLimits.maxChainDepth + 1) { path -> FormatError? in
        /// Walks the chain of `chainKinds` from `start`, recording lengths in `depth`.
        @inline(__always) func walk(_ start: Int, _ chainKinds: UInt32, _ depth: UnsafeMutableBufferPointer<Int8>, _ what: String) -> FormatError? {
            var length = 0
            var cur = start
            var base = 0
            while true {
                let k = kinds[cur] & 0x1f
                if cur == 0 || chainKinds >> k & 1 == 0 { base = 0; break }
                if depth[cur] > 0 { base = Int(depth[cur]); break }
                if depth[cur] == -1 {
                    return FormatError("type [\(cur)]", "\(Kind(rawValue: k)!) chain loops back to itself", rule: .chainLoop)
                }
                depth[cur] = -1
                guard length < BTFLimits.maxChainDepth else {
                    return FormatError("type [\(start)]", "\(what) chain deeper than \(BTFLimits.maxChainDepth)", rule: .chainDepth)
                }
                path[length] = cur
                length += 1
                cur = k == Kind.array.rawValue ? Int(words[Int(recs[cur].firstWord)]) : Int(recs[cur].sizeOrType)
            }
            for i in (0..<length).reversed() {
                let d = base + length - i
                guard d <= BTFLimits.maxChainDepth else {
                    return FormatError("type [\(path[i])]", "\(what) chain deeper than \(BTFLimits.maxChainDepth)", rule: .chainDepth)
                }
                depth[path[i]] = Int8(d)
            }
            return nil
        }
        for start in first..<recs.count {
            let bit: UInt32 = 1 << (kinds[start] & 0x1f)
            if bit & arrayChain != 0 && arrayDepth[start] == 0,
               let failure = walk(start, arrayChain, arrayDepth, "modifier/array") {
                return failure
            }
            if bit & ptr != 0 && pointerDepth[start] == 0,
               let failure = walk(start, pointerChain, pointerDepth, "modifier/pointer") {
                return failure
            }
        }
        return nil
        }
    }
}

/// Where in a type a check looks: the type header itself, or one of its entries.
enum CheckSite {
    case type, returnType, arrayElement, arrayIndex
    case member(Int), enumerator(Int), param(Int), datasecEntry(Int)
}

/// What `BTF.checkType` reports to. The quick passes' sinks only note that something was
/// reported; `ExplainSink` words each report.
protocol TypeCheckSink {
    /// A type id the type refers to.
    mutating func ref(_ target: UInt32, _ site: CheckSite)
    /// The type a func refers to (which must be a func_proto).
    mutating func funcTarget(_ target: UInt32)
    /// A rule the type breaks, with up to two values for the message.
    mutating func violation(_ rule: FormatRule, _ site: CheckSite, _ a: UInt32, _ b: UInt32)
}

/// The quick check over a whole BTF whose type table is complete.
private struct WholeSink: TypeCheckSink {
    let recs: UnsafeBufferPointer<BTF.Record>
    var ok = true
    var maxRef: UInt32 = 0

    @inline(__always) mutating func ref(_ target: UInt32, _ site: CheckSite) { maxRef = max(maxRef, target) }
    @inline(__always) mutating func funcTarget(_ target: UInt32) {
        if Int(target) < recs.count && recs[Int(target)].kindValue != Kind.funcProto.rawValue { ok = false }
    }
    @inline(__always) mutating func violation(_ rule: FormatRule, _ site: CheckSite, _ a: UInt32, _ b: UInt32) { ok = false }
}

/// The explaining pass's sink: turns each report into a warning, or into the error to throw.
private struct ExplainSink: TypeCheckSink {
    let recs: UnsafeBufferPointer<BTF.Record>
    let strLen: UInt32
    let strict: Bool
    var id = 0
    var warnings: [FormatWarning] = []
    var error: FormatError?

    private var kind: String {
        let v = recs[id].kindValue
        return Kind(rawValue: v).map { "\($0)" } ?? "kind \(v)"
    }

    private func name(_ site: CheckSite) -> String {
        switch site {
        case .type: return kind
        case .returnType: return "\(kind) return"
        case .arrayElement: return "array element"
        case .arrayIndex: return "array index"
        case .member(let i): return "member \(i)"
        case .enumerator(let i): return "enumerator \(i)"
        case .param(let i): return "param \(i)"
        case .datasecEntry(let i): return "datasec entry \(i)"
        }
    }

    private mutating func report(_ rule: FormatRule, _ message: String) {
        guard error == nil else { return }
        let w = FormatWarning(rule: rule, type: TypeID(UInt32(id)), location: "type [\(id)]", message: message)
        if strict || rule.severity == .error { error = w.error } else { warnings.append(w) }
    }

    mutating func ref(_ target: UInt32, _ site: CheckSite) {
        if Int(target) >= recs.count {
            report(.typeID, "\(name(site)) references type [\(target)] out of range (\(recs.count) types)")
        }
    }

    mutating func funcTarget(_ target: UInt32) {
        if Int(target) < recs.count && recs[Int(target)].kindValue != Kind.funcProto.rawValue {
            report(.funcProto, "func refers to [\(target)], which is not a func_proto")
        }
    }

    mutating func violation(_ rule: FormatRule, _ site: CheckSite, _ a: UInt32, _ b: UInt32) {
        let message: String
        switch rule {
        case .nameOffset: message = "\(name(site)) name offset \(a) out of range (string section is \(strLen) bytes)"
        case .memberOffset: message = "\(name(site)) at bit \(a) lies past the \(kind) size \(b)"
        case .enumSize: message = "enum size \(a) invalid"
        case .funcLinkage: message = "func linkage \(a) invalid"
        case .intSize: message = "int size \(a) invalid"
        case .intBits: message = "int bits \(a & 0xff) at offset \((a >> 16) & 0xff) do not fit \(b) bytes"
        case .intEncoding: message = "int encoding 0x\(String(a >> 24, radix: 16)) invalid"
        case .varVoid: message = "var of type void"
        case .floatSize: message = "float size \(a) invalid"
        case .declTagComponent: message = "decl_tag component index \(Int32(bitPattern: a)) invalid"
        case .fixedKindVlen: message = "\(kind) with non-zero vlen \(a)"
        default: message = "\(rule)"
        }
        report(rule, message)
    }
}
