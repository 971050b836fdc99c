#!/usr/bin/env python3
"""List the functions longer than a limit in the given crates (default: mia-audit and mia-cli,
120 lines), and exit 1 if there are any: the pipeline's steps stay readable one screen at a time.

    scripts/long_functions.py [--max N] [crate ...]

A function runs from its `fn` line to the line of the brace that closes its body (found by
counting braces outside strings, chars and comments); test modules count too.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FN = re.compile(r"^\s*(pub(\([a-z]+\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def strip(line: str, in_block: bool) -> tuple[str, bool]:
    """The line's code without strings, char literals and comments; whether a block comment is open."""
    out, i = [], 0
    while i < len(line):
        if in_block:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i, in_block = end + 2, False
        elif line.startswith("//", i):
            break
        elif line.startswith("/*", i):
            in_block, i = True, i + 2
        elif line[i] == '"':
            i += 1
            while i < len(line) and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
        elif line[i] == "'" and re.match(r"'(\\.|[^\\'])'", line[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'", line[i:]).group(0))
        else:
            out.append(line[i])
            i += 1
    return "".join(out), in_block


def long_functions(path: Path, limit: int):
    lines = path.read_text().splitlines()
    code, in_block = [], False
    for l in lines:
        c, in_block = strip(l, in_block)
        code.append(c)
    for start, c in enumerate(code):
        m = FN.match(c)
        if not m:
            continue
        depth, opened = 0, False
        for end in range(start, len(code)):
            if not opened and ";" in code[end] and "{" not in code[end]:
                break  # a declaration without a body (trait method)
            depth += code[end].count("{") - code[end].count("}")
            opened = opened or "{" in code[end]
            if opened and depth <= 0:
                n = end - start + 1
                if n > limit:
                    yield m.group(6), start + 1, n
                break


def main() -> None:
    args = sys.argv[1:]
    limit = 120
    if args[:1] == ["--max"]:
        limit, args = int(args[1]), args[2:]
    crates = args or ["mia-audit", "mia-cli"]
    found = 0
    for crate in crates:
        for f in sorted((ROOT / "crates" / crate).rglob("*.rs")):
            for name, line, n in long_functions(f, limit):
                print(f"{f.relative_to(ROOT)}:{line}: fn {name} is {n} lines (max {limit})")
                found += 1
    if found:
        sys.exit(1)
    print(f"no function over {limit} lines in {', '.join(crates)}")


if __name__ == "__main__":
    main()
