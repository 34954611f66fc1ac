/*
 * The user-space application of the uprobe CO-RE scenario (see README.md here).
 *
 * Built twice: without -DV2 (v1) and with -DV2 (v2). The two versions differ
 * in the layout of struct data: v2 inserts `b` between `a` and `c`, so `c`
 * moves from offset 4 to offset 8. A BPF program compiled against v1 that
 * reads d->c at a fixed offset reads d->b under v2; with CO-RE it reads d->c.
 */
#include <stdio.h>

struct data {
	int a;
#ifdef V2
	int b;
#endif
	int c;
	int d;
};

/* The uprobe's target: not inlined, so it has its own symbol. */
__attribute__((noinline)) int add_test(struct data *d)
{
	return d->a + d->c;
}

int main(void)
{
	/* volatile: keep the values out of the compiler's reach, so add_test
	 * really reads them from memory through its argument. */
	volatile struct data v = {
		.a = 1000,
#ifdef V2
		.b = 7,
#endif
		.c = 234,
		.d = 5,
	};
	struct data d = v;

	printf("%d\n", add_test(&d));
	return 0;
}
