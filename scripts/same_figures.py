#!/usr/bin/env python3
"""Show that a change which adds report sections leaves every existing figure as it was.

    KEEP=/tmp/before MIA=old/mia scripts/report_digests.py   # reports of the old binary
    KEEP=/tmp/after scripts/report_digests.py                # reports of this checkout
    scripts/same_figures.py /tmp/before /tmp/after --added blind --added llm

For every case folder in BEFORE it compares report.json with AFTER's, after removing from the
new report the sections named by --added (top-level keys), the schema version, and the caveats
the new sections wrote (entries not in the old report that mention one of --caveat-words); every
other value must be equal, exactly. records.csv, records.parquet and plan.npz must be
byte-identical. Exit 1 on any difference, listing it.
"""

import argparse
import json
import sys
from pathlib import Path

BYTES = ["records.csv", "records.parquet", "plan.npz"]


def diff(a, b, path="$"):
    if type(a) is not type(b):
        return [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'new' if k in b else 'old'}")
            else:
                out.extend(diff(a[k], b[k], f"{path}.{k}"))
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} entries != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--added", action="append", default=[], help="a top-level section the change adds")
    ap.add_argument("--caveat-words", action="append", default=["distinguishable"])
    a = ap.parse_args()
    problems, cases = [], 0
    for old_dir in sorted(p for p in a.before.iterdir() if (p / "report.json").is_file()):
        new_dir = a.after / old_dir.name
        cases += 1
        old = json.loads((old_dir / "report.json").read_text())
        new = json.loads((new_dir / "report.json").read_text())
        for k in a.added:
            new.pop(k, None)
        new["schema_version"] = old["schema_version"]
        new["caveats"] = [c for c in new["caveats"]
                          if c in old["caveats"] or not any(w in c for w in a.caveat_words)]
        problems += [f"{old_dir.name}: {d}" for d in diff(old, new)]
        for f in BYTES:
            o, n = old_dir / f, new_dir / f
            if o.exists() != n.exists() or (o.exists() and o.read_bytes() != n.read_bytes()):
                problems.append(f"{old_dir.name}: {f} differs")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"{cases} cases: every figure of the old reports unchanged (added: {', '.join(a.added) or 'nothing'})")


if __name__ == "__main__":
    main()
