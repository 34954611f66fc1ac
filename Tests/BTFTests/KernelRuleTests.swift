import Foundation
import Testing

import BTF
import TestSupport

/// The kernel's rules that libbpf does not apply (`FormatRule.Severity.kernel`): BTF that breaks
/// them parses, with a warning naming the type and the rule, and is rejected in strict mode.
/// Quirks of real pahole output that break no rule parse without a warning.
@Suite struct KernelRuleTests {
    /// A quirk: what to append to `Tiny` (int [1], struct pair [2], ptr [3], typedef [4]), and
    /// the rule it breaks (nil: none).
    struct Quirk: CustomTestStringConvertible, Sendable {
        var name: String
        var rule: FormatRule?
        var message: String = ""
        var build: @Sendable (inout BTF, inout StringTableBuilder) -> Void
        var testDescription: String { name }
    }

    static let quirks: [Quirk] = [
        // Amazon Linux 2 (pahole from debuginfo): a struct of size 0 with members past it.
        Quirk(name: "size-0 struct with members", rule: .memberOffset, message: "member 1 at bit 192 lies past the struct size 0") { b, s in
            b.append(kind: .struct, name: s.add("zero"), vlen: 2, kflag: false, sizeOrType: 0,
                     extra: [s.add("a").rawValue, 1, 0, s.add("b").rawValue, 1, 192])
        },
        Quirk(name: "int size 3", rule: .intSize, message: "int size 3 invalid") { b, s in
            b.append(kind: .int, name: s.add("odd"), vlen: 0, kflag: false, sizeOrType: 3, extra: [24])
        },
        Quirk(name: "int bits past its size", rule: .intBits, message: "int bits 64 at offset 0 do not fit 4 bytes") { b, s in
            b.append(kind: .int, name: s.add("wide"), vlen: 0, kflag: false, sizeOrType: 4, extra: [64])
        },
        Quirk(name: "int encoding signed|char", rule: .intEncoding, message: "int encoding 0x3 invalid") { b, s in
            b.append(kind: .int, name: s.add("sc"), vlen: 0, kflag: false, sizeOrType: 1, extra: [3 << 24 | 8])
        },
        Quirk(name: "enum size 0", rule: .enumSize, message: "enum size 0 invalid") { b, s in
            b.append(kind: .enum, name: s.add("e0"), vlen: 1, kflag: false, sizeOrType: 0, extra: [s.add("E").rawValue, 0])
        },
        Quirk(name: "float size 6", rule: .floatSize, message: "float size 6 invalid") { b, s in
            b.append(kind: .float, name: s.add("f6"), vlen: 0, kflag: false, sizeOrType: 6, extra: [])
        },
        Quirk(name: "func linkage 3", rule: .funcLinkage, message: "func linkage 3 invalid") { b, s in
            let proto = b.append(kind: .funcProto, name: .empty, vlen: 0, kflag: false, sizeOrType: 1, extra: [])
            b.append(kind: .func, name: s.add("f3"), vlen: 3, kflag: false, sizeOrType: proto.rawValue, extra: [])
        },
        Quirk(name: "vlen on a ptr", rule: .fixedKindVlen, message: "ptr with non-zero vlen 3") { b, _ in
            b.append(kind: .ptr, name: .empty, vlen: 3, kflag: false, sizeOrType: 1, extra: [])
        },
        Quirk(name: "vlen on a fwd", rule: .fixedKindVlen, message: "fwd with non-zero vlen 2") { b, s in
            b.append(kind: .fwd, name: s.add("fw"), vlen: 2, kflag: false, sizeOrType: 0, extra: [])
        },
        Quirk(name: "var of type void", rule: .varVoid, message: "var of type void") { b, s in
            b.append(kind: .var, name: s.add("v"), vlen: 0, kflag: false, sizeOrType: 0, extra: [1])
        },
        Quirk(name: "decl_tag component -2", rule: .declTagComponent, message: "decl_tag component index -2 invalid") { b, s in
            b.append(kind: .declTag, name: s.add("tag"), vlen: 0, kflag: false, sizeOrType: 2, extra: [0xffff_fffe])
        },
        // Quirks of real pahole output that break no rule.
        Quirk(name: "int of 16 bytes, 128 bits", rule: nil) { b, s in
            b.append(kind: .int, name: s.add("__int128"), vlen: 0, kflag: false, sizeOrType: 16, extra: [1 << 24 | 128])
        },
        Quirk(name: "member of fwd type, zero-size array", rule: nil) { b, s in
            let fwd = b.append(kind: .fwd, name: s.add("opaque"), vlen: 0, kflag: false, sizeOrType: 0, extra: [])
            let ptr = b.append(kind: .ptr, name: .empty, vlen: 0, kflag: false, sizeOrType: fwd.rawValue, extra: [])
            let arr = b.append(kind: .array, name: .empty, vlen: 0, kflag: false, sizeOrType: 0, extra: [1, 1, 0])
            b.append(kind: .struct, name: s.add("holder"), vlen: 2, kflag: false, sizeOrType: 8,
                     extra: [s.add("p").rawValue, ptr.rawValue, 0, s.add("tail").rawValue, arr.rawValue, 64])
        },
        Quirk(name: "extern func (linkage 2), float, tags, enum64", rule: nil) { b, s in
            let proto = b.append(kind: .funcProto, name: .empty, vlen: 1, kflag: false, sizeOrType: 1,
                                 extra: [s.add("x").rawValue, 1])
            let f = b.append(kind: .func, name: s.add("ext"), vlen: 2, kflag: false, sizeOrType: proto.rawValue, extra: [])
            b.append(kind: .float, name: s.add("double"), vlen: 0, kflag: false, sizeOrType: 8, extra: [])
            b.append(kind: .declTag, name: s.add("kfunc"), vlen: 0, kflag: false, sizeOrType: f.rawValue, extra: [0xffff_ffff])
            b.append(kind: .typeTag, name: s.add("user"), vlen: 0, kflag: false, sizeOrType: 1, extra: [])
            b.append(kind: .enum64, name: s.add("big"), vlen: 1, kflag: false, sizeOrType: 8,
                     extra: [s.add("BIG").rawValue, 0, 1])
        },
        Quirk(name: "datasec var past its size", rule: nil) { b, s in
            let v = b.append(kind: .var, name: s.add("gv"), vlen: 0, kflag: false, sizeOrType: 1, extra: [1])
            b.append(kind: .datasec, name: s.add(".data"), vlen: 1, kflag: false, sizeOrType: 4, extra: [v.rawValue, 64, 4])
        },
    ]

