// SPDX-License-Identifier: GPL-2.0
/*
 * Type flavors (`struct foo___suffix`): local types whose essential name
 * (the part before "___") matches a kernel type, used to support several
 * kernel layouts from one object. Also relocations that match nothing in
 * any kernel, and out-of-range array accesses. Everything is guarded with
 * bpf_core_field_exists()/bpf_core_type_exists(), so the object loads on
 * any kernel.
 */
#include "fixture.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- task_struct.state (< 5.14) vs task_struct.__state (>= 5.14) ---------- */
struct task_struct___old {
	long state;
} __kernel_type;

/* ---- bitfields that exist only in some kernels ----------------------------- */
struct task_struct___v61 {          /* 6.1 has these, 6.18 does not */
	unsigned int in_lru_fault: 1;
	unsigned int pasid_activated: 1;
} __kernel_type;

struct task_struct___v618 {         /* 6.18 has these, 6.1 does not */
	unsigned int sched_rt_mutex: 1;
	unsigned int in_nf_duplicate: 1;
} __kernel_type;

/* ---- two flavors of one kernel struct, both matching ----------------------- */
struct task_struct___a {
	pid_t pid;
} __kernel_type;

struct task_struct___b {
	int tgid;
	char comm[16];
} __kernel_type;

/* ---- mm_struct.rss_stat: struct in 6.1, array of structs since 6.2 -------- */
struct mm_rss_stat {
	atomic_long_t count[4];
} __kernel_type;

struct mm_struct___pre62 {
	struct mm_rss_stat rss_stat;
} __kernel_type;

struct percpu_counter {
	s64 count;
} __kernel_type;

struct mm_struct___v62 {
	struct percpu_counter rss_stat[4];
} __kernel_type;

#define MM_FILEPAGES 0
#define MM_ANONPAGES 1

/* ---- page.index (6.1) vs page.__folio_index (6.16+) ------------------------ */
struct page___v61 {
	union {
		struct {
			unsigned long index;
		};
	};
	unsigned long flags;            /* plain unsigned long in 6.1 */
} __kernel_type;

typedef struct {
	unsigned long f;
} __kernel_type memdesc_flags_t;

struct page___v618 {
	unsigned long __folio_index;
	memdesc_flags_t flags;          /* wrapped in a struct in 6.18 */
} __kernel_type;

/* ---- relocations that match nothing in any kernel -------------------------- */
struct task_struct___nonexistent {
	int btfgen_made_up_field;
} __kernel_type;

struct btfgen_made_up_struct {
	int whatever;
} __kernel_type;

/* ---- array index beyond the kernel's array bound --------------------------- */
struct signal_struct___big {
	struct rlimit rlim[32];         /* kernel: rlim[16] */
} __kernel_type;

enum {
	S_STATE,
	S_STATE_OLD_EXISTS,
	S_LRU_FAULT,
	S_PASID,
	S_RT_MUTEX,
	S_NF_DUP,
	S_A_PID,
	S_B_TGID,
	S_B_COMM,
	S_RSS_ANON,
	S_RSS_FILE,
	S_RSS_LAYOUT,
	S_NONEXISTENT_FIELD,
	S_NONEXISTENT_TYPE,
	S_NONEXISTENT_TYPE_FIELD,
	S_RLIM_15_EXISTS,
	S_RLIM_20_EXISTS,
	S_RLIM_20,

	S_PAGE_INDEX = 24,
	S_PAGE_FLAGS,
	S_PAGE_LAYOUT,
};

static __always_inline __u64 get_task_state(void *task)
{
	struct task_struct___old *t_old = task;

	if (bpf_core_field_exists(t_old->state))
		return BPF_CORE_READ(t_old, state);
	return BPF_CORE_READ((struct task_struct *)task, __state);
}

