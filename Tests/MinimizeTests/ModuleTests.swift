import BPFObject
import KernelInput
import BTF
import CORE
import Foundation
import Minimize
import Pipeline
import Report
import Testing
import TestSupport

/// Kernel modules: split BTF read onto vmlinux, candidates searched as libbpf searches them on a
/// live kernel with the modules loaded, and one trimmed file that gives libbpf the same outcomes.
@Suite("Kernel modules: vmlinux and module BTF trimmed together")
struct ModuleTests {
    /// The real kernels with module BTF in testdata/kernels/modules (Debian bookworm 6.1 amd64
    /// and arm64, from their linux-image packages, and sid's 7.2 amd64, from its linux-modules
    /// package: nf_conntrack, xfs, btrfs, kvm, bridge, as the packages ship them).
    static let kernels: [KernelWithModules] = TestKernel.testKernels.compactMap { k in
        let dir = TestEnv.packageRoot + "/testdata/kernels/modules/" + k.name
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".btf.xz") }.sorted()
        return names.isEmpty ? nil : KernelWithModules(kernel: k, modules: names.map { dir + "/" + $0 })
    }

    static let object = TestEnv.packageRoot + "/testdata/bpf/modules.bpf.o"

    @Test("the test data has modules for bookworm's amd64 and arm64 kernels and sid's")
    func dataPresent() {
        #expect(Self.kernels.map(\.kernel.name) == ["debian-bookworm-6.1.0-56-amd64", "debian-bookworm-6.1.0-56-arm64", "debian-sid-7.2.13-amd64"],
                "testdata/kernels/modules/: \(Self.kernels.map(\.kernel.name)) (scripts/fetch-module-btf.sh makes it)")
    }

    @Test("split BTF reads as libbpf's btf__parse_split reads it", arguments: kernels)
    func mergedEqualsLibbpfSplitParse(k: KernelWithModules) throws {
        try withTempDir { dir in
            let raws = try k.rawModules(in: dir)
            var merged = try Inputs.btf(k.kernel)
            let vmlinuxCount = merged.typeCount
            for m in k.modules { try appendModule(m, to: &merged) }
            #expect(merged.modules.map(\.name) == k.modules.map(moduleName))
            #expect(merged.firstModuleTypeID == UInt32(vmlinuxCount))
            let flat = dir + "/flat.btf"
            try writeBytes(merged.serialized(), to: flat)
            let check = try runJudge(["merge-check", k.kernel.path, flat] + raws)
            #expect(check.status == 0, "\(k): \(check.stdout)\(check.stderr)")
            #expect(check.stdout.hasPrefix("ok \(merged.typeCount - 1) types"), "\(check.stdout)")
            // The CLI writes the same file.
            let cli = dir + "/cli.btf"
            let run = try runProcess(TestEnv.btfgen, ["merge", "--base", k.kernel.path, "-o", cli, "-q"] + k.modules.flatMap { ["--module", $0] })
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try readBytes(cli) == readBytes(flat))
        }
    }

    @Test("libbpf's outcomes with the trimmed file equal its outcomes on the kernel with the modules loaded",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: kernels)
    func trimmedMatchesLiveKernel(k: KernelWithModules) throws {
        try withTempDir { dir in
            let raws = try k.rawModules(in: dir)
            let out = dir + "/trimmed.btf"
            let run = try runProcess(TestEnv.btfgen, ["-i", k.kernel.path, "--object", Self.object, "-o", out, "-v"]
                                     + k.modules.flatMap { ["--module", $0] })
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("\(k.modules.count) modules"), "\(run.stdout)")
            let flat = dir + "/flat.btf"
            let merge = try runProcess(TestEnv.btfgen, ["merge", "--base", k.kernel.path, "-o", flat, "-q"] + raws.flatMap { ["--module", $0] })
            #expect(merge.status == 0, "\(merge.stderr)")
            let expected = try liveKernelOutcomes(Self.object, vmlinux: k.kernel.path, flat: flat)
            #expect(expected.fromModules > 10, "\(k): only \(expected.fromModules) relocations served by modules: the test proves little")
            let trimmed = try Judge.relos(Self.object, btf: out)
            #expect(trimmed.lines == expected.lines, "\(k)\n\(lineDiff(expected.lines, trimmed.lines, limit: 12))")
            // Without the modules the same object misses all of them.
            let alone = try Judge.relos(Self.object, btf: k.kernel.path)
            #expect(alone.lines != expected.lines)
        }
    }

    @Test("objects that reach no module type get the bytes they get without modules", arguments: kernels)
    func modulesReachedByNothingCostNothing(k: KernelWithModules) throws {
        let objects = try Fixture.littleEndian.filter { $0.file != "modules.bpf.o" && $0.isLoadable }.map { try Inputs.object($0) }
        var merged = try Inputs.btf(k.kernel)
        for m in k.modules { try appendModule(m, to: &merged) }
        let with = trim(kernel: merged, objects: objects)
        let without = trim(kernel: try Inputs.btf(k.kernel), objects: objects)
        #expect(with.btf.serialized() == without.btf.serialized())
        #expect(with.mismatches.isEmpty && with.renamed.isEmpty)
    }

    /// A module type that shares a local type's name with a vmlinux candidate, kept because a
    /// field's path embeds it, must not become a candidate in the one-file output: in a
    /// synthetic kernel, the module's btrfs_inode embeds a module `struct file_system_type`
    /// (80 bytes, vmlinux's is 72) as `location`. libbpf on the live kernel sizes
    /// file_system_type from vmlinux only; reading a file that holds both under one name it
    /// would have two candidates (here the cache's narrowing by the earlier field relocations
    /// happens to drop the module's; a type-based relocation first would see an ambiguity).
    @Test("a module type clashing with a vmlinux candidate is renamed in the output",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"))
    func clashRenamed() throws {
        try withTempDir { dir in
            let (vmlinux, module) = clashingKernel()
            try writeBytes(vmlinux, to: dir + "/vmlinux")
            try writeBytes(module, to: dir + "/btrfs.btf")
            var merged = try BTF(parsing: vmlinux, section: "")
            try merged.appendSplit(parsing: module, name: "btrfs")
            let result = trim(kernel: merged, objects: [try Inputs.object(path: Self.object)])
            #expect(result.renamed == ["struct file_system_type of btrfs as btfgen_btrfs__file_system_type"])
            #expect(result.mismatches.isEmpty, "\(result.mismatches)")
            try writeBytes(result.btf.serialized(), to: dir + "/trimmed.btf")
            try writeBytes(merged.serialized(), to: dir + "/flat.btf")
            let expected = try liveKernelOutcomes(Self.object, vmlinux: dir + "/vmlinux", flat: dir + "/flat.btf")
            let trimmed = try Judge.relos(Self.object, btf: dir + "/trimmed.btf")
            #expect(trimmed.lines == expected.lines, "\(lineDiff(expected.lines, trimmed.lines, limit: 12))")
            let size = "type_size [\(try localTypeID("file_system_type"))] struct file_system_type"
            #expect(trimmed.lines.contains { $0.contains(size) && $0.hasSuffix("-> 72") }, "\(trimmed.lines)")
            // The module's copy is kept (the field path needs it) under its new name only.
            let names = result.btf.ids.map { result.btf.name($0) }
            #expect(names.filter { $0 == "file_system_type" }.count == 1 && names.contains("btfgen_btrfs__file_system_type"), "\(names)")
        }
    }

    /// A run's report names the modules read with each kernel and the module types renamed, in
    /// the JSON (`modules`, `module_renames`), the CSV and the text's Modules table; a kernel read
    /// without modules has neither field.
    @Test("reports list a kernel's modules and its renamed module types")
    func reportsListModules() throws {
        try withTempDir { dir in
            let (vmlinux, module) = clashingKernel()
            try FileManager.default.createDirectory(atPath: dir + "/in/clash", withIntermediateDirectories: true)
            try writeBytes(vmlinux, to: dir + "/in/clash/vmlinux")
            try writeBytes(module, to: dir + "/in/clash/btrfs")
            try writeBytes(vmlinux, to: dir + "/in/plain.btf")
            let run = try runProcess(TestEnv.btfgen, ["-i", dir + "/in", "--object", Self.object, "-o", dir + "/out",
                                                      "--report", dir + "/r.json", "-q"])
            #expect(run.status == 0, "\(run.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(try readBytes(dir + "/r.json"))) as? [String: Any] ?? [:]
            let kernels = json["kernels"] as? [[String: Any]] ?? []
            let clash = try #require(kernels.first { $0["path"] as? String == "clash/vmlinux" })
            #expect(clash["modules"] as? [String] == ["btrfs"])
            let renames = clash["module_renames"] as? [[String: String]] ?? []
            #expect(renames == [["module": "btrfs", "kind": "struct", "name": "file_system_type",
                                 "renamed_to": "btfgen_btrfs__file_system_type"]], "\(renames)")
            let plain = try #require(kernels.first { $0["path"] as? String == "plain.btf" })
            #expect(plain["modules"] == nil && plain["module_renames"] == nil)
            // Read back, the report renders them.
            let text = try runProcess(TestEnv.btfgen, ["report", dir + "/r.json"])
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.contains("struct file_system_type of btrfs as btfgen_btrfs__file_system_type"), "\(text.stdout)")
            let csv = try runProcess(TestEnv.btfgen, ["report", dir + "/r.json", "--format", "csv"])
            #expect(csv.stdout.contains("btrfs:struct:file_system_type:btfgen_btrfs__file_system_type"), "\(csv.stdout)")
            let html = try runProcess(TestEnv.btfgen, ["report", dir + "/r.json", "-o", dir + "/r.html"])
            #expect(html.status == 0, "\(html.stderr)")
            let page = String(decoding: try readBytes(dir + "/r.html"), as: UTF8.self)
            #expect(page.contains("<h2>Modules</h2>") && page.contains("struct file_system_type of btrfs as btfgen_btrfs__file_system_type"))
        }
    }

    @Test("bad module input: one line naming the file and where")
    func badModules() throws {
        let amd = try #require(Self.kernels.first { $0.kernel.name.hasSuffix("amd64") })
        let arm = try #require(Self.kernels.first { $0.kernel.name.hasSuffix("arm64") })
        var kernel = try Inputs.btf(amd.kernel)
        let before = kernel.serialized()
        // An arm64 module on the amd64 vmlinux: its ids run past what it may reference, or a
        // member's type is wrong for it; either way an error, and the BTF is left as it was.
        let xfs = try #require(arm.modules.first { $0.contains("/xfs.") })
        #expect(throws: FormatError.self) { try appendModule(xfs, to: &kernel) }
        #expect(kernel.serialized() == before)
        #expect(kernel.modules.isEmpty)
        do {
            try appendModule(xfs, to: &kernel)
        } catch {
            #expect(error.description.hasPrefix(xfs + ": "), "\(error)")
            #expect(!error.description.contains("\n"))
        }
        try withTempDir { dir in
            // Truncated.
            let raw = try amd.rawModules(in: dir)
            let cut = Array(try readBytes(raw[0]).prefix(100))
            try writeBytes(cut, to: dir + "/cut.btf")
            #expect(throws: FormatError.self) { try appendModule(dir + "/cut.btf", to: &kernel) }
            // Two files of one module.
            let copy = dir + "/" + URL(fileURLWithPath: raw[0]).lastPathComponent
            #expect(throws: FormatError.self) {
                _ = try moduleFiles(files: [copy, dir + "/sub/" + URL(fileURLWithPath: raw[0]).lastPathComponent], directories: [], filter: ModuleFilter([]))
            }
            // The CLI: exit 64, one line.
            let run = try runProcess(TestEnv.btfgen, ["-i", amd.kernel.path, "--object", Self.object, "-o", dir + "/out.btf", "--module", dir + "/cut.btf"])
            #expect(run.status != 0)
            #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.contains("cut.btf"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/out.btf"))
        }
    }

    @Test("btfgen relocs --module shows outcomes with the module", arguments: kernels.prefix(1))
    func relocsWithModules(k: KernelWithModules) throws {
        let nf = try #require(k.modules.first { $0.contains("/nf_conntrack.") })
        let with = try runProcess(TestEnv.btfgen, ["relocs", Self.object, "--btf", k.kernel.path, "--module", nf])
        let alone = try runProcess(TestEnv.btfgen, ["relocs", Self.object, "--btf", k.kernel.path])
        #expect(with.status == 0 && alone.status == 0, "\(with.stderr)\(alone.stderr)")
        let vmlinuxTypes = try Inputs.btf(k.kernel).typeCount
        let line = try #require(with.stdout.split(separator: "\n").first { $0.contains("struct nf_conntrack_helper.flags (0:2) =>") })
        // Matched in the module: a type id past vmlinux's.
        let id = try #require(line.split(separator: "matched [").last?.split(separator: "]").first.flatMap { Int($0) })
        #expect(id >= vmlinuxTypes, "\(line)")
        #expect(line.hasSuffix("24 -> 132"), "\(line)")
        #expect(alone.stdout.contains("struct nf_conntrack_helper.flags (0:2) => poisoned"), "\(alone.stdout)")
        let noBTF = try runProcess(TestEnv.btfgen, ["relocs", Self.object, "--module", nf])
        #expect(noBTF.status != 0 && noBTF.stderr.contains("--btf"), "\(noBTF.stderr)")
    }

    @Test(".ko, .ko.xz and a distilled base: modules as packages ship them",
          .enabled(if: TestEnv.tool("objcopy") != nil && TestEnv.tool("xz") != nil, "objcopy or xz missing (binutils, xz-utils): no .ko can be made"))
    func koFiles() throws {
        let k = try #require(Self.kernels.first { $0.kernel.name.hasSuffix("amd64") })
        try withTempDir { dir in
            let raw = try #require(try k.rawModules(in: dir).first { $0.hasSuffix("/nf_conntrack.btf") })
            // An ELF relocatable object whose .BTF section holds the module's split BTF, as a .ko does.
            let objcopy = try #require(TestEnv.tool("objcopy"))
            let ko = dir + "/nf_conntrack.ko"
            let made = try runProcess(objcopy, ["-I", "binary", "-O", "elf64-x86-64", "--rename-section", ".data=.BTF", raw, ko])
            #expect(made.status == 0, "\(made.stderr)")
            let xz = try runProcess(try #require(TestEnv.tool("xz")), ["-k", ko])
            #expect(xz.status == 0)
            var fromRaw = try Inputs.btf(k.kernel), fromKo = fromRaw, fromXz = fromRaw
            try appendModule(raw, to: &fromRaw)
            try appendModule(ko, to: &fromKo)
            try appendModule(ko + ".xz", to: &fromXz)
            #expect(fromKo.serialized() == fromRaw.serialized() && fromXz.serialized() == fromRaw.serialized())
            #expect(fromXz.modules.map(\.name) == ["nf_conntrack"])
            // A .BTF.base that is no distilled base (here the module's own split BTF, whose ids
            // reach past it): one error naming the section.
            let distilled = dir + "/distilled.ko"
            _ = try runProcess(objcopy, ["--add-section", ".BTF.base=" + raw, ko, distilled])
            var kernel = try Inputs.btf(k.kernel)
            #expect {
                try appendModule(distilled, to: &kernel)
            } throws: { error in
                "\(error)".hasPrefix(distilled + ": .BTF.base") && !"\(error)".contains("\n")
            }
            #expect(kernel.modules.isEmpty)
        }
    }

    /// Out-of-tree modules built with a distilled base (pahole `--btf_features=distilled_base`)
    /// carry `.BTF.base` beside `.BTF`, and are relocated onto the kernel they are loaded on. The
    /// test modules are made as pahole makes them: libbpf's `btf__distill_base` of the real
    /// modules' split BTF on the 6.1 amd64 kernel, the two sections put into a `.ko`. Relocated
    /// onto that kernel and its cloud and rt builds (other type ids, other configurations) and
    /// onto 6.12, btfgen's merge must equal libbpf ≥ 1.5's `btf__parse_split` of the `.ko` type by
    /// type, and where libbpf cannot relocate a module btfgen refuses it too, in one line.
    static let distilledTargets = ["debian-bookworm-6.1.0-56-amd64", "debian-bookworm-6.1.0-56-cloud-amd64",
                                   "debian-bookworm-6.1.0-56-rt-amd64", "debian-bookworm-6.12.117-amd64"]

    @Test("modules with a distilled base relocate as libbpf's btf__relocate relocates them",
          .enabled(if: TestEnv.hasJudgeSid, "no libbpf-judge linked with libbpf >= 1.5 (scripts/build-judge-sid.sh downloads sid's libbpf-dev): no oracle for btf__relocate"),
          .enabled(if: TestEnv.tool("objcopy") != nil && TestEnv.tool("gcc") != nil, "objcopy or gcc missing: no .ko can be made"))
    func distilledBase() throws {
        let k = try #require(Self.kernels.first { $0.kernel.name == "debian-bookworm-6.1.0-56-amd64" })
        try withTempDir { dir in
            let kos = try distilledModules(k, in: dir)
            var agreed = (relocated: 0, refused: 0)
            for target in Self.distilledTargets {
                let vmlinux = try #require(TestKernel.testKernels.first { $0.name == target }).path
                for ko in kos {
                    let flat = dir + "/flat.btf"
                    try? FileManager.default.removeItem(atPath: flat)
                    let merge = try runProcess(TestEnv.btfgen, ["merge", "--base", vmlinux, "--module", ko, "-o", flat, "-q"])
                    let judge = try runProcess(TestEnv.judgeSid, ["merge-check", vmlinux, merge.status == 0 ? flat : vmlinux, ko])
                    if judge.stderr.contains("btf__parse_split") {
                        // libbpf cannot relocate it: neither may btfgen, and it says so in one line.
                        #expect(merge.status != 0, "\(target) \(ko): btfgen relocated what libbpf refuses")
                        #expect(merge.stderr.hasPrefix("btfgen: " + ko + ": .BTF.base: ") && merge.stderr.split(separator: "\n").count == 1,
                                "\(merge.stderr)")
                        #expect(!FileManager.default.fileExists(atPath: flat))
                        agreed.refused += 1
                    } else {
                        #expect(merge.status == 0 && judge.status == 0 && judge.stdout.hasPrefix("ok "),
                                "\(target) \(ko): btfgen \(merge.stderr); libbpf \(judge.stdout)\(judge.stderr)")
                        agreed.relocated += 1
                    }
                }
            }
            // The data holds both: modules that fit another build of the kernel, and ones that do not.
            #expect(agreed.relocated > kos.count && agreed.refused > kos.count, "\(agreed)")
        }
    }

    @Test("libbpf's outcomes with a trimmed file from distilled-base modules equal its outcomes on the kernel they were relocated onto",
          .enabled(if: TestEnv.hasJudgeSid, "no libbpf-judge linked with libbpf >= 1.5 (scripts/build-judge-sid.sh downloads sid's libbpf-dev): no oracle for btf__relocate"),
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          .enabled(if: TestEnv.tool("objcopy") != nil && TestEnv.tool("gcc") != nil, "objcopy or gcc missing: no .ko can be made"))
    func distilledTrimmed() throws {
        let k = try #require(Self.kernels.first { $0.kernel.name == "debian-bookworm-6.1.0-56-amd64" })
        let cloud = try #require(TestKernel.testKernels.first { $0.name == "debian-bookworm-6.1.0-56-cloud-amd64" }).path
        try withTempDir { dir in
            // The modules that relocate onto the cloud kernel (bridge does not: its switchdev enum is not there).
            let kos = try distilledModules(k, in: dir).filter { !$0.hasSuffix("/bridge.ko") }
            let flat = dir + "/flat.btf"
            let merge = try runProcess(TestEnv.btfgen, ["merge", "--base", cloud, "-o", flat, "-q"] + kos.flatMap { ["--module", $0] })
            #expect(merge.status == 0, "\(merge.stderr)")
            let check = try runProcess(TestEnv.judgeSid, ["merge-check", cloud, flat] + kos)
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            let out = dir + "/trimmed.btf"
            let run = try runProcess(TestEnv.btfgen, ["-i", cloud, "--object", Self.object, "-o", out] + kos.flatMap { ["--module", $0] })
            #expect(run.status == 0, "\(run.stderr)")
            let expected = try liveKernelOutcomes(Self.object, vmlinux: cloud, flat: flat)
            #expect(expected.fromModules > 10, "only \(expected.fromModules) relocations served by modules: the test proves little")
            let trimmed = try Judge.relos(Self.object, btf: out)
            #expect(trimmed.lines == expected.lines, "\(lineDiff(expected.lines, trimmed.lines, limit: 12))")
        }
    }

    @Test("a directory with vmlinux and modules is one kernel; --module-filter picks modules", arguments: kernels.prefix(1))
    func kernelDirectories(k: KernelWithModules) throws {
        try withTempDir { dir in
            // An archive of kernels shaped like /sys/kernel/btf: DISTRO/KERNEL/{vmlinux,MODULE}.
            for name in ["a", "b"] {
                let kdir = dir + "/in/debian/\(name)"
                try FileManager.default.createDirectory(atPath: kdir, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: k.kernel.path, toPath: kdir + "/vmlinux")
                for m in try k.rawModules(in: dir + "/raw-\(name)") {
                    try FileManager.default.copyItem(atPath: m, toPath: kdir + "/" + moduleName(m))
                }
            }
            try FileManager.default.copyItem(atPath: k.kernel.path, toPath: dir + "/in/plain.btf")
            let run = try runProcess(TestEnv.btfgen, ["-i", dir + "/in", "--object", Self.object, "-o", dir + "/out", "-v", "-j", "2"])
            #expect(run.status == 0, "\(run.stderr)")
            let outputs = try walkFiles(dir + "/out")
            #expect(outputs == ["debian/a.btf", "debian/b.btf", "plain.btf"], "\(outputs)")
            #expect(try readBytes(dir + "/out/debian/a.btf") == readBytes(dir + "/out/debian/b.btf"))
            #expect(try readBytes(dir + "/out/debian/a.btf") != readBytes(dir + "/out/plain.btf"))
            // The same kernel as --input with its modules gives the same bytes.
            let single = try runProcess(TestEnv.btfgen, ["-i", k.kernel.path, "--object", Self.object, "-o", dir + "/single.btf"]
                                        + k.modules.flatMap { ["--module", $0] })
            #expect(single.status == 0, "\(single.stderr)")
            #expect(try readBytes(dir + "/single.btf") == readBytes(dir + "/out/debian/a.btf"))
            // The archive layout as tarballs: KERNEL.btf.tar.xz holding vmlinux and modules/*.btf.
            var members = [(name: "vmlinux", data: try readBytes(k.kernel.path))]
            for m in try k.rawModules(in: dir + "/raw-tar") {
                members.append((name: "modules/" + URL(fileURLWithPath: m).lastPathComponent, data: try readBytes(m)))
            }
            try FileManager.default.createDirectory(atPath: dir + "/tars/debian", withIntermediateDirectories: true)
            try writeBytes(try makeTarXZ(members), to: dir + "/tars/debian/k.btf.tar.xz")
            let tars = try runProcess(TestEnv.btfgen, ["-i", dir + "/tars", "--object", Self.object, "-o", dir + "/out-tars"])
            #expect(tars.status == 0, "\(tars.stderr)")
            #expect(try readBytes(dir + "/out-tars/debian/k.btf") == readBytes(dir + "/out/debian/a.btf"))
            // One kernel directory as --input (a copy of /sys/kernel/btf), with a filter.
            let filtered = try runProcess(TestEnv.btfgen, ["-i", dir + "/in/debian/a", "--object", Self.object, "-o", dir + "/nf.btf",
                                                           "--module-filter", "nf_conntrack", "-v"])
            #expect(filtered.status == 0, "\(filtered.stderr)")
            #expect(filtered.stdout.contains("(1 module: nf_conntrack)"), "\(filtered.stdout)")
            let nf = try BTF(parsing: try readBytes(dir + "/nf.btf"), section: "")
            let names = Set(nf.ids.map { nf.name($0) })
            #expect(names.contains("nf_conntrack_helper") && !names.contains("xfs_inode"))
        }
    }
}

