import ArgumentParser

/// `btfgen gen min_core_btf INPUT OUTPUT OBJECT...`: bpftool's syntax, so that a script
/// written for `bpftool gen min_core_btf` runs with btfgen in bpftool's place. It is the default
/// command on one input with `--quiet`: silent on success, errors on stderr, the same exit codes.
struct MinCoreBTF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "min_core_btf",
        abstract: "bpftool's syntax: trim INPUT for the OBJECTs into OUTPUT (as 'btfgen -q -i INPUT -o OUTPUT --object OBJECT...')."
    )

    @Argument(help: "A kernel BTF (any input btfgen reads), or a directory of them.")
    var input: String

    @Argument(help: "The output file (or directory, for a directory input).")
    var output: String

    @Argument(help: "BPF objects (at least one).")
    var objects: [String] = []

    func validate() throws {
        if objects.isEmpty { throw ValidationError("at least one OBJECT is required, as for bpftool gen min_core_btf") }
    }

    func run() throws {
        try Trim(input: input, objects: objects, output: output, quiet: true).run()
    }

    /// The same run without the argument parser, when `arguments` (after the program name) are
    /// bpftool's `gen min_core_btf INPUT OUTPUT OBJECT...` and nothing else: no option, nothing
    /// that looks like one. Scripts call it once per kernel, and the parser's reflection would be
    /// about a third of such a run. Anything else (`--help`, a missing OBJECT) returns nil and goes
    /// through the parser, which explains it.
    static func fastPath(_ arguments: [String]) -> Trim? {
        guard arguments.count >= 5, arguments.starts(with: ["gen", "min_core_btf"]) else { return nil }
        let positional = arguments.dropFirst(2)
        guard positional.allSatisfy({ !$0.hasPrefix("-") && !$0.isEmpty }) else { return nil }
        let a = Array(positional)
        return Trim(input: a[0], objects: Array(a[2...]), output: a[1], quiet: true)
    }
}
