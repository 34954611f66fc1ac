// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe_runner: loads a uprobe BPF object with libbpf, attaches it to a
 * function of a binary, runs the binary once and prints what the program
 * stored. The test side of the uprobe CO-RE scenario (see README.md here).
 *
 *   cc -O2 -Wall -o uprobe_runner uprobe_runner.c -lbpf -lelf -lz
 *
 * uprobe_runner run OBJ BINARY [--btf BTF_PATH] [--func NAME] [--prog NAME]
 *   Opens OBJ with bpf_object_open_opts.btf_custom_path = BTF_PATH (without
 *   --btf: the running kernel's BTF), loads it, attaches program NAME
 *   (default: the object's first) as a uprobe on BINARY:NAME (default
 *   add_test, located by libbpf from BINARY's symbol table), then forks and
 *   execs BINARY with no arguments, its stdout captured, and waits for it.
 *   stdout, on success (exit 0):
 *     app LINE      the first line BINARY printed
 *     sum N         the signed 64-bit value of key 0 of the map "result"
 *     hits N        the value of key 1 of "result" (how often the probe ran)
 *   On failure: a message on stderr (with libbpf's warnings) and exit 1;
 *   exit 2 for bad usage; exit 3 when the system cannot attach uprobes at
 *   all (not root, no bpf(), no uprobe support), so callers can skip.
 *
 * Needs CAP_BPF + CAP_PERFMON (root). libbpf 1.1 attaches through the
 * "uprobe" perf PMU when /sys/bus/event_source/devices/uprobe exists, else
 * through tracefs's uprobe_events: the runner mounts tracefs on
 * /sys/kernel/tracing in that case if it is not there (and leaves it).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNSUPPORTED = 3 };

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int usage(void)
{
	fprintf(stderr, "usage: uprobe_runner run OBJ BINARY [--btf BTF_PATH] [--func NAME] [--prog NAME]\n");
	return EXIT_USAGE;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Makes uprobes attachable: the perf PMU, or tracefs (mounted if need be). */
static int check_uprobe_support(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "uprobe_runner: not root: loading and attaching a uprobe needs CAP_BPF and CAP_PERFMON\n");
		return EXIT_UNSUPPORTED;
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL) != 1) {
		fprintf(stderr, "uprobe_runner: this kernel does not load kprobe/uprobe BPF programs (bpf() blocked or no CONFIG_BPF_EVENTS)\n");
		return EXIT_UNSUPPORTED;
	}
	if (exists("/sys/bus/event_source/devices/uprobe/type"))
		return EXIT_OK;
	if (exists("/sys/kernel/tracing/uprobe_events") || exists("/sys/kernel/debug/tracing/uprobe_events"))
		return EXIT_OK;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0 ||
	    !exists("/sys/kernel/tracing/uprobe_events")) {
		fprintf(stderr, "uprobe_runner: no uprobe perf PMU and no tracefs uprobe_events "
				"(mount -t tracefs nodev /sys/kernel/tracing: %s)\n", strerror(errno));
		return EXIT_UNSUPPORTED;
	}
	return EXIT_OK;
}

/* Runs BINARY once; its first output line goes to `line`. */
static int run_binary(const char *binary, char *line, size_t size)
{
	int fds[2], status;
	pid_t pid;
	FILE *out;

	if (pipe(fds) != 0) {
		perror("uprobe_runner: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("uprobe_runner: fork");
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(binary, binary, (char *)NULL);
		fprintf(stderr, "uprobe_runner: exec %s: %s\n", binary, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	out = fdopen(fds[0], "r");
	line[0] = '\0';
	if (out) {
		char buf[256];

		if (fgets(line, size, out))
			line[strcspn(line, "\n")] = '\0';
		while (fgets(buf, sizeof(buf), out))
			;
		fclose(out);
	} else {
		close(fds[0]);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("uprobe_runner: waitpid");
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "uprobe_runner: %s exited abnormally (status 0x%x)\n", binary, status);
		return -1;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	const char *obj_path = NULL, *binary = NULL, *btf = NULL, *func = "add_test", *prog_name = NULL;
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	LIBBPF_OPTS(bpf_uprobe_opts, uprobe_opts);
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *link;
	struct bpf_map *map;
	char line[256], abs_binary[4096];
	__s64 sum = 0, hits = 0;
	__u32 key;
	int err, ret = EXIT_FAIL;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--btf") == 0 && i + 1 < argc)
			btf = argv[++i];
		else if (strcmp(argv[i], "--func") == 0 && i + 1 < argc)
			func = argv[++i];
		else if (strcmp(argv[i], "--prog") == 0 && i + 1 < argc)
			prog_name = argv[++i];
		else if (argv[i][0] == '-')
			return usage();
		else if (!obj_path)
			obj_path = argv[i];
		else if (!binary)
			binary = argv[i];
		else
			return usage();
	}
	if (!obj_path || !binary)
		return usage();
	if (!realpath(binary, abs_binary)) {
		fprintf(stderr, "uprobe_runner: %s: %s\n", binary, strerror(errno));
		return EXIT_FAIL;
	}
	err = check_uprobe_support();
	if (err)
		return err;

	open_opts.btf_custom_path = btf;
	obj = bpf_object__open_file(obj_path, &open_opts);
	if (!obj) {
		fprintf(stderr, "uprobe_runner: open %s: %s\n", obj_path, strerror(errno));
		return EXIT_FAIL;
	}
	prog = prog_name ? bpf_object__find_program_by_name(obj, prog_name) : bpf_object__next_program(obj, NULL);
	if (!prog) {
		fprintf(stderr, "uprobe_runner: %s: no program %s\n", obj_path, prog_name ? prog_name : "at all");
		goto out;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "uprobe_runner: load %s%s%s: %s\n", obj_path, btf ? " with BTF " : "", btf ? btf : "",
			strerror(-err));
		goto out;
	}
	map = bpf_object__find_map_by_name(obj, "result");
	if (!map) {
		fprintf(stderr, "uprobe_runner: %s: no map \"result\"\n", obj_path);
		goto out;
	}

	uprobe_opts.func_name = func;
	link = bpf_program__attach_uprobe_opts(prog, -1 /* any process */, abs_binary, 0, &uprobe_opts);
	if (!link) {
		err = -errno;
		fprintf(stderr, "uprobe_runner: attach %s to %s:%s: %s\n", bpf_program__name(prog), abs_binary, func,
			strerror(-err));
		ret = err == -EPERM || err == -EOPNOTSUPP || err == -ENOSYS ? EXIT_UNSUPPORTED : EXIT_FAIL;
		goto out;
	}

	err = run_binary(abs_binary, line, sizeof(line));
	bpf_link__destroy(link);
	if (err)
		goto out;

	key = 0;
	if (bpf_map__lookup_elem(map, &key, sizeof(key), &sum, sizeof(sum), 0) != 0) {
		fprintf(stderr, "uprobe_runner: read result[0]: %s\n", strerror(errno));
		goto out;
	}
	key = 1;
	if (bpf_map__lookup_elem(map, &key, sizeof(key), &hits, sizeof(hits), 0) != 0) {
		fprintf(stderr, "uprobe_runner: read result[1]: %s\n", strerror(errno));
		goto out;
	}
	printf("app %s\nsum %lld\nhits %lld\n", line, (long long)sum, (long long)hits);
	ret = EXIT_OK;
out:
	bpf_object__close(obj);
	return ret;
}

int main(int argc, char **argv)
{
	libbpf_set_print(print_libbpf);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	return usage();
}