/// A test kernel and its module files (`.btf.xz`, as committed).
struct KernelWithModules: Sendable, CustomTestStringConvertible {
    var kernel: TestKernel
    var modules: [String]
    var testDescription: String { kernel.name }

    /// The modules decompressed into `dir` (libbpf reads raw or ELF BTF only), in order.
    func rawModules(in dir: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return try modules.map { path in
            guard case .data(let bytes, _) = try openKernelInput(try readBytes(path), path: path) else { throw TestFailure("\(path): empty") }
            let out = dir + "/" + moduleName(path) + ".btf"
            try writeBytes(bytes, to: out)
            return out
        }
    }
}

/// `k`'s modules as pahole `--btf_features=distilled_base` builds them: a `.ko` in `dir` per
/// module whose `.BTF.base` and `.BTF` are libbpf's `btf__distill_base` of its split BTF.
func distilledModules(_ k: KernelWithModules, in dir: String) throws -> [String] {
    let gcc = try #require(TestEnv.tool("gcc")), objcopy = try #require(TestEnv.tool("objcopy"))
    let empty = dir + "/empty.o"
    try writeBytes(Array("".utf8), to: dir + "/empty.c")
    let cc = try runProcess(gcc, ["-c", dir + "/empty.c", "-o", empty])
    guard cc.status == 0 else { throw TestFailure("gcc: \(cc.stderr)") }
    return try k.rawModules(in: dir + "/raw").map { raw in
        let name = moduleName(raw), base = dir + "/\(name).base", split = dir + "/\(name).split", ko = dir + "/\(name).ko"
        let distill = try runProcess(TestEnv.judgeSid, ["distill", k.kernel.path, raw, base, split])
        guard distill.status == 0 else { throw TestFailure("libbpf-judge distill \(raw): \(distill.stderr)") }
        let made = try runProcess(objcopy, ["--add-section", ".BTF=" + split, "--add-section", ".BTF.base=" + base, empty, ko])
        guard made.status == 0 else { throw TestFailure("objcopy: \(made.stderr)") }
        return ko
    }
}

