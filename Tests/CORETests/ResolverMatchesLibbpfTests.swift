import Testing

import BPFObject
import KernelInput
import BTF
import CORE
import TestSupport

/// Our resolver against the full kernel BTF gives, relocation by relocation, what libbpf 1.1
/// computes: the patched value, poisoning, or an error.
@Suite("Resolver matches libbpf")
struct ResolverMatchesLibbpfTests {
    @Test("the test kernels are there")
    func testKernelsArePresent() {
        #expect(!TestKernel.testKernels.isEmpty,
                "no *.btf in \(TestEnv.kernelsDir): run scripts/testdata-kernels.sh .build/testdata/kernels (or make testdata)")
        #expect(!Fixture.littleEndian.isEmpty, "no fixture objects in testdata/bpf")
    }

    @Test("the fixtures use every relocation kind", arguments: RelocationKind.allCases)
    func fixturesCoverKind(_ kind: RelocationKind) throws {
        let used = try Fixture.littleEndian.contains { try Inputs.object($0).relocations.contains { $0.kind == kind } }
        #expect(used, "no fixture object has a <\(kind)> relocation")
    }

    /// Matches the judge's lines to our records and compares outcomes.
    ///
    /// The judge names a relocation by libbpf program name and libbpf's relo index, which counts
    /// within the ELF section (several programs can share one section). Our records carry the
    /// section name and that same index. The object's symbol table maps a program name to its
    /// section (and start instruction), which gives an exact key, (section, index). To make sure
    /// the mapping is right, each matched pair must also agree on the instruction (the judge
    /// prints it relative to the program start), the relocation kind and libbpf's formatted
    /// local spec.
    @Test("resolutions equal libbpf's outcomes",
          .enabled(if: TestEnv.bpfWorks, "bpf() does not work here (needs root and BPF enabled): libbpf, the oracle, relocates only while loading"),
          arguments: TestKernel.all, Fixture.littleEndian)
    func resolutionsMatchLibbpf(kernel: TestKernel, fixture: Fixture) throws {
        let stopped = try expectResolutionsMatchLibbpf(fixture.path, name: fixture.description, kernel: kernel)
        if fixture.isLoadable {
            #expect(stopped == false, "\(kernel) \(fixture): libbpf failed a relocation of an object that should load")
        }
    }
}

