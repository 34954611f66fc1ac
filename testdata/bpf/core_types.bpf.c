// SPDX-License-Identifier: GPL-2.0
/*
 * Type-based CO-RE relocations:
 *   local_type_id, target_type_id, type_exists, type_size, type_matches
 * on structs, unions, enums (incl. ENUM64), typedef chains and a typedef of
 * a struct that the BPF side only knows as a forward declaration.
 */
#include "fixture.h"

char LICENSE[] SEC("license") = "GPL";

/* A union that exists in every kernel with BPF. */
union bpf_attr {
	struct {
		__u32 map_type;
		__u32 key_size;
		__u32 value_size;
		__u32 max_entries;
	};
} __kernel_type;

/* Same layout as the kernel's: must "match". */
struct list_head {
	struct list_head *next;
	struct list_head *prev;
} __kernel_type;

/* Matches: the only integer, reached through atomic_t, is named "int" by
 * both clang and gcc. */
struct refcount_struct {
	atomic_t refs;
} __kernel_type;

/* Member of the wrong size: exists, but does not "match". */
struct rlimit___wrong {
	__u32 rlim_cur;
} __kernel_type;

/* Struct name that no kernel has. */
struct btfgen_no_such_type {
	int x;
} __kernel_type;

enum {
	S_TASK_LOCAL_ID,
	S_TASK_KERNEL_ID,
	S_PID_T_LOCAL_ID,
	S_PID_T_KERNEL_ID,
	S_PG_DATA_T_EXISTS,
	S_PG_DATA_T_KERNEL_ID,
	S_PG_DATA_T_LOCAL_ID,
	S_SKB_EXISTS,
	S_SKB_SIZE,
	S_TASK_SIZE,
	S_RLIMIT_SIZE,
	S_RLIMIT_MATCHES,
	S_REFCOUNT_MATCHES,
	S_RLIMIT_WRONG_EXISTS,
	S_RLIMIT_WRONG_MATCHES,
	S_LIST_HEAD_MATCHES,
	S_ATOMIC_LONG_SIZE,
	S_ATOMIC_LONG_EXISTS,
	S_ATOMIC_LONG_KERNEL_ID,
	S_ATOMIC_T_MATCHES,
	S_PID_T_SIZE,
	S_PID_T_MATCHES,
	S_BPF_ATTR_EXISTS,
	S_BPF_ATTR_SIZE,
	S_BPF_ATTR_KERNEL_ID,
	S_PERF_CTX_EXISTS,
	S_PERF_CTX_SIZE,
	S_PERF_CTX_MATCHES,
	S_PERF_CTX_KERNEL_ID,
	S_NO_SUCH_EXISTS,
	S_NO_SUCH_SIZE,
	S_NO_SUCH_KERNEL_ID,
	S_NO_SUCH_LOCAL_ID,
};

SEC("raw_tracepoint/sys_enter")
int types_sys_enter(void *ctx)
{
	/* local_type_id / target_type_id */
	put(S_TASK_LOCAL_ID, bpf_core_type_id_local(struct task_struct));
	put(S_TASK_KERNEL_ID, bpf_core_type_id_kernel(struct task_struct));
	put(S_PID_T_LOCAL_ID, bpf_core_type_id_local(pid_t));
	put(S_PID_T_KERNEL_ID, bpf_core_type_id_kernel(pid_t));

	/* typedef -> forward-declared struct (kernel: full struct pglist_data) */
	put(S_PG_DATA_T_EXISTS, bpf_core_type_exists(pg_data_t));
	put(S_PG_DATA_T_KERNEL_ID, bpf_core_type_id_kernel(pg_data_t));
	put(S_PG_DATA_T_LOCAL_ID, bpf_core_type_id_local(pg_data_t));

	/* type_exists / type_size on structs */
	put(S_SKB_EXISTS, bpf_core_type_exists(struct sk_buff));
	put(S_SKB_SIZE, bpf_core_type_size(struct sk_buff));
	put(S_TASK_SIZE, bpf_core_type_size(struct task_struct));
	put(S_RLIMIT_SIZE, bpf_core_type_size(struct rlimit));

	/* type_matches. libbpf also compares integer type *names*: clang calls
	 * `unsigned long` "unsigned long", gcc-built kernels say "long unsigned
	 * int", so struct rlimit (two __kernel_ulong_t) does NOT match a
	 * gcc-built kernel even though the layout is identical. */
	put(S_RLIMIT_MATCHES, bpf_core_type_matches(struct rlimit));
	put(S_REFCOUNT_MATCHES, bpf_core_type_matches(struct refcount_struct));
	put(S_RLIMIT_WRONG_EXISTS, bpf_core_type_exists(struct rlimit___wrong));
	put(S_RLIMIT_WRONG_MATCHES, bpf_core_type_matches(struct rlimit___wrong));
	put(S_LIST_HEAD_MATCHES, bpf_core_type_matches(struct list_head));

	/* typedef chains: atomic_long_t -> atomic64_t -> struct, pid_t -> int */
	put(S_ATOMIC_LONG_SIZE, bpf_core_type_size(atomic_long_t));
	put(S_ATOMIC_LONG_EXISTS, bpf_core_type_exists(atomic_long_t));
	put(S_ATOMIC_LONG_KERNEL_ID, bpf_core_type_id_kernel(atomic_long_t));
	put(S_ATOMIC_T_MATCHES, bpf_core_type_matches(atomic_t));
	put(S_PID_T_SIZE, bpf_core_type_size(pid_t));
	put(S_PID_T_MATCHES, bpf_core_type_matches(pid_t));

	/* union */
	put(S_BPF_ATTR_EXISTS, bpf_core_type_exists(union bpf_attr));
	put(S_BPF_ATTR_SIZE, bpf_core_type_size(union bpf_attr));
	put(S_BPF_ATTR_KERNEL_ID, bpf_core_type_id_kernel(union bpf_attr));

	/* ENUM64 as a type */
	put(S_PERF_CTX_EXISTS, bpf_core_type_exists(enum perf_callchain_context));
	put(S_PERF_CTX_SIZE, bpf_core_type_size(enum perf_callchain_context));
	put(S_PERF_CTX_MATCHES, bpf_core_type_matches(enum perf_callchain_context));
	put(S_PERF_CTX_KERNEL_ID, bpf_core_type_id_kernel(enum perf_callchain_context));

	/* no kernel has this type: exists 0, size/id guarded like real code */
	put(S_NO_SUCH_EXISTS, bpf_core_type_exists(struct btfgen_no_such_type));
	if (bpf_core_type_exists(struct btfgen_no_such_type)) {
		put(S_NO_SUCH_SIZE, bpf_core_type_size(struct btfgen_no_such_type));
		put(S_NO_SUCH_KERNEL_ID, bpf_core_type_id_kernel(struct btfgen_no_such_type));
	}
	put(S_NO_SUCH_LOCAL_ID, bpf_core_type_id_local(struct btfgen_no_such_type));
	return 0;
}