/// libbpf's outcomes on a live kernel with modules loaded, from libbpf itself: for a local type
/// vmlinux has candidates for (`libbpf-judge cands`), libbpf's outcome with vmlinux alone; for
/// the others, its outcome with vmlinux and every module as one file (`flat`), where the only
/// candidates are the modules'. `fromModules`: how many relocations the second kind gave.
func liveKernelOutcomes(_ object: String, vmlinux: String, flat: String) throws -> (lines: [String], fromModules: Int) {
    let cands = try runJudge(["cands", object, vmlinux])
    guard cands.status == 0 else { throw TestFailure("libbpf-judge cands: \(cands.stderr)") }
    var inVmlinux: [String: Bool] = [:]
    for line in cands.stdoutLines {
        let parts = line.split(separator: " ")
        inVmlinux[String(parts[0])] = Int(parts[1])! > 0
    }
    let a = try Judge.relos(object, btf: vmlinux).lines, b = try Judge.relos(object, btf: flat).lines
    func key(_ line: String) -> String { String(line.prefix { $0 != ":" }) }
    func localType(_ line: String) -> String? {
        // PROG relo #N: KIND [ID] ...
        line.split(separator: " ").first { $0.hasPrefix("[") && $0.hasSuffix("]") }.map(String.init)
    }
    let fromFlat = Dictionary(b.map { (key($0), $0) }, uniquingKeysWith: { x, _ in x })
    var lines: [String] = [], fromModules = 0
    for line in a {
        guard let t = localType(line) else { lines.append(line); continue }
        if inVmlinux[t] == true {
            lines.append(line)
        } else if let other = fromFlat[key(line)] {
            lines.append(other)
            if other != line { fromModules += 1 }
        }
    }
    return (lines, fromModules)
}

