#!/usr/bin/env python3
"""Regenerate fixtures/llm_parquet/: the same texts with per-token log-probabilities as JSON Lines
and as Parquet files written by pyarrow, for the Parquet path of mia_data::texts::load_texts
(`mia llm`), whose tests (crates/mia-data/src/texts/parquet.rs) read both and require the same
TextTable field by field.

Content (deterministic: Python's random.Random(20240611), no clock, no hash order):
  40 texts; ids "1000".."1039" (strings); member alternating (true for even rows); a short text
  (ASCII and a few non-ASCII words); logprobs of length 1..30 (row i has 1 + 7i mod 30 tokens, so
  every length 1..30 occurs), mean, std (> 0) and ref_logprobs of the same length, and
  lowercase_logprobs of its own length 1 + 5i mod 23 (drawn from a second generator,
  random.Random(20240612), so the other fields are those of the fixture before it had them). Values are
  random doubles at full float64 precision, plus two exact cases: row 2 token 0 is 0.0 and row 3
  token 0 is -0.0 (a log-probability may be 0; the sign of zero must survive).

Output:
  fixtures/llm_parquet/texts.jsonl        one JSON object per text (json.dumps: shortest repr,
                                          so every double round-trips exactly)
  fixtures/llm_parquet/texts.parquet      the same: id string, member bool, text string,
                                          logprobs/mean/std/ref_logprobs/lowercase_logprobs
                                          list<double>;
                                          row groups of 16 rows (three groups), snappy
  fixtures/llm_parquet/texts_f32.parquet  the same texts with float32 numbers: id int64, member
                                          int64 (0/1), text large_string, logprobs list<float>,
                                          mean/std/ref_logprobs/lowercase_logprobs
                                          large_list<float>; the values
                                          are the JSONL's rounded to the nearest float32
  fixtures/llm_parquet/bad_types.parquet  5 rows; logprobs is list<string> (a column-type error)
  fixtures/llm_parquet/bad_value.parquet  5 rows of valid texts except row 3, whose logprobs
                                          [-0.75, 0.25, -1.5] hold a positive log-probability

Usage:  python3 scripts/llm_parquet_fixture.py    (pyarrow; well under a second)
"""

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "llm_parquet"
N = 40
WORDS = ["the", "model", "saw", "this", "sentence", "before", "café", "naïve", "日本語", "data", "token", "audit"]


def texts():
    rng = random.Random(20240611)
    lower_rng = random.Random(20240612)
    rows = []
    for i in range(N):
        n = 1 + (7 * i) % 30
        logprobs = [-rng.expovariate(0.6) for _ in range(n)]
        if i == 2:
            logprobs[0] = 0.0
        if i == 3:
            logprobs[0] = -0.0
        rows.append(
            {
                "id": str(1000 + i),
                "member": i % 2 == 0,
                "text": f"text {i}: " + " ".join(rng.choice(WORDS) for _ in range(1 + i % 6)),
                "logprobs": logprobs,
                "mean": [rng.uniform(-12.0, -2.0) for _ in range(n)],
                "std": [rng.uniform(0.5, 4.0) for _ in range(n)],
                "ref_logprobs": [min(lp - rng.gauss(0.0, 0.5), 0.0) for lp in logprobs],
                "lowercase_logprobs": [-lower_rng.expovariate(0.5) for _ in range(1 + (5 * i) % 23)],
            }
        )
    return rows


def column(rows, name):
    return [r[name] for r in rows]


def write(table, name, **kw):
    pq.write_table(table, OUT / name, compression="snappy", **kw)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rows = texts()
    with open(OUT / "texts.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    f64 = pa.list_(pa.float64())
    write(
        pa.table(
            {
                "id": pa.array(column(rows, "id"), pa.string()),
                "member": pa.array(column(rows, "member"), pa.bool_()),
                "text": pa.array(column(rows, "text"), pa.string()),
                "logprobs": pa.array(column(rows, "logprobs"), f64),
                "mean": pa.array(column(rows, "mean"), f64),
                "std": pa.array(column(rows, "std"), f64),
                "ref_logprobs": pa.array(column(rows, "ref_logprobs"), f64),
                "lowercase_logprobs": pa.array(column(rows, "lowercase_logprobs"), f64),
            }
        ),
        "texts.parquet",
        row_group_size=16,
    )

    # Python floats to float32: pyarrow rounds each to the nearest float32 (as Rust's `as f32`).
    f32 = pa.list_(pa.float32())
    large32 = pa.large_list(pa.float32())
    write(
        pa.table(
            {
                "id": pa.array([int(x) for x in column(rows, "id")], pa.int64()),
                "member": pa.array([int(m) for m in column(rows, "member")], pa.int64()),
                "text": pa.array(column(rows, "text"), pa.large_string()),
                "logprobs": pa.array(column(rows, "logprobs"), f32),
                "mean": pa.array(column(rows, "mean"), large32),
                "std": pa.array(column(rows, "std"), large32),
                "ref_logprobs": pa.array(column(rows, "ref_logprobs"), large32),
                "lowercase_logprobs": pa.array(column(rows, "lowercase_logprobs"), large32),
            }
        ),
        "texts_f32.parquet",
    )

    member = [True, False, True, False, True]
    write(
        pa.table(
            {
                "id": pa.array(["a", "b", "c", "d", "e"], pa.string()),
                "member": pa.array(member, pa.bool_()),
                "logprobs": pa.array([["-0.5"], ["-1"], ["-2"], ["-0.25"], ["-3"]], pa.list_(pa.string())),
            }
        ),
        "bad_types.parquet",
    )
    write(
        pa.table(
            {
                "id": pa.array(["a", "b", "c", "d", "e"], pa.string()),
                "member": pa.array(member, pa.bool_()),
                "logprobs": pa.array([[-0.5, -1.0], [-2.0], [-0.75, 0.25, -1.5], [-1.0], [-3.0]], f64),
            }
        ),
        "bad_value.parquet",
    )


if __name__ == "__main__":
    main()
