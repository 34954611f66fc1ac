/// The byte order of a BTF blob or an ELF file, taken from its magic or `EI_DATA`.
public enum ByteOrder: Sendable, Equatable, CustomStringConvertible {
    case little
    case big

    /// The byte order of the machine running btfgen.
    public static var host: ByteOrder { UInt16(1).littleEndian == 1 ? .little : .big }

    public var description: String { self == .little ? "little" : "big" }
}

/// Bounds-checked, byte-order-aware loads from a buffer.
///
/// Every load checks `size <= count && offset <= count - size` first: an out-of-bounds raw load
/// in a release build would return garbage silently.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public let order: ByteOrder

    public init(_ bytes: UnsafeRawBufferPointer, order: ByteOrder) {
        self.bytes = bytes
        self.order = order
    }

    public var count: Int { bytes.count }

    /// Whether `size` bytes at `offset` lie inside the buffer.
    @inlinable
    public func contains(_ offset: Int, _ size: Int) -> Bool {
        offset >= 0 && size >= 0 && size <= bytes.count && offset <= bytes.count - size
    }

    @inlinable
    public func u8(_ offset: Int) -> UInt8? {
        contains(offset, 1) ? bytes[offset] : nil
    }

    @inlinable
    public func u16(_ offset: Int) -> UInt16? {
        guard contains(offset, 2) else { return nil }
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return order == .little ? UInt16(littleEndian: v) : UInt16(bigEndian: v)
    }

    @inlinable
    public func u32(_ offset: Int) -> UInt32? {
        guard contains(offset, 4) else { return nil }
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return order == .little ? UInt32(littleEndian: v) : UInt32(bigEndian: v)
    }

    @inlinable
    public func u64(_ offset: Int) -> UInt64? {
        guard contains(offset, 8) else { return nil }
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        return order == .little ? UInt64(littleEndian: v) : UInt64(bigEndian: v)
    }

    /// A load the caller has already bounds-checked (a whole record at once).
    @inlinable
    public func u32Unchecked(_ offset: Int) -> UInt32 {
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return order == .little ? UInt32(littleEndian: v) : UInt32(bigEndian: v)
    }
}

/// Appends integers in a chosen byte order.
public struct ByteWriter {
    public var bytes: [UInt8] = []
    public let order: ByteOrder

    public init(order: ByteOrder, capacity: Int = 0) {
        self.order = order
        bytes.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    @inlinable
    public mutating func u16(_ v: UInt16) {
        let e = order == .little ? v.littleEndian : v.bigEndian
        withUnsafeBytes(of: e) { bytes.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func u32(_ v: UInt32) {
        let e = order == .little ? v.littleEndian : v.bigEndian
        withUnsafeBytes(of: e) { bytes.append(contentsOf: $0) }
    }

    public mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    public mutating func append(_ raw: ArraySlice<UInt8>) { bytes.append(contentsOf: raw) }
}

/// Runs `body` over the bytes of `bytes`, keeping `body`'s typed error (the standard library's
/// `withUnsafeBytes` only rethrows untyped errors).
public func withBytes<C: ContiguousBytes, T>(_ bytes: C, _ body: (UnsafeRawBufferPointer) throws(FormatError) -> T) throws(FormatError) -> T {
    let result: Result<T, FormatError> = bytes.withUnsafeBytes { buf in
        do throws(FormatError) { return .success(try body(buf)) } catch { return .failure(error) }
    }
    return try result.get()
}

public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}
extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
