import ArgumentParser
import BPFObject
import BTF
import CORE
import Pipeline
import Report
import Minimize
import KernelInput

struct Relocs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List an object's CO-RE relocations, or resolve them against a kernel BTF.",
        discussion: "One line per CO-RE record, in file order, in libbpf's vocabulary."
    )

    @Argument(help: "A BPF object (.bpf.o).")
    var object: String

    @Option(name: .long, help: "Resolve each relocation against this kernel BTF (raw, ELF, or compressed as --input takes it: .btf.tar.xz and the rest).")
    var btf: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Option(name: .long, help: "A module's BTF (.ko, .ko.xz, .ko.zst or raw split BTF) appended to --btf: candidates are searched as on a live kernel with it loaded; may be repeated.")
    var module: [String] = []

    @Option(name: .long, help: "A directory of module files appended to --btf (lib/modules/VERSION/, a copy of /sys/kernel/btf); may be repeated.")
    var modules: [String] = []

    @Option(name: .long, help: "Only these modules (comma-separated names) of --module and --modules.")
    var moduleFilter: [String] = []

    func run() throws {
        let obj: BPFObject
        let kernel: BTF?
        do {
            obj = try BPFObject(path: object)
            let files = try moduleFiles(files: module, directories: modules, filter: ModuleFilter(moduleFilter))
            if btf == nil && !files.isEmpty { throw FormatError("--module", "modules need --btf (their vmlinux)") }
            kernel = try btf.map { path throws(FormatError) in try loadKernelFile(path, modules: files) }
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.usage)
        }
        if obj.relocations.isEmpty {
            warn("btfgen: \(object): \(obj.ext == nil ? "no .BTF.ext section" : "no CO-RE relocations")")
            return
        }
        var resolutions: [Resolution] = []
        if let kernel {
            let index = CandidateIndex(target: kernel, wanted: Resolver.wantedNames(local: obj.btf, records: obj.relocations))
            resolutions = Resolver.resolve(local: obj.btf, records: obj.relocations, target: kernel, index: index)
        }
        var jsonRows: [JSONValue] = []
        for (i, r) in obj.relocations.enumerated() {
            let spec = (try? AccessSpec(parsing: r.accessString, root: r.type, kind: r.kind, in: obj.btf))
                .map { $0.formatted(in: obj.btf, withOffset: false) } ?? "\(r.type) \(r.accessString)"
            var line = "\(r.section) insn \(r.insn): <\(r.kind)> \(spec)"
            var row: [String: JSONValue] = ["section": .string(r.section), "relo": .int(r.index), "insn": .int(r.insn),
                                            "kind": .string(r.kind.description), "type_id": .int(Int(r.type.rawValue)),
                                            "access": .string(r.accessString), "spec": .string(spec)]
            if let kernel {
                let res = resolutions[i]
                let result: String
                switch res.outcome {
                case .error(let m):
                    result = "error: \(m)"
                    row["status"] = .string("error")
                    row["error"] = .string(m)
                case .limit(let m):
                    result = "error: not resolved: \(m)"
                    row["status"] = .string("error")
                    row["error"] = .string("not resolved: \(m)")
                case .value(let v):
                    if v.poison {
                        result = v.poisonedAccess ? "poisoned: \(res.describe(targetBTF: kernel).dropFirst("poisoned (".count).dropLast())"
                            : "poisoned: no matching target"
                        row["status"] = .string("unresolved")
                    } else {
                        let matched = res.targets.first.map { " matched \($0.formatted(in: kernel)):" } ?? " no target:"
                        result = "\(matched.dropFirst()) \(res.describe(targetBTF: kernel))"
                        row["status"] = .string("resolved")
                        row["original"] = .uint(v.original)
                        row["value"] = .uint(v.new)
                        if let t = res.targets.first { row["target"] = .string(t.formatted(in: kernel)) }
                    }
                }
                row["result"] = .string(result)
                line += " => \(result)"
            }
            if json { jsonRows.append(.sortedObject(row)) } else { print(line) }
        }
        if json {
            print(JSONValue.array(jsonRows).rendered())
        }
    }
}
