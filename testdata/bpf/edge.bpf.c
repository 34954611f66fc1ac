// SPDX-License-Identifier: GPL-2.0
/*
 * Intentionally problematic CO-RE relocations. This object does NOT load:
 * libbpf stops at the first ambiguous relocation. Keep these cases out of
 * the other objects.
 *
 * Kernel facts used (both Linux 6.18 and Debian 6.1, x86_64):
 *  - `struct elf_thread_core_info` is defined twice in vmlinux BTF
 *    (fs/binfmt_elf.c and its compat build), sizes 352 and 312, with
 *    `notes` at byte 352 vs 312 but `task` at byte 8 in both.
 *  - `enum energy_perf_value_index` is defined twice (x86 intel_epb.c and
 *    amd-pstate.c) with different enumerators and different type ids.
 */
#include "fixture.h"

char LICENSE[] SEC("license") = "GPL";

struct memelfnote {
	const char *name;
	int type;
	unsigned int datasz;
	void *data;
} __kernel_type;

struct elf_thread_core_info {
	struct elf_thread_core_info *next;
	struct task_struct *task;
	struct memelfnote notes[];
} __kernel_type;

enum energy_perf_value_index {
	EPB_INDEX_PERFORMANCE,
	EPB_INDEX_BALANCE_PERFORMANCE,
	EPB_INDEX_NORMAL,
	EPB_INDEX_BALANCE_POWERSAVE,
	EPB_INDEX_POWERSAVE,
};

struct task_struct___nonexistent {
	int btfgen_made_up_field;
} __kernel_type;

enum {
	S_TASK_PID,
	S_NOTES_EXISTS,
	S_INFO_EXISTS,
	S_MADE_UP,
	S_NOTE0_DATASZ,
	S_INFO_SIZE,
	S_EPV_KERNEL_ID,
};

/* Fine: two candidates, identical result (offset of `task`; type exists). */
SEC("kprobe/fill_thread_core_info")
int BPF_KPROBE(edge_same_result, struct elf_thread_core_info *t)
{
	put(S_TASK_PID, BPF_CORE_READ(t, task, pid));
	put(S_INFO_EXISTS, bpf_core_type_exists(struct elf_thread_core_info));
	return 0;
}

/* Relocation succeeds but has no target: libbpf poisons the instruction
 * and, since nothing guards it, the verifier rejects the program. */
SEC("kprobe/fill_thread_core_info")
int BPF_KPROBE(edge_unguarded_missing_field, struct task_struct___nonexistent *t)
{
	put(S_MADE_UP, BPF_CORE_READ(t, btfgen_made_up_field));
	return 0;
}

/* Error: `notes` is at different offsets in the two candidates
 * ("field offset ambiguity"). */
SEC("kprobe/fill_thread_core_info")
int BPF_KPROBE(edge_ambiguous_field_offset, struct elf_thread_core_info *t)
{
	put(S_NOTE0_DATASZ, BPF_CORE_READ(t, notes[0].datasz));
	return 0;
}

/* Error as well: libbpf compares candidate offsets for every field-based
 * kind, so even field_exists (1 for both) is a "field offset ambiguity". */
SEC("kprobe/fill_thread_core_info")
int BPF_KPROBE(edge_ambiguous_field_exists, struct elf_thread_core_info *t)
{
	put(S_NOTES_EXISTS, bpf_core_field_exists(t->notes));
	return 0;
}

/* Error: the two candidates have different sizes
 * ("relocation decision ambiguity"). */
SEC("raw_tracepoint/sys_enter")
int edge_ambiguous_type_size(void *ctx)
{
	put(S_INFO_SIZE, bpf_core_type_size(struct elf_thread_core_info));
	return 0;
}

/* Error: both kernel enums are type-compatible candidates but have
 * different type ids ("relocation decision ambiguity"). */
SEC("raw_tracepoint/sys_enter")
int edge_ambiguous_target_type_id(void *ctx)
{
	put(S_EPV_KERNEL_ID, bpf_core_type_id_kernel(enum energy_perf_value_index));
	return 0;
}
