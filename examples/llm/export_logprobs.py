#!/usr/bin/env python3
"""Export a Hugging Face causal LM's per-token log-probabilities for a mia-audit language-model audit.

    python export_logprobs.py --model PATH_OR_NAME --texts texts.jsonl --out scores.jsonl \\
        [--reference PATH_OR_NAME] [--lowercase] [--max-tokens N] [--device cpu|cuda]

texts.jsonl: one JSON object per line with "id", "member" (1 = in the fine-tuning set, 0 = not) and
"text". scores.jsonl gets the same objects plus, for every token of the text:
  "logprobs"      ln p(token t | BOS, tokens before t) under --model (one per token, all <= 0)
  "mean", "std"   mean and standard deviation of ln p(v) over the model's next-token distribution
                  at that position (for Min-K%++)
  "ref_logprobs"  the same tokens' log-probabilities under --reference (only with --reference;
                  the reference must use the same tokenizer)
  "lowercase_logprobs"  ln p of each token of the lowercased text under --model (only with
                  --lowercase; its own tokenization, so its own length; for the lowercase attack)
Each text is encoded without special tokens and prefixed with the tokenizer's BOS token (EOS if it
has none), so every real token gets a log-probability; texts are cut to --max-tokens (default: the
model's context length). Needs `pip install torch transformers`; one text at a time, float64 softmax.

The "logprobs" field alone is enough for the loss, zlib, Min-K% and (with ref_logprobs) reference
attacks, and serving stacks give the same numbers: vLLM's SamplingParams(prompt_logprobs=0,
max_tokens=1) returns each prompt token's log-probability (RequestOutput.prompt_logprobs), and an
OpenAI-compatible completions endpoint called with echo=True, logprobs=0 (or 1), max_tokens=0 returns
them as choices[0].logprobs.token_logprobs. Both give None for the first prompt token: send the text
with a BOS token in front (many tokenizers, e.g. Llama's, add it themselves) and drop that None.
"mean" and "std" need the full distribution, as here.
"""

import argparse
import json

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


@torch.no_grad()
def token_stats(model, ids):
    x = torch.tensor([ids], device=model.device)
    logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits[0, :-1].double()
    lp = torch.log_softmax(logits, dim=-1)
    actual = lp.gather(1, x[0, 1:, None])[:, 0]
    mean = (lp.exp() * lp).sum(-1)
    std = (lp.exp() * (lp - mean[:, None]) ** 2).sum(-1).sqrt()
    return actual.clamp(max=0.0).tolist(), mean.tolist(), std.tolist()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reference")
    ap.add_argument("--lowercase", action="store_true",
                    help="also export the log-probabilities of the lowercased text (lowercase attack)")
    ap.add_argument("--max-tokens", type=int)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()

    tok = AutoTokenizer.from_pretrained(args.model)
    load = lambda name: AutoModelForCausalLM.from_pretrained(name).to(args.device).eval()
    model = load(args.model)
    ref = load(args.reference) if args.reference else None
    bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    limit = args.max_tokens or getattr(model.config, "max_position_embeddings", None) or 2048

    with open(args.texts, encoding="utf-8") as f, open(args.out, "w", encoding="utf-8") as out:
        for line in f:
            if not line.strip():
                continue
            obj = json.loads(line)
            encode = lambda text: ([bos] + tok(text, add_special_tokens=False)["input_ids"])[:limit]
            ids = encode(obj["text"])
            obj["logprobs"], obj["mean"], obj["std"] = token_stats(model, ids)
            if ref is not None:
                obj["ref_logprobs"] = token_stats(ref, ids)[0]
            if args.lowercase:
                obj["lowercase_logprobs"] = token_stats(model, encode(obj["text"].lower()))[0]
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
