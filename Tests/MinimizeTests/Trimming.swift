import Foundation

import BPFObject
import BTF
import CORE
import Minimize
import Pipeline

/// Trims `kernel` for `objects` with the library: `Pipeline.trim(kernel:objects:)`, which the
/// CLI runs; the bpftool tests check that the CLI writes exactly these bytes.
func trimWithLibrary(_ kernel: BTF, _ objects: [BPFObject]) -> BTF {
    trim(kernel: kernel, objects: objects).btf
}
