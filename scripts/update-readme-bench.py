#!/usr/bin/env python3
"""Copies the benchmark tables into README.md between its markers (make bench calls this).

    scripts/update-readme-bench.py [README]

Two blocks, each between its own pair of markers:

    <!-- bench:start -->       bench/results.md, less the real-workload tables when the README
    <!-- bench:end -->         has their block (so that they are not there twice)
    <!-- bench-real:start -->  bench/real.md (scripts/bench-real.sh)
    <!-- bench-real:end -->

README.md must have the first pair; a README without the second keeps the real-workload tables
in the first block, as part of bench/results.md. README defaults to the repository's README.md.
"""
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
readme = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "README.md"
results = (root / "bench" / "results.md").read_text().strip()
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
