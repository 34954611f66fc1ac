import BPFObject
import BTF
import KernelInput

/// One output of a pack, as its index `btfgen-index.json` lists it: where it is, which member
/// holds its bytes, and what its path says of the machines it is for.
public struct PackEntry: Sendable, Equatable {
    /// The output's path, as under `--output`.
    public var path: String
    /// The member that stores its bytes: `path` itself, or the earlier output with the same
    /// bytes (the pack holds this one as a hard link to it).
    public var member: String
    public var sha256: String
    public var bytes: Int
    /// `ID`, `VERSION_ID` (os-release), `uname -m` and `uname -r` of the machines it is for, as
    /// its path says (btfhub's `ID/VERSION_ID/ARCH/RELEASE.btf`); nil where the path says nothing.
    public var id: String?
    public var versionID: String?
    public var arch: String?
    public var release: String?

    /// An entry whose machine fields are what its path says (`machineFields(ofOutput:)`).
    public init(path: String, member: String, sha256: String, bytes: Int) {
        self.init(path: path, member: member, sha256: sha256, bytes: bytes, machine: machineFields(ofOutput: path))
    }

    init(path: String, member: String, sha256: String, bytes: Int,
         machine: (id: String?, versionID: String?, arch: String?, release: String?)) {
        self.path = path
        self.member = member
        self.sha256 = sha256
        self.bytes = bytes
        (id, versionID, arch, release) = machine
    }
}

/// A pack's index (`btfgen-index/1`, docs/index-schema.md).
public struct PackIndex: Sendable, Equatable {
    public static let schemaID = "btfgen-index/1"
    /// The index's member name in a pack.
    public static let memberName = "btfgen-index.json"

    public var schema = PackIndex.schemaID
    /// Every output, in path order.
    public var entries: [PackEntry]

    public init(entries: [PackEntry]) { self.entries = entries }

    /// Deterministic JSON: keys in schema order, one entry per line.
    public var json: [UInt8] {
        var out = JSONText()
        out.raw("{\n  \"schema\": ")
        out.string(schema)
        out.raw(",\n  \"entries\": [")
        for (i, e) in entries.enumerated() {
            out.raw(i == 0 ? "\n    " : ",\n    ")
            JSONValue.inline(.object([
                ("path", .string(e.path)), ("member", .string(e.member)), ("sha256", .string(e.sha256)),
                ("bytes", .int(e.bytes)), ("id", e.id.json), ("version_id", e.versionID.json),
                ("arch", e.arch.json), ("release", e.release.json),
            ])).write(to: &out, indent: "    ")
        }
        out.raw(entries.isEmpty ? "]\n}\n" : "\n  ]\n}\n")
        return out.bytes
    }

    /// Reads an index as `json` writes it (unknown keys are ignored, as readers of a versioned
    /// schema should).
    public init(json bytes: [UInt8], path: String) throws(FormatError) {
        func bad(_ why: String) -> FormatError { FormatError(file: path, PackIndex.memberName, "not a pack index: \(why)") }
        let value: JSONValue
        do throws(JSONParseError) {
            value = try JSONValue.parse(bytes)
        } catch {
            throw bad(error.description)
        }
        guard case .string(let schema)? = value["schema"] else { throw bad("no \"schema\" string") }
        guard schema == PackIndex.schemaID else {
            throw FormatError(file: path, PackIndex.memberName, "schema \(schema), expected \(PackIndex.schemaID)")
        }
        guard case .array(let items)? = value["entries"] else { throw bad("no \"entries\" list") }
        var entries: [PackEntry] = []
        entries.reserveCapacity(items.count)
        for (n, item) in items.enumerated() {
            func text(_ key: String) throws(FormatError) -> String {
                guard case .string(let s)? = item[key] else { throw bad("entry \(n): no \"\(key)\" string") }
                return s
            }
            func optionalText(_ key: String) throws(FormatError) -> String? {
                switch item[key] {
                case nil, .null?: return nil
                case .string(let s)?: return s
                default: throw bad("entry \(n): \"\(key)\" is neither a string nor null")
                }
            }
            guard case .int(let size)? = item["bytes"], size >= 0 else { throw bad("entry \(n): no \"bytes\" count") }
            entries.append(PackEntry(path: try text("path"), member: try text("member"), sha256: try text("sha256"), bytes: size,
                                     machine: (try optionalText("id"), try optionalText("version_id"),
                                               try optionalText("arch"), try optionalText("release"))))
        }
        self.schema = schema
        self.entries = entries
    }
}

