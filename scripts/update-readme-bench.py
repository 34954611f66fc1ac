#!/usr/bin/env python3
"""Copies the benchmark tables into README.md between its markers (make bench calls this).

    scripts/update-readme-bench.py [README]
    scripts/update-readme-bench.py --check-real [README]   (make check-real)

Two blocks, each between its own pair of markers:

    <!-- bench:start -->       bench/results.md, less the real-workload tables when the README
    <!-- bench:end -->         has their block (so that they are not there twice)
    <!-- bench-real:start -->  bench/real.md (scripts/bench-real.sh)
    <!-- bench-real:end -->

README.md must have the first pair; a README without the second keeps the real-workload tables
in the first block, as part of bench/results.md. README defaults to the repository's README.md.
With --check-real, only the block <!-- check-real:start --> ... <!-- check-real:end --> is
filled, from bench/check-real.md.
"""
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
args = sys.argv[1:]
check_real = "--check-real" in args
args = [a for a in args if a != "--check-real"]
readme = pathlib.Path(args[0]) if args else root / "README.md"
real_md = root / "bench" / "real.md"
real = real_md.read_text().strip() if real_md.exists() else None


def replace_block(text, name, body):
    """Puts body between <!-- NAME:start --> and <!-- NAME:end -->; None when text has no such pair."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        return None
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


text = readme.read_text()
if check_real:
    body = (root / "bench" / "check-real.md").read_text().strip()
    filled = replace_block(text, "check-real", body)
    if filled is None:
        sys.exit(f"{readme.name} has no check-real markers (<!-- check-real:start --> ... <!-- check-real:end -->)")
    readme.write_text(filled)
    print(f"{readme.name}: updated check-real ({body.count(chr(10)) + 1} lines of bench/check-real.md)")
    sys.exit(0)
results = (root / "bench" / "results.md").read_text().strip()
updated = []
if real is not None:
    with_real = replace_block(text, "bench-real", real)
    if with_real is not None:
        text = with_real
        updated.append(f"real workloads ({real.count(chr(10)) + 1} lines of bench/real.md)")
        if real in results:
            results = results.replace(real, "").strip()
text_with_results = replace_block(text, "bench", results)
if text_with_results is None:
    sys.exit(f"{readme.name} has no bench markers (<!-- bench:start --> ... <!-- bench:end -->)")
updated.insert(0, f"benchmarks ({results.count(chr(10)) + 1} lines of bench/results.md)")
readme.write_text(text_with_results)
print(f"{readme.name}: updated " + " and ".join(updated))
