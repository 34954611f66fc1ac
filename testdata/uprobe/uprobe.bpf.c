// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF side of the uprobe CO-RE scenario (see README.md here): a uprobe
 * on the application's add_test(struct data *d) that computes d->a + d->c
 * from user memory and stores it in an array map.
 *
 * Compiled against the application's v1 layout of struct data. Built twice:
 *   uprobe.bpf.o         CO-RE: struct data is preserve_access_index, so
 *                        libbpf relocates the offsets of a and c against the
 *                        application's BTF (merged into the kernel BTF by
 *                        `btfgen merge`, trimmed by btfgen, given to libbpf
 *                        as btf_custom_path). pt_regs is relocated against
 *                        the kernel part of that same file.
 *   uprobe_nocore.bpf.o  -DNO_CORE: plain offsets from the v1 layout, no
 *                        CO-RE relocations at all -- the control, which reads
 *                        the wrong field (b) under v2.
 *
 * Self-contained: no vmlinux.h, no kernel or libc headers (only libbpf's
 * BPF-side headers), so it builds the same with any clang that targets BPF.
 */
#ifdef NO_CORE
#define __relocated
#else
#define __relocated __attribute__((preserve_access_index))
#endif

/* bpf_tracing.h: the kernel's pt_regs member names (di, si, ...), as with
 * vmlinux.h. */
#define __VMLINUX_H__ 1

typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef signed char __s8;
typedef short __s16;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

enum { MAP_TYPE_ARRAY = 2 /* BPF_MAP_TYPE_ARRAY */, UPDATE_ANY = 0 /* BPF_ANY */ };

/* The kernel's register frame: with CO-RE only what PT_REGS_PARM1 reads,
 * without it the fixed layout up to that register. */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
#ifdef NO_CORE
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si;
#endif
	unsigned long di;
} __relocated;
#elif defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
	__u64 regs[31];
} __relocated;
struct pt_regs {
	struct user_pt_regs user_regs;
} __relocated;
#define __PT_REGS_CAST(x) ((const struct user_pt_regs *)(x))
#else
#error "define __TARGET_ARCH_x86 or __TARGET_ARCH_arm64"
#endif

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* The application's struct, as v1 lays it out. */
struct data {
	int a;
	int c;
	int d;
} __relocated;

char LICENSE[] SEC("license") = "GPL";

/* Key 0: the last sum computed. Key 1: how many times the probe ran. */
struct {
	__uint(type, MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __s64);
} result SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(add_test_entry, struct data *d)
{
	__u32 key = 0;
	__s64 sum, *hits;
	int a, c;

#ifdef NO_CORE
	bpf_probe_read_user(&a, sizeof(a), &d->a);
	bpf_probe_read_user(&c, sizeof(c), &d->c);
#else
	a = BPF_CORE_READ_USER(d, a);
	c = BPF_CORE_READ_USER(d, c);
#endif
	sum = (__s64)a + c;
	bpf_map_update_elem(&result, &key, &sum, UPDATE_ANY);
	key = 1;
	hits = bpf_map_lookup_elem(&result, &key);
	if (hits)
		__sync_fetch_and_add(hits, 1);
	return 0;
}
