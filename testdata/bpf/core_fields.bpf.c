// SPDX-License-Identifier: GPL-2.0
/*
 * Field-based CO-RE relocations:
 *   byte_off, byte_sz, field_exists, signed, lshift_u64, rshift_u64
 * through pointer chains, typedef chains, arrays of structs, anonymous
 * structs/unions and bitfields (direct and probed reads).
 */
#include "fixture.h"

char LICENSE[] SEC("license") = "GPL";

enum {
	S_PID,
	S_TGID,
	S_PPID,
	S_COMM,
	S_EXE_NAME,
	S_EXE_NAME_LEN,
	S_EXE_PARENT_NAME,
	S_NOFILE_CUR,
	S_NOFILE_MAX,
	S_IN_EXECVE,
	S_IN_IOWAIT,
	S_COMM_SIZE,
	S_EXIT_STATE_SIGNED,
	S_STATE_OFFSET,
	S_MM_USERS,
	S_PGTABLES_BYTES,
	S_TOTAL_VM,
	S_EXE_FLAGS,

	S_SK_DPORT = 20,
	S_SK_FAMILY,
	S_SK_NUM,
	S_SK_USERLOCKS,
	S_SK_NO_CHECK_TX,
	S_SK_REUSE,
	S_SK_PROTOCOL,
	S_SK_PROTOCOL_SIZE,
	S_SK_TYPE,
	S_SK_RCVBUF_SIGNED,

	S_SKB_LEN = 32,
	S_SKB_IFINDEX,
	S_SKB_PKT_TYPE,
	S_SKB_PROTOCOL,
	S_SKB_HAS_SK,
	S_SKB_DEV_NAME,

	S_PAGE_MAPPING = 40,
	S_PAGE_REFCOUNT,
	S_PAGE_REFCOUNT_SIZE,
};

/* task_struct: direct BTF reads, pointer chains, arrays of structs */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(fields_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	const unsigned char *name;
	char buf[16] = {};
	struct rlimit lim;

	/* direct loads (tp_btf); pid_t -> __kernel_pid_t -> int */
	put(S_PID, task->pid);
	put(S_TGID, task->tgid);
	put(S_PPID, BPF_CORE_READ(task, real_parent, tgid));

	BPF_CORE_READ_STR_INTO(&buf, task, comm);
	put(S_COMM, *(__u64 *)buf);

	/* pointer chain through anonymous struct (mm_struct) and anonymous
	 * unions (file.f_path, dentry.d_name on 6.18) */
	name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	bpf_probe_read_kernel_str(buf, sizeof(buf), name);
	put(S_EXE_NAME, *(__u64 *)buf);
	/* qstr.len: anonymous struct inside anonymous union */
	put(S_EXE_NAME_LEN, BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.len));
	name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_parent, d_name.name);
	bpf_probe_read_kernel_str(buf, sizeof(buf), name);
	put(S_EXE_PARENT_NAME, *(__u64 *)buf);
	put(S_EXE_FLAGS, BPF_CORE_READ(task, mm, exe_file, f_flags));

	/* array of structs: signal->rlim[RLIMIT_NOFILE] */
	put(S_NOFILE_CUR, BPF_CORE_READ(task, signal, rlim[RLIMIT_NOFILE].rlim_cur));
	BPF_CORE_READ_INTO(&lim, task, signal, rlim[RLIMIT_NOFILE]);
	put(S_NOFILE_MAX, lim.rlim_max);

	/* typedef'd atomics: atomic_t, atomic_long_t -> atomic64_t */
	put(S_MM_USERS, BPF_CORE_READ(task, mm, mm_users.counter));
	put(S_PGTABLES_BYTES, BPF_CORE_READ(task, mm, pgtables_bytes.counter));
	put(S_TOTAL_VM, BPF_CORE_READ(task, mm, total_vm));

	/* bitfields, direct read: byte_off, byte_sz, lshift, signed, rshift */
	put(S_IN_EXECVE, BPF_CORE_READ_BITFIELD(task, in_execve));
	if (bpf_core_field_exists(task->in_iowait))
		put(S_IN_IOWAIT, BPF_CORE_READ_BITFIELD(task, in_iowait));

	put(S_COMM_SIZE, bpf_core_field_size(task->comm));
	put(S_EXIT_STATE_SIGNED, bpf_core_field_signed(task->exit_state));
	put(S_STATE_OFFSET, bpf_core_field_offset(struct task_struct, __state));
	return 0;
}

/* struct sock via kprobe: pt_regs relocations, anonymous unions in
 * sock_common, bitfields via bpf_probe_read_kernel. */
SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(fields_tcp_sendmsg, struct sock *sk)
{
	put(S_SK_DPORT, BPF_CORE_READ(sk, __sk_common.skc_dport));
	put(S_SK_FAMILY, BPF_CORE_READ(sk, __sk_common.skc_family));
	put(S_SK_NUM, BPF_CORE_READ(sk, __sk_common.skc_num));
	/* bitfield in 6.1, plain u8 in 6.18: same macro handles both */
	put(S_SK_USERLOCKS, BPF_CORE_READ_BITFIELD_PROBED(sk, sk_userlocks));
	put(S_SK_NO_CHECK_TX, BPF_CORE_READ_BITFIELD_PROBED(sk, sk_no_check_tx));
	put(S_SK_REUSE, BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuse));
	put(S_SK_PROTOCOL, BPF_CORE_READ(sk, sk_protocol));
	put(S_SK_PROTOCOL_SIZE, bpf_core_field_size(sk->sk_protocol));
	put(S_SK_TYPE, BPF_CORE_READ(sk, sk_type));
	put(S_SK_RCVBUF_SIGNED, bpf_core_field_signed(struct sock, sk_rcvbuf));
	return 0;
}

/* struct sk_buff: dev is in an anonymous union inside an anonymous struct
 * inside an anonymous union; pkt_type is a bitfield in struct_group(headers). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(fields_kfree_skb, struct sk_buff *skb)
{
	char name[16] = {};

	put(S_SKB_LEN, skb->len);
	put(S_SKB_IFINDEX, BPF_CORE_READ(skb, dev, ifindex));
	BPF_CORE_READ_STR_INTO(&name, skb, dev, name);
	put(S_SKB_DEV_NAME, *(__u64 *)name);
	put(S_SKB_PKT_TYPE, BPF_CORE_READ_BITFIELD(skb, pkt_type));
	put(S_SKB_PROTOCOL, BPF_CORE_READ(skb, protocol));
	put(S_SKB_HAS_SK, BPF_CORE_READ(skb, sk) != 0);
	return 0;
}

/* struct page: anonymous union of anonymous structs, atomic_t typedef. */
SEC("kprobe/__free_pages")
int BPF_KPROBE(fields_free_pages, struct page *page, unsigned int order)
{
	put(S_PAGE_MAPPING, (__u64)BPF_CORE_READ(page, mapping));
	put(S_PAGE_REFCOUNT, BPF_CORE_READ(page, _refcount.counter));
	put(S_PAGE_REFCOUNT_SIZE, bpf_core_field_size(page->_refcount));
	return 0;
}
