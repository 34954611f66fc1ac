#!/usr/bin/env python3
"""Copies bench/results.md into README.md between the bench markers (make bench calls this)."""
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
readme = root / "README.md"
results = (root / "bench" / "results.md").read_text().strip()
start, end = "<!-- bench:start -->", "<!-- bench:end -->"
text = readme.read_text()
if start not in text or end not in text:
    sys.exit("README.md has no bench markers")
head, rest = text.split(start, 1)
_, tail = rest.split(end, 1)
body = results
readme.write_text(f"{head}{start}\n{body}\n{end}{tail}")
print(f"README.md: benchmark section updated from {results.count(chr(10)) + 1} lines of bench/results.md")
