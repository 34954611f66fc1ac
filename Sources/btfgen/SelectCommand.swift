import ArgumentParser
import BTF
import KernelInput
import Pipeline
import Minimize
import Report

/// `btfgen select`: the BTF of a pack (or an output directory) for a machine, this one by default.
struct Select: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pick the trimmed BTF for a machine (this one by default) from a pack or an output directory.",
        discussion: """
            The machine is os-release's ID and VERSION_ID (/etc/os-release, else /usr/lib/os-release), \
            uname -r and uname -m; --os-release, --release and --arch, or the environment variables \
            BTFGEN_OS_RELEASE, BTFGEN_KERNEL_RELEASE and BTFGEN_MACHINE, say otherwise. Entries match \
            by the same ID, VERSION_ID, machine and release; else the same ID, machine and release \
            under the nearest other VERSION_ID; else the same machine and release under any \
            distribution (each fallback is reported on stderr). The chosen entry's path is printed on \
            stdout. Exit codes: 0 chosen; 4 the running kernel has its own BTF \
            (/sys/kernel/btf/vmlinux, and no release given; BTFGEN_IGNORE_KERNEL_BTF=1 ignores it): \
            nothing to pick; 5 no entry matches; 2 the pack or directory cannot be read; 64 usage.
            """
    )

    @Option(name: .long, help: "A pack written by --pack (FILE.tar.xz, with its btfgen-index.json).")
    var pack: String?

    @Option(name: .long, help: "An output directory written by btfgen -o DIR (its *.btf files, indexed by their paths).")
    var dir: String?

    @Option(name: .long, help: "The os-release file to read ID and VERSION_ID from (default /etc/os-release, else /usr/lib/os-release).")
    var osRelease: String?

    @Option(name: .long, help: "The kernel release (default uname -r); given, the running kernel's own BTF is not looked for.")
    var release: String?

    @Option(name: .long, help: "The machine (default uname -m; amd64 = x86_64, arm64 = aarch64, ...).")
    var arch: String?

    @Option(name: [.short, .long], help: "Also write the chosen BTF to this file (atomically).")
    var output: String?

    @Flag(name: .long, help: "Print the chosen entry, the rule that matched and the machine as JSON instead of its path.")
    var json = false

    func validate() throws {
        guard (pack == nil) != (dir == nil) else { throw ValidationError("give one of --pack FILE and --dir DIR") }
    }

    func run() throws {
        let source = pack ?? dir!
        let packed: Pack
        let detected: (machine: Machine, ownBTF: Bool, notes: [String])
        do throws(FormatError) {
            packed = pack != nil ? try Pack(path: source) : try Pack(directory: source)
            detected = try Machine.detect(osRelease: osRelease, release: release, arch: arch)
        } catch {
            warn("btfgen: \(error)")
            throw ExitCode(Exit.usage)
        }
        for note in detected.notes { warn("btfgen: select: \(note)") }
        let m = detected.machine
        let described = "ID=\(m.id ?? "?") VERSION_ID=\(m.versionID ?? "?") machine \(m.arch) release \(m.release)"
        if detected.ownBTF {
            warn("btfgen: select: the running kernel has its own BTF (\(Machine.kernelBTF)): nothing to pick (give --release, or set \(Machine.ignoreKernelBTFVariable)=1, to pick anyway)")
            throw ExitCode(4)
        }
        guard let (entry, rule) = choose(packed.index, for: m) else {
            let near = nearestEntries(packed.index, for: m)
            warn("btfgen: select: no BTF in \(source) for \(described)"
                 + (near.isEmpty ? "" : "; nearest: " + near.map(\.path).joined(separator: ", ")))
            throw ExitCode(5)
        }
        switch rule {
        case .exact: break
        case .otherVersion:
            warn("btfgen: select: no entry for VERSION_ID \(m.versionID ?? "?"); took \(entry.path) (\(entry.id ?? "?") \(entry.versionID ?? "?"), the same release)")
        case .releaseOnly:
            warn("btfgen: select: no entry for \(m.id ?? "this distribution") with release \(m.release); took \(entry.path), the same release and machine")
        }
        if let output {
            do throws(FormatError) {
                try writeUserFile(output, try packed.bytes(of: entry, path: source))
            } catch {
                warn("btfgen: \(error)")
                throw ExitCode(Exit.usage)
            }
        }
        if json {
            let value = JSONValue.object([
                ("path", .string(entry.path)), ("member", .string(entry.member)), ("sha256", .string(entry.sha256)),
                ("bytes", .int(entry.bytes)), ("rule", .string(rule.rawValue)),
                ("machine", .object([("id", m.id.map(JSONValue.string) ?? .null),
                                     ("version_id", m.versionID.map(JSONValue.string) ?? .null),
                                     ("arch", .string(m.arch)), ("release", .string(m.release))])),
            ])
            print(value.rendered())
        } else {
            print(entry.path)
        }
    }
}
