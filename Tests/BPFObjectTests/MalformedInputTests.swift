import Foundation
import Testing

import BPFObject
import KernelInput
import BTF
import TestSupport

/// Bad input files, made by patching real bytes: each error is one line naming the file and
/// where in it the problem is, as `FormatError.description` prints it.
@Suite struct MalformedInputTests {
    /// A fixture's bytes, its ELF sections, and the byte order of its `.BTF.ext`.
    static func fixture() throws -> (name: String, bytes: [UInt8], elf: ELFFile) {
        let name = try #require(TestEnv.fixtures.first { $0.hasPrefix("core_fields") } ?? TestEnv.fixtures.first,
                                "no fixtures: run `make fixtures`")
        let bytes = try readBytes(TestEnv.fixturePath(name))
        return (name, bytes, try ELFFile(path: name, bytes: bytes))
    }

    /// Where the CO-RE subsection of the fixture's `.BTF.ext` starts, as an offset in the file
    /// and as an offset in the section.
    static func coreSubsection(_ bytes: [UInt8], _ elf: ELFFile) throws -> (file: Int, section: Int) {
        let ext = try #require(elf.section(named: ".BTF.ext"))
        let hdrLen = Int(bytes.get32(at: ext.offset + 4, order: elf.order))
        let coreOff = Int(bytes.get32(at: ext.offset + 24, order: elf.order))
        let coreLen = Int(bytes.get32(at: ext.offset + 28, order: elf.order))
        try #require(hdrLen >= 32 && coreLen > 0)
        return (ext.offset + hdrLen + coreOff, hdrLen + coreOff)
    }

    @Test func emptyFile() throws {
        let error = expectFormatError { try parseBTFFile([], path: "empty.btf") }
        expectMessage(error, contains: ["empty.btf: empty file"])
    }

    @Test func truncatedRawHeader() throws {
        let kernel = try #require(TestEnv.kernels.first, "no test kernels: run `make testdata`")
        let bytes = Array(try readBytes(TestEnv.kernelPath(kernel))[0..<20])
        let error = expectFormatError { try parseBTFFile(bytes, path: "short.btf") }
        expectMessage(error, contains: ["short.btf: offset 0x0: truncated header: 20 bytes, need 24"])
    }

    @Test func neitherBTFNorELF() throws {
        let kernel = try #require(TestEnv.kernels.first, "no test kernels: run `make testdata`")
        var bytes = try readBytes(TestEnv.kernelPath(kernel))
        bytes[0] = 0x9e
        let error = expectFormatError { try parseBTFFile(bytes, path: "garbage.btf") }
        expectMessage(error, contains: ["garbage.btf: offset 0x0: not a BTF or ELF file (magic 9e eb 01 00)"])
    }

    @Test func badBTFMagicInsideAnObject() throws {
        var (name, bytes, elf) = try Self.fixture()
        let btf = try #require(elf.section(named: ".BTF"))
        bytes[btf.offset] ^= 0xff
        let error = expectFormatError { try BPFObject(path: name, bytes: bytes) }
        expectMessage(error, contains: ["\(name): .BTF+0x0: bad magic"])
    }

    @Test func typeIDOutOfRangeInsideAnObject() throws {
        var (name, bytes, elf) = try Self.fixture()
        let section = try #require(elf.section(named: ".BTF"))
        let btf = try BPFObject(path: name, bytes: bytes).btf
        // The first pointer's target, at offset 8 of its header.
        let ptr = try #require(btf.ids.first { btf.kind($0) == .ptr })
        var offset = section.offset + 24
        for i in 1..<ptr.index {
            offset += 12 + 4 * BTF.extraWordCount(kindValue: btf.kind(TypeID(UInt32(i))).rawValue, vlen: btf.vlen(TypeID(UInt32(i))))
        }
        bytes.put32(UInt32(btf.typeCount + 1000), at: offset + 8, order: elf.order)
        let error = expectFormatError { try BPFObject(path: name, bytes: bytes) }
        expectMessage(error, contains: ["\(name): type \(ptr): ptr references type [\(btf.typeCount + 1000)] out of range"])
    }

    @Test(arguments: [UInt32(12), 15, 17])
    func wrongBTFExtRecordSize(recordSize: UInt32) throws {
        var (name, bytes, elf) = try Self.fixture()
        let core = try Self.coreSubsection(bytes, elf)
        #expect(bytes.get32(at: core.file, order: elf.order) == 16)
        bytes.put32(recordSize, at: core.file, order: elf.order)
        let error = expectFormatError { try BPFObject(path: name, bytes: bytes) }
        expectMessage(error, contains: ["\(name): .BTF.ext+\(hex(core.section)): core_relo: record size \(recordSize) invalid"])
    }

    @Test func btfExtRecordWithTypeIDOutOfRange() throws {
        var (name, bytes, elf) = try Self.fixture()
        let core = try Self.coreSubsection(bytes, elf)
        let object = try BPFObject(path: name, bytes: bytes)
        // First group: record size (4), section name and count (8), then record #0's type at +4.
        let typeField = 4 + 8 + 4
        let bad = UInt32(object.btf.typeCount)
        bytes.put32(bad, at: core.file + typeField, order: elf.order)
        let error = expectFormatError { try BPFObject(path: name, bytes: bytes) }
        expectMessage(error, contains: ["\(name): .BTF.ext+\(hex(core.section + typeField)): relo #0: type [\(bad)] out of range"])
    }

    @Test func btfExtRecordsAreNumberedWithinTheirSection() throws {
        var (name, bytes, elf) = try Self.fixture()
        let core = try Self.coreSubsection(bytes, elf)
        let object = try BPFObject(path: name, bytes: bytes)
        let sections = object.relocations.map(\.section).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }
        try #require(sections.count >= 2, "\(name) has CO-RE records in one section only")
        // Second group: after the record size and the first group's header and records; its
        // record #1's type field.
        let firstCount = Int(bytes.get32(at: core.file + 8, order: elf.order))
        let typeField = 4 + 8 + 16 * firstCount + 8 + 16 + 4
        bytes.put32(UInt32(object.btf.typeCount + 5), at: core.file + typeField, order: elf.order)
        let error = expectFormatError { try BPFObject(path: name, bytes: bytes) }
        expectMessage(error, contains: ["\(name): .BTF.ext+\(hex(core.section + typeField)): relo #1: type [\(object.btf.typeCount + 5)] out of range"])
    }

    @Test func objectWithoutBTF() throws {
        var (name, bytes, _) = try Self.fixture()
        // ".rel.BTF" may share the name's bytes in .shstrtab; it is renamed along.
        #expect(bytes.replaceAll(Array(".BTF\0".utf8), with: Array(".BTX\0".utf8)) > 0)
        expectMessage(expectFormatError { try BPFObject(path: name, bytes: bytes) }, contains: ["\(name): no .BTF section"])
        expectMessage(expectFormatError { try parseBTFFile(bytes, path: name) },
                      contains: ["\(name): ELF file has no .BTF section"])
    }

    @Test func sectionPastTheEndOfTheFile() throws {
        let (name, bytes, _) = try Self.fixture()
        // Cut the file in the middle of the section data; the section headers are moved along.
        let elf = try ELFFile(path: name, bytes: bytes)
        let btf = try #require(elf.section(named: ".BTF"))
        var truncated = bytes
        // e_shoff (64-bit ELF: offset 0x28) points at the section headers at the end of the file;
        // keep them, but drop the second half of .BTF's bytes by pointing .BTF past the end.
        let shoff = Int(truncated.get32(at: 0x28, order: elf.order))
        let shentsize = 64
        let sizeField = shoff + btf.index * shentsize + 0x20
        truncated.put32(UInt32(bytes.count), at: sizeField, order: elf.order)
        let error = expectFormatError { try ELFFile(path: name, bytes: truncated) }
        expectMessage(error, contains: ["\(name): section \(btf.index) (.BTF) at \(hex(btf.offset))", "past the end of the file"])
    }

    @Test func unreadableFiles() throws {
        try withTempDir { dir in
            expectMessage(expectFormatError { try loadKernelFile(dir + "/missing.btf") },
                          contains: ["\(dir)/missing.btf: cannot open: No such file or directory"])
            expectMessage(expectFormatError { try loadKernelFile(dir) }, contains: ["\(dir): is a directory"])
            expectMessage(expectFormatError { try BPFObject(path: dir + "/missing.bpf.o") },
                          contains: ["\(dir)/missing.bpf.o: cannot open"])
        }
    }
}
