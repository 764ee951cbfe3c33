#!/usr/bin/env python3
"""Check that a saved model directory opens in Hugging Face transformers.

Usage:
    python3 tools/check_saved_model.py DIR TEXT

DIR is a model directory as written by any tool (e.g. pglab's Rust save, or
`save_pretrained`): config.json + model.safetensors + tokenizer.json.  Needs
torch and transformers (CPU is fine); nothing is downloaded.

Prints one JSON line
    {"n_tokens": ..., "sum_logprob": ..., "mean_logprob": ..., "perplexity": ...}
for TEXT (encoded as `tokenizer(TEXT)` encodes it: with the special tokens the tokenizer's
post-processor adds, a BOS for Llama 3's, as `pglab score` does) under the labels=input_ids
convention: the n_tokens-1 next-token log-probs log p(ids[j+1] | ids[..=j])
are summed / averaged; mean_logprob = -loss and perplexity = exp(loss).
"""

import json
import math
import os
import sys

import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model_dir, text = sys.argv[1], sys.argv[2]
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"))
    try:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    except TypeError:  # transformers before 4.56 calls it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
    model.eval()

    ids = tok(text, return_tensors="pt")["input_ids"]
    n = ids.shape[1]
    if n < 2:
        print("TEXT must encode to at least 2 tokens", file=sys.stderr)
        return 1
    with torch.no_grad():
        out = model(ids, labels=ids)
    lp = torch.log_softmax(out.logits.double(), dim=-1)
    tlp = lp[0, :-1].gather(-1, ids[0, 1:].unsqueeze(-1)).squeeze(-1)
    mean = tlp.mean().item()
    assert abs(mean + out.loss.item()) < 1e-4, (mean, out.loss.item())
    print(
        json.dumps(
            {
                "n_tokens": n,
                "sum_logprob": tlp.sum().item(),
                "mean_logprob": mean,
                "perplexity": math.exp(-mean),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
