import BTF
import Foundation
import Pipeline
import KernelInput
import Minimize
import Report
import Testing
import TestSupport

/// Shipping the outputs: the pack and its index, `btfgen select`, and the C code of
/// `btfgen embed`, on the test kernels laid out as the btfhub archive lays out kernels.
@Suite("Shipping: pack index, select, embed")
struct ShippingTests {
    /// A test kernel under btfhub's `ID/VERSION_ID/ARCH/RELEASE.btf`: its Debian release's
    /// number, its architecture's directory name, and its name after the codename as the release.
    struct Placed {
        var kernel: String
        var id = "debian"
        var versionID: String
        var archDirectory: String
        var machine: String
        var release: String
        var path: String { "\(id)/\(versionID)/\(archDirectory)/\(release).btf" }
    }

    static let placed: [Placed] = TestKernel.testKernels.compactMap { k in
        let versions = ["bullseye": "11", "bookworm": "12", "trixie": "13", "sid": "unstable"]
        let arches: [(token: String, directory: String, machine: String)] = [
            ("amd64", "x86_64", "x86_64"), ("arm64", "arm64", "aarch64"), ("s390x", "s390x", "s390x"),
            ("powerpc64le", "ppc64le", "ppc64le"), ("riscv64", "riscv64", "riscv64"), ("686", "i386", "i686"),
            ("armmp", "armhf", "armv7l"),
        ]
        let parts = k.name.split(separator: "-", maxSplits: 2).map(String.init)
        guard parts.count == 3, let version = versions[parts[1]],
              let arch = arches.first(where: { a in parts[2].split(separator: "-").contains { $0 == a.token } }) else { return nil }
        return Placed(kernel: k.path, versionID: version, archDirectory: arch.directory, machine: arch.machine, release: parts[2])
    }

    static let objects = Fixture.loadable.map(\.path)

    /// The tree, a run over it with --pack and --report, and the paths.
    struct Run {
        var dir: String
        var pack: String { dir + "/pack.tar.xz" }
        var out: String { dir + "/out" }
    }

