#!/usr/bin/env python3
"""Show that a change which adds report sections leaves every existing figure as it was.

    KEEP=/tmp/before MIA=old/mia scripts/report_digests.py   # reports of the old binary
    KEEP=/tmp/after scripts/report_digests.py                # reports of this checkout
    scripts/same_figures.py /tmp/before /tmp/after --added blind --added llm
    scripts/same_figures.py /tmp/before /tmp/after --new-attack quantile

For every case folder in BEFORE it compares report.json with AFTER's, after removing from the
new report the sections named by --added (top-level keys), the schema version, and the caveats
the new sections wrote (entries not in the old report that mention one of --caveat-words); every
other value must be equal, exactly. records.csv, records.parquet and plan.npz must be
byte-identical. Exit 1 on any difference, listing it.

--new-attack NAME (a change that adds an attack): the new report's entries for that attack (in
`attacks`, `blind.attacks` and any other list of per-attack entries) and its records columns
(NAME_score, NAME_rank) are removed before comparing; an entry of `max` that now names the new
attack (it is the strongest by that measure) is listed as such, not as a difference, and the
old entry is compared with nothing else.
"""

import argparse
import csv
import io
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


def drop_attack(v, names):
    """`v` without the per-attack entries (dicts in lists whose name or attack is in `names`)."""
    if isinstance(v, dict):
        return {k: drop_attack(x, names) for k, x in v.items()}
    if isinstance(v, list):
        return [drop_attack(x, names) for x in v
                if not (isinstance(x, dict) and (x.get("name") in names or x.get("attack") in names))]
    return v


def new_max(old, new, names):
    """Entries of new["max"] naming a new attack: reported, and the old entry put in their place."""
    seen = []
    for k, entry in list(new.get("max", {}).items()):
        if isinstance(entry, dict) and entry.get("attack") in names:
            seen.append(f"max.{k} now {entry['attack']} ({entry.get('value')})")
            new["max"][k] = old["max"][k]
        elif isinstance(entry, list):
            for i, e in enumerate(entry):
                if e.get("attack") in names:
                    seen.append(f"max.{k}[{i}] now {e['attack']} ({e.get('tpr', e.get('value'))})")
                    entry[i] = old["max"][k][i]
    return seen


def records_without(path: Path, names):
    """records.csv / records.parquet as rows, without the new attacks' columns."""
    drop = lambda c: any(c.startswith(f"{n}_") for n in names)
    if path.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(path.read_text())))
        keep = [i for i, c in enumerate(rows[0]) if not drop(c)]
        return [[r[i] for i in keep] for r in rows]
    import pyarrow.parquet as pq
    t = pq.read_table(path)
    return t.drop([c for c in t.column_names if drop(c)]).to_pylist()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--added", action="append", default=[], help="a top-level section the change adds")
    ap.add_argument("--caveat-words", action="append", default=["distinguishable"])
    ap.add_argument("--new-attack", action="append", default=[], help="an attack the change adds")
    a = ap.parse_args()
    problems, cases, improved = [], 0, []
    for old_dir in sorted(p for p in a.before.iterdir() if (p / "report.json").is_file()):
        new_dir = a.after / old_dir.name
        cases += 1
        old = json.loads((old_dir / "report.json").read_text())
        new = json.loads((new_dir / "report.json").read_text())
        for k in a.added:
            new.pop(k, None)
        new["schema_version"] = old["schema_version"]
        if a.new_attack:
            improved += [f"{old_dir.name}: {m}" for m in new_max(old, new, a.new_attack)]
            new = drop_attack(new, a.new_attack)
        new["caveats"] = [c for c in new["caveats"]
                          if c in old["caveats"] or not any(w in c for w in a.caveat_words)]
        problems += [f"{old_dir.name}: {d}" for d in diff(old, new)]
        for f in BYTES:
            o, n = old_dir / f, new_dir / f
            if o.exists() != n.exists():
                problems.append(f"{old_dir.name}: {f} in one only")
            elif a.new_attack and f.startswith("records") and o.exists():
                if records_without(o, a.new_attack) != records_without(n, a.new_attack):
                    problems.append(f"{old_dir.name}: {f} differs beyond the new attacks' columns")
            elif o.exists() and o.read_bytes() != n.read_bytes():
                problems.append(f"{old_dir.name}: {f} differs")
    if improved:
        print("the new attacks are now the strongest by:\n  " + "\n  ".join(improved))
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"{cases} cases: every figure of the old reports unchanged (added: {', '.join(a.added) or 'nothing'})")


if __name__ == "__main__":
    main()
