import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import TestSupport

/// A small kernel-like base:
///
///     [1] INT 'int' size=4 signed
///     [2] STRUCT 'task' size=8: 'val' [1] bit 0, 'next' [3] bit 32 (a forward reference)
///     [3] PTR -> [2]
private func makeBase(order: ByteOrder = .little) -> BTF {
    var s = StringTableBuilder()
    var btf = BTF(order: order)
    btf.append(kind: .int, name: s.add("int"), vlen: 0, kflag: false, sizeOrType: 4, extra: [UInt32(1) << 24 | 32])
    btf.append(kind: .struct, name: s.add("task"), vlen: 2, kflag: false, sizeOrType: 16,
               extra: [s.add("val").rawValue, 1, 0, s.add("next").rawValue, 3, 64])
    btf.append(kind: .ptr, name: .empty, vlen: 0, kflag: false, sizeOrType: 2, extra: [])
    btf.setStrings(s.bytes)
    return btf
}

/// An application BTF with one type of every kind, each referring to others (forward references
/// included), with names both shared with the base (`int`, `val`, `next`) and new.
private func makeApp(order: ByteOrder = .little, prefix: String = "") -> BTF {
    var s = StringTableBuilder()
    var btf = BTF(order: order)
    func n(_ name: String) -> StringOffset { s.add(name) }
    func add(_ kind: Kind, name: StringOffset = .empty, vlen: Int = 0, kflag: Bool = false, _ sizeOrType: UInt32, _ extra: [UInt32] = []) {
        btf.append(kind: kind, name: name, vlen: vlen, kflag: kflag, sizeOrType: sizeOrType, extra: extra)
    }
    add(.int, name: n("int"), 4, [UInt32(1) << 24 | 32])                                                  // [1]
    add(.ptr, 3)                                                                                    // [2] -> [3]
    add(.struct, name: n(prefix + "node"), vlen: 2, 16, [n("next").rawValue, 2, 0, n("val").rawValue, 1, 64]) // [3]
    add(.union, name: n(prefix + "either"), vlen: 2, 4, [n("i").rawValue, 1, 0, n("f").rawValue, 17, 0])  // [4]
    add(.enum, name: n(prefix + "color"), vlen: 2, 4, [n("RED").rawValue, 0, n("GREEN").rawValue, 1])     // [5]
    add(.enum64, name: n(prefix + "huge"), vlen: 1, kflag: true, 8, [n("HUGE").rawValue, 0xdead_beef, 0x8000_0000]) // [6]
    add(.fwd, name: n(prefix + "later"), 0)                                                               // [7]
    add(.typedef, name: n(prefix + "node_t"), 3)                                                          // [8]
    add(.volatile, 1)                                                                               // [9]
    add(.const, 9)                                                                                  // [10]
    add(.restrict, 2)                                                                               // [11]
    add(.funcProto, vlen: 2, 1, [n("n").rawValue, 2, n("x").rawValue, 10])                          // [12]
    add(.func, name: n(prefix + "walk"), vlen: 1, 12)                                                     // [13]
    add(.array, 0, [3, 1, 4])                                                                       // [14]
    add(.var, name: n(prefix + "nodes"), 14, [1])                                                         // [15]
    add(.datasec, name: n(".data"), vlen: 1, 64, [15, 0, 64])                                             // [16]
    add(.float, name: n("float"), 4)                                                                      // [17]
    add(.declTag, name: n("tag"), 3, [1])                                                                 // [18]
    add(.typeTag, name: n("user"), 1)                                                                     // [19]
    add(.ptr, 19)                                                                                   // [20]
    add(.struct, name: n(prefix + "bits"), vlen: 1, kflag: true, 4, [n("flag").rawValue, 1, 3 << 24 | 5]) // [21]
    add(.ptr, 0)                                                                                    // [22] void *
    btf.setStrings(s.bytes)
    return btf
}