    /// Runs btfgen over the placed kernels, plus one kernel placed twice (ubuntu/22.04 holds
    /// bookworm's amd64 under the same release) so that the pack has a hard link.
    static func run(in dir: String, extra: [(path: String, kernel: String)] = []) throws -> Run {
        var entries = placed.map { ($0.path, $0.kernel) }
        if let amd = placed.first(where: { $0.machine == "x86_64" && $0.versionID == "12" }) {
            entries.append(("ubuntu/22.04/x86_64/\(amd.release).btf", amd.kernel))
        }
        for (path, kernel) in entries + extra {
            let target = dir + "/in/" + path
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: target, withDestinationPath: kernel)
        }
        let r = Run(dir: dir)
        let result = try runProcess(TestEnv.btfgen, ["-i", dir + "/in", "-o", r.out, "--pack", r.pack, "--report", dir + "/r.json", "-q"]
                                    + objects.flatMap { ["--object", $0] })
        guard result.status == 0 else { throw TestFailure("btfgen: \(result.stderr)") }
        return r
    }

    @Test("the pack's index lists every output, its stored member, sha256 and what its path says; tarfile extracts the tree")
    func packIndex() throws {
        try #require(Self.placed.count >= 8, "test kernels placed: \(Self.placed.count)")
        try withTempDir { dir in
            let r = try Self.run(in: dir)
            let outputs = try walkFiles(r.out).sorted()
            // Python's tarfile (independent of btfgen's reader): every member, its bytes' sha256.
            let script = """
                import hashlib, json, os, sys, tarfile
                with tarfile.open(sys.argv[1], "r:xz") as t:
                    names = [m.name for m in t.getmembers()]
                    links = {m.name: m.linkname for m in t.getmembers() if m.islnk()}
                    index = json.load(t.extractfile("btfgen-index.json"))
                    t.extractall(sys.argv[2])
                shas = {}
                for root, _, files in os.walk(sys.argv[2]):
                    for f in files:
                        p = os.path.join(root, f)
                        shas[os.path.relpath(p, sys.argv[2])] = hashlib.sha256(open(p, "rb").read()).hexdigest()
                print(json.dumps({"names": names, "links": links, "index": index, "shas": shas}))
                """
            let py = try runProcess("/usr/bin/env", ["python3", "-c", script, r.pack, dir + "/extracted"])
            #expect(py.status == 0, "\(py.stderr)")
            let got = try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [String: Any] ?? [:]
            let names = got["names"] as? [String] ?? []
            #expect(names == ["btfgen-index.json"] + outputs)
            // Extracted, the pack is the output tree (and the index).
            for o in outputs { #expect(try readBytes(dir + "/extracted/" + o) == readBytes(r.out + "/" + o), "\(o)") }
            let shas = got["shas"] as? [String: String] ?? [:]
            let index = got["index"] as? [String: Any] ?? [:]
            #expect(index["schema"] as? String == "btfgen-index/1")
            let entries = index["entries"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["path"] as? String ?? "" } == outputs)
            let links = got["links"] as? [String: String] ?? [:]
            var distinct = Set<String>()
            for e in entries {
                let path = e["path"] as? String ?? "", member = e["member"] as? String ?? ""
                #expect(e["sha256"] as? String == shas[path], "\(path)")
                #expect(e["bytes"] as? Int == (try readBytes(r.out + "/" + path)).count)
                // A later copy is a hard link to the member that stores its bytes.
                #expect(member == path ? links[path] == nil : links[path] == member, "\(path) -> \(member)")
                distinct.insert(e["sha256"] as? String ?? "")
                if let p = Self.placed.first(where: { $0.path == path }) {
                    #expect(e["id"] as? String == "debian" && e["version_id"] as? String == p.versionID, "\(path)")
                    #expect(e["arch"] as? String == p.machine && e["release"] as? String == p.release, "\(path)")
                }
            }
            // One stored member per distinct output.
            #expect(names.count - 1 - links.count == distinct.count)
            #expect(!links.isEmpty)
            // The report's packed_bytes is this file; without dedup it is no smaller.
            let report = try JSONSerialization.jsonObject(with: Data(try readBytes(dir + "/r.json"))) as? [String: Any] ?? [:]
            let totals = report["totals"] as? [String: Any] ?? [:]
            let size = try readBytes(r.pack).count
            #expect(totals["packed_bytes"] as? Int == size)
            #expect((totals["packed_bytes_without_dedup"] as? Int ?? 0) >= size)
        }
    }

    @Test("select picks each kernel's own file, applies the fallbacks, and exits 4 and 5 where it should")
    func select() throws {
        try withTempDir { dir in
            let r = try Self.run(in: dir)
            func osRelease(_ id: String, _ version: String) throws -> String {
                let path = dir + "/os-release-\(id)-\(version)"
                try writeBytes(Array("NAME=\"Test\"\nID=\(id)\nVERSION_ID=\"\(version)\"\n".utf8), to: path)
                return path
            }
            for p in Self.placed {
                for source in [["--pack", r.pack], ["--dir", r.out]] {
                    let picked = try runProcess(TestEnv.btfgen, ["select"] + source + [
                        "--os-release", try osRelease("debian", p.versionID), "--release", p.release, "--arch", p.archDirectory,
                        "-o", dir + "/picked.btf"])
                    #expect(picked.status == 0 && picked.stdout == p.path + "\n" && picked.stderr.isEmpty, "\(p.path): \(picked)")
                    #expect(try readBytes(dir + "/picked.btf") == readBytes(r.out + "/" + p.path), "\(p.path)")
                }
            }
            let amd = try #require(Self.placed.first { $0.machine == "x86_64" && $0.versionID == "12" })
            // Another VERSION_ID of the same ID: the nearest at or below.
            let other = try runProcess(TestEnv.btfgen, ["select", "--pack", r.pack, "--os-release", try osRelease("ubuntu", "24.04"),
                                                        "--release", amd.release, "--arch", "amd64", "--json"])
            #expect(other.status == 0, "\(other.stderr)")
            let chosen = try JSONSerialization.jsonObject(with: Data(other.stdout.utf8)) as? [String: Any] ?? [:]
            #expect(chosen["path"] as? String == "ubuntu/22.04/x86_64/\(amd.release).btf" && chosen["rule"] as? String == "other_version_id")
            #expect(other.stderr.contains("no entry for VERSION_ID 24.04"), "\(other.stderr)")
            // Another distribution with the same release and machine.
            let foreign = try runProcess(TestEnv.btfgen, ["select", "--pack", r.pack, "--os-release", try osRelease("fedora", "40"),
                                                          "--release", amd.release, "--arch", "x86_64"])
            #expect(foreign.status == 0 && foreign.stdout == amd.path + "\n" && foreign.stderr.contains("the same release and machine"), "\(foreign)")
            // The same release on another machine is not a match: 5, with the nearest entries.
            let none = try runProcess(TestEnv.btfgen, ["select", "--pack", r.pack, "--os-release", try osRelease("debian", "12"),
                                                       "--release", amd.release, "--arch", "riscv64"])
            #expect(none.status == 5 && none.stdout.isEmpty && none.stderr.contains("no BTF in"), "\(none)")
            let unknown = try runProcess(TestEnv.btfgen, ["select", "--pack", r.pack, "--release", amd.release + "-x", "--arch", "x86_64",
                                                          "-o", dir + "/none.btf"])
            #expect(unknown.status == 5 && unknown.stderr.contains("nearest: " + amd.path), "\(unknown)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/none.btf"))
            // This machine: its kernel has its own BTF, so there is nothing to pick (4), unless told
            // to ignore it; the environment overrides each detected value.
            if FileManager.default.isReadableFile(atPath: TestEnv.runningKernelBTF) {
                let own = try runProcess(TestEnv.btfgen, ["select", "--pack", r.pack])
                #expect(own.status == 4 && own.stdout.isEmpty, "\(own)")
            }
            let env = try runProcess("/usr/bin/env", ["BTFGEN_IGNORE_KERNEL_BTF=1", "BTFGEN_OS_RELEASE=" + (try osRelease("debian", amd.versionID)),
                                                      "BTFGEN_KERNEL_RELEASE=" + amd.release, "BTFGEN_MACHINE=amd64",
                                                      TestEnv.btfgen, "select", "--pack", r.pack])
            #expect(env.status == 0 && env.stdout == amd.path + "\n", "\(env)")
            // Bad input: an unreadable pack is 2, a missing source is usage (64).
            try writeBytes([1, 2, 3], to: dir + "/bad.tar.xz")
            #expect(try runProcess(TestEnv.btfgen, ["select", "--pack", dir + "/bad.tar.xz", "--release", "x"]).status == 2)
            #expect(try runProcess(TestEnv.btfgen, ["select", "--release", "x"]).status == 64)
        }
    }

    /// The generated C, compiled warning-free with a test program, finds every kernel's BTF
    /// byte for byte, and `custom_path` writes the file `select` would pick.
    @Test("embed: the C code finds each test kernel's BTF byte for byte", .enabled(if: TestEnv.tool("gcc") != nil, "gcc not found"))
    func embedFinds() throws {
        try withTempDir { dir in
            let r = try Self.run(in: dir)
            let made = try runProcess(TestEnv.btfgen, ["embed", "--pack", r.pack, "-o", dir + "/gen", "--prefix", "kbtf"])
            #expect(made.status == 0, "\(made.stderr)")
            // Deterministic.
            let again = try runProcess(TestEnv.btfgen, ["embed", "--pack", r.pack, "-o", dir + "/gen2", "--prefix", "kbtf"])
            #expect(again.status == 0)
            #expect(try readBytes(dir + "/gen/kbtf.c") == readBytes(dir + "/gen2/kbtf.c"))
            try writeBytes(Array(Self.findProgram.utf8), to: dir + "/find.c")
            let cc = try runProcess(TestEnv.tool("gcc")!, ["-Wall", "-Wextra", "-Werror", "-std=c11", "-I", dir + "/gen",
                                                           dir + "/find.c", dir + "/gen/kbtf.c", "-o", dir + "/find"])
            #expect(cc.status == 0, "\(cc.stderr)")
            for p in Self.placed {
                let found = try runProcess(dir + "/find", ["debian", p.versionID, p.archDirectory, p.release, dir + "/found.btf"])
                #expect(found.status == 0, "\(p.path): \(found)")
                #expect(try readBytes(dir + "/found.btf") == readBytes(r.out + "/" + p.path), "\(p.path)")
            }
            let amd = try #require(Self.placed.first { $0.machine == "x86_64" && $0.versionID == "12" })
            // The fallbacks, as select applies them.
            let other = try runProcess(dir + "/find", ["ubuntu", "24.04", "x86_64", amd.release, dir + "/other.btf"])
            #expect(other.status == 0)
            #expect(try readBytes(dir + "/other.btf") == readBytes(r.out + "/" + amd.path))
            let missing = try runProcess(dir + "/find", ["debian", "12", "riscv64", amd.release, dir + "/x.btf"])
            #expect(missing.status == 2 && missing.stdout.contains("-2"), "\(missing)")
            // custom_path: 1 here (the kernel has its own BTF) unless told otherwise; then the
            // file select picks, private to the caller.
            if FileManager.default.isReadableFile(atPath: TestEnv.runningKernelBTF) {
                let own = try runProcess(dir + "/find", [])
                #expect(own.status == 0 && own.stdout == "1 \n", "\(own)")
            }
            try writeBytes(Array("ID=debian\nVERSION_ID=\"12\"\n".utf8), to: dir + "/os-release")
            let custom = try runProcess("/usr/bin/env", ["BTFGEN_IGNORE_KERNEL_BTF=1", "BTFGEN_OS_RELEASE=" + dir + "/os-release",
                                                         "BTFGEN_KERNEL_RELEASE=" + amd.release, "BTFGEN_MACHINE=x86_64",
                                                         "TMPDIR=" + dir, dir + "/find"])
            #expect(custom.status == 0 && custom.stdout.hasPrefix("0 " + dir + "/kbtf-"), "\(custom)")
            let path = String(custom.stdout.dropFirst(2).dropLast())
            #expect(try readBytes(path) == readBytes(r.out + "/" + amd.path))
            let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
            #expect(mode == 0o600)
        }
    }

    /// The whole path on this machine: its own kernel's trimmed BTF in a pack under a made-up
    /// os-release, embedded, chosen by `custom_path` through the overrides, and given to libbpf
    /// as `btf_custom_path` to load a fixture program.
    @Test("embed: a program loads with the BTF custom_path gives libbpf",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled)"),
          .enabled(if: TestEnv.tool("gcc") != nil, "gcc not found"),
          .enabled(if: FileManager.default.isReadableFile(atPath: TestEnv.runningKernelBTF), "the kernel has no /sys/kernel/btf/vmlinux"))
    func embedLoads() throws {
        try withTempDir { dir in
            var u = utsname()
            uname(&u)
            let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let r = try Self.run(in: dir, extra: [(path: "testos/1.0/\(machine)/\(release).btf", kernel: TestEnv.runningKernelBTF)])
            #expect(try runProcess(TestEnv.btfgen, ["embed", "--pack", r.pack, "-o", dir + "/gen"]).status == 0)
            let fixture = try #require(Fixture.loadable.first { $0.file == "core_fields.bpf.o" } ?? Fixture.loadable.first)
            try writeBytes(Array(Self.loadProgram.utf8), to: dir + "/load.c")
            // libbpf's header is not held to -Werror; the generated file is, in embedFinds.
            let cc = try runProcess(TestEnv.tool("gcc")!, ["-std=c11", "-I", dir + "/gen",
                                                           dir + "/load.c", dir + "/gen/btfgen_btfs.c", "-o", dir + "/load", "-lbpf"])
            #expect(cc.status == 0, "\(cc.stderr)")
            try writeBytes(Array("ID=testos\nVERSION_ID=1.0\n".utf8), to: dir + "/os-release")
            let run = try runProcess("/usr/bin/env", ["BTFGEN_IGNORE_KERNEL_BTF=1", "BTFGEN_OS_RELEASE=" + dir + "/os-release",
                                                      "TMPDIR=" + dir, dir + "/load", fixture.path])
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout.contains("custom_path 0 " + dir + "/btfgen_btfs-") && run.stdout.contains("load 0"), "\(run.stdout)")
            // The file it used is this kernel's trimmed BTF.
            let used = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("custom_path") }).split(separator: " ").last.map(String.init) ?? ""
            #expect(try readBytes(used) == readBytes(r.out + "/testos/1.0/\(machine)/\(release).btf"))
        }
    }

    /// find ID VERSION_ID MACHINE RELEASE OUT: `kbtf_find`, the bytes written to OUT; with no
    /// arguments, `kbtf_custom_path`'s result and path.
    static let findProgram = """
        #include "kbtf.h"
        #include <stdio.h>

        int main(int argc, char **argv)
        {
        \tchar path[4096];
        \tconst void *data;
        \tsize_t size;
        \tint r;
        \tFILE *f;

        \tif (argc == 1) {
        \t\tr = kbtf_custom_path(path, sizeof(path));
        \t\tprintf("%d %s\\n", r, path);
        \t\treturn r < 0;
        \t}
        \tif (argc != 6)
        \t\treturn 64;
        \tr = kbtf_find(argv[1], argv[2], argv[3], argv[4], &data, &size);
        \tif (r) {
        \t\tprintf("%d\\n", r);
        \t\treturn 2;
        \t}
        \tf = fopen(argv[5], "wb");
        \tif (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        \t\treturn 3;
        \treturn 0;
        }

        """

    /// load OBJ: opens OBJ with btf_custom_path from `btfgen_btfs_custom_path` and loads it.
    static let loadProgram = """
        #include "btfgen_btfs.h"
        #include <bpf/libbpf.h>
        #include <stdio.h>

        int main(int argc, char **argv)
        {
        \tchar path[4096];
        \tstruct bpf_object *obj;
        \tint r;

        \tif (argc != 2)
        \t\treturn 64;
        \tr = btfgen_btfs_custom_path(path, sizeof(path));
        \tprintf("custom_path %d %s\\n", r, path);
        \tif (r != 0)
        \t\treturn 2;
        \tLIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = path);
        \tobj = bpf_object__open_file(argv[1], &opts);
        \tif (!obj)
        \t\treturn 3;
        \tr = bpf_object__load(obj);
        \tprintf("load %d\\n", r);
        \tbpf_object__close(obj);
        \treturn r != 0;
        }

        """
}

/// The index's SHA-256 against Python's hashlib, over every length around the block and
/// padding boundaries and one long input.
@Test("sha256Hex equals hashlib's")
func sha256MatchesHashlib() throws {
    let lengths = Array(0...200) + [1000, 4095, 4096, 4097, 100_000]
    let inputs = lengths.map { n in (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n) } }
    let script = """
        import hashlib, sys
        for n in map(int, sys.argv[1:]):
            print(hashlib.sha256(bytes((i * 31 + n) % 256 for i in range(n))).hexdigest())
        """
    let py = try runProcess("/usr/bin/env", ["python3", "-c", script] + lengths.map(String.init))
    #expect(py.status == 0, "\(py.stderr)")
    #expect(py.stdoutLines == inputs.map(sha256Hex))
}
