import Foundation
import Testing

import BTF
import TestSupport

/// Differential test with libbpf as the judge: variants of a real kernel BTF (each quirk class,
/// the 2026 format, and seeded random damage to header fields and single words) through
/// btfgen's lenient parser and libbpf's `btf__parse` (`libbpf-judge parse`, libbpf 1.1.2 here).
///
/// btfgen may reject a variant only when libbpf rejects it too, or when a named rule of class
/// `.error` that libbpf 1.1.2 does not apply rejects it (`FormatRule.libbpf112Rejects` false:
/// `type-id`, `name-offset`, `func-proto`, `chain-loop`, … with their reasons in `FormatRule`'s
/// documentation). Where both accept, they count the same types.
@Suite struct ParserMatchesLibbpfTests {
    struct Variant: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        /// The rule btfgen must warn about (a quirk class), if any.
        var warns: FormatRule?
        /// Whether the damage set bits of an info word that only the 7-bit kind and 24-bit vlen
        /// of the current format see (libbpf 1.1.2 masks 5 and 16 bits, and reads another type).
        var widened = false
        var testDescription: String { name }
    }

    /// A deterministic generator (SplitMix64), so that every run tests the same cases.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    static let randomCases = 240

    static let available: String? = {
        guard TestEnv.smallestKernel != nil else { return "no test kernels in \(TestEnv.kernelsDir)" }
        guard FileManager.default.isExecutableFile(atPath: TestEnv.judge) else { return "no libbpf-judge at \(TestEnv.judge)" }
        return nil
    }()

    /// The variants, made once from the smallest test kernel.
    static let variants: [Variant] = {
        guard available == nil, let name = TestEnv.smallestKernel, let k = try? KernelCache.load(name) else {
            if let reason = available { print("ParserMatchesLibbpfTests skipped: \(reason)") }
            return []
        }
        let btf = k.btf, order = btf.order
        let layout = RawBTFLayout(k.bytes, btf)
        var out: [Variant] = [Variant(name: "kernel", bytes: k.bytes)]
        func patched(_ id: TypeID, _ word: Int, _ value: (UInt32) -> UInt32) -> [UInt8] {
            var b = k.bytes
            let at = layout.typeOffsets[id.index] + 4 * word
            b.put32(value(b.get32(at: at, order: order)), at: at, order: order)
            return b
        }
        // Quirk classes.
        if let s = btf.ids.first(where: { btf.kind($0) == .struct && btf.vlen($0) >= 2 && btf.member($0, 1).bitOffset > 0 }) {
            out.append(Variant(name: "size-0 struct with members past it", bytes: patched(s, 2) { _ in 0 }, warns: .memberOffset))
        }
        if let i = btf.ids.first(where: { btf.kind($0) == .int && btf.size($0) == 8 }) {
            out.append(Variant(name: "int size 12", bytes: patched(i, 2) { _ in 12 }, warns: .intSize))
        }
        if let f = btf.ids.first(where: { btf.kind($0) == .func }) {
            out.append(Variant(name: "func linkage 3", bytes: patched(f, 1) { $0 & ~0xffff | 3 }, warns: .funcLinkage))
        }
        if let p = btf.ids.first(where: { btf.kind($0) == .ptr }) {
            out.append(Variant(name: "vlen on a ptr", bytes: patched(p, 1) { $0 | 1 }, warns: .fixedKindVlen))
        }
        if let e = btf.ids.first(where: { btf.kind($0) == .enum && btf.size($0) == 4 }) {
            out.append(Variant(name: "enum size 0", bytes: patched(e, 2) { _ in 0 }, warns: .enumSize))
        }
        for (what, args) in [("32-byte header with layout section", [String]()),
                             ("unknown kind, unreferenced", ["--unknown-kind", "25"]),
                             ("unknown kind, referenced", ["--unknown-kind", "25", "--reference"])] {
            if let bytes = try? kernelVariant(name, args) { out.append(Variant(name: what, bytes: bytes)) }
        }
        // Seeded random damage: header fields (24- and 32-byte headers), single words of the
        // type section, single bytes of the string section.
        var rng = SplitMix(state: 0x6274_6667_656e)
        let k2026 = (try? kernelVariant(name)) ?? k.bytes
        let interesting: [UInt32] = [0, 1, 2, 3, 4, 8, 24, 28, 32, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0xffff, 0x1_0000]
        func value(_ old: UInt32) -> UInt32 {
            switch UInt8.random(in: 0..<4, using: &rng) {
            case 0: return interesting.randomElement(using: &rng)!
            case 1: return old ^ (1 << UInt32.random(in: 0..<32, using: &rng))
            case 2: return old &+ UInt32.random(in: 1...16, using: &rng) &* 4
            default: return UInt32.random(in: 0...UInt32.max, using: &rng)
            }
        }
        for n in 0..<randomCases {
            var b: [UInt8]
            var what: String
            var widened = false
            switch n % 4 {
            case 0:
                let base = n % 8 == 0 ? k2026 : k.bytes
                let field = Int.random(in: 0..<(base.get32(at: 4, order: order) == 32 ? 8 : 6), using: &rng)
                b = base
                let old = b.get32(at: 4 * field, order: order)
                let new = value(old)
                b.put32(new, at: 4 * field, order: order)
                what = "header\(base.count == k.bytes.count ? "" : " (32 bytes)") word \(field): \(hex(Int(old))) -> \(hex(Int(new)))"
            case 1, 2:
                b = k.bytes
                let id = TypeID(UInt32.random(in: 1..<UInt32(btf.typeCount), using: &rng))
                let words = 3 + btf.extraWordCount(btf.records[id.index])
                let word = Int.random(in: 0..<words, using: &rng)
                let at = layout.typeOffsets[id.index] + 4 * word
                let old = b.get32(at: at, order: order)
                let new = value(old)
                b.put32(new, at: at, order: order)
                widened = word == 1 && (new ^ old) & 0x60ff_0000 != 0
                what = "type \(id) (\(btf.kind(id))) word \(word): \(hex(Int(old))) -> \(hex(Int(new)))"
            default:
                b = k.bytes
                let at = layout.stringStart + Int.random(in: 0..<layout.stringLength, using: &rng)
                b[at] ^= UInt8.random(in: 1...255, using: &rng)
                what = "string byte \(hex(at - layout.stringStart))"
            }
            out.append(Variant(name: "random \(n): \(what)", bytes: b, widened: widened))
        }
        return out
    }()

    enum Verdict: Equatable {
        case accepts(types: Int)
        case rejects(String)
    }

    static func libbpf(_ bytes: [UInt8]) throws -> Verdict {
        try withTempDir { dir in
            let path = dir + "/variant.btf"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let out = try runJudge(["parse", path])
            if out.status == 0, let line = out.stdout.split(separator: "\n").first, line.hasPrefix("types "),
               let n = Int(line.dropFirst(6)) {
                return .accepts(types: n)
            }
            // A crash (status > 128 or a signal) counts as a rejection too.
            return .rejects(out.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(out.status)")
        }
    }

    @Test(.enabled(if: available == nil, "\(available ?? "")"), arguments: variants)
    func btfgenRejectsOnlyWhatLibbpfOrANamedRuleRejects(_ v: Variant) throws {
        let judge = try Self.libbpf(v.bytes)
        do throws(FormatError) {
            let btf = try BTF(parsing: v.bytes)
            if case .accepts(let n) = judge {
                #expect(btf.typeCount - 1 == n, "btfgen reads \(btf.typeCount - 1) types, libbpf \(n)")
            }
            #expect(btf.warnings.allSatisfy { $0.rule.severity == .kernel })
            if let rule = v.warns {
                #expect(btf.warnings.contains { $0.rule == rule }, "no \(rule) warning: \(btf.warnings)")
                #expect(expectFormatError(v.bytes, strict: true)?.rule == rule)
            }
        } catch {
            guard let rule = error.rule else {
                Issue.record("rejected without a named rule: \(error)")
                return
            }
            #expect(rule.severity == .error, "\(error)")
            if rule.libbpf112Rejects && !v.widened, case .accepts = judge {
                Issue.record("btfgen rejects (\(rule)): \(error); libbpf accepts")
            }
            #expect(v.warns == nil, "a quirk is rejected: \(error)")
        }
    }

    /// The suite really has cases of each kind, and some that libbpf rejects.
    @Test(.enabled(if: available == nil, "\(available ?? "")"))
    func variantsCoverEveryClass() throws {
        #expect(Self.variants.count >= Self.randomCases + 8)
        #expect(Self.variants.contains { $0.name.hasPrefix("unknown kind, referenced") })
    }
}
