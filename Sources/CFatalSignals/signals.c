#define _GNU_SOURCE
#include "CFatalSignals.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Slots hold a path only while it is registered; the handler reads them without a lock (it
 * runs once, then the process exits), so each field is an atomic. */
struct mapping_slot {
	_Atomic(uintptr_t) base;
	_Atomic(size_t) size;
	_Atomic(char *) path;
};

#define MAPPING_SLOTS 1024
#define TEMPORARY_SLOTS 256

static struct mapping_slot mappings[MAPPING_SLOTS];
static _Atomic(char *) temporaries[TEMPORARY_SLOTS];
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void put(const char *s) {
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void put_hex(uintptr_t v) {
	char buf[2 + 2 * sizeof v + 1];
	char *p = buf + sizeof buf - 1;
	*p = 0;
	do {
		*--p = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	put(p);
}

static void on_bus_error(int sig, siginfo_t *info, void *context) {
	(void)context;
	uintptr_t at = (uintptr_t)info->si_addr;
	const char *path = NULL;
	uintptr_t offset = 0;
	for (int i = 0; i < MAPPING_SLOTS && !path; i++) {
		char *p = atomic_load(&mappings[i].path);
		uintptr_t base = atomic_load(&mappings[i].base);
		if (p && at >= base && at - base < atomic_load(&mappings[i].size)) {
			path = p;
			offset = at - base;
		}
	}
	for (int i = 0; i < TEMPORARY_SLOTS; i++) {
		char *t = atomic_load(&temporaries[i]);
		if (t)
			unlink(t);
	}
	if (!path) {
		/* Not a mapped input: the default action, a core dump where one is wanted. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	put("btfgen: ");
	put(path);
	put(": offset ");
	put_hex(offset);
	put(": the file shrank while btfgen read it (was it being written?)\n");
	_exit(2);
}

static void install(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_bus_error;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

int btfgen_register_mapping(const void *base, size_t size, const char *path) {
	pthread_once(&installed, install);
	char *copy = strdup(path);
	if (!copy)
		return -1;
	for (int i = 0; i < MAPPING_SLOTS; i++) {
		char *expected = NULL;
		/* Claim the slot with a placeholder path, fill in the extent, then publish the path. */
		if (atomic_compare_exchange_strong(&mappings[i].path, &expected, (char *)"")) {
			atomic_store(&mappings[i].base, (uintptr_t)base);
			atomic_store(&mappings[i].size, size);
			atomic_store(&mappings[i].path, copy);
			return i;
		}
	}
	free(copy);
	return -1;
}

void btfgen_unregister_mapping(int slot) {
	if (slot < 0 || slot >= MAPPING_SLOTS)
		return;
	atomic_store(&mappings[slot].size, 0);
	char *p = atomic_exchange(&mappings[slot].path, NULL);
	if (p && *p)
		free(p);
}

int btfgen_register_temporary(const char *path) {
	pthread_once(&installed, install);
	char *copy = strdup(path);
	if (!copy)
		return -1;
	for (int i = 0; i < TEMPORARY_SLOTS; i++) {
		char *expected = NULL;
		if (atomic_compare_exchange_strong(&temporaries[i], &expected, copy))
			return i;
	}
	free(copy);
	return -1;
}

void btfgen_unregister_temporary(int slot) {
	if (slot < 0 || slot >= TEMPORARY_SLOTS)
		return;
	char *p = atomic_exchange(&temporaries[slot], NULL);
	free(p);
}
