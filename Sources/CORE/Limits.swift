import BTF

/// The limits of CO-RE matching, in one place: libbpf's own (each named after its constant), and
/// the step budgets btfgen adds where libbpf has none.
public enum CORELimits {
    /// The deepest access string libbpf accepts (`BPF_CORE_SPEC_MAX_LEN`).
    public static let specLength = 64

    /// The deepest modifier/typedef/array chain followed, as libbpf's `MAX_RESOLVE_DEPTH`: the
    /// depth to which the BTF stage validates chains (`BTFLimits.maxChainDepth`).
    public static let resolveDepth = BTFLimits.maxChainDepth

    /// How many modifiers and typedefs one step of a compatibility or match check skips before
    /// it gives up (libbpf's `depth = 32` in `__bpf_core_types_are_compat` and
    /// `__bpf_core_types_match`).
    public static let compatChainDepth = 32

    /// How deep compatibility checks recurse through func_proto parameters and members (libbpf's
    /// `level`, 32 from `bpf_core_types_are_compat` and `bpf_core_types_match`).
    public static let compatLevel = 32

    /// The comparison steps one question may take against one candidate (type and member
    /// comparisons, member and parameter visits). `type_matches` of each of a 6.12 kernel's
    /// structs against itself takes at most 130k; the cap is 16 times that.
    public static let matchSteps = 1 << 21

    /// The comparison steps all questions of one object may take against one target. Each
    /// (question, candidate) pair is compared once per target, so real programs stay far below
    /// it: 35,000 relocations against a non-deduplicated kernel with 476 candidates per name take
    /// about 10^8. It bounds crafted type graphs, where libbpf would spin.
    public static let objectMatchSteps = 1 << 31
}
