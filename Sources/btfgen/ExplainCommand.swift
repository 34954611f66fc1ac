import ArgumentParser
import BPFObject
import BTF
import KernelInput
import Pipeline
import Minimize
import Report

/// `btfgen explain KERNEL --object OBJ...`: why the trimmed BTF keeps each type and member.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show why each type, member and enumerator of a trimmed BTF is kept, and the bytes each object accounts for.",
        discussion: """
            Trims KERNEL for the OBJECTs exactly as the default command does (nothing is written), then \
            lists every kept type and member with the relocations that need it (object, section, relo #, \
            kind, access string). Bytes: each object's own (the output shrinks by them without it) and \
            shared (other objects need them too; counted once in the total).
            """
    )

    @Argument(help: "A kernel BTF (any input the default command reads, but one file).")
    var kernel: String

    @Option(name: .long, help: "A BPF object (.bpf.o) or a directory of them; may be repeated.")
    var object: [String]

    @Option(name: .long, help: "Only the kept types of this name (e.g. task_struct), with their members.")
    var type: String?

    @Option(name: .long, help: "Reasons listed per type or member in text (the rest are counted).")
    var reasons: Int = 3

    @Flag(name: .long, help: "Print JSON (btfgen-explain/1: every reason with all its relocations) instead of text.")
    var json = false

    func validate() throws {
        if object.isEmpty { throw ValidationError("at least one --object is required") }
        if reasons < 0 { throw ValidationError("--reasons must be 0 or more") }
    }

    func run() throws {
        let btf: BTF
        var objects: [BPFObject] = []
        do {
            btf = try loadKernelFile(kernel)
            let loaded = try loadObjects(object)
            for line in loaded.skipped { warn("btfgen: warning: \(line)") }
            for o in loaded.objects {
                if o.relocations.isEmpty {
                    warn("btfgen: \(o.path): \(o.ext == nil ? "no .BTF.ext section" : "no CO-RE relocations"), skipped")
                } else {
                    objects.append(o)
                }
            }
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.usage)
        }
        let report = ExplainReport(kernelPath: kernel, kernel: btf, objects: objects)
        if let type, report.selected(typeName: type).isEmpty {
            warn("btfgen: \(kernel): the trimmed BTF keeps no type named \(type)")
            throw ExitCode(Exit.kernelFailed)
        }
        writeStandardOutput(json ? report.json(typeName: type).rendered() + "\n" : report.text(typeName: type, reasonsShown: reasons))
    }
}
