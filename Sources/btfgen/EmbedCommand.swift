import ArgumentParser
import BTF
import Pipeline
import Report
import Minimize
import KernelInput

/// `btfgen embed`: C source and header holding a pack's BTFs, with the lookup `select` does.
struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write C source and header that compile a pack's BTFs, and the lookup of btfgen select, into a program.",
        discussion: """
            NAME.c and NAME.h (default btfgen_btfs) depend on libc only: NAME_find(id, version_id, \
            machine, release, &data, &size) looks an entry up as btfgen select does; \
            NAME_custom_path(path, size) detects the running machine (with the same environment \
            overrides) and writes its BTF to a private temporary file for libbpf's btf_custom_path, or \
            returns 1 when the kernel has its own BTF. Each distinct BTF is stored once.
            """
    )

    @Option(name: .long, help: "A pack written by --pack.")
    var pack: String

    @Option(name: [.short, .long], help: "The directory to write NAME.c and NAME.h into (created if missing).")
    var output: String

    @Option(name: .long, help: "NAME: the files' names and the prefix of every symbol (a C identifier).")
    var prefix = "btfgen_btfs"

    func run() throws {
        do throws(FormatError) {
            let packed = try Pack(path: pack)
            let (c, h) = try embedSources(packed, prefix: prefix, packName: baseName(pack))
            try makeDirectories(output)
            try writeUserFile(joinPath(output, prefix + ".h"), Array(h.utf8))
            try writeUserFile(joinPath(output, prefix + ".c"), Array(c.utf8))
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.usage)
        }
    }
}

private func baseName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
