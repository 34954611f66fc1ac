// libFuzzer entry points for btfgen. scripts/fuzz.sh compiles this file with
// Tests/HostileInputTests/FuzzTargets.swift (the target bodies, shared with the regression
// tests) into one binary per target, chosen with -D FUZZ_BTF / FUZZ_EXT / FUZZ_ELF / FUZZ_TRIM,
// against the library modules built with ASan and coverage instrumentation.

#if canImport(Glibc)
import Glibc
#endif
import BTF

#if FUZZ_BTF
let fuzzTarget = FuzzTarget.btf
#elseif FUZZ_EXT
let fuzzTarget = FuzzTarget.ext
#elseif FUZZ_ELF
let fuzzTarget = FuzzTarget.elf
#elseif FUZZ_TRIM
let fuzzTarget = FuzzTarget.trim
#else
#error("build with -D FUZZ_BTF, FUZZ_EXT, FUZZ_ELF or FUZZ_TRIM")
#endif

/// The fixture objects: `$BTFGEN_FIXTURES`, else testdata/bpf beside this file's directory.
private func fixturesDir() -> String {
    if let p = getenv("BTFGEN_FIXTURES") { return String(cString: p) }
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(min(2, parts.count))
    let root = parts.joined(separator: "/")
    return root.isEmpty ? "testdata/bpf" : root + "/testdata/bpf"
}

nonisolated(unsafe) private var harness: FuzzHarness?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    do throws(FormatError) {
        harness = try FuzzHarness(fixtures: fixturesDir())
    } catch {
        fputs("fuzz: cannot load the fixtures: \(error)\n", stderr)
        exit(2)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    harness!.run(fuzzTarget, bytes)
    return 0
}
