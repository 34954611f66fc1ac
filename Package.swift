// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "btfgen",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "btfgen", targets: ["btfgen"]),
        .library(name: "BTFGen", targets: ["BTF", "BPFObject", "KernelInput", "CORE", "Minimize", "Pipeline", "Report"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries: a module map and a shim header each, nothing else.
        .systemLibrary(name: "CLibELF", pkgConfig: "libelf", providers: [.apt(["libelf-dev"])]),
        .systemLibrary(name: "CLibBPF", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        // libarchive (headers from libarchive-dev), loaded with dlopen on first use: see its header.
        .target(name: "CLibArchive", linkerSettings: [.linkedLibrary("dl")]),
        // The SIGBUS handler for mapped inputs that shrink: see its header.
        .target(name: "CFatalSignals"),

        // Stages, each depending only on the ones before it.
        .target(name: "BTF"),
        .target(name: "BPFObject", dependencies: ["BTF", "CLibELF", "CFatalSignals"]),
        .target(name: "KernelInput", dependencies: ["BTF", "BPFObject", "CLibArchive"]),
        .target(name: "CORE", dependencies: ["BTF"]),
        .target(name: "Minimize", dependencies: ["BTF", "CORE"]),
        .target(name: "Pipeline", dependencies: ["BTF", "BPFObject", "KernelInput", "CORE", "Minimize"]),
        .target(name: "Report", dependencies: ["BTF", "BPFObject", "KernelInput", "CORE", "Minimize", "Pipeline"]),
        .executableTarget(name: "btfgen", dependencies: [
            "Report", "Pipeline", "BTF", "BPFObject", "KernelInput", "CORE", "Minimize",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // libbpf as the oracle: a small C program the tests and benchmarks run.
        .executableTarget(name: "libbpf-judge", dependencies: ["CLibBPF"]),

        // Helpers every test suite shares: paths, inputs, processes, the oracle, expectations.
        .target(name: "TestSupport", dependencies: ["BTF", "BPFObject"], path: "Tests/TestSupport"),
        .testTarget(name: "BTFTests", dependencies: ["BTF", "TestSupport"]),
        .testTarget(name: "BPFObjectTests", dependencies: ["BPFObject", "BTF", "KernelInput", "TestSupport"]),
        .testTarget(name: "CORETests", dependencies: ["CORE", "BTF", "BPFObject", "KernelInput", "TestSupport"]),
        .testTarget(name: "MinimizeTests", dependencies: ["Minimize", "CORE", "BTF", "BPFObject", "Pipeline", "KernelInput", "Report", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "KernelInput", "Minimize", "Report", "TestSupport"]),
        .testTarget(name: "UprobeTests", dependencies: ["BTF", "BPFObject", "CORE", "Pipeline", "KernelInput", "Minimize", "Report", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Pipeline", "BTF", "BPFObject", "KernelInput", "Minimize", "Report", "TestSupport"]),
        .testTarget(name: "HostileInputTests", dependencies: ["BTF", "BPFObject", "CORE", "Pipeline", "KernelInput", "Minimize", "Report", "TestSupport"],
                    exclude: ["Regressions"]),
    ],
    swiftLanguageModes: [.v6]
)
