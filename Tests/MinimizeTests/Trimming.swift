import Foundation

import BPFObject
import KernelInput
import BTF
import CORE
import Minimize
import Pipeline
import Report

/// Trims `kernel` for `objects` with the library: Minimize's `trim(kernel:objects:)` with the
/// objects prepared as a run prepares them (`TrimObjects`), what the CLI's run calls; the bpftool
/// tests check that the CLI writes exactly these bytes.
func trimWithLibrary(_ kernel: BTF, _ objects: [BPFObject]) -> BTF {
    trim(kernel: kernel, objects: objects).btf
}