    /// Tiny plus the quirk's types, serialized, and the id of the first type the quirk added.
    static func bytes(_ q: Quirk) -> (bytes: [UInt8], first: TypeID) {
        var strings = StringTableBuilder()
        let tiny = Tiny()
        for off in stride(from: 0, to: tiny.btf.strings.count, by: 1) where off == 0 || tiny.btf.strings[off - 1] == 0 {
            _ = strings.add(from: tiny.btf, StringOffset(UInt32(off)))
        }
        var btf = tiny.btf
        let first = TypeID(UInt32(btf.typeCount))
        q.build(&btf, &strings)
        btf.setStrings(strings.bytes)
        return (btf.serialized(), first)
    }

    @Test(arguments: quirks)
    func quirkParses(_ q: Quirk) throws {
        let (bytes, first) = Self.bytes(q)
        let btf = try BTF(parsing: bytes)
        guard let rule = q.rule else {
            #expect(btf.warnings.isEmpty, "\(btf.warnings)")
            _ = try BTF(parsing: bytes, strict: true)
            return
        }
        #expect(btf.warnings.count == 1, "\(btf.warnings)")
        let w = try #require(btf.warnings.first)
        #expect(w.rule == rule)
        #expect(rule.severity == .kernel)
        #expect(w.type != nil && w.type! >= first)
        #expect(w.location == "type \(w.type!)")
        #expect(w.message == q.message)
        let error = expectFormatError(bytes, strict: true)
        #expect(error?.rule == rule)
        #expect(error?.description == "type \(w.type!): \(q.message)")
        // The model holds the quirk as read, and writes it back unchanged.
        expectSameBytes(btf.serialized(), bytes, "written back")
        #expect(try btf.validate() == btf.warnings)
    }

    /// libbpf 1.1.2 reads every quirk.
    @Test(arguments: quirks)
    func libbpfReadsTheQuirk(_ q: Quirk) throws {
        let (bytes, _) = Self.bytes(q)
        try withTempDir { dir in
            let path = dir + "/quirk.btf"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let out = try runJudge(["parse", path])
            #expect(out.status == 0, "libbpf-judge parse failed: \(out.stderr)")
        }
    }

    /// Every type that breaks a rule gets its own warning, in id order.
    @Test func warningsArePerTypeInIdOrder() throws {
        var btf = Tiny().btf
        for size: UInt32 in [3, 5, 7] {
            btf.append(kind: .int, name: .empty, vlen: 0, kflag: false, sizeOrType: size, extra: [8])
        }
        let parsed = try BTF(parsing: btf.serialized())
        #expect(parsed.warnings.map(\.type) == [TypeID(5), TypeID(6), TypeID(7)])
        #expect(parsed.warnings.allSatisfy { $0.rule == .intSize })
    }

    /// Each rule has one name, and every rule libbpf 1.1.2 does not apply says why btfgen does.
    @Test func rulesAreNamedOnce() {
        let names = FormatRule.allCases.map(\.rawValue)
        #expect(Set(names).count == names.count)
        #expect(FormatRule(rawValue: "member-offset")?.severity == .kernel)
        #expect(FormatRule.allCases.filter(\.libbpf112Rejects).allSatisfy { $0.severity == .error })
    }
}
