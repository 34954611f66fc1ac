#ifndef BTFGEN_CLIBBPF_SHIM_H
#define BTFGEN_CLIBBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include <bpf/bpf.h>
#endif
