/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared boilerplate for the btfgen fixture programs: kernel types, libbpf's
 * BPF-side headers, and a small array map the programs write their results
 * to, so the compiler keeps every relocated value.
 */
#ifndef BTFGEN_FIXTURE_H
#define BTFGEN_FIXTURE_H

#include "kernel_types.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* UAPI constants normally provided by vmlinux.h / linux/bpf.h. */
#define FIXTURE_MAP_TYPE_ARRAY 2 /* BPF_MAP_TYPE_ARRAY */
#define FIXTURE_ANY 0            /* BPF_ANY */

/* libbpf 1.1's bpf_core_read.h has no bpf_core_field_signed(); newer
 * libbpf spells it exactly like this. */
#ifndef bpf_core_field_signed
#define bpf_core_field_signed(field...) \
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_SIGNED)
#endif

#define FIXTURE_SLOTS 64

struct {
	__uint(type, FIXTURE_MAP_TYPE_ARRAY);
	__uint(max_entries, FIXTURE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

static __always_inline void put(__u32 slot, __u64 value)
{
	bpf_map_update_elem(&results, &slot, &value, FIXTURE_ANY);
}

#endif /* BTFGEN_FIXTURE_H */
