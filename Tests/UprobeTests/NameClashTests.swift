import Foundation
import Testing

import BTF
import CORE
import TestSupport

/// A BTF of named types only, each `(kind, name)`: structs and unions without members, enums with
/// one enumerator, an `int` first for the enums' sake.
private func makeTypes(_ types: [(Kind, String)]) -> BTF {
    var s = StringTableBuilder()
    var btf = BTF()
    btf.append(kind: .int, name: s.add("int"), vlen: 0, kflag: false, sizeOrType: 4, extra: [UInt32(1) << 24 | 32])
    for (kind, name) in types {
        switch kind {
        case .struct, .union:
            btf.append(kind: kind, name: s.add(name), vlen: 0, kflag: false, sizeOrType: 0, extra: [])
        case .enum:
            btf.append(kind: kind, name: s.add(name), vlen: 1, kflag: false, sizeOrType: 4, extra: [s.add("V_" + name).rawValue, 1])
        case .enum64:
            btf.append(kind: kind, name: s.add(name), vlen: 1, kflag: false, sizeOrType: 8, extra: [s.add("V_" + name).rawValue, 1, 0])
        default:
            preconditionFailure("not a test type: \(kind)")
        }
    }
    btf.setStrings(s.bytes)
    return btf
}

private let kernel = makeTypes([(.struct, "task"), (.struct, "foo___a___k"), (.enum, "color"), (.struct, "a")])
private let app1 = makeTypes([
    (.struct, "task"),          // the kernel's
    (.struct, "task___a___b"),  // essential name task___a: not the kernel's task
    (.struct, "foo___a___b"),   // essential name foo___a, as the kernel's foo___a___k
    (.union, "task"),           // a union is no candidate for a struct
    (.enum64, "color"),         // enum and enum64 are
    (.struct, "a____b"),        // four underscores are no flavor separator
    (.struct, "data"),
])
private let app2 = makeTypes([(.struct, "task"), (.union, "task"), (.struct, "other")])
private let app3 = makeTypes([(.struct, "other___v2"), (.struct, "task___x")])

/// `btfgen merge`'s name clash notes: libbpf's candidate rules, between the kernel and each
/// application and between applications.
@Suite struct NameClashTests {
    @Test func followLibbpfsCandidateSearch() {
        let clashes = mergeNameClashes(base: kernel, applications: [app1, app2, app3])
        #expect(clashes.count == 3)
        #expect(clashes[0] == [
            NameClash(type: "enum64 color", kernel: true, applications: []),
            NameClash(type: "struct foo___a___b", kernel: true, applications: []),
            NameClash(type: "struct task", kernel: true, applications: []),
        ])
        #expect(clashes[1] == [
            NameClash(type: "struct task", kernel: true, applications: [0]),
            NameClash(type: "union task", kernel: false, applications: [0]),
        ])
        #expect(clashes[2] == [
            NameClash(type: "struct other___v2", kernel: false, applications: [1]),
            NameClash(type: "struct task___x", kernel: true, applications: [0, 1]),
        ])
    }

    /// The CLI: notes for clashes with the kernel and with earlier applications, 10 per
    /// application unless `-v`, and an output directory that does not exist yet.
    @Test func mergePrintsTheNotesAndCreatesTheOutputDirectory() throws {
        try withTempDir { dir in
            let base = dir + "/vmlinux.btf", a1 = dir + "/app1.btf", a2 = dir + "/app2.btf"
            try writeBytes(kernel.serialized(), to: base)
            // app2 first on the command line: app1's notes name it.
            try writeBytes(makeTypes([(.struct, "data"), (.struct, "task")]).serialized(), to: a2)
            try writeBytes(makeTypes([(.struct, "data"), (.enum, "color___v1")]).serialized(), to: a1)
            let output = dir + "/merged/app-v2/m.btf"
            let out = try runProcess(TestEnv.btfgen, ["merge", "--base", base, a2, a1, "--output", output])
            #expect(out.status == 0, "\(out)")
            #expect(try BTF(parsing: try readBytes(output)).typeCount == kernel.typeCount + 3 + 3)
            let notes = out.stderr.split(separator: "\n").map(String.init)
            #expect(notes == [
                "btfgen: note: \(a2): struct task is also a kernel type; CO-RE relocations on it will see candidates from both",
                "btfgen: note: \(a1): enum color___v1 is also a kernel type; CO-RE relocations on it will see candidates from both",
                "btfgen: note: \(a1): struct data is also a type of \(a2); CO-RE relocations on it will see candidates from both",
            ], "\(out)")

            // Twelve clashes with both the kernel and an earlier application: ten, then a count.
            let names = (0..<12).map { "s\($0)" }
            let many = dir + "/many.btf", again = dir + "/again.btf"
            try writeBytes(makeTypes(names.map { (.struct, $0) }).serialized(), to: many)
            try writeBytes(makeTypes(names.map { (.struct, $0 + "___v2") }).serialized(), to: again)
            let manyBase = dir + "/many-base.btf"
            try writeBytes(makeTypes(names.map { (.struct, $0) }).serialized(), to: manyBase)
            let short = try runProcess(TestEnv.btfgen, ["merge", "--base", manyBase, many, again, "-o", dir + "/many-out.btf"])
            #expect(short.status == 0, "\(short)")
            #expect(short.stderr.contains("btfgen: note: \(many): 2 more types share a name with a kernel type (-v lists them)"), "\(short)")
            let againNotes = short.stderr.split(separator: "\n").map(String.init).filter { $0.contains(": \(again):") }
            #expect(againNotes.count == 11, "\(short)")
            #expect(againNotes.first == "btfgen: note: \(again): struct s0___v2 is also a kernel type and a type of \(many); "
                + "CO-RE relocations on it will see candidates from all of them")
            #expect(againNotes.last == "btfgen: note: \(again): 2 more types share a name with a kernel type or an earlier application's type (-v lists them)")
            let full = try runProcess(TestEnv.btfgen, ["merge", "--base", manyBase, many, again, "-o", dir + "/many-out.btf", "-v"])
            #expect(full.stderr.split(separator: "\n").filter { $0.contains(": \(again): struct ") }.count == 12, "\(full)")
            #expect(!full.stderr.contains("more types"))
        }
    }
}
