import Foundation

import BPFObject
import KernelInput
import BTF
import CORE
import Minimize
import Pipeline
import Report

/// Trims `kernel` for `objects` with the library: `Pipeline.trim(kernel:objects:)`, which the
/// CLI runs; the bpftool tests check that the CLI writes exactly these bytes.
func trimWithLibrary(_ kernel: BTF, _ objects: [BPFObject]) -> BTF {
    trim(kernel: kernel, objects: objects).btf
}

/// The btfgen command line.
enum CLI {
    /// Runs `btfgen -i INPUT --object O... -o OUTPUT [--jobs N]`, expecting exit status 0.
    static func run(input: String, objects: [String], output: String, jobs: Int? = nil) throws -> ProcessOutput {
        var args = ["-i", input]
        for o in objects { args += ["--object", o] }
        args += ["-o", output, "-q"]
        if let jobs { args += ["--jobs", String(jobs)] }
        let out = try runProcess(TestEnv.btfgen, args)
        guard out.status == 0 else {
            throw TestFailure("btfgen \(args.joined(separator: " ")) exited \(out.status): \(out.stderr)")
        }
        return out
    }

    /// Trims every test kernel (one run over the kernel directory) and the running kernel (one
    /// more run, when it has BTF) into `dir`; returns each kernel's output file.
    static func trimAll(objects: [String], into dir: String) throws -> [TestKernel: String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try run(input: TestEnv.kernelsDir, objects: objects, output: dir)
        if let running = TestKernel.running {
            _ = try run(input: running.path, objects: objects, output: dir + "/")
        }
        var out: [TestKernel: String] = [:]
        for k in TestKernel.all { out[k] = dir + "/" + k.outputName }
        return out
    }
}
