import ArgumentParser
import BPFObject
import Pipeline
import Report
import Minimize
import KernelInput

struct BenchParse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-parse",
        abstract: "Time parsing and validating a BTF file (used by make bench).",
        shouldDisplay: false
    )

    @Argument var file: String
    @Argument var iterations: Int = 20

    func run() throws {
        // Read + parse + validate, as libbpf's btf__parse opens, reads and checks the file.
        var times: [Double] = []
        for _ in 0..<max(1, iterations) {
            let start = monotonicNanoseconds()
            _ = try loadKernelFile(file)
            times.append(Double(monotonicNanoseconds() - start) / 1e6)
        }
        let mean = times.reduce(0, +) / Double(times.count)
        print(cFormat("btfgen parse: %d iters, %.3f ms/iter, min %.3f ms", times.count, mean, times.min() ?? 0))
    }
}
