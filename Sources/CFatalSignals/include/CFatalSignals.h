#ifndef BTFGEN_FATAL_SIGNALS_H
#define BTFGEN_FATAL_SIGNALS_H

#include <stddef.h>

/*
 * What btfgen does when a fatal signal it can explain arrives: SIGBUS from touching a page of a
 * mapped input file that is gone (the file was truncated while btfgen read it). The handler
 * prints one line naming the file and the offset, removes the temporary files of outputs not
 * yet renamed into place, and exits with status 2. The first registration installs it.
 *
 * Registrations return a slot (-1 when the table is full: the file is then not named, and the
 * temporary not removed); pass it back when the mapping or the temporary file is gone. The
 * path is copied.
 */
int btfgen_register_mapping(const void *base, size_t size, const char *path);
void btfgen_unregister_mapping(int slot);
int btfgen_register_temporary(const char *path);
void btfgen_unregister_temporary(int slot);

#endif
