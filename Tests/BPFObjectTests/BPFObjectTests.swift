import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import TestSupport

/// The fixture objects (`testdata/bpf/*.bpf.o`, built by `scripts/build-fixtures.sh`): their
/// `.BTF` and CO-RE records, checked against libbpf's reading of the same files.
@Suite struct BPFObjectTests {
    @Test func fixturesArePresent() {
        #expect(!TestEnv.fixtures.isEmpty, "no \(TestEnv.fixturesDir)/*.bpf.o: run `make fixtures`")
        #expect(TestEnv.bigEndianFixtures == TestEnv.fixtures,
                "every fixture needs a big-endian twin in testdata/bpf/bpfeb (and no other)")
    }

    @Test(arguments: TestEnv.fixtures)
    func parseBTFFileReadsTheObjectsBTFSection(fixture: String) throws {
        let path = TestEnv.fixturePath(fixture)
        let bytes = try readBytes(path)
        let (btf, source) = try parseBTFFile(bytes, path: path)
        #expect(source == .elf)
        #expect(btf.order == .little)
        #expect(btf.typeCount > 1)

        // The same section as a raw file.
        let elf = try ELFFile(path: path, bytes: bytes)
        let section = try #require(elf.section(named: ".BTF"))
        let raw = Array(try elf.contents(of: section))
        expectSameBytes(btf.serialized(), raw, "the object's .BTF written back")
        try withTempDir { dir in
            let rawPath = dir + "/" + fixture + ".btf"
            try Data(raw).write(to: URL(fileURLWithPath: rawPath))
            let (fromRaw, rawSource) = try parseBTFFile(try readBytes(rawPath), path: rawPath)
            #expect(rawSource == .raw)
            expectSameTypes(fromRaw, btf)
            #expect(try loadKernelFile(rawPath).typeCount == btf.typeCount)

            let judged = try runJudge(["parse", rawPath])
            #expect(judged.status == 0, "libbpf-judge parse failed: \(judged.stderr)")
            #expect(judged.stdout == "types \(btf.typeCount - 1)\nendian little\n")
        }
    }

    @Test func parseBTFFileReadsARawKernel() throws {
        let kernel = try #require(TestEnv.kernels.first, "no test kernels: run `make testdata`")
        let path = TestEnv.kernelPath(kernel)
        let (btf, source) = try parseBTFFile(try readBytes(path), path: path)
        #expect(source == .raw)
        let judged = try runJudge(["parse", path])
        #expect(judged.stdout == "types \(btf.typeCount - 1)\nendian little\n")
    }

    @Test(.enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"), arguments: TestEnv.fixtures)
    func coreRecordsAgreeWithLibbpf(fixture: String) throws {
        let path = TestEnv.fixturePath(fixture)
        let object = try BPFObject(path: path)
        #expect(object.ext != nil)
        #expect(!object.relocations.isEmpty, "fixture without CO-RE records")
        #expect(object.relocations.count == object.ext?.coreRelocationCount)

        let kernel = try #require(TestEnv.targetKernel, "no test kernels: run `make testdata`")
        let judged = try runJudge(["records", path, "--btf", TestEnv.kernelPath(kernel)])
        #expect(judged.status == 0, "libbpf-judge records failed: \(judged.stderr)")
        let expected = try JudgeRecord.parse(judged.stdout)
        try #require(expected.count == object.relocations.count,
                     "libbpf reads \(expected.count) CO-RE records, btfgen \(object.relocations.count)")

        var specsCompared = 0
        for (ours, theirs) in zip(object.relocations, expected) {
            let what = "\(ours.section) relo #\(ours.index)"
            #expect(ours.section == theirs.section, "\(what)")
            #expect(ours.index == theirs.index, "\(what)")
            #expect(ours.insn == theirs.insn, "\(what)")
            #expect(ours.kind.description == theirs.kind, "\(what)")
            guard let spec = theirs.spec else { continue }   // libbpf stopped before this record
            specsCompared += 1
            #expect(ours.type.rawValue == spec.localType, "\(what): local type id")
            let btf = object.btf
            let name = btf.name(ours.type)
            if !name.isEmpty {
                #expect(spec.rest.hasPrefix("\(btf.kind(ours.type)) \(name)"), "\(what): \(spec.rest)")
            }
            if ours.kind.isFieldBased {
                #expect(spec.access == ours.accessString, "\(what): access \(ours.accessString) vs libbpf spec \(spec.rest)")
            } else if ours.kind.isTypeBased {
                #expect(ours.accessString == "0", "\(what)")
                #expect(spec.rest == "\(btf.kind(ours.type)) \(name)", "\(what)")
            } else {
                // Enumerator access: the index of the enumerator libbpf names after "::".
                let index = try #require(Int(ours.accessString), "\(what): access \(ours.accessString)")
                try #require(btf.kind(ours.type).isEnum && index < btf.vlen(ours.type), "\(what)")
                let enumerator = btf.string(at: btf.enumValue(ours.type, index).name)
                #expect(spec.rest.contains("::\(enumerator) = "), "\(what): \(enumerator) vs \(spec.rest)")
            }
        }
        #expect(specsCompared > 0, "libbpf logged no spec for any record")
    }

    /// Opened by path, an object is read a section at a time; from bytes, whole. The same object
    /// either way, and the same error for a file cut short.
    @Test(arguments: TestEnv.fixtures)
    func readingSectionsFromTheFileEqualsReadingTheBytes(fixture: String) throws {
        for path in [TestEnv.fixturePath(fixture), TestEnv.bigEndianFixturePath(fixture)] {
            let bytes = try readBytes(path)
            let fromFile = try BPFObject(path: path), fromBytes = try BPFObject(path: path, bytes: bytes)
            #expect(fromFile.relocations == fromBytes.relocations, "\(path)")
            #expect(fromFile.btf.records == fromBytes.btf.records, "\(path)")
            #expect(fromFile.btf.strings == fromBytes.btf.strings, "\(path)")
            try withTempDir { dir in
                // Cut inside the last section that btfgen reads.
                let elf = try ELFFile(path: path)
                let ext = try #require(elf.section(named: ".BTF.ext"))
                let short = Array(bytes.prefix(ext.offset + ext.size / 2))
                let cut = dir + "/cut.o"
                try Data(short).write(to: URL(fileURLWithPath: cut))
                let a = expectFormatError { _ = try BPFObject(path: cut) }
                let b = expectFormatError { _ = try BPFObject(path: cut, bytes: short) }
                #expect(a?.description == b?.description)
                expectMessage(a, contains: [cut])
            }
        }
    }

    @Test(arguments: TestEnv.fixtures)
    func bigEndianTwinHasTheSameBTFAndRelocations(fixture: String) throws {
        let little = try BPFObject(path: TestEnv.fixturePath(fixture))
        let bigPath = TestEnv.bigEndianFixturePath(fixture)
        #expect(try ELFFile(path: bigPath).order == .big)
        let big = try BPFObject(path: bigPath)
        #expect(big.btf.order == .big)
        #expect(big.ext != nil)

        // clang emits the same types for either byte order.
        expectSameTypes(big.btf, little.btf)

        // The code differs: on big-endian, libbpf's BPF_CORE_READ_BITFIELD_PROBED reads the field
        // size twice (bpf_core_read.h, __CORE_BITFIELD_PROBE_READ), so there are extra byte_sz
        // records and instruction indexes move. Per section, the distinct relocations match.
        func distinct(_ o: BPFObject) -> [String: Set<String>] {
            Dictionary(grouping: o.relocations, by: \.section).mapValues { relos in
                Set(relos.map { "\($0.kind) \($0.type) \($0.accessString)" })
            }
        }
        #expect(distinct(big) == distinct(little))
        #expect(big.relocations.count >= little.relocations.count)
        #expect(big.relocations.map(\.section).uniqued() == little.relocations.map(\.section).uniqued())
        #expect(big.relocations.map(\.index) == big.relocations.indices.map { i in
            big.relocations[..<i].count { $0.section == big.relocations[i].section }
        }, "record indexes count up from 0 in each section")
    }

    @Test(arguments: TestEnv.fixtures)
    func objectWithoutBTFExtHasNoRelocations(fixture: String) throws {
        var bytes = try readBytes(TestEnv.fixturePath(fixture))
        // Rename the section (in .shstrtab; ".rel.BTF.ext" may share the bytes) so it is not found.
        #expect(bytes.replaceAll(Array(".BTF.ext\0".utf8), with: Array(".BTF.exx\0".utf8)) > 0)
        let object = try BPFObject(path: fixture, bytes: bytes)
        #expect(object.ext == nil)
        #expect(object.relocations.isEmpty)
        #expect(object.btf.typeCount > 1)

        try withTempDir { dir in
            let path = dir + "/" + fixture
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let judged = try runJudge(["records", path])
            #expect(judged.status == 0, "libbpf-judge records failed: \(judged.stderr)")
            #expect(judged.stdout.isEmpty, "libbpf sees records: \(judged.stdout)")
        }
    }
}

