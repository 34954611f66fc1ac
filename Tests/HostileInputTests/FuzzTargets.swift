import BPFObject
import KernelInput
import BTF
import CORE
import Pipeline
import Minimize
import Report
import TestSupport

// The bodies of the fuzz targets. The libFuzzer drivers in Fuzz/ compile this file as it is, and
// HostileInputTests replays Regressions/ through it, so a crash the fuzzer found is replayed by
// exactly the code that found it. Whatever the bytes, a target must return: a `precondition`
// here is an oracle the fuzzer reports as a crash.

/// One fuzz target: which part of btfgen the input bytes go to.
enum FuzzTarget: String, CaseIterable, Sendable {
    /// Raw BTF: `BTF(parsing:)` (parser and validator), the queries CO-RE makes of it, and
    /// the BTF as the kernel the fixture objects are resolved against and trimmed from.
    case btf
    /// `.BTF.ext` bytes parsed against a fixed BTF (the .BTF of `core_fields.bpf.o`).
    case ext
    /// An ELF file: `BPFObject(path:bytes:)` and `parseBTFFile`.
    case elf
    /// A BPF object resolved against a small kernel BTF and trimmed: the whole `btfgen` path.
    case trim
}

/// The fixed inputs the targets run against, built from the fixture objects.
struct FuzzHarness: Sendable {
    /// What `.ext` inputs are parsed against.
    let extBTF: BTF
    /// The kernel `.trim` inputs are resolved against: the .BTF of every fixture object merged
    /// into one (core_fields first), so that fixture-like objects find candidates, flavors and
    /// duplicate names included.
    let kernel: BTF
    /// The fixture objects, resolved against each `.btf` input that parses.
    let objects: [BPFObject]

    /// Builds the harness from the fixture objects in `fixtures` (testdata/bpf).
    init(fixtures: String) throws(FormatError) {
        let names = ["core_fields", "flavors", "core_types", "core_enums", "edge"]
        objects = try names.map { name throws(FormatError) in try BPFObject(path: "\(fixtures)/\(name).bpf.o") }
        extBTF = objects[0].btf
        kernel = try BTF.merging(base: objects[0].btf, objects.dropFirst().map(\.btf))
    }

    /// Runs one input through `target`.
    func run(_ target: FuzzTarget, _ bytes: [UInt8]) {
        switch target {
        case .btf: fuzzBTF(bytes)
        case .ext: fuzzExt(bytes)
        case .elf: fuzzELF(bytes)
        case .trim: fuzzTrim(bytes)
        }
    }

    func fuzzBTF(_ bytes: [UInt8]) {
        let btf: BTF
        do throws(FormatError) {
            btf = try BTF(parsing: bytes)
        } catch {
            precondition(!error.location.isEmpty, "BTF error without a location: \(error)")
            return
        }
        // Written back and read again, a valid BTF gives the same bytes.
        let written = btf.serialized()
        guard let again = try? BTF(parsing: written) else { preconditionFailure("serialized BTF does not parse") }
        precondition(again.serialized() == written, "BTF round trip differs")
        // The queries CO-RE makes, on every type.
        let ptrSize = btf.pointerSize
        for id in btf.ids {
            _ = btf.name(id)
            _ = btf.essentialName(id)
            _ = btf.skipModsAndTypedefs(id)
            _ = btf.resolveSize(id, pointerSize: ptrSize)
            if btf.kind(id).isComposite { _ = btf.members(id) }
        }
        // As a kernel: every fixture relocation resolved against it, then trimmed.
        checkTrim(kernel: btf, objects: objects)
    }

    /// Trims `kernel` for `objects`: the result must validate and give every relocation the
    /// outcome it has against the full kernel (`trim` checks that itself and reports what still
    /// differs after its fallback).
    func checkTrim(kernel: BTF, objects: [BPFObject]) {
        let result = trim(kernel: kernel, objects: objects)
        // A relocation reached a type of a kind btfgen does not know (a kernel in the 2026
        // format): such a BTF cannot be written for libbpf 1.1, and the run fails the kernel
        // instead of writing it (`runJob`).
        if result.btf.unknownKindCount > 0 { return }
        for o in result.objects {
            for r in o.resolutions where !r.isError { _ = r.describe(targetBTF: kernel) }
        }
        do throws(FormatError) {
            _ = try BTF(parsing: result.btf.serialized())
        } catch {
            preconditionFailure("trimmed BTF does not validate: \(error)")
        }
        precondition(result.mismatches.isEmpty, "trimmed BTF changes relocations: \(result.mismatches)")
    }

    func fuzzExt(_ bytes: [UInt8]) {
        let ext: BTFExt
        do throws(FormatError) {
            ext = try BTFExt(parsing: bytes, btf: extBTF)
        } catch {
            precondition(!error.location.isEmpty, ".BTF.ext error without a location: \(error)")
            return
        }
        for group in ext.coreRelocations {
            _ = extBTF.string(at: group.sectionName)
            for r in group.records {
                precondition(extBTF.contains(r.type), "relocation type out of range accepted")
                _ = try? AccessSpec(parsing: extBTF.string(at: r.accessString), root: r.type, kind: r.kind, in: extBTF)
            }
        }
    }

    func fuzzELF(_ bytes: [UInt8]) {
        do throws(FormatError) {
            let object = try BPFObject(path: "fuzz.o", bytes: bytes)
            for r in object.relocations {
                if let spec = try? AccessSpec(parsing: r.accessString, root: r.type, kind: r.kind, in: object.btf) {
                    _ = spec.formatted(in: object.btf)
                }
            }
        } catch {
            precondition(error.file == "fuzz.o", "object error without the file name: \(error)")
        }
        do throws(FormatError) {
            _ = try parseBTFFile(bytes, path: "fuzz.btf")
        } catch {
            precondition(error.file == "fuzz.btf", "BTF file error without the file name: \(error)")
        }
    }

    func fuzzTrim(_ bytes: [UInt8]) {
        guard let object = try? BPFObject(path: "fuzz.o", bytes: bytes), !object.relocations.isEmpty else { return }
        checkTrim(kernel: kernel, objects: [object])
    }
}
