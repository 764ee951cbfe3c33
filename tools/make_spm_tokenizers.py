#!/usr/bin/env python3
"""The sentencepiece tokenizer fixtures (Llama 2's and TinyLlama's tokenizer kind), from the
training text of tools/make_fixtures.py. Run by hand, from the repository root:

    pip install torch transformers==4.46.3 tokenizers sentencepiece
    python3 tools/make_spm_tokenizers.py
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transformers  # noqa: E402

from make_fixtures import FIXTURES, TEXTS, TRAINING_TEXT  # noqa: E402

SPM_TEXTS = TEXTS + ["  two  spaces, ünïcödé and a snowman ☃ (byte fallback)"]


def main():
    """Llama's other tokenizer kind: a sentencepiece BPE with byte fallback (TinyLlama, Llama 2),
    trained on TRAINING_TEXT and converted by transformers' LlamaTokenizerFast, in its legacy
    form (normalizer: prepend and replace "▁") and its current one (Metaspace pre-tokenizer).
    Writes tokenizers/llama-spm{,-legacy}/tokenizer.json and reference.json (ids of SPM_TEXTS,
    no special tokens)."""
    import tempfile

    import sentencepiece as spm
    from transformers import LlamaTokenizerFast

    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w") as f:
            f.write(TRAINING_TEXT)
        prefix = os.path.join(tmp, "spm")
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=prefix, vocab_size=500, model_type="bpe",
            byte_fallback=True, character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2,
            pad_id=-1, minloglevel=2,
        )
        for name, legacy in [("llama-spm-legacy", True), ("llama-spm", False)]:
            tok = LlamaTokenizerFast(vocab_file=prefix + ".model", legacy=legacy, from_slow=True)
            out_dir = os.path.join(FIXTURES, "tokenizers", name)
            os.makedirs(out_dir, exist_ok=True)
            tok.backend_tokenizer.save(os.path.join(out_dir, "tokenizer.json"))
            cases = []
            for text in SPM_TEXTS:
                ids = tok(text, add_special_tokens=False)["input_ids"]
                cases.append({"text": text, "input_ids": ids, "decoded": tok.decode(ids)})
            with open(os.path.join(out_dir, "reference.json"), "w") as f:
                json.dump({"transformers_version": transformers.__version__, "cases": cases}, f,
                          indent=1, ensure_ascii=False)
                f.write("\n")
            print(f"== tokenizers/{name}: {[len(c['input_ids']) for c in cases]} tokens")



if __name__ == "__main__":
    sys.exit(main())