/// What an output's path says of the machines it is for: btfhub's layout
/// `ID/VERSION_ID/ARCH/RELEASE.btf` gives all four (the architecture as `uname -m` spells it);
/// elsewhere the release is the file name without `.btf`, and the architecture a directory
/// that names one, if any.
public func machineFields(ofOutput path: String) -> (id: String?, versionID: String?, arch: String?, release: String?) {
    let parts = path.split(separator: "/").map(String.init)
    guard var name = parts.last else { return (nil, nil, nil, nil) }
    for suffix in [".btf.tar.xz", ".btf"] where name.hasSuffix(suffix) {
        name.removeLast(suffix.count)
        break
    }
    let release: String? = name.isEmpty ? nil : name
    if parts.count >= 4, let arch = unameMachine(parts[parts.count - 2]) {
        return (parts[parts.count - 4], parts[parts.count - 3], arch, release)
    }
    let arch = parts.dropLast().reversed().lazy.compactMap(unameMachine).first
    return (nil, nil, arch, release)
}

/// SHA-256 of `bytes`, in lowercase hex.
public func sha256Hex(_ bytes: [UInt8]) -> String {
    let hex: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for b in SHA256Digest.hash(bytes) {
        out.append(hex[Int(b >> 4)])
        out.append(hex[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// The index of `files` (outputs, sorted by name, as `RunReport.writtenOutputs` gives them):
/// each later output with an earlier one's bytes is stored as that one.
public func packIndex(_ files: [(name: String, data: [UInt8])]) -> PackIndex {
    var firstWith: [Contents: (name: String, sha: String)] = [:]
    return PackIndex(entries: files.map { f in
        if let first = firstWith[Contents(f.data)] {
            return PackEntry(path: f.name, member: first.name, sha256: first.sha, bytes: f.data.count)
        }
        let sha = sha256Hex(f.data)
        firstWith[Contents(f.data)] = (f.name, sha)
        return PackEntry(path: f.name, member: f.name, sha256: sha, bytes: f.data.count)
    })
}

/// The pack of `files` (sorted by name): `btfgen-index.json` first, then every output, each
/// distinct one stored once and the others as hard links to it, as one deterministic `.tar.xz`.
/// `dedup: false` stores every output whole (what the report's `packed_bytes_without_dedup`
/// measures).
public func makePack(_ files: [(name: String, data: [UInt8])], dedup: Bool = true) throws(FormatError) -> [UInt8] {
    let index = packIndex(files)
    return try makeTarXZ([(PackIndex.memberName, index.json)] + files, hardLinkDuplicates: dedup)
}

/// A pack read back: its index, and the stored bytes of each member.
public struct Pack: Sendable {
    public var index: PackIndex
    /// Stored members by name (hard links are not repeated here: an entry's `member` names the
    /// stored one).
    public var members: [String: [UInt8]]

    /// The bytes of `entry`, checked against its sha256.
    public func bytes(of entry: PackEntry, path: String) throws(FormatError) -> [UInt8] {
        guard let data = members[entry.member] else {
            throw FormatError(file: path, "member \(entry.member)", "listed in the index but not in the pack")
        }
        guard data.count == entry.bytes, sha256Hex(data) == entry.sha256 else {
            throw FormatError(file: path, "member \(entry.member)", "bytes differ from the index's sha256")
        }
        return data
    }

    /// Reads the pack at `path` (a `.tar.xz` written by `--pack`).
    public init(path: String) throws(FormatError) {
        let bytes = try readFile(path)
        var index: PackIndex?
        var members: [String: [UInt8]] = [:]
        for m in try readTarMembers(bytes, path: path) where m.linkTo == nil {
            if m.name == PackIndex.memberName {
                index = try PackIndex(json: m.data, path: path)
            } else {
                members[m.name] = m.data
            }
        }
        guard let index else { throw FormatError(file: path, "", "no \(PackIndex.memberName) member: not a btfgen pack") }
        self.index = index
        self.members = members
    }

    /// The outputs of a directory written by `btfgen -o DIR` as a pack would index them (every
    /// `*.btf` file under it).
    public init(directory: String) throws(FormatError) {
        var files: [(name: String, data: [UInt8])] = []
        for rel in try walkFiles(directory) where rel.hasSuffix(".btf") {
            files.append((rel, try readFile(joinPath(directory, rel))))
        }
        files.sort { $0.name < $1.name }
        index = packIndex(files)
        members = Dictionary(files.map { ($0.name, $0.data) }, uniquingKeysWith: { a, _ in a })
    }
}
