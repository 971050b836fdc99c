#!/usr/bin/env python3
"""Language-model fixtures (issue 16): real per-token log-probabilities of a fine-tuned GPT-2-style model.

Writes
  data/llm/fortunes_random.jsonl.gz    random split: members and non-members drawn from the same pool
  data/llm/fortunes_shifted.jsonl.gz   shifted split: members from some fortune files, non-members from
                                       others (a distribution shift that inflates "blind" attacks)
  data/llm/README.md                   provenance: package version, files, counts, seeds, model, NLLs

Each .jsonl.gz has one JSON object per audited text, in a seeded shuffled order:
  {"id": "<fortune file>:<entry index>", "member": 0/1, "text": "...",
   "logprobs": [...],      target model, ln p(token t | BOS, tokens < t), one per real token (<= 0)
   "mean": [...],          target model, sum_v p(v) ln p(v) at that position   (Min-K%++ mu)
   "std": [...],           target model, sqrt(sum_v p(v) (ln p(v) - mean)^2)    (Min-K%++ sigma, > 0)
   "ref_logprobs": [...],  reference model, ln p of the same tokens
   "lowercase_logprobs": [...]}  target model, ln p of each token of the lowercased text (its own
                           tokenization, so its own length; for the lowercase attack)
Floats are rounded to 7 significant digits; the gzip header has mtime 0 and no file name.

Recipe (everything local; nothing is downloaded from the Hugging Face hub):
  1. Text: the Debian package `fortunes` (entries in /usr/share/games/fortunes/<file>, separated by
     lines holding only "%"). Each entry is stripped; entries shorter than 40 or longer than 600
     characters are dropped, as are exact duplicates (the first occurrence, in sorted file order, is
     kept). The symlinked *.u8 copies and *.dat index files are skipped.
  2. Splits (numpy default_rng(SEED)): the random split draws 1,000 entries from the whole pool and
     makes each a member by a fair seeded coin; the shifted split draws 500 members from
     SHIFT_MEMBER_FILES and 500 non-members from SHIFT_NONMEMBER_FILES among the entries the random
     split did not take. Everything left (the "pool") is in neither split; a seeded permutation cuts
     it into two disjoint halves, the base half and the reference half.
  3. Tokenizer: byte-level BPE (the `tokenizers` package), vocabulary VOCAB, trained on the pool
     only, with one special token <|endoftext|> (id 0) used as BOS/EOS/padding.
  4. Base model: GPT2LMHeadModel from a GPT2Config (CONFIG below), trained from scratch on the base
     half (BASE_EPOCHS epochs). Reference model: the same architecture and recipe with another seed,
     trained on the reference half; its log-probabilities are `ref_logprobs`. (A reference that is
     the target's own base model makes the reference attack nearly perfect, AUC 0.99-1.0 here; an
     independently trained one leaves it informative but imperfect.)
  5. Target model of each split: a copy of the base model fine-tuned on that split's members only
     (FT_EPOCHS epochs).
  6. Export: each text is encoded without special tokens, prefixed with BOS and cut to the context
     (n_positions tokens including BOS); each model sees one text at a time (batch of 1, float32
     forward, float64 log-softmax), which is also what examples/llm/export_logprobs.py does.

Environment (what data/llm/README.md records):
  apt-get install -y fortunes
  python3 -m venv /work/llmvenv
  /work/llmvenv/bin/pip install torch transformers tokenizers numpy scikit-learn
  (the CPU-only wheel index download.pytorch.org was unreachable, so the default PyPI wheel was used;
  it runs on CPU here and needs no GPU)

Usage:  /work/llmvenv/bin/python scripts/llm_fixtures.py
        About 15 minutes on one CPU core (torch.set_num_threads(1): one thread is as fast as two on a
        shared 2-core machine and keeps the floats independent of the core count); fixed seeds and
        torch.use_deterministic_algorithms(True). Then run scripts/llm_crosscheck.py.
        --save-models DIR additionally saves the random split's target model and the reference
        model with the tokenizer (save_pretrained; used to test examples/llm/export_logprobs.py).
"""

import argparse
import gzip
import importlib.metadata
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "llm"
FORTUNES = Path("/usr/share/games/fortunes")

SEED = 16
REF_SEED = 19
MIN_CHARS, MAX_CHARS = 40, 600
N_RANDOM = 1000
N_SHIFT = 500  # per side
SHIFT_MEMBER_FILES = ["literature", "wisdom"]
SHIFT_NONMEMBER_FILES = ["computers", "science"]
VOCAB = 1024
CONFIG = dict(n_layer=4, n_embd=128, n_head=4, n_positions=256, n_inner=512,
              resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1)
