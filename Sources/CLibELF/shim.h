#ifndef BTFGEN_CLIBELF_SHIM_H
#define BTFGEN_CLIBELF_SHIM_H
#include <libelf.h>
#include <gelf.h>
#endif
