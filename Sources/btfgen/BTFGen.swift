#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Pipeline
import Report

/// Exit codes, documented in README.md.
enum Exit {
    static let ok: Int32 = 0
    /// At least one kernel failed (its output was not written).
    static let kernelFailed: Int32 = 1
    /// Bad usage, or an object or input that cannot be read at all.
    static let usage: Int32 = 2
}

func warn(_ message: String) {
    writeStandardError(message + "\n")
}

@main
struct BTFGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "btfgen",
        abstract: "Make minimal BTF files for CO-RE eBPF programs.",
        discussion: """
            With --input, --object and --output (the default command), btfgen keeps only the \
            types and members of each kernel BTF that the objects' CO-RE relocations use, so that \
            libbpf computes the same relocations from the small file as from the full one.
            """,
        version: btfgenVersion,
        subcommands: [Gen.self, MinCoreBTF.self, Merge.self, Relocs.self, Report.self, Explain.self, Select.self, Embed.self,
                      BenchParse.self],
        defaultSubcommand: Gen.self
    )

    static func main() {
        tuneAllocator()
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            if let trim = MinCoreBTF.fastPath(arguments) {
                try trim.run()
                return
            }
            var command = try parseAsRoot(bpftoolSpelling(arguments))
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// `gen min_core_btf ...`, as a script written for bpftool spells it, is the `min_core_btf`
/// command; any other argument list is left as it is.
func bpftoolSpelling(_ arguments: [String]) -> [String] {
    arguments.starts(with: ["gen", "min_core_btf"]) ? Array(arguments.dropFirst()) : arguments
}

/// Keeps the multi-megabyte buffers of one kernel (file bytes, type words, strings) in the heap
/// once freed, so the next kernel of a batch reuses those pages instead of mapping and faulting
/// in fresh ones: with glibc's defaults each such buffer is a new mmap. The heap grows by
/// `hugeHeap` at once (below the mmap threshold, so from the heap itself) and keeps it when
/// freed (below the trim threshold), advised for huge pages (`adviseHugePages`); the run's
/// workers and the thread that reads the objects advise their own arenas the same way.
func tuneAllocator() {
    #if os(Linux)
    _ = glibcMallopt(-3, 256 << 20) // M_MMAP_THRESHOLD
    _ = glibcMallopt(-1, 512 << 20) // M_TRIM_THRESHOLD
    adviseHugePages(hugeHeap)
    #endif
}

/// How much of each thread's arena is advised for huge pages.
let hugeHeap = 48 << 20

#if os(Linux)
/// glibc's `int mallopt(int, int)`, which the Glibc module does not export.
@_silgen_name("mallopt")
func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif
