import Foundation

import BTF

/// Where the sections and types of a raw BTF blob are, read straight from its header with no
/// help from the parser (not `BTF.BTFLayout`, which is the parser's own reading): tests that
/// patch bytes or compare sections must not find their places through the code they check.
public struct RawBTFLayout {
    public var order: ByteOrder
    public var headerLength: Int
    public var typeStart: Int
    public var typeLength: Int
    public var stringStart: Int
    public var stringLength: Int
    /// Byte offset of each type's header, when made with the parsed BTF; index 0 (void) is unused.
    public var typeOffsets: [Int] = []

    /// One past the last byte of the type section.
    public var typeEnd: Int { typeStart + typeLength }

    /// The header of `bytes`, its byte order from the magic.
    public init(_ bytes: [UInt8]) throws {
        guard bytes.count >= 24 else { throw TestFailure("BTF shorter than its header") }
        if bytes[0] == 0x9f && bytes[1] == 0xeb { order = .little } else if bytes[0] == 0xeb && bytes[1] == 0x9f { order = .big } else {
            throw TestFailure("not raw BTF")
        }
        (headerLength, typeStart, typeLength, stringStart, stringLength) = Self.header(bytes, order)
    }

    /// The header of `bytes` and the offset of each type, which `btf` (parsed from `bytes`)
    /// gives the sizes of.
    public init(_ bytes: [UInt8], _ btf: BTF) {
        order = btf.order
        (headerLength, typeStart, typeLength, stringStart, stringLength) = Self.header(bytes, order)
        var offsets = [0]
        var pos = typeStart
        for i in 1..<btf.typeCount {
            offsets.append(pos)
            pos += 12 + 4 * btf.extraWordCount(btf.records[i])
        }
        typeOffsets = offsets
    }

    private static func header(_ bytes: [UInt8], _ order: ByteOrder) -> (Int, Int, Int, Int, Int) {
        func u32(_ off: Int) -> Int { Int(bytes.get32(at: off, order: order)) }
        let headerLength = u32(4)
        return (headerLength, headerLength + u32(8), u32(12), headerLength + u32(16), u32(20))
    }

    public func typeSection(_ bytes: [UInt8]) -> ArraySlice<UInt8> { bytes[typeStart..<typeEnd] }
    public func stringSection(_ bytes: [UInt8]) -> ArraySlice<UInt8> { bytes[stringStart..<(stringStart + stringLength)] }
}

extension Array where Element == UInt8 {
    /// Stores `value` at `offset` in `order`.
    public mutating func put32(_ value: UInt32, at offset: Int, order: ByteOrder) {
        let v = order == .little ? value : value.byteSwapped
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }

    public func get32(at offset: Int, order: ByteOrder) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(self[offset + i]) << (8 * UInt32(i)) }
        return order == .little ? v : v.byteSwapped
    }

    /// Replaces every occurrence of `old` with `new` (same length); returns how many there were.
    @discardableResult
    public mutating func replaceAll(_ old: [UInt8], with new: [UInt8]) -> Int {
        precondition(old.count == new.count && !old.isEmpty)
        var n = 0
        var i = 0
        while i + old.count <= count {
            if self[i..<(i + old.count)].elementsEqual(old) {
                replaceSubrange(i..<(i + old.count), with: new)
                n += 1
                i += old.count
            } else {
                i += 1
            }
        }
        return n
    }
}

/// Runs `scripts/make-kernel-variants.py ARGS KERNEL OUT` and returns OUT's bytes: the test
/// kernel named `kernel` rewritten in the 2026 format (32-byte header, layout section). Throws
/// when python3 is missing.
public func kernelVariant(_ kernel: String, _ arguments: [String] = []) throws -> [UInt8] {
    guard let python = TestEnv.tool("python3") else { throw TestFailure("python3 is not installed") }
    return try withTempDir { dir in
        let out = dir + "/variant.btf"
        let r = try runProcess(python, [TestEnv.packageRoot + "/scripts/make-kernel-variants.py"] + arguments
                                        + [TestEnv.kernelPath(kernel), out])
        guard r.status == 0 else { throw TestFailure("make-kernel-variants.py failed: \(r.stderr)") }
        return try readBytes(out)
    }
}
