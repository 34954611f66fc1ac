/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hand-written subset of kernel types for the btfgen CO-RE fixtures.
 *
 * This replaces a generated vmlinux.h on purpose: every record is declared
 * with __attribute__((preserve_access_index)) and lists only the members the
 * fixtures touch, in the order and nesting we choose. Offsets, sizes and
 * member order here are therefore *not* the kernel's; libbpf (and btfgen)
 * must find the real layout in the target kernel's BTF through the CO-RE
 * relocations clang records in .BTF.ext.
 *
 * Member *kinds* must still be CO-RE compatible with the kernel's
 * (struct vs array vs int vs enum), otherwise the field does not match.
 *
 * Checked against the BTF of Linux 6.18 (x86_64) and the Debian bookworm
 * kernels in testdata/kernels (6.1 amd64/cloud/rt/arm64, 6.12 amd64).
 * Differences between 6.1 and 6.18 that the fixtures rely on are noted next
 * to the member.
 */
#ifndef BTFGEN_FIXTURE_KERNEL_TYPES_H
#define BTFGEN_FIXTURE_KERNEL_TYPES_H

/* bpf_tracing.h: use the kernel's pt_regs member names (di, si, ...), as it
 * does when vmlinux.h is included. */
#define __VMLINUX_H__ 1

#define __kernel_type __attribute__((preserve_access_index))

/* ---- scalar typedefs (same spelling as the kernel's) ---------------------- */
typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __s8 s8;
typedef __u8 u8;
typedef __s16 s16;
typedef __u16 u16;
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
enum { false = 0, true = 1 };

/* Typedef chains that end in a kernel type:
 *   pid_t -> __kernel_pid_t -> int
 *   atomic_long_t -> atomic64_t -> struct { s64 counter; }   (64-bit kernels)
 *   atomic_t -> struct { int counter; }
 */
typedef int __kernel_pid_t;
typedef __kernel_pid_t pid_t;
typedef unsigned long __kernel_ulong_t;

typedef struct {
	int counter;
} __kernel_type atomic_t;

typedef struct {
	s64 counter;
} __kernel_type atomic64_t;

typedef atomic64_t atomic_long_t;

/* Forward declaration behind a typedef: the kernel has
 * `typedef struct pglist_data pg_data_t;` with a full struct pglist_data;
 * the BPF side only ever sees the forward declaration. */
struct pglist_data;
typedef struct pglist_data pg_data_t;

/* Types only used through pointers. */
struct vfsmount;
struct address_space;
struct linux_binprm;

/* ---- x86_64 registers (kprobe context) ------------------------------------ */
struct pt_regs {
	unsigned long di;
	unsigned long si;
	unsigned long dx;
} __kernel_type;

/* ---- resource limits: array of structs ------------------------------------ */
struct rlimit {
	__kernel_ulong_t rlim_cur;
	__kernel_ulong_t rlim_max;
} __kernel_type;

#define RLIMIT_NOFILE 7
#define RLIM_NLIMITS 16

struct signal_struct {
	struct rlimit rlim[RLIM_NLIMITS];
} __kernel_type;

/* ---- VFS: pointer chain task->mm->exe_file->f_path.dentry->d_name.name ---- */
struct qstr {
	union {
		struct {
			u32 hash;
			u32 len;
		};
		u64 hash_len;
	};
	const unsigned char *name;
} __kernel_type;

/* 6.18: d_name sits in an anonymous union with __d_name (and is const). */
struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} __kernel_type;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} __kernel_type;

/* 6.18: f_path sits in an anonymous union with __f_path (and is const). */
struct file {
	struct path f_path;
	unsigned int f_flags;
} __kernel_type;

/* ---- mm_struct: members live in an anonymous struct in the kernel --------- */
struct mm_struct {
	struct {
		atomic_t mm_users;
		atomic_long_t pgtables_bytes;   /* typedef chain */
		unsigned long total_vm;
		struct file *exe_file;
	};
} __kernel_type;

/* ---- task_struct ---------------------------------------------------------- */
struct task_struct {
	unsigned int __state;               /* was `long state` before 5.14 */
	unsigned int flags;
	struct mm_struct *mm;
	int exit_state;
	int exit_code;
	/* bitfields, present in 6.1 and 6.18 (bit positions differ) */
	unsigned int in_execve: 1;
	unsigned int in_iowait: 1;
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	u64 start_time;
	char comm[16];
	struct signal_struct *signal;
} __kernel_type;

/* ---- networking ----------------------------------------------------------- */
struct sock_common {
	union {
		struct {
			__be32 skc_daddr;
			__be32 skc_rcv_saddr;
		};
	};
	union {
		struct {
			__be16 skc_dport;
			u16 skc_num;
		};
	};
	unsigned short skc_family;
	unsigned char skc_reuse: 4;
	unsigned char skc_reuseport: 1;
} __kernel_type;

struct sock {
	struct sock_common __sk_common;
	/* 6.1: `u8 sk_userlocks:4` bitfield; 6.18: plain u8. */
	u8 sk_userlocks: 4;
	u8 sk_no_check_tx: 1;
	u16 sk_type;
	u16 sk_protocol;
	int sk_rcvbuf;
} __kernel_type;

struct net_device {
	char name[16];
	int ifindex;
} __kernel_type;

struct sk_buff {
	union {
		struct {
			struct sk_buff *next;
			struct sk_buff *prev;
			union {
				struct net_device *dev;
				unsigned long dev_scratch;
			};
		};
	};
	/* 6.1: in an anonymous union with ip_defrag_offset */
	struct sock *sk;
	unsigned int len;
	/* in struct_group(headers): anonymous union + anonymous struct */
	__u8 pkt_type: 3;
	__be16 protocol;
} __kernel_type;

/* ---- struct page: anonymous unions of anonymous structs ------------------- */
struct page {
	union {
		struct {
			struct address_space *mapping;
		};
	};
	atomic_t _refcount;
} __kernel_type;

/* ---- enums ---------------------------------------------------------------- */
/* ENUM64 in kernel BTF (values need 64 bits). */
enum perf_callchain_context {
	PERF_CONTEXT_HV = (__u64)-32,
	PERF_CONTEXT_KERNEL = (__u64)-128,
	PERF_CONTEXT_USER = (__u64)-512,
	PERF_CONTEXT_GUEST = (__u64)-2048,
	PERF_CONTEXT_MAX = (__u64)-4095,
};

/* Values differ between 6.1 and 6.18 (e.g. NOT_SPECIFIED is 1 vs 2). */
enum skb_drop_reason {
	SKB_NOT_DROPPED_YET = 0,
	SKB_DROP_REASON_NOT_SPECIFIED = 1,
	SKB_DROP_REASON_NO_SOCKET = 2,
	SKB_DROP_REASON_TCP_CSUM = 4,
	SKB_DROP_REASON_MAX = 66,
};

/* Config dependent: rdma_cgrp_id exists on Debian 6.1, not on every kernel. */
enum cgroup_subsys_id {
	cpuset_cgrp_id = 0,
	memory_cgrp_id = 4,
	pids_cgrp_id = 11,
	rdma_cgrp_id = 12,
	CGROUP_SUBSYS_COUNT = 14,
};

#endif /* BTFGEN_FIXTURE_KERNEL_TYPES_H */
