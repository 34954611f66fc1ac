import Foundation

/// Validates the JSON file at `path` against `docs/report-schema.json` with python3's
/// `jsonschema` (Draft 2020-12); returns the validation errors, one per line.
public func schemaErrors(_ path: String) throws -> [String] {
    let script = """
        import json, sys
        try:
            import jsonschema
        except ImportError:
            print("python3 module jsonschema is missing (apt-get install python3-jsonschema)", file=sys.stderr)
            sys.exit(2)
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        v = jsonschema.Draft202012Validator(schema)
        for e in sorted(v.iter_errors(json.load(open(sys.argv[2]))), key=lambda e: list(e.path)):
            print("/".join(str(p) for p in e.absolute_path) + ": " + e.message)
        """
    let out = try python(script, [TestEnv.schemaPath, path])
    guard out.status == 0 else { throw TestFailure("schema check failed to run: \(out.stderr)") }
    return out.stdout.split(separator: "\n").map(String.init)
}

/// bpftool's view of a BTF file: its types (`[N] KIND ...` lines, void excluded) and the
/// members of its structs and unions (the sum of their `vlen=`).
public struct BpftoolCounts: Equatable {
    public var types: Int
    public var members: Int

    public init(types: Int, members: Int) {
        self.types = types
        self.members = members
    }
}

public func bpftoolCounts(_ path: String) throws -> BpftoolCounts {
    guard let bpftool = TestEnv.bpftool else { throw TestFailure("bpftool not found") }
    let out = try runProcess(bpftool, ["btf", "dump", "file", path, "format", "raw"], timeout: 600)
    guard out.status == 0 else { throw TestFailure("bpftool btf dump \(path): \(out.stderr)") }
    var counts = BpftoolCounts(types: 0, members: 0)
    for line in out.stdout.split(separator: "\n") where line.hasPrefix("[") {
        counts.types += 1
        let fields = line.split(separator: " ")
        guard fields.count > 1, fields[1] == "STRUCT" || fields[1] == "UNION" else { continue }
        if let v = fields.first(where: { $0.hasPrefix("vlen=") }), let n = Int(v.dropFirst(5)) { counts.members += n }
    }
    return counts
}

/// A report kernel's object pairs (`kernels[].objects`, columns in the report's `objects`
/// order) as one dictionary per object: `object` and each column's entry, and with
/// `--report-detail full` the object's entries of the kernel's `problems`.
public func reportPairs(_ report: [String: Any], _ kernel: [String: Any]) -> [[String: Any]] {
    let names = report["objects"] as? [String] ?? []
    let columns = kernel["objects"] as? [String: [Any]] ?? [:]
    let problems = kernel["problems"] as? [[String: Any]]
    guard let n = columns["total"]?.count, n > 0 else { return [] }
    return (0..<n).map { i in
        var pair: [String: Any] = ["object": i < names.count ? names[i] : ""]
        for (key, column) in columns where i < column.count { pair[key] = column[i] }
        if let problems {
            pair["problems"] = problems.filter { $0["object"] as? String == pair["object"] as? String }
        }
        return pair
    }
}
