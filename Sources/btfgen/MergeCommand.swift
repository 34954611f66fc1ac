#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import BPFObject
import BTF
import KernelInput
import CORE
import Pipeline
import Minimize
import Report

/// A `--byte-order` value.
enum ByteOrderOption: String, ExpressibleByArgument, CaseIterable {
    case little, big

    var order: ByteOrder { self == .little ? .little : .big }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append kernel modules' BTF, or application BTFs, to a kernel BTF: one flat BTF.",
        discussion: """
            The kernel's types keep their ids and bytes. Each --module (split BTF on the kernel's, as \
            in a .ko or /sys/kernel/btf/MODULE) follows with its ids moved past the modules before it, \
            what bpftool patched to merge module BTF produces; libbpf reading the result as one file \
            sees module types as candidates even where vmlinux has some (trimming with --module keeps \
            libbpf's vmlinux-first rule instead). Application BTFs follow, renumbered (id 0 stays \
            void), with their strings appended: inputs are raw BTF or ELF files with a .BTF section \
            (`pahole --btf_encode_detached app.btf app`). Trim the result like any kernel BTF: \
            btfgen -i MERGED.btf --object prog.bpf.o -o out.btf.
            """
    )

    @Option(name: .long, help: "The kernel BTF (raw BTF, an ELF file with .BTF, or compressed as --input takes it), e.g. /sys/kernel/btf/vmlinux.")
    var base: String

    @Argument(help: "Application BTFs (raw BTF or ELF with .BTF), appended in this order after the modules.")
    var applications: [String] = []

    @Option(name: .long, help: "A kernel module's split BTF (.ko, .ko.xz, .ko.zst, or raw as in /sys/kernel/btf) appended to the base; may be repeated.")
    var module: [String] = []

    @Option(name: .long, help: "A directory of module files appended to the base (lib/modules/VERSION/, a copy of /sys/kernel/btf); may be repeated.")
    var modules: [String] = []

    @Option(name: .long, help: "Only these modules (comma-separated names) of --module and --modules.")
    var moduleFilter: [String] = []

    @Option(name: [.short, .long], help: "The merged BTF to write (atomically).")
    var output: String

    @Option(name: .long, help: "Byte order of the output: little or big (default: the base's).")
    var byteOrder: ByteOrderOption?

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    @Flag(name: [.short, .long], help: "List every application type that shares a name with a kernel type or an earlier application's (default: the first 10 per application).")
    var verbose = false

    func validate() throws {
        guard !applications.isEmpty || !module.isEmpty || !modules.isEmpty else {
            throw ValidationError("at least one application BTF or --module is required")
        }
    }

    func run() throws {
        let kernel: BTF
        var apps: [BTF] = []
        var moduleNames: [String] = []
        do {
            let files = try moduleFiles(files: module, directories: modules, filter: ModuleFilter(moduleFilter))
            kernel = try loadKernelFile(base, modules: files)
            moduleNames = files
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.usage)
        }
        for path in applications {
            do { apps.append(try loadKernelFile(path)) } catch {
                let hint = error.message.contains("no .BTF section")
                    ? " (make the application's BTF with: pahole --btf_encode_detached APP.btf APP)" : ""
                warn("btfgen: \(error)\(hint)")
                throw ExitCode(Exit.usage)
            }
        }
        let merged: BTF
        do { merged = apps.isEmpty ? kernel : try BTF.merging(base: kernel, apps, names: applications) } catch {
            warn("btfgen: merge: \(error)")
            throw ExitCode(Exit.kernelFailed)
        }
        let bytes = merged.serialized(order: byteOrder?.order)
        do {
            try writeUserFile(output, bytes)
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.kernelFailed)
        }
        guard !quiet else { return }
        for (path, span) in zip(moduleNames, kernel.modules) {
            print("\(path): module \(span.name): types [\(span.firstID - span.shift)..\(Int(span.firstID - span.shift) + span.count - 1)] -> [\(span.firstID)..\(Int(span.firstID) + span.count - 1)]")
        }
        var first = kernel.typeCount
        let clashes = mergeNameClashes(base: kernel, applications: apps)
        for (n, (path, app)) in zip(applications, apps).enumerated() {
            let count = app.typeCount - 1
            print("\(path): types [1..\(count)] -> [\(first)..\(first + count - 1)]")
            // A handful of clashes is news; thousands (a kernel merged onto a kernel) are not.
            let mine = clashes[n]
            for clash in mine.prefix(verbose ? mine.count : 10) {
                let sources = clash.applications.map { applications[$0] }
                var also: [String] = []
                if clash.kernel { also.append("a kernel type") }
                if !sources.isEmpty { also.append("a type of " + sources.joined(separator: ", ")) }
                let whose = (clash.kernel ? 1 : 0) + sources.count == 1 ? "both" : "all of them"
                warn("btfgen: note: \(path): \(clash.type) is also \(also.joined(separator: " and ")); "
                     + "CO-RE relocations on it will see candidates from \(whose)")
            }
            if mine.count > 10 && !verbose {
                let rest = mine.dropFirst(10)
                let with = rest.allSatisfy(\.applications.isEmpty) ? "a kernel type" : "a kernel type or an earlier application's type"
                warn("btfgen: note: \(path): \(rest.count) more types share a name with \(with) (-v lists them)")
            }
            first += count
        }
        let vmlinuxTypes = Int(kernel.firstModuleTypeID ?? UInt32(kernel.typeCount)) - 1
        let parts = (moduleNames.isEmpty ? [] : ["\(moduleNames.count) module\(moduleNames.count == 1 ? "" : "s")"])
            + (apps.isEmpty ? [] : ["\(apps.count) application\(apps.count == 1 ? "" : "s")"])
        print("btfgen: merged \(base) (\(vmlinuxTypes) types) and \(parts.joined(separator: " and ")) "
              + "into \(output): \(merged.typeCount - 1) types, \(bytes.count) bytes, \(byteOrder?.order ?? merged.order)-endian")
    }
}