/// Resolves an object against a kernel and compares every outcome with libbpf's, through the
/// judge. Returns whether libbpf stopped at an error (then only what it printed is compared),
/// or nil when libbpf did not get as far as relocating (said on stdout: a skip, not a pass).
@discardableResult
func expectResolutionsMatchLibbpf(_ objectPath: String, name: String, kernel: TestKernel,
                                  sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool? {
        let fixture = name
        let target = try Inputs.btf(kernel)
        let object = try Inputs.object(path: objectPath)
        let elf = try ELFFile(path: objectPath)
        let symbols = try programSymbols(elf)
        let index = CandidateIndex(target: target, wanted: Resolver.wantedNames(local: object.btf, records: object.relocations))
        let resolutions = Resolver.resolve(local: object.btf, records: object.relocations, target: target, index: index)

        struct Key: Hashable { var section: String, index: Int }
        var ours: [Key: Resolution] = [:]
        for r in resolutions { ours[Key(section: r.record.section, index: r.record.index)] = r }

        let judge = try Judge.relos(objectPath, btf: kernel.path)
        if judge.run.status == 1 && judge.lines.isEmpty {
            print("skipped: \(kernel) \(fixture): libbpf fails the load before it relocates (\(judge.run.stderr.split(separator: "\n").filter { $0.contains("libbpf:") }.last ?? "?"))")
            return nil
        }
        #expect(judge.run.status == 0, "libbpf-judge relos failed: \(judge.run.stderr)", sourceLocation: sourceLocation)
        #expect(!judge.lines.isEmpty, "libbpf reported no CO-RE relocations", sourceLocation: sourceLocation)
        var counts = (libbpf: [0, 0, 0], ours: [0, 0, 0])
        var seen = Set<Key>()
        var libbpfStopped = false
        for text in judge.lines {
            guard let line = JudgeLine(text) else {
                Issue.record("cannot parse judge line: \(text)")
                continue
            }
            guard let sym = symbols[line.program] else {
                Issue.record("\(kernel) \(fixture): no function symbol for program \(line.program)")
                continue
            }
            let key = Key(section: sym.section, index: line.relo)
            let place = "\(kernel) \(fixture) \(sym.section) relo #\(line.relo) (prog \(line.program))"
            guard let res = ours[key] else {
                Issue.record("\(place): libbpf reports it, btfgen has no such record")
                continue
            }
            seen.insert(key)
            let record = res.record
            // The mapping itself.
            #expect(record.insn >= sym.firstInsn && record.insn < sym.firstInsn + max(sym.insnCount, 1),
                    "\(place): record's insn \(record.insn) is outside the program")
            #expect(record.kind.description == line.kind, "\(place): kind \(record.kind) vs libbpf's \(line.kind)")
            if line.spec != "?" {
                let spec = res.localSpec?.formatted(in: object.btf)
                #expect(spec == line.spec, "\(place): local spec \(spec ?? "nil") vs libbpf's \(line.spec)")
            }
            let relativeInsn = record.insn - sym.firstInsn
            let memoryInsn = isMemoryInstruction(instructionClass(elf, section: record.section, insn: record.insn))
            let ourText = res.describe(targetBTF: target)

            switch line.outcome {
            case .patched: counts.libbpf[0] += 1
            case .poisoned: counts.libbpf[1] += 1
            case .error: counts.libbpf[2] += 1
            }
            counts.ours[res.isError ? 2 : res.isPoisoned ? 1 : 0] += 1
            switch (res.outcome, line.outcome) {
            case (.error(let message), .error(let libbpfMessage)):
                libbpfStopped = true
                // An ambiguity names bit offsets or values in libbpf's candidate order, so it must
                // read the same (target_type_id ones name type ids, which the judge rewrites).
                if libbpfMessage.contains("ambiguity") && record.kind != .typeIDTarget {
                    #expect(message == libbpfMessage, "\(place): libbpf: \(libbpfMessage), btfgen: \(message)")
                }
            case (.limit(let message), _):
                Issue.record("\(place): btfgen stopped at its limit (\(message)); libbpf: \(text)")
            case (.error(let message), _):
                Issue.record("\(place): libbpf: \(text.split(separator: ">").last ?? ""), btfgen: error: \(message)")
            case (.value, .error(let message)):
                libbpfStopped = true
                Issue.record("\(place): libbpf: error: \(message); btfgen: \(ourText)")
            case (.value(let v), .poisoned(let insn)):
                #expect(insn == relativeInsn, "\(place): poisoned insn #\(insn), expected #\(relativeInsn)")
                #expect(v.poison, "\(place): libbpf poisons, btfgen: \(ourText)")
                // The patch step poisons exactly the loads and stores libbpf cannot resize.
                #expect(v.poisonedAccess == (v.failMemorySizeAdjust && memoryInsn), "\(place): \(ourText)")
            case (.value(let v), .patched(let insn, let old, let new, let memSize)):
                #expect(insn == relativeInsn, "\(place): patched insn #\(insn), expected #\(relativeInsn)")
                #expect(!v.poison, "\(place): libbpf patches \(old) -> \(new), btfgen: \(ourText)")
                // libbpf prints the instruction's own value; only a validated relocation (libbpf
                // checked it) must equal our original. Bitfield accesses and target_type_id are
                // not validated, and clang's bitfield values follow its own storage-unit choice.
                if v.validate {
                    #expect(old == String(v.original), "\(place): original value: libbpf \(old), btfgen \(v.original)")
                }
                let expectedNew: String
                if record.kind == .typeIDTarget {
                    let id = TypeID(UInt32(truncatingIfNeeded: v.new))
                    if v.new == 0 || !target.contains(id) {
                        expectedNew = String(v.new)
                    } else {
                        let name = target.name(id)
                        expectedNew = "\(target.kind(id)) \(name.isEmpty ? "<anon>" : name)"
                    }
                } else {
                    expectedNew = String(v.new)
                }
                #expect(new == expectedNew, "\(place): new value: libbpf \(new), btfgen \(expectedNew)")
                if let memSize {
                    #expect([v.originalSize, v.newSize] == memSize,
                            "\(place): libbpf resizes the access \(memSize[0]) -> \(memSize[1]), btfgen \(v.originalSize) -> \(v.newSize)")
                } else if memoryInsn && record.kind == .fieldByteOffset {
                    #expect(v.originalSize == v.newSize,
                            "\(place): libbpf keeps the access size, btfgen resizes \(v.originalSize) -> \(v.newSize)")
                }
            }
        }

        // libbpf relocates every record unless it stopped at an error (edge.bpf.o); then only
        // the ones it printed can be compared.
        if !libbpfStopped {
            let missing = resolutions.filter { !seen.contains(Key(section: $0.record.section, index: $0.record.index)) }
            #expect(missing.isEmpty, "\(kernel) \(fixture): libbpf did not report \(missing.map { "\($0.record.section) relo #\($0.record.index)" })", sourceLocation: sourceLocation)
            #expect(counts.ours == counts.libbpf, "\(kernel) \(fixture): btfgen counts [resolved, poisoned, errors] \(counts.ours), libbpf \(counts.libbpf)", sourceLocation: sourceLocation)
        }
        return libbpfStopped
}