static __always_inline __u64 get_mm_rss(struct mm_struct *mm, int member,
					__u64 *layout)
{
	if (bpf_core_field_exists(struct mm_struct___v62, rss_stat)) {
		struct mm_struct___v62 *m = (void *)mm;

		*layout = 62;
		return BPF_CORE_READ(m, rss_stat[member].count);
	}
	if (bpf_core_field_exists(struct mm_struct___pre62, rss_stat)) {
		struct mm_struct___pre62 *m = (void *)mm;

		*layout = 61;
		return BPF_CORE_READ(m, rss_stat.count[member].counter);
	}
	*layout = 0;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(flavors_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	struct task_struct___v61 *t61 = (void *)prev;
	struct task_struct___v618 *t618 = (void *)prev;
	struct task_struct___a *ta = (void *)next;
	struct task_struct___b *tb = (void *)next;
	struct task_struct___nonexistent *tn = (void *)next;
	struct signal_struct___big *sig;
	struct mm_struct *mm;
	char comm[16] = {};
	__u64 layout = 0;

	put(S_STATE, get_task_state(prev));
	put(S_STATE_OLD_EXISTS, bpf_core_field_exists(struct task_struct___old, state));

	if (bpf_core_field_exists(t61->in_lru_fault))
		put(S_LRU_FAULT, BPF_CORE_READ_BITFIELD(t61, in_lru_fault));
	if (bpf_core_field_exists(t61->pasid_activated))
		put(S_PASID, BPF_CORE_READ_BITFIELD(t61, pasid_activated));
	if (bpf_core_field_exists(t618->sched_rt_mutex))
		put(S_RT_MUTEX, BPF_CORE_READ_BITFIELD(t618, sched_rt_mutex));
	if (bpf_core_field_exists(t618->in_nf_duplicate))
		put(S_NF_DUP, BPF_CORE_READ_BITFIELD(t618, in_nf_duplicate));

	put(S_A_PID, BPF_CORE_READ(ta, pid));
	put(S_B_TGID, BPF_CORE_READ(tb, tgid));
	BPF_CORE_READ_STR_INTO(&comm, tb, comm);
	put(S_B_COMM, *(__u64 *)comm);

	mm = BPF_CORE_READ(next, mm);
	if (mm) {
		put(S_RSS_ANON, get_mm_rss(mm, MM_ANONPAGES, &layout));
		put(S_RSS_FILE, get_mm_rss(mm, MM_FILEPAGES, &layout));
		put(S_RSS_LAYOUT, layout);
	}

	/* never matches: the field, the struct, a field of the struct */
	if (bpf_core_field_exists(tn->btfgen_made_up_field))
		put(S_NONEXISTENT_FIELD, BPF_CORE_READ(tn, btfgen_made_up_field));
	else
		put(S_NONEXISTENT_FIELD, 0xdead);
	put(S_NONEXISTENT_TYPE, bpf_core_type_exists(struct btfgen_made_up_struct));
	put(S_NONEXISTENT_TYPE_FIELD,
	    bpf_core_field_exists(struct btfgen_made_up_struct, whatever));

	/* rlim[15] is in range for the kernel's rlim[16], rlim[20] is not */
	sig = (void *)BPF_CORE_READ(next, signal);
	put(S_RLIM_15_EXISTS, bpf_core_field_exists(sig->rlim[15]));
	put(S_RLIM_20_EXISTS, bpf_core_field_exists(sig->rlim[20]));
	if (bpf_core_field_exists(sig->rlim[20]))
		put(S_RLIM_20, BPF_CORE_READ(sig, rlim[20].rlim_cur));
	return 0;
}

SEC("kprobe/__free_pages")
int BPF_KPROBE(flavors_free_pages, struct page *page)
{
	struct page___v61 *p61 = (void *)page;
	struct page___v618 *p618 = (void *)page;

	if (bpf_core_field_exists(p618->__folio_index)) {
		put(S_PAGE_INDEX, BPF_CORE_READ(p618, __folio_index));
		put(S_PAGE_LAYOUT, 618);
	} else if (bpf_core_field_exists(p61->index)) {
		put(S_PAGE_INDEX, BPF_CORE_READ(p61, index));
		put(S_PAGE_LAYOUT, 61);
	}

	if (bpf_core_field_exists(p618->flags))
		put(S_PAGE_FLAGS, BPF_CORE_READ(p618, flags.f));
	else if (bpf_core_field_exists(p61->flags))
		put(S_PAGE_FLAGS, BPF_CORE_READ(p61, flags));
	return 0;
}
