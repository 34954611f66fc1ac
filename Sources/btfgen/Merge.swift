#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import BPFObject
import BTF
import Pipeline

/// A `--byte-order` value.
enum ByteOrderOption: String, ExpressibleByArgument, CaseIterable {
    case little, big

    var order: ByteOrder { self == .little ? .little : .big }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append application BTFs to a kernel BTF, for user-space CO-RE (uprobes).",
        discussion: """
            The kernel's types keep their ids and bytes; each application's types follow, renumbered \
            (id 0 stays void), with their strings appended. Inputs are raw BTF or ELF files with a \
            .BTF section (/sys/kernel/btf/vmlinux, or `pahole --btf_encode_detached app.btf app`). \
            Trim the result like any kernel BTF: btfgen -i MERGED.btf --object prog.bpf.o -o out.btf.
            """
    )

    @Option(name: .long, help: "The kernel BTF (raw BTF or an ELF file with .BTF), e.g. /sys/kernel/btf/vmlinux.")
    var base: String

    @Argument(help: "Application BTFs (raw BTF or ELF with .BTF), appended in this order.")
    var applications: [String]

    @Option(name: [.short, .long], help: "The merged BTF to write (atomically).")
    var output: String

    @Option(name: .long, help: "Byte order of the output: little or big (default: the base's).")
    var byteOrder: ByteOrderOption?

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    @Flag(name: [.short, .long], help: "List every application type that shares a name with a kernel type (default: the first 10).")
    var verbose = false

    func validate() throws {
        guard !applications.isEmpty else { throw ValidationError("at least one application BTF is required") }
    }

    func run() throws {
        let kernel: BTF
        var apps: [BTF] = []
        do {
            kernel = try loadBTFFile(base)
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.usage)
        }
        for path in applications {
            do { apps.append(try loadBTFFile(path)) } catch {
                let hint = error.message.contains("no .BTF section")
                    ? " (make the application's BTF with: pahole --btf_encode_detached APP.btf APP)" : ""
                warn("btfgen: \(error)\(hint)")
                throw ExitCode(Exit.usage)
            }
        }
        let merged: BTF
        do { merged = try BTF.merging(base: kernel, apps, names: applications) } catch {
            warn("btfgen: merge: \(error)")
            throw ExitCode(Exit.kernelFailed)
        }
        let bytes = merged.serialized(order: byteOrder?.order)
        do {
            // Like `gen`'s outputs: missing parent directories are created.
            if let slash = output.lastIndex(of: "/"), slash != output.startIndex {
                try makeDirectories(String(output[..<slash]))
            }
            try writeFileAtomically(output, bytes)
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.kernelFailed)
        }
        guard !quiet else { return }
        var first = kernel.typeCount
        for (path, app) in zip(applications, apps) {
            let count = app.typeCount - 1
            print("\(path): types [1..\(count)] -> [\(first)..\(first + count - 1)]")
            // A handful of clashes is news; thousands (a kernel merged onto a kernel) are not.
            let clashes = nameClashes(kernel: kernel, app: app)
            for clash in clashes.prefix(verbose ? clashes.count : 10) {
                warn("btfgen: note: \(path): \(clash) is also a kernel type; CO-RE relocations on it will see candidates from both")
            }
            if clashes.count > 10 && !verbose {
                warn("btfgen: note: \(path): \(clashes.count - 10) more types share a name with a kernel type (-v lists them)")
            }
            first += count
        }
        print("btfgen: merged \(base) (\(kernel.typeCount - 1) types) and \(apps.count) application\(apps.count == 1 ? "" : "s") "
              + "into \(output): \(merged.typeCount - 1) types, \(bytes.count) bytes, \(byteOrder?.order ?? merged.order)-endian")
    }

    /// Named structs, unions and enums of `app` whose essential name (`___flavor` dropped) and
    /// kind family also name a kernel type: CO-RE candidate searches will find both.
    func nameClashes(kernel: BTF, app: BTF) -> [String] {
        enum Family { case composite, enumeration }
        func family(_ k: Kind) -> Family? { k.isComposite ? .composite : k.isEnum ? .enumeration : nil }
        func essential(_ name: String) -> Substring {
            name.firstRange(of: "___").map { name[..<$0.lowerBound] } ?? Substring(name)
        }
        var wanted: [Substring: [(family: Family, text: String)]] = [:]
        for id in app.ids {
            guard let f = family(app.kind(id)) else { continue }
            let name = app.name(id)
            if !name.isEmpty { wanted[essential(name), default: []].append((f, "\(app.kind(id)) \(name)")) }
        }
        guard !wanted.isEmpty else { return [] }
        var clashes = Set<String>()
        for id in kernel.ids {
            guard let f = family(kernel.kind(id)), let hits = wanted[essential(kernel.name(id))] else { continue }
            for h in hits where h.family == f { clashes.insert(h.text) }
        }
        return clashes.sorted()
    }
}