/// A type written out with names instead of string offsets and with its type references shifted
/// by `shift` (void stays 0): two BTFs agree on a type when these strings are equal.
private func describe(_ btf: BTF, _ id: TypeID, shift: UInt32 = 0) -> String {
    func ref(_ t: TypeID) -> String { t == .void ? "[0]" : "[\(t.rawValue + shift)]" }
    let kind = btf.kind(id)
    var text = "\(kind) '\(btf.name(id))' kflag=\(btf.kflag(id)) vlen=\(btf.vlen(id))"
    switch kind {
    case .int: text += " size=\(btf.size(id)) enc=\(btf.intEncoding(id).raw)"
    case .float, .enum, .enum64, .datasec, .struct, .union: text += " size=\(btf.size(id))"
    case .fwd: break
    default: text += " -> \(ref(btf.referenced(id)))"
    }
    switch kind {
    case .struct, .union:
        for m in btf.members(id) { text += " | '\(btf.string(at: m.name))' \(ref(m.type)) @\(m.bitOffset):\(m.bitfieldSize)" }
    case .enum, .enum64:
        for i in 0..<btf.vlen(id) { let e = btf.enumValue(id, i); text += " | '\(btf.string(at: e.name))'=\(e.value)" }
    case .funcProto:
        for i in 0..<btf.vlen(id) { let p = btf.param(id, i); text += " | '\(btf.string(at: p.name))' \(ref(p.type))" }
    case .datasec:
        for i in 0..<btf.vlen(id) { let v = btf.sectionVar(id, i); text += " | \(ref(v.type)) @\(v.offset)+\(v.size)" }
    case .array:
        let a = btf.array(id)
        text += " elem=\(ref(a.element)) index=\(ref(a.index)) n=\(a.count)"
    case .var, .declTag:
        text += " extra=\(btf.extraWord(id))"
    default: break
    }
    return text
}