BASE_EPOCHS = 8
BASE_LR = 2e-3
FT_EPOCHS = 4
FT_LR = 1e-3
BATCH = 32

BOS = "<|endoftext|>"


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


def read_fortunes():
    """(id, file, text) for every kept entry, in sorted file order, first occurrence of duplicates."""
    entries, seen = [], set()
    files = sorted(p.name for p in FORTUNES.iterdir()
                   if p.is_file() and not p.is_symlink() and not p.name.endswith(".dat"))
    for name in files:
        raw = (FORTUNES / name).read_text(encoding="utf-8")
        for i, e in enumerate(re.split(r"(?m)^%\n", raw)):
            t = e.strip()
            if not (MIN_CHARS <= len(t) <= MAX_CHARS) or t in seen:
                continue
            seen.add(t)
            entries.append((f"{name}:{i}", name, t))
    return files, entries


def make_splits(entries):
    rng = np.random.default_rng(SEED)
    n = len(entries)
    pick = rng.choice(n, size=N_RANDOM, replace=False)
    coin = rng.integers(0, 2, size=N_RANDOM)
    random_split = [(int(i), int(c)) for i, c in zip(pick, coin)]
    taken = set(int(i) for i in pick)
    mem_cand = [i for i, e in enumerate(entries) if e[1] in SHIFT_MEMBER_FILES and i not in taken]
    non_cand = [i for i, e in enumerate(entries) if e[1] in SHIFT_NONMEMBER_FILES and i not in taken]
    mem = rng.choice(mem_cand, size=N_SHIFT, replace=False)
    non = rng.choice(non_cand, size=N_SHIFT, replace=False)
    shifted = [(int(i), 1) for i in mem] + [(int(i), 0) for i in non]
    shifted = [shifted[j] for j in rng.permutation(len(shifted))]
    taken |= set(i for i, _ in shifted)
    pool = [i for i in range(n) if i not in taken]
    perm = rng.permutation(len(pool))
    half = len(pool) // 2
    base_pool = sorted(pool[j] for j in perm[:half])
    ref_pool = sorted(pool[j] for j in perm[half:])
    return random_split, shifted, pool, base_pool, ref_pool


def train_tokenizer(texts):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=[BOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=BOS, pad_token=BOS)


def encode(tok, text, n_positions):
    ids = [tok.bos_token_id] + tok(text, add_special_tokens=False)["input_ids"]
    return ids[:n_positions]


def length_batches(seqs, g):
    """Batches of texts of (nearly) equal length, little padding: sort by (length, seeded random key),
    cut into batches of BATCH, shuffle the batch order (seeded); new compositions every epoch."""
    key = torch.randperm(len(seqs), generator=g).tolist()
    order = sorted(range(len(seqs)), key=lambda j: (len(seqs[j]), key[j]))
    batches = [order[b:b + BATCH] for b in range(0, len(order), BATCH)]
    return [batches[k] for k in torch.randperm(len(batches), generator=g).tolist()]


