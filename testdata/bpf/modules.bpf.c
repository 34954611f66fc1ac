// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE relocations on types defined in kernel modules (Debian 6.1 amd64's
 * nf_conntrack, xfs, btrfs, kvm and bridge): libbpf finds their candidates in
 * the modules' split BTF only when vmlinux has none.
 *   - fields of module-only structs (nf_conntrack_helper, nf_conn_counter,
 *     xfs_inode, btrfs_inode -> btrfs_root, kvm_mmu_page);
 *   - an enum only a module defines (ip_conntrack_events, br_boolopt_id);
 *   - a struct in vmlinux and in a module (file_system_type: vmlinux's wins);
 *   - a vmlinux struct (kvm_vcpu) beside them;
 *   - a flavor of a module struct (nf_conntrack_helper___old);
 *   - type-based relocations (exists, size, matches, target id) on module types;
 *   - a module type that does not exist anywhere (poisoned);
 *   - an embedded struct read through a module struct (btrfs_inode.location),
 *     which the module-clash test's synthetic kernel makes a module type
 *     sharing file_system_type's name.
 */
#include "fixture.h"

char LICENSE[] SEC("license") = "GPL";

struct module;

struct nf_conntrack_helper {
	char name[16];
	struct module *me;
	unsigned int flags;
} __attribute__((preserve_access_index));

struct nf_conntrack_helper___old {
	char name[16];
	unsigned int flags;
	unsigned int removed_in_2010;
} __attribute__((preserve_access_index));

struct nf_conn_counter {
	atomic64_t packets;
	atomic64_t bytes;
} __attribute__((preserve_access_index));

enum ip_conntrack_events {
	IPCT_NEW = 0,
	IPCT_DESTROY = 2,
	IPCT_NOT_IN_ANY_KERNEL = 99,
};

enum br_boolopt_id {
	BR_BOOLOPT_MST_ENABLE = 2,
};

struct file_system_type {
	const char *name;
	int fs_flags;
} __attribute__((preserve_access_index));

struct xfs_mount;
struct xfs_inode {
	struct xfs_mount *i_mount;
	unsigned long long i_ino;
} __attribute__((preserve_access_index));

struct btrfs_root {
	unsigned long long last_trans;
} __attribute__((preserve_access_index));

struct btrfs_key {
	unsigned long long objectid;
} __attribute__((preserve_access_index));

struct btrfs_inode {
	struct btrfs_root *root;
	struct btrfs_key location;
} __attribute__((preserve_access_index));

struct kvm_mmu_page {
	_Bool tdp_mmu_page;
} __attribute__((preserve_access_index));

struct kvm_vcpu {
	int vcpu_id;
} __attribute__((preserve_access_index));

struct btfgen_no_such_module_type {
	int x;
} __attribute__((preserve_access_index));

SEC("kprobe/nf_conntrack_helper_register")
int BPF_KPROBE(modules_conntrack, struct nf_conntrack_helper *h)
{
	struct nf_conntrack_helper___old *old = (void *)h;
	struct nf_conn_counter *c = (void *)h;
	char name[16];

	BPF_CORE_READ_STR_INTO(&name, h, name);
	put(0, (__u64)BPF_CORE_READ(h, me));
	put(1, BPF_CORE_READ(h, flags));
	put(2, bpf_core_field_offset(h->flags));
	if (bpf_core_field_exists(old->removed_in_2010))
		put(3, BPF_CORE_READ(old, removed_in_2010));
	put(4, BPF_CORE_READ(old, flags));
	put(5, BPF_CORE_READ(c, bytes.counter));
	put(6, bpf_core_field_size(c->packets));
	put(7, bpf_core_enum_value_exists(enum ip_conntrack_events, IPCT_DESTROY));
	put(8, bpf_core_enum_value(enum ip_conntrack_events, IPCT_DESTROY));
	put(9, bpf_core_enum_value_exists(enum ip_conntrack_events, IPCT_NOT_IN_ANY_KERNEL));
	put(10, bpf_core_type_id_kernel(struct nf_conntrack_helper));
	put(11, bpf_core_type_size(struct nf_conntrack_helper));
	put(12, bpf_core_type_matches(struct nf_conn_counter));
	put(13, bpf_core_enum_value(enum br_boolopt_id, BR_BOOLOPT_MST_ENABLE));
	return 0;
}

SEC("kprobe/register_filesystem")
int BPF_KPROBE(modules_fs, struct file_system_type *fs)
{
	struct xfs_inode *xi = (void *)fs;
	struct btrfs_inode *bi = (void *)fs;
	struct btfgen_no_such_module_type *none = (void *)fs;

	put(20, BPF_CORE_READ(fs, fs_flags));
	put(21, (__u64)BPF_CORE_READ(fs, name));
	put(22, BPF_CORE_READ(xi, i_ino));
	put(23, (__u64)BPF_CORE_READ(xi, i_mount));
	put(24, BPF_CORE_READ(bi, root, last_trans));
	put(25, bpf_core_type_exists(struct xfs_inode));
	put(26, bpf_core_type_size(struct btrfs_inode));
	put(27, bpf_core_type_exists(struct btfgen_no_such_module_type));
	put(28, BPF_CORE_READ(none, x));
	put(29, BPF_CORE_READ(bi, location.objectid));
	put(19, bpf_core_type_size(struct file_system_type));
	return 0;
}

SEC("kprobe/kvm_vcpu_ioctl")
int BPF_KPROBE(modules_kvm, struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_page *sp = (void *)vcpu;

	put(30, BPF_CORE_READ(vcpu, vcpu_id));
	put(31, BPF_CORE_READ_BITFIELD_PROBED(sp, tdp_mmu_page));
	put(32, bpf_core_field_exists(sp->tdp_mmu_page));
	return 0;
}