extension Array where Element: Hashable {
    /// The elements in order of first appearance, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

/// One line of `libbpf-judge records`: `SECTION relo #N: insn I: KIND SPEC`.
struct JudgeRecord {
    struct Spec {
        /// The local type id, from `[6] struct task_struct...`.
        var localType: UInt32
        /// The spec after the id: `struct task_struct.tgid (0:1 @ offset 4)`.
        var rest: String
        /// For field-based kinds, the access string libbpf prints in parentheses (`0:1`).
        var access: String
    }

    var section: String
    var index: Int
    var insn: Int
    var kind: String
    /// nil when libbpf logged no spec for the record (`?`).
    var spec: Spec?

    static func parse(_ stdout: String) throws -> [JudgeRecord] {
        try stdout.split(separator: "\n").map { line in
            guard let relo = line.range(of: " relo #"),
                  let colon = line[relo.upperBound...].range(of: ": insn "),
                  let index = Int(line[relo.upperBound..<colon.lowerBound]) else {
                throw TestFailure("unexpected libbpf-judge records line: \(line)")
            }
            let afterInsn = line[colon.upperBound...]
            guard let insnEnd = afterInsn.range(of: ": "), let insn = Int(afterInsn[..<insnEnd.lowerBound]) else {
                throw TestFailure("unexpected libbpf-judge records line: \(line)")
            }
            let kindAndSpec = afterInsn[insnEnd.upperBound...]
            guard let space = kindAndSpec.firstIndex(of: " ") else {
                throw TestFailure("unexpected libbpf-judge records line: \(line)")
            }
            let kind = String(kindAndSpec[..<space])
            let specText = kindAndSpec[kindAndSpec.index(after: space)...]
            var spec: Spec?
            if specText != "?" {
                guard specText.hasPrefix("["), let close = specText.firstIndex(of: "]"),
                      let id = UInt32(specText[specText.index(after: specText.startIndex)..<close]) else {
                    throw TestFailure("unexpected spec in libbpf-judge records line: \(line)")
                }
                let rest = String(specText[specText.index(close, offsetBy: 2)...])
                var access = ""
                if rest.hasSuffix(")"), let open = rest.lastIndex(of: "("),
                   let at = rest.range(of: " @ offset ", range: open..<rest.endIndex) {
                    access = String(rest[rest.index(after: open)..<at.lowerBound])
                }
                spec = Spec(localType: id, rest: rest, access: access)
            }
            return JudgeRecord(section: String(line[..<relo.lowerBound]), index: index, insn: insn, kind: kind, spec: spec)
        }
    }
}