def train(model, seqs, epochs, lr, seed, label):
    """AdamW, linear warm-up (5 % of steps) then linear decay; seeded length-grouped batches."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    steps = epochs * len(length_batches(seqs, torch.Generator().manual_seed(0)))
    warm = max(1, steps // 20)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    pad = 0
    model.train()
    for ep in range(epochs):
        t0, tot, ntok = time.time(), 0.0, 0
        for batch_idx in length_batches(seqs, g):
            batch = [seqs[j] for j in batch_idx]
            L = max(len(s) for s in batch)
            ids = torch.full((len(batch), L), pad, dtype=torch.long)
            att = torch.zeros((len(batch), L), dtype=torch.long)
            for r, s in enumerate(batch):
                ids[r, :len(s)] = torch.tensor(s)
                att[r, :len(s)] = 1
            labels = ids.masked_fill(att == 0, -100)
            out = model(input_ids=ids, attention_mask=att, labels=labels)
            opt.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            n = int((labels[:, 1:] != -100).sum())
            tot += out.loss.item() * n
            ntok += n
        log(f"{label} epoch {ep + 1}/{epochs}: train NLL {tot / ntok:.4f} ({time.time() - t0:.0f} s)")
    model.eval()


@torch.no_grad()
def token_stats(model, ids):
    """Per real token: ln p(actual), E_p[ln p], sd_p[ln p] (float64 from float32 logits)."""
    x = torch.tensor([ids])
    logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits[0, :-1].double()
    lp = torch.log_softmax(logits, dim=-1)
    p = lp.exp()
    tgt = torch.tensor(ids[1:])
    actual = lp.gather(1, tgt[:, None])[:, 0]
    mean = (p * lp).sum(-1)
    var = (p * (lp - mean[:, None]) ** 2).sum(-1)
    return actual.tolist(), mean.tolist(), var.sqrt().tolist()


def r7(x):
    return float(f"{x:.7g}")


def r7_logprob(x):
    v = r7(x)
    if not math.isfinite(v):
        raise ValueError(f"non-finite log-prob {x}")
    return 0.0 if v >= 0.0 else v  # also turns -0.0 into 0.0


def export(path, rows, entries, tok, target, ref, n_positions):
    nll, ref_nll = {0: [], 1: []}, {0: [], 1: []}
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                compresslevel=9) as gz:
        for i, m in rows:
            ident, _, text = entries[i]
            ids = encode(tok, text, n_positions)
            lp, mu, sd = token_stats(target, ids)
            rlp, _, _ = token_stats(ref, ids)
            llp, _, _ = token_stats(target, encode(tok, text.lower(), n_positions))
            sd = [r7(s) for s in sd]
            if min(sd) <= 0:
                raise ValueError(f"{ident}: std rounds to 0")
            obj = {"id": ident, "member": m, "text": text,
                   "logprobs": [r7_logprob(v) for v in lp],
                   "mean": [r7(v) for v in mu], "std": sd,
                   "ref_logprobs": [r7_logprob(v) for v in rlp],
                   "lowercase_logprobs": [r7_logprob(v) for v in llp]}
            nll[m].append(-float(np.mean(lp)))
            ref_nll[m].append(-float(np.mean(rlp)))
            gz.write((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8"))
    means = lambda d: {k: float(np.mean(v)) for k, v in d.items()}
    return means(nll), means(ref_nll), {k: len(v) for k, v in nll.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--save-models", type=Path,
                    help="also save the random split's target and the reference model, each with the "
                         "tokenizer, as DIR/target and DIR/reference (save_pretrained)")
    args = ap.parse_args()

    t_start = time.time()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    from transformers import GPT2Config, GPT2LMHeadModel
    import tokenizers
    import transformers

    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "fortunes"], check=True,
                             capture_output=True, text=True).stdout.strip()
    files, entries = read_fortunes()
    random_split, shifted, pool, base_pool, ref_pool = make_splits(entries)
    log(f"fortunes {version}: {len(files)} files, {len(entries)} entries kept; "
        f"random {len(random_split)}, shifted {len(shifted)}, pool {len(pool)} "
        f"(base half {len(base_pool)}, reference half {len(ref_pool)})")

    pool_texts = [entries[i][2] for i in pool]
    tok = train_tokenizer(pool_texts)
    n_pos = CONFIG["n_positions"]
    cfg = GPT2Config(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id, **CONFIG)
    log(f"tokenizer: vocab {len(tok)}")

    def pretrain(idx, seed, label):
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(cfg)
        train(model, [encode(tok, entries[i][2], n_pos) for i in idx], BASE_EPOCHS, BASE_LR, seed, label)
        return model

    base = pretrain(base_pool, SEED, "base")
    n_params = sum(p.numel() for p in base.parameters())
    log(f"model: {n_params} parameters")
    base_state = {k: v.clone() for k, v in base.state_dict().items()}
    ref = pretrain(ref_pool, REF_SEED, "reference")

    OUT.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, rows, seed in [("random", random_split, SEED + 1), ("shifted", shifted, SEED + 2)]:
        target = GPT2LMHeadModel(cfg)
        target.load_state_dict(base_state)
        members = [encode(tok, entries[i][2], n_pos) for i, m in rows if m == 1]
        train(target, members, FT_EPOCHS, FT_LR, seed, f"target[{name}]")
        nll, ref_nll, counts = export(OUT / f"fortunes_{name}.jsonl.gz", rows, entries, tok, target, ref, n_pos)
        results[name] = dict(nll=nll, ref_nll=ref_nll, counts=counts, files=sorted({entries[i][1] for i, _ in rows}))
        log(f"{name}: members {counts[1]} mean NLL {nll[1]:.4f}; non-members {counts[0]} "
            f"mean NLL {nll[0]:.4f} (reference model: {ref_nll[1]:.4f} / {ref_nll[0]:.4f})")
        if name == "random" and args.save_models:
            for sub, model in [("target", target), ("reference", ref)]:
                model.save_pretrained(args.save_models / sub)
                tok.save_pretrained(args.save_models / sub)
            log(f"saved target and reference (with tokenizer) under {args.save_models}")

    minutes = (time.time() - t_start) / 60
    write_readme(version, files, entries, pool, base_pool, ref_pool, results, n_params,
                 dict(torch=torch.__version__, transformers=transformers.__version__,
                      tokenizers=tokenizers.__version__, numpy=np.__version__,
                      sklearn=importlib.metadata.version("scikit-learn"),
                      python=sys.version.split()[0]))
    log(f"done in {minutes:.1f} min")


def write_readme(version, files, entries, pool, base_pool, ref_pool, results, n_params, versions):
    def size(name):
        return os.path.getsize(OUT / f"fortunes_{name}.jsonl.gz")

    r, s = results["random"], results["shifted"]
    pool_files = sorted({entries[i][1] for i in pool})
    text = f"""# Language-model fixtures: fortunes

