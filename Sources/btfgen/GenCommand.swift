import ArgumentParser
import Pipeline
import Report
import Minimize
import KernelInput

/// `btfgen gen` (the default command): trims the kernel BTFs of --input for the --object files.
struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Trim kernel BTFs for a set of BPF objects (the default command)."
    )

    @OptionGroup var options: TrimOptions

    func run() throws {
        try Trim(options).run()
    }
}