/// The local type id of the struct named `name` in modules.bpf.o.
private func localTypeID(_ name: String) throws -> UInt32 {
    let obj = try Inputs.object(path: ModuleTests.object)
    return try #require(obj.btf.ids.first { obj.btf.kind($0) == .struct && obj.btf.name($0) == name }).rawValue
}

/// A small vmlinux (`int`, `char`, pointers, struct file_system_type of 72 bytes) and a module
/// split on it whose btrfs_inode embeds the module's own struct file_system_type (80 bytes, an
/// `objectid` first) as `location`.
private func clashingKernel() -> (vmlinux: [UInt8], module: [UInt8]) {
    var b = BTF()
    var s = StringTableBuilder()
    let int = b.append(kind: .int, name: s.add("int"), vlen: 0, kflag: false, sizeOrType: 4, extra: [0x0100_0020])
    let ull = b.append(kind: .int, name: s.add("long long unsigned int"), vlen: 0, kflag: false, sizeOrType: 8, extra: [64])
    let char = b.append(kind: .int, name: s.add("char"), vlen: 0, kflag: false, sizeOrType: 1, extra: [0x0200_0008])
    let charPtr = b.append(kind: .ptr, name: .empty, vlen: 0, kflag: false, sizeOrType: char.rawValue, extra: [])
    b.append(kind: .struct, name: s.add("file_system_type"), vlen: 2, kflag: false, sizeOrType: 72,
             extra: [s.add("name").rawValue, charPtr.rawValue, 0, s.add("fs_flags").rawValue, int.rawValue, 64])
    b.setStrings(s.bytes)
    let vmlinux = b.serialized()
    let baseStrings = s.bytes.count
    // The module's types, appended to the same builder so that ids and offsets continue.
    let fst = b.append(kind: .struct, name: s.add("file_system_type"), vlen: 1, kflag: false, sizeOrType: 80,
                       extra: [s.add("objectid").rawValue, ull.rawValue, 0])
    let root = b.append(kind: .struct, name: s.add("btrfs_root"), vlen: 1, kflag: false, sizeOrType: 16,
                        extra: [s.add("last_trans").rawValue, ull.rawValue, 64])
    let rootPtr = b.append(kind: .ptr, name: .empty, vlen: 0, kflag: false, sizeOrType: root.rawValue, extra: [])
    b.append(kind: .struct, name: s.add("btrfs_inode"), vlen: 2, kflag: false, sizeOrType: 96,
             extra: [s.add("root").rawValue, rootPtr.rawValue, 0, s.add("location").rawValue, fst.rawValue, 64])
    b.setStrings(s.bytes)
    let whole = b.serialized()
    // Split BTF: the types after vmlinux's, the strings after vmlinux's.
    func u32(_ a: [UInt8], _ o: Int) -> Int { Int(a[o]) | Int(a[o + 1]) << 8 | Int(a[o + 2]) << 16 | Int(a[o + 3]) << 24 }
    let baseTypeLen = u32(vmlinux, 12), typeLen = u32(whole, 12), strOff = u32(whole, 16)
    let types = Array(whole[(24 + baseTypeLen)..<(24 + typeLen)])
    let strings = Array(whole[(24 + strOff + baseStrings)...])
    var header: [UInt8] = [0x9f, 0xeb, 1, 0, 24, 0, 0, 0]
    for v in [0, types.count, types.count, strings.count] {
        header += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)]
    }
    return (vmlinux, header + types + strings)
}
