/// An error in the bytes of an input file, with the place it was found.
///
/// Its text reads like libbpf's: `prog.bpf.o: .BTF.ext+0x1c4: relo #12: type [57] out of range`.
public struct FormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file the bytes came from, when known.
    public var file: String?
    /// Where in the file: a section and offset (`.BTF+0x18`), a type id (`type [57]`), or both.
    public var location: String
    public var message: String

    public init(file: String? = nil, _ location: String, _ message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    /// The same error, attributed to `file` unless it already names one.
    public func `in`(file: String) -> FormatError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }

    /// The same error with `prefix` (a section name, say) put before its location.
    public func prefixed(_ prefix: String) -> FormatError {
        var copy = self
        copy.location = copy.location.isEmpty ? prefix : "\(prefix): \(copy.location)"
        return copy
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if !location.isEmpty { parts.append(location) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

/// Formats a byte offset the way error messages show it: `0x1c4`.
@inlinable
public func hex(_ value: Int) -> String { "0x" + String(value, radix: 16) }
