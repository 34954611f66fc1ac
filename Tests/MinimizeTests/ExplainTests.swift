import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import CORE
import Minimize
import Pipeline
import Report
import TestSupport

/// `btfgen explain` against the marks the trimmer made, on the real kernels and programs:
/// every kept type and member has a reason, the reasons rebuild the very bytes the trim wrote,
/// the byte table adds up to the file, and leaving an object's reasons out keeps what a trim
/// without that object keeps.
@Suite("Why each byte is kept")
struct ExplainTests {
    /// The real programs, or the fixtures where `make real-objects` did not run.
    static let objectPaths: [String] = {
        if RealObject.all.isEmpty { print("note: no real objects (make real-objects): explain is tested on the fixtures") }
        return RealObject.all.isEmpty ? Fixture.loadable.map(\.path) : RealObject.all.map(\.path)
    }()

    @Test("reasons rebuild the trim, bytes add up, removing an object's reasons equals trimming without it",
          .enabled(if: !TestKernel.testKernels.isEmpty, "no test kernels: run make testdata"),
          arguments: TestKernel.realMatrix)
    func explanationMatchesTheMarks(kernel: TestKernel) throws {
        let btf = try loadKernelFile(kernel.path)
        let objects = try Self.objectPaths.map { try BPFObject(path: $0) }
        let result = trim(kernel: btf, objects: objects)
        let explanation = explain(kernel: btf, result: result)
        let written = result.btf.serialized()

        #expect(explanation.marker().emit().serialized() == written, "\(kernel): the reasons replayed do not give the trimmed bytes")
        let unexplained = explanation.items.indices.filter { explanation.reasonsOfItem[$0].isEmpty }
        #expect(unexplained.isEmpty, "\(kernel): \(unexplained.count) kept items have no reason")
        #expect(explanation.items.filter { $0.member == nil }.count == result.btf.typeCount - 1)

        let b = explanation.bytes
        // What a run's report gives per kernel: marked once per group of objects that mark the
        // same (the two versions of many libbpf-tools), every object's bytes as explain's.
        #expect(attributeBytes(kernel: btf, result: result) == b, "\(kernel): the report's byte table is not explain's")
        #expect(b.total == written.count, "\(kernel): the byte table says \(b.total), the file has \(written.count)")
        #expect(b.unattributed == 0)
        #expect(b.header + b.own.reduce(0, +) + b.shared == b.total)
        // Each item's objects, from its reasons: an item of one object is that object's own.
        for (i, item) in explanation.items.enumerated() {
            let owners = Set(explanation.reasonsOfItem[i].flatMap { explanation.reasons[Int($0)].owners })
            #expect(owners.count >= 1, "\(kernel): \(item) has no object")
        }
        #expect(b.types + b.strings + b.header == b.total)
        #expect(b.strings + 1 == result.btf.strings.count, "\(kernel): strings \(b.strings) + the empty one, the file's \(result.btf.strings.count)")
        #expect(b.sharedWith.allSatisfy { $0 <= b.shared })
        for (r, reason) in explanation.reasons.enumerated() {
            #expect(!reason.owners.isEmpty, "\(kernel): reason \(r) (\(reason.cause)) is no object's")
        }

        // Without one object: every few objects, and the largest (the agent, where present).
        let sample = Set(Array(stride(from: 0, to: objects.count, by: max(1, objects.count / 12))) + [objects.count - 1])
        for o in sample.sorted() {
            var rest = objects
            rest.remove(at: o)
            let without = trim(kernel: btf, objects: rest)
            let replayed = explanation.marker(excluding: o).emit().serialized()
            #expect(replayed == without.btf.serialized(),
                    "\(kernel): without \(objects[o].path) the reasons keep \(replayed.count) bytes, a trim keeps \(without.btf.serializedSize)")
            #expect(b.total - b.own[o] == without.btf.serializedSize,
                    "\(kernel): \(objects[o].path) owns \(b.own[o]) bytes, a trim without it is \(b.total - without.btf.serializedSize) smaller")
        }
    }

    @Test("btfgen explain: text and JSON agree with the file gen writes; --type selects; a missing type fails",
          .enabled(if: !TestKernel.testKernels.isEmpty, "no test kernels: run make testdata"))
    func command() throws {
        let kernel = TestKernel.testKernels.first { $0.name == "debian-bookworm-6.1.0-56-amd64" } ?? TestKernel.testKernels[0]
        let objects = Array(Self.objectPaths.prefix(4))
        try withTempDir { dir in
            let gen = try runProcess(TestEnv.btfgen, ["gen", "min_core_btf", kernel.path, dir + "/out.btf"] + objects)
            #expect(gen.status == 0, "\(gen.stderr)")
            let size = TestEnv.fileSize(dir + "/out.btf")
            let objectArgs = objects.flatMap { ["--object", $0] }

            let text = try runProcess(TestEnv.btfgen, ["explain", kernel.path] + objectArgs)
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.hasPrefix("\(kernel.path): \(size) bytes kept for \(objects.count) objects"), "\(text.stdout.prefix(300))")

            let run = try runProcess(TestEnv.btfgen, ["explain", kernel.path, "--json"] + objectArgs)
            #expect(run.status == 0, "\(run.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] ?? [:]
            #expect(json["schema"] as? String == "btfgen-explain/1")
            let bytes = json["bytes"] as? [String: Any] ?? [:]
            #expect(bytes["total"] as? Int == size)
            let items = json["items"] as? [[String: Any]] ?? []
            let reasons = json["reasons"] as? [[String: Any]] ?? []
            let reasonIDs = Set(reasons.compactMap { $0["id"] as? Int })
            #expect(!items.isEmpty)
            for item in items {
                let rs = item["reasons"] as? [Int] ?? []
                #expect(!rs.isEmpty && rs.allSatisfy(reasonIDs.contains), "\(item)")
            }
            // Every relocation reason names real records of its object.
            for r in reasons where r["cause"] as? String == "relocation" {
                #expect(!(r["records"] as? [Any] ?? []).isEmpty, "\(r)")
            }

            // --type: the kept types of that name and their members, nothing else.
            guard let named = items.first(where: { $0["member"] == nil && !($0["name"] as? String ?? "").isEmpty }),
                  let name = named["name"] as? String else { return }
            let one = try runProcess(TestEnv.btfgen, ["explain", kernel.path, "--json", "--type", name] + objectArgs)
            let oneItems = (try JSONSerialization.jsonObject(with: Data(one.stdout.utf8)) as? [String: Any])?["items"] as? [[String: Any]] ?? []
            #expect(!oneItems.isEmpty)
            #expect(oneItems.allSatisfy { ($0["member"] == nil ? $0["name"] : $0["type"]) as? String == name
                                          || ($0["type"] as? String)?.hasSuffix(" " + name) == true }, "\(oneItems.prefix(3))")
            let missing = try runProcess(TestEnv.btfgen, ["explain", kernel.path, "--type", "no_such_type_anywhere"] + objectArgs)
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("keeps no type named no_such_type_anywhere"), "\(missing.stderr)")
        }
    }

    /// A kernel with `struct s { int a; char z[0]; int b; }` and a 4-byte `long`, where the
    /// real inputs never reach: the flexible-array rule and a repair of the check before writing.
    static func ruleKernel() -> (BTF, TypeID) {
        var strings = StringTableBuilder()
        var btf = BTF(order: .little)
        let int = btf.append(kind: .int, name: strings.add("int"), vlen: 0, kflag: false, sizeOrType: 4, extra: [UInt32(1) << 24 | 32])
        let char = btf.append(kind: .int, name: strings.add("char"), vlen: 0, kflag: false, sizeOrType: 1, extra: [8])
        let array = btf.append(kind: .array, name: .empty, vlen: 0, kflag: false, sizeOrType: 0, extra: [char.rawValue, int.rawValue, 0])
        let s = btf.append(kind: .struct, name: strings.add("s"), vlen: 3, kflag: false, sizeOrType: 8,
                           extra: [strings.add("a").rawValue, int.rawValue, 0, strings.add("z").rawValue, array.rawValue, 32,
                                   strings.add("b").rawValue, int.rawValue, 32])
        btf.append(kind: .int, name: strings.add("long"), vlen: 0, kflag: false, sizeOrType: 4, extra: [UInt32(1) << 24 | 32])
        btf.setStrings(strings.bytes)
        return (btf, s)
    }

    @Test("the flexible-array rule and the check before writing are reasons of their own")
    func ruleReasons() throws {
        let (btf, s) = Self.ruleKernel()
        #expect(btf.pointerSize == 4)
        func field(_ access: String) throws -> MarkStep {
            .spec(try AccessSpec(parsing: access, root: s, kind: .fieldByteOffset, in: btf))
        }
        // Object 0 reads z, object 1 reads a; then a repair for object 1 keeps `long`.
        let rounds: [[(step: MarkStep, cause: KeepCause, object: Int)]] = [
            [(try field("0:1"), .relocation(object: 0, decision: 0), 0), (try field("0:0"), .relocation(object: 1, decision: 0), 1)],
            [(.pointerSize, .check(object: 1, record: 7), 1)],
        ]
        let e = Explanation(target: btf, objectCount: 2, rounds: rounds)
        var direct = Marker(target: btf)
        try direct.mark(#require(try? AccessSpec(parsing: "0:1", root: s, kind: .fieldByteOffset, in: btf)))
        try direct.mark(#require(try? AccessSpec(parsing: "0:0", root: s, kind: .fieldByteOffset, in: btf)))
        direct.finalize()
        direct.markPointerSize()
        direct.finalize()
        #expect(e.marker().emit().serialized() == direct.emit().serialized())
        #expect(e.items == direct.keptItems())
        #expect(e.items.indices.allSatisfy { !e.reasonsOfItem[$0].isEmpty })

        func reasons(_ item: KeptItem) -> [KeepCause] {
            e.items.firstIndex(of: item).map { e.reasonsOfItem[$0].map { e.reasons[Int($0)].cause } } ?? []
        }
        // b, last, is kept for z's sake: object 0's.
        let b = KeptItem(type: s, member: 2), z = KeptItem(type: s, member: 1)
        #expect(reasons(b) == [.flexibleArray(after: z)])
        #expect(e.reasons.first { $0.cause == .flexibleArray(after: z) }?.owners == [0])
        #expect(reasons(KeptItem(type: TypeID(5))) == [.check(object: 1, record: 7)])
        #expect(reasons(KeptItem(type: s)).count == 2)
        #expect(e.bytes.total == direct.emit().serializedSize)
        #expect(e.bytes.unattributed == 0)
        // b and its name are object 0's (the rule's), a and long object 1's.
        #expect(e.bytes.own[1] == 12 + 2 + 16 + 5)
        #expect(e.bytes.header + e.bytes.own.reduce(0, +) + e.bytes.shared == e.bytes.total)

        // Without object 1: z and the rule's b, no a, no long.
        var alone = Marker(target: btf)
        try alone.mark(#require(try? AccessSpec(parsing: "0:1", root: s, kind: .fieldByteOffset, in: btf)))
        alone.finalize()
        alone.finalize()
        #expect(e.marker(excluding: 1).emit().serialized() == alone.emit().serialized())
        // Without object 0: a and long; b goes with the rule.
        #expect(!e.marker(excluding: 0).keptItems().contains(b))
    }
}
