// SPDX-License-Identifier: GPL-2.0
/*
 * Enum-value CO-RE relocations: enumval_exists, enumval_value.
 * Covers an ENUM64 (perf_callchain_context), enums whose values differ
 * between kernels (skb_drop_reason), config-dependent enumerators
 * (cgroup_subsys_id), a name with two kernel candidates
 * (energy_perf_value_index, x86), flavored enums/enumerators and
 * enumerators/enums that no kernel has.
 */
#include "fixture.h"

char LICENSE[] SEC("license") = "GPL";

/* Flavored enum and enumerator names: "___suffix" is ignored by CO-RE. */
enum skb_drop_reason___flavor {
	SKB_DROP_REASON_NO_SOCKET___flavor = 2,
	SKB_DROP_REASON_BTFGEN_MADE_UP = 1000,      /* no kernel has this */
};

/* x86 kernels have two enums with this name (intel_epb.c and
 * amd-pstate.c); only one of them has EPB_INDEX_* enumerators. */
enum energy_perf_value_index {
	EPB_INDEX_PERFORMANCE,
	EPB_INDEX_BALANCE_PERFORMANCE,
	EPB_INDEX_NORMAL,
	EPB_INDEX_BALANCE_POWERSAVE,
	EPB_INDEX_POWERSAVE,
};

/* A BPF helper id enum that every kernel with BPF has. */
enum bpf_func_id {
	BPF_FUNC_get_current_task_btf = 158,
	BPF_FUNC_btfgen_made_up = 4000,             /* no kernel has this */
};

/* No kernel has this enum at all. */
enum btfgen_no_such_enum {
	BTFGEN_NO_SUCH_VALUE = 7,
};

enum {
	S_REASON_MATCHED,
	S_NOT_SPECIFIED,
	S_NO_SOCKET,
	S_NO_SOCKET_FLAVOR,
	S_TCP_CSUM,
	S_REASON_MAX,
	S_MADE_UP_EXISTS,
	S_MADE_UP_VALUE,

	S_PERF_KERNEL = 10,
	S_PERF_USER,
	S_PERF_MAX,
	S_PERF_GUEST_EXISTS,

	S_MEMCG_ID = 16,
	S_RDMA_EXISTS,
	S_RDMA_ID,
	S_SUBSYS_COUNT,

	S_EPB_NORMAL_EXISTS = 24,
	S_EPB_NORMAL,
	S_TASK_BTF_HELPER_EXISTS,
	S_TASK_BTF_HELPER,
	S_MADE_UP_HELPER_EXISTS,
	S_NO_SUCH_ENUM_EXISTS,
	S_NO_SUCH_ENUM_VALUE,
};

SEC("tp_btf/kfree_skb")
int BPF_PROG(enums_kfree_skb, struct sk_buff *skb, void *location,
	     enum skb_drop_reason reason)
{
	/* the real-world use: compare a tracepoint argument */
	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED) ||
	    reason == bpf_core_enum_value(enum skb_drop_reason___flavor,
					  SKB_DROP_REASON_NO_SOCKET___flavor))
		put(S_REASON_MATCHED, reason);

	put(S_NOT_SPECIFIED, bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED));
	put(S_NO_SOCKET, bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NO_SOCKET));
	put(S_NO_SOCKET_FLAVOR, bpf_core_enum_value(enum skb_drop_reason___flavor,
						    SKB_DROP_REASON_NO_SOCKET___flavor));
	put(S_TCP_CSUM, bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_CSUM));
	put(S_REASON_MAX, bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_MAX));

	put(S_MADE_UP_EXISTS, bpf_core_enum_value_exists(enum skb_drop_reason___flavor,
							 SKB_DROP_REASON_BTFGEN_MADE_UP));
	if (bpf_core_enum_value_exists(enum skb_drop_reason___flavor, SKB_DROP_REASON_BTFGEN_MADE_UP))
		put(S_MADE_UP_VALUE, bpf_core_enum_value(enum skb_drop_reason___flavor,
							 SKB_DROP_REASON_BTFGEN_MADE_UP));
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int enums_sys_enter(void *ctx)
{
	/* ENUM64: values above 2^32 */
	put(S_PERF_KERNEL, bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_KERNEL));
	put(S_PERF_USER, bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_USER));
	put(S_PERF_MAX, bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_MAX));
	put(S_PERF_GUEST_EXISTS, bpf_core_enum_value_exists(enum perf_callchain_context,
							    PERF_CONTEXT_GUEST));

	/* config dependent */
	put(S_MEMCG_ID, bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id));
	put(S_RDMA_EXISTS, bpf_core_enum_value_exists(enum cgroup_subsys_id, rdma_cgrp_id));
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, rdma_cgrp_id))
		put(S_RDMA_ID, bpf_core_enum_value(enum cgroup_subsys_id, rdma_cgrp_id));
	put(S_SUBSYS_COUNT, bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT));

	/* two kernel enums named energy_perf_value_index: only one has the
	 * enumerator, so the relocation is not ambiguous (absent on non-x86) */
	put(S_EPB_NORMAL_EXISTS, bpf_core_enum_value_exists(enum energy_perf_value_index,
							    EPB_INDEX_NORMAL));
	if (bpf_core_enum_value_exists(enum energy_perf_value_index, EPB_INDEX_NORMAL))
		put(S_EPB_NORMAL, bpf_core_enum_value(enum energy_perf_value_index, EPB_INDEX_NORMAL));

	put(S_TASK_BTF_HELPER_EXISTS, bpf_core_enum_value_exists(enum bpf_func_id,
								 BPF_FUNC_get_current_task_btf));
	put(S_TASK_BTF_HELPER, bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_get_current_task_btf));
	put(S_MADE_UP_HELPER_EXISTS, bpf_core_enum_value_exists(enum bpf_func_id,
								BPF_FUNC_btfgen_made_up));

	put(S_NO_SUCH_ENUM_EXISTS, bpf_core_enum_value_exists(enum btfgen_no_such_enum,
							      BTFGEN_NO_SUCH_VALUE));
	if (bpf_core_enum_value_exists(enum btfgen_no_such_enum, BTFGEN_NO_SUCH_VALUE))
		put(S_NO_SUCH_ENUM_VALUE, bpf_core_enum_value(enum btfgen_no_such_enum,
							      BTFGEN_NO_SUCH_VALUE));
	return 0;
}