/// `btfgen merge`'s core, `BTF.merging(base:_:)`: ids, strings, byte orders, the real kernel.
@Suite struct MergeTests {
    @Test func keepsTheBaseAndAppendsTheApplicationRenumbered() throws {
        let base = makeBase(), app = makeApp()
        let merged = try BTF.merging(base: base, [app])
        #expect(merged.typeCount == base.typeCount + app.typeCount - 1)
        for id in base.ids {
            #expect(merged.records[id.index] == base.records[id.index])
            #expect(Array(merged.extraWords(id)) == Array(base.extraWords(id)))
        }
        #expect(Array(merged.strings.prefix(base.strings.count)) == base.strings)
        let shift = UInt32(base.typeCount - 1)
        for id in app.ids {
            #expect(describe(merged, TypeID(id.rawValue + shift)) == describe(app, id, shift: shift))
        }
        // The serialized base is a prefix of the serialized merge, section by section.
        let baseBytes = base.serialized(), mergedBytes = merged.serialized()
        let bh = try RawBTFLayout(baseBytes), mh = try RawBTFLayout(mergedBytes)
        #expect(mh.typeSection(mergedBytes).prefix(bh.typeLength) == bh.typeSection(baseBytes))
        #expect(mh.stringSection(mergedBytes).prefix(bh.stringLength) == bh.stringSection(baseBytes))
        // And it parses back to the same model.
        let back = try BTF(parsing: mergedBytes)
        for id in merged.ids { #expect(describe(back, id) == describe(merged, id)) }
    }

    @Test func reusesStringsAlreadyPresent() throws {
        let base = makeBase(), app = makeApp()
        let merged = try BTF.merging(base: base, [app])
        // "int", "val" and "next" are the base's: the app's types point at the base's copies.
        let shift = UInt32(base.typeCount - 1)
        #expect(merged.nameOffset(TypeID(1 + shift)) == base.nameOffset(TypeID(1)))
        let added = merged.strings.count - base.strings.count
        let newNames = ["node", "either", "i", "f", "color", "RED", "GREEN", "huge", "HUGE", "later", "node_t", "n", "x",
                        "walk", "nodes", ".data", "float", "tag", "user", "bits", "flag"]
        #expect(added == newNames.reduce(0) { $0 + $1.utf8.count + 1 })
        // Merging the same application twice adds its types twice but no strings.
        let twice = try BTF.merging(base: base, [app, app])
        #expect(twice.strings.count == merged.strings.count)
        #expect(twice.typeCount == base.typeCount + 2 * (app.typeCount - 1))
        let shift2 = shift + UInt32(app.typeCount - 1)
        for id in app.ids {
            #expect(describe(twice, TypeID(id.rawValue + shift2)) == describe(app, id, shift: shift2))
        }
    }

    @Test(arguments: [(ByteOrder.little, ByteOrder.big), (.big, .little), (.big, .big)])
    func mergesAcrossByteOrders(baseOrder: ByteOrder, appOrder: ByteOrder) throws {
        // Through the bytes, as `btfgen merge` reads its inputs.
        let base = try BTF(parsing: makeBase().serialized(order: baseOrder))
        let app = try BTF(parsing: makeApp().serialized(order: appOrder))
        let merged = try BTF.merging(base: base, [app])
        #expect(merged.order == baseOrder)
        let shift = UInt32(base.typeCount - 1)
        for other in [ByteOrder.little, .big] {
            let back = try BTF(parsing: merged.serialized(order: other))
            #expect(back.order == other)
            for id in app.ids {
                #expect(describe(back, TypeID(id.rawValue + shift)) == describe(app, id, shift: shift))
            }
        }
    }

    @Test func anEmptyApplicationChangesNothing() throws {
        let base = makeBase()
        let merged = try BTF.merging(base: base, [BTF()])
        #expect(merged.serialized() == base.serialized())
    }

    @Test func aBrokenApplicationIsAnErrorNamingIt() throws {
        // Built, not parsed, so nothing has checked it: [1] and [2] point past the end (and [2]
        // far enough that a careless renumbering would overflow).
        var app = BTF()
        app.append(kind: .ptr, name: .empty, vlen: 0, kflag: false, sizeOrType: 7, extra: [])
        app.append(kind: .ptr, name: .empty, vlen: 0, kflag: false, sizeOrType: 0xffff_fff0, extra: [])
        do {
            _ = try BTF.merging(base: makeBase(), [app], names: ["app.btf"])
            Issue.record("merged without error")
        } catch {
            #expect(error.description.contains("merged BTF"))
            #expect(error.description.contains("out of range"))
        }
    }

    /// `btfgen merge --output merged/v2/app.btf` creates the missing directories, as trimming does.
    @Test func theCLICreatesTheOutputsDirectories() throws {
        try withTempDir { dir in
            let base = dir + "/base.btf", app = dir + "/app.btf", output = dir + "/merged/v2/app.btf"
            try writeBytes(makeBase().serialized(), to: base)
            try writeBytes(makeApp().serialized(), to: app)
            let out = try runProcess(TestEnv.btfgen, ["merge", "--base", base, app, "--output", output])
            #expect(out.status == 0, "\(out)")
            let merged = try BTF(parsing: try readBytes(output))
            #expect(merged.serialized() == (try BTF.merging(base: makeBase(), [makeApp()])).serialized())
            #expect(out.stdout.contains("into \(output): "), "\(out)")
        }
    }

    /// `--base` reads a kernel as `--input` does: an xz-compressed base merges to the same bytes.
    @Test func aCompressedBaseMergesAsTheRawOne() throws {
        try withTempDir { dir in
            let base = dir + "/base.btf", app = dir + "/app.btf"
            try writeBytes(makeBase().serialized(), to: base)
            try writeBytes(makeApp().serialized(), to: app)
            let xz = try runProcess("/usr/bin/env", ["xz", "-k", base])
            try #require(xz.status == 0, "xz: \(xz.stderr)")
            for b in [base, base + ".xz"] {
                let out = try runProcess(TestEnv.btfgen, ["merge", "--base", b, app, "--output", b + ".merged", "-q"])
                #expect(out.status == 0, "\(out)")
            }
            #expect(try readBytes(base + ".xz.merged") == readBytes(base + ".merged"))
        }
    }

    /// The running kernel's BTF plus an application: libbpf accepts the result, and the kernel's
    /// type and string sections are byte-for-byte a prefix of the merged file's.
    @Test(arguments: [ByteOrder.little, .big])
    func mergesIntoTheRunningKernel(order: ByteOrder) throws {
        guard FileManager.default.isReadableFile(atPath: TestEnv.runningKernelBTF) else {
            try Test.cancel("\(TestEnv.runningKernelBTF) is not readable: the running kernel has no BTF")
        }
        let kernelBytes = try readBytes(TestEnv.runningKernelBTF)
        let kernel = try loadKernelFile(TestEnv.runningKernelBTF)
        let app = makeApp(prefix: "btfgen_test_")
        let merged = try BTF.merging(base: kernel, [app])
        try withTempDir { dir in
            let path = dir + "/merged.btf"
            let bytes = merged.serialized(order: order)
            try writeBytes(bytes, to: path)
            let judged = try runJudge(["parse", path])
            #expect(judged.status == 0, "\(judged)")
            #expect(judged.stdout.contains("types \(kernel.typeCount - 1 + app.typeCount - 1)\n"))
            #expect(judged.stdout.contains("endian \(order)\n"))
            if order == kernel.order {
                let kh = try RawBTFLayout(kernelBytes), mh = try RawBTFLayout(bytes)
                #expect(mh.typeSection(bytes).prefix(kh.typeLength) == kh.typeSection(kernelBytes))
                #expect(mh.stringSection(bytes).prefix(kh.stringLength) == kh.stringSection(kernelBytes))
            }
            let back = try loadKernelFile(path)
            let shift = UInt32(kernel.typeCount - 1)
            for id in app.ids {
                #expect(describe(back, TypeID(id.rawValue + shift)) == describe(app, id, shift: shift))
            }
        }
    }
}