Real per-token log-probabilities of a small fine-tuned GPT-2-architecture language model (and of an
independent reference model), with membership ground truth, for the language-model audit (issue 16). Made by
`scripts/llm_fixtures.py` (see its docstring); the independent NumPy/scikit-learn scores and metrics
are in `fixtures/expected/llm_fortunes_*.json`, made by `scripts/llm_crosscheck.py`. Do not edit by hand.

| file | split | members / non-members | size (bytes) |
| --- | --- | --- | --- |
| fortunes_random.jsonl.gz | {N_RANDOM} entries drawn from the whole pool, member by a seeded fair coin | {r['counts'][1]} / {r['counts'][0]} | {size('random')} |
| fortunes_shifted.jsonl.gz | members from {', '.join(f'`{f}`' for f in SHIFT_MEMBER_FILES)}, non-members from {', '.join(f'`{f}`' for f in SHIFT_NONMEMBER_FILES)} | {s['counts'][1]} / {s['counts'][0]} | {size('shifted')} |

## Format

JSON Lines, gzip-compressed (header mtime 0, no file name), one object per audited text:

```
{{"id": "<fortune file>:<entry index>", "member": 0|1, "text": "...", "logprobs": [...],
 "mean": [...], "std": [...], "ref_logprobs": [...], "lowercase_logprobs": [...]}}
```

- `id`: the fortune file's name and the 0-based index of the entry in it (entries split on lines `%`).
- `text`: the entry with leading and trailing white space stripped (inner white space and line breaks kept).
- `logprobs[t]`: the target model's natural-log probability of token t of the text given BOS and
  the tokens before it; one value per token of the text (BOS itself has none); all <= 0.
- `mean[t]`, `std[t]`: the mean and standard deviation of ln p(v) under the target model's
  next-token distribution p at that position (Min-K%++, Zhang et al. 2024); `std` > 0.
- `ref_logprobs[t]`: the reference model's log-probability of the same token.
- `lowercase_logprobs`: the target model's log-probability of each token of `text.lower()` (Python's
  lowercasing), encoded the same way; its own tokenization, so its length may differ from `logprobs`.
- Every float is rounded to 7 significant digits (`float(f"{{x:.7g}}")`); a log-probability that rounds
  to -0.0 is written 0.0.

## Provenance

- Text: Debian package `fortunes`, version `{version}` (`dpkg-query -W fortunes`), files under
  `/usr/share/games/fortunes/` ({len(files)} files; the `*.u8` symlinks and `*.dat` indexes skipped).
  Entries stripped; kept if {MIN_CHARS} to {MAX_CHARS} characters long; exact duplicates dropped (first
  occurrence in sorted file order kept): {len(entries)} entries.
- Splits: numpy `default_rng({SEED})`. Random split: {N_RANDOM} entries from all {len(entries)}, each
  a member by a fair coin (files: {len(r['files'])} of them). Shifted split: {N_SHIFT} members drawn
  from {' + '.join(SHIFT_MEMBER_FILES)} and {N_SHIFT} non-members from
  {' + '.join(SHIFT_NONMEMBER_FILES)} (quotations, aphorisms and literary wit versus computing and
  science jokes), among entries not in the random split; order shuffled.
