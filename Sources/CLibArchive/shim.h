#ifndef BTFGEN_CLIBARCHIVE_SHIM_H
#define BTFGEN_CLIBARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