- Pool: the {len(pool)} entries in neither split (from {len(pool_files)} files), cut by a seeded
  permutation (same generator) into a base half ({len(base_pool)} entries) and a reference half
  ({len(ref_pool)}). The tokenizer is trained on the whole pool; no audited text is seen by the
  tokenizer, the base model or the reference model.
- Tokenizer: byte-level BPE from the `tokenizers` package, vocabulary {VOCAB} including the one
  special token `<|endoftext|>` (id 0: BOS, EOS and padding). Texts are encoded without special
  tokens and prefixed with BOS; at most {CONFIG['n_positions']} tokens including BOS (longer texts are cut).
- Model: `GPT2LMHeadModel(GPT2Config(vocab_size={VOCAB}, {', '.join(f'{k}={v}' for k, v in CONFIG.items())}))`,
  {n_params:,} parameters (tied embeddings).
- Base model: `torch.manual_seed({SEED})`, trained from scratch on the base half,
  {BASE_EPOCHS} epochs, AdamW (lr {BASE_LR}, weight decay 0.01, 5 % linear warm-up then linear
  decay, gradient-norm clip 1.0), batches of {BATCH} texts of nearly equal length (sorted by length with a seeded random
  tie-break, batch order shuffled; seed {SEED}), padding masked out of the loss, dropout 0.1.
- Reference model (`ref_logprobs`): the same recipe with seed {REF_SEED}, trained on the reference
  half. It is independent of the target (a reference equal to the target's own base model made the
  reference attack nearly perfect, AUC 0.99-1.0, in trial runs).
- Target model of each split (`logprobs`, `mean`, `std`): the base model fine-tuned on that split's
  members only, {FT_EPOCHS} epochs, same optimiser with lr {FT_LR} (shuffle seeds {SEED + 1} for
  random, {SEED + 2} for shifted).
- Export: one text at a time, float32 forward pass, float64 log-softmax.
- Observed mean NLL per token (nats, averaged per text, before rounding):

| split | target: members | target: non-members | reference: members | reference: non-members |
| --- | --- | --- | --- | --- |
| random | {r['nll'][1]:.4f} | {r['nll'][0]:.4f} | {r['ref_nll'][1]:.4f} | {r['ref_nll'][0]:.4f} |
| shifted | {s['nll'][1]:.4f} | {s['nll'][0]:.4f} | {s['ref_nll'][1]:.4f} | {s['ref_nll'][0]:.4f} |

- Versions: Python {versions['python']}, torch {versions['torch']} (CPU, 1 thread,
  `torch.use_deterministic_algorithms(True)`), transformers {versions['transformers']}, tokenizers
  {versions['tokenizers']}, numpy {versions['numpy']}. A run takes about 15 minutes
  (one thread on a shared 2-core machine).

## Regenerating

```
apt-get install -y fortunes
python3 -m venv /work/llmvenv
/work/llmvenv/bin/pip install torch transformers tokenizers numpy scikit-learn
/work/llmvenv/bin/python scripts/llm_fixtures.py
/work/llmvenv/bin/python scripts/llm_crosscheck.py
```

The environment was made exactly so (Debian 12, Python {versions['python']}); to pin the versions
used: `pip install torch=={versions['torch'].split('+')[0]} transformers=={versions['transformers']} tokenizers=={versions['tokenizers']} numpy=={versions['numpy']} scikit-learn=={versions['sklearn']}`. The CPU-only wheel index
(`pip install torch --index-url https://download.pytorch.org/whl/cpu`) was not reachable, so the
default PyPI torch wheel (with its CUDA dependencies, unused here) was installed; training runs on CPU.
Nothing is downloaded from the Hugging Face hub: tokenizer and models are built locally from config.
Two runs on the same machine and library versions gave byte-identical `.jsonl.gz` files; other
CPUs or torch versions may change the last digits of the floats (the splits and texts do not change).

## Licence

The fortune files are the data files of the BSD `fortune` program as packaged by Debian (source
`fortune-mod`). Debian's copyright file (`/usr/share/doc/fortunes/copyright`) puts the program under
the BSD licence of the Regents of the University of California (redistribution in source and binary
form allowed with the copyright notice, conditions and disclaimer kept; advertising clause deleted),
and credits individual collections (e.g. `cookie` to Karl Lehenbauer's alt.sources postings). The
entries themselves are short quotations and jokes from many, often named, authors; they are used here
as test data only, as Debian distributes them.
"""
    (OUT / "README.md").write_text(text)


if __name__ == "__main__":
    main()
