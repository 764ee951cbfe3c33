#!/usr/bin/env python3
"""Generate the tiny parity fixtures for the Rust model crate.

Run by hand (never by CI), from the repository root, under the transformers version each
fixture is pinned to (FIXTURE_TRANSFORMERS below; the script refuses another):

    pip install torch transformers==4.46.3 tokenizers safetensors   # the four 4.x fixtures
    python3 tools/make_fixtures.py
    pip install torch transformers==5.25.0 tokenizers safetensors   # the three 5.x fixtures
    python3 tools/make_fixtures.py

With no fixture named, it builds every fixture pinned to the installed version; CPU is enough,
and nothing is downloaded (random weights, a tokenizer trained on the text below).

    python3 tools/make_fixtures.py tiny-llama tiny-qwen2   # only these
    python3 tools/make_fixtures.py --sgd-step   # only reference.json's sgd_step, from the weights

The sentencepiece tokenizer fixtures are made by tools/make_spm_tokenizers.py.

Writes, for each of
    crates/model/tests/fixtures/tiny-gpt2/      (GPT2LMHeadModel)
    crates/model/tests/fixtures/tiny-gpt-neo/   (GPTNeoForCausalLM, local attention window 4)
    crates/model/tests/fixtures/tiny-llama/     (LlamaForCausalLM: 4 heads on 2 key/value
                                                 heads, rope_theta 500, untied LM head)
    crates/model/tests/fixtures/tiny-qwen2/     (Qwen2ForCausalLM: 4 heads on 1 key/value
                                                 head, rope_theta 2000, q/k/v biases, tied)
and, written by transformers 5 (`rope_parameters` instead of the top-level rope keys):
    crates/model/tests/fixtures/tiny-llama-v5/  (LlamaForCausalLM, rope_theta 50000, untied)
    crates/model/tests/fixtures/tiny-llama3-scaled/ (LlamaForCausalLM with Llama 3's rope
                                                 scaling in all three bands, tied, and a
                                                 tokenizer that adds a BOS token)
    crates/model/tests/fixtures/tiny-qwen3/     (Qwen3ForCausalLM: q/k RMSNorm gains not all
                                                 one, head_dim 12 with 4 heads on hidden 32,
                                                 2 key/value heads, tied)
the files
    config.json, model.safetensors   (save_pretrained, float32)
    tokenizer.json                   (byte-level BPE, vocab ~400)
    vocab.json, merges.txt           (tiny-gpt2 only: BPE model files)
    reference.json                   (per-token log-probs and logits to compare against,
                                      and one SGD step's loss before and after)

reference.json: token_logprobs[j] = log p(input_ids[j+1] | input_ids[..=j]) (n-1 of them),
sum_logprob their sum, mean_logprob = -loss of model(ids, labels=ids); log-softmax in float64
of the float32 logits. Deterministic under fixed seeds with the same library versions.
"""

import json
import math
import os
import sys

import torch
import transformers
import tokenizers
import safetensors
from safetensors import safe_open
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    GPT2Config,
    GPT2LMHeadModel,
    GPTNeoConfig,
    GPTNeoForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

# The transformers version each fixture is made with: the 4.x ones keep transformers 4's rope keys,
# the 5.x ones its rope_parameters; both formats must keep loading, so neither is rebuilt with the other.
FIXTURE_TRANSFORMERS = {
    "tiny-gpt2": "4.46.3",
    "tiny-gpt-neo": "4.46.3",
    "tiny-llama": "4.46.3",
    "tiny-qwen2": "4.46.3",
    "tiny-llama-v5": "5.25.0",
    "tiny-llama3-scaled": "5.25.0",
    "tiny-qwen3": "5.25.0",
}

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO_ROOT, "crates", "model", "tests", "fixtures")

EOT = "<|endoftext|>"
VOCAB_SIZE = 400
N_CTX = 64

TRAINING_TEXT = """Once upon a time, there was a little girl named Anna.
Anna had a red ball. She liked to play with it every day.
One day, Anna went to the park with her mom. The sun was big and warm.
"Can I play on the swing?" Anna asked. "Yes, you can," said Mom.
Anna ran to the swing. An apple tree was next to it.
A bird sat in the apple tree. The bird sang a happy song.
Anna smiled at the bird. "Hello, bird!" she said.
The bird flew down and sat on the swing. Anna laughed.
After that, Anna and the bird were friends. They played all day.
Ben was a small boy. He had a dog named Max.
Max liked to run and jump. Ben liked to run too.
One morning, Ben and Max went to the big hill.
"Look, Max! A cat!" said Ben. The cat was black and white.
Max barked at the cat. The cat ran up a tree.
"No, Max! Be nice," Ben said. Max sat down and was sad.
Ben gave Max a hug. "It is okay. We can play," he said.
Amy liked to bake. She baked a cake with her dad.
The cake was sweet and soft. Amy and Dad ate it all.
Then they were full and happy. "Thank you, Dad," Amy said.
Tom found a shiny stone in the garden. It was blue and round.
He showed it to his sister, Lily. "Wow! It is so pretty," Lily said.
They put the stone in a box. Every night, they looked at it.
A little frog lived in a pond. The frog liked to swim.
One day, the frog saw a fish. "Are you my friend?" asked the frog.
"Yes, I am!" said the fish. And they swam together all day.
At night, the moon was bright. All the animals went to sleep.
The end.
"""

TEXTS = [
    "Anna had a ball.",
    "One day, Ben and Max went to the park. The sun was warm and Max liked to run and jump on the big hill with Ben.",
    '"Can I play?" Amy asked.\n"Yes, you can," said Mom.',
    "Lily went to the café with her dad.",
]


def train_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(TRAINING_TEXT.splitlines(keepends=True), trainer=trainer)
    return tok


def reinit_(model, qk_std):
    """Re-initialise every parameter so predictions are clearly non-uniform."""
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied lm_head/wte appears once
            if name.endswith(".bias"):
                p.normal_(0.0, 0.1)
            elif ".ln_" in name or name.startswith("transformer.ln_f") or ".ln_f." in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif qk_std is not None and (name.endswith("q_proj.weight") or name.endswith("k_proj.weight")):
                p.normal_(0.0, qk_std)
            else:
                p.normal_(0.0, 0.3)


def reinit_llama_(model):
    """Llama/Qwen2: RMSNorm gains near 1, biases N(0, 0.1²), every other weight N(0, 0.3²)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0.0, 0.1)
            elif "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.3)


SGD_LR = 0.05


def sgd_step(model, ids):
    """The mean token NLL of `ids` before and after one SGD step (lr SGD_LR) on it, on a copy."""
    import copy

    # eval(): dropout off (GPT-2's and GPT-Neo's configs default to 0.1); gradients still flow.
    model = copy.deepcopy(model).eval()
    t = torch.tensor([ids])
    loss = model(t, labels=t).loss
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=SGD_LR).step()
    with torch.no_grad():
        after = model(t, labels=t).loss.item()
    return {"input_ids": ids, "lr": SGD_LR, "loss_before": loss.item(), "loss_after": after}


def add_sgd_step(name, tok):
    """Adds `sgd_step` to an existing fixture's reference.json, from its committed weights."""
    out_dir = os.path.join(FIXTURES, name)
    model = AutoModelForCausalLM.from_pretrained(out_dir, torch_dtype=torch.float32)
    path = os.path.join(out_dir, "reference.json")
    with open(path) as f:
        ref = json.load(f)
    ref["sgd_step"] = sgd_step(model, ref["cases"][1]["input_ids"])
    with open(path, "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print(f"== {name}: sgd_step {ref['sgd_step']['loss_before']:.4f} -> {ref['sgd_step']['loss_after']:.4f}")


def token_logprobs(model, ids):
    """ids: LongTensor [B, n] -> (float64 [B, n-1] log-probs, float32 logits [B, n, V])."""
    with torch.no_grad():
        logits = model(ids).logits
    lp = torch.log_softmax(logits.double(), dim=-1)
    tlp = lp[:, :-1, :].gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return tlp, logits


def make_reference(model, tok, out_dir):
    cases = []
    all_lp = []
    for text in TEXTS:
        ids = tok.encode(text, add_special_tokens=False).ids
        assert 2 <= len(ids) <= N_CTX, (text, len(ids))
        assert tok.decode(ids) == text, "tokenizer round trip failed"
        t = torch.tensor([ids])
        tlp, logits = token_logprobs(model, t)
        tlp = tlp[0]
        with torch.no_grad():
            loss = model(t, labels=t).loss.item()
        mean = tlp.mean().item()
        assert abs(mean + loss) < 1e-5, (mean, loss)
        all_lp.append(tlp)
        cases.append(
            {
                "text": text,
                "input_ids": ids,
                "token_logprobs": tlp.tolist(),
                "sum_logprob": tlp.sum().item(),
                "mean_logprob": mean,
                "last_logits_head": logits[0, -1, :10].double().tolist(),
            }
        )

    # Sanity: not near-uniform, not saturated.
    flat = torch.cat(all_lp)
    assert torch.isfinite(flat).all()
    assert flat.min().item() > -40.0, flat.min().item()
    assert flat.std().item() > 1.0, flat.std().item()
    uniform = -math.log(model.config.vocab_size)

    # Batched case: two rows of equal length (no padding needed); each row must
    # equal the single-sequence result.
    n = 12
    rows = [cases[1]["input_ids"][:n], cases[2]["input_ids"][:n]]
    assert all(len(r) == n for r in rows)
    bt = torch.tensor(rows)
    btlp, blogits = token_logprobs(model, bt)
    for i, r in enumerate(rows):
        single, slogits = token_logprobs(model, torch.tensor([r]))
        assert torch.allclose(single[0], btlp[i], atol=1e-5)
    batch_cases = [
        {
            "input_ids": rows,
            "token_logprobs": btlp.tolist(),
            "sum_logprob": btlp.sum(-1).tolist(),
            "mean_logprob": btlp.mean(-1).tolist(),
            "last_logits_head": blogits[:, -1, :10].double().tolist(),
        }
    ]

    ref = {
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "tokenizers_version": tokenizers.__version__,
        "convention": "token_logprobs[j] = log p(input_ids[j+1] | input_ids[..=j]); "
        "mean_logprob = -loss(labels=input_ids); no special tokens added",
        "cases": cases,
        "batch_cases": batch_cases,
        "sgd_step": sgd_step(model, cases[1]["input_ids"]),
    }
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    return flat, uniform


def build(name, model, tok, save_bpe_files):
    out_dir = os.path.join(FIXTURES, name)
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    if save_bpe_files:
        tok.model.save(out_dir)  # vocab.json + merges.txt
    flat, uniform = make_reference(model, tok, out_dir)

    print(f"== {name}")
    total = 0
    for fn in sorted(os.listdir(out_dir)):
        sz = os.path.getsize(os.path.join(out_dir, fn))
        total += sz
        print(f"  {fn:20s} {sz:8d} bytes")
    print(f"  total {total} bytes")
    assert total < 1_000_000
    print(f"  token log-probs: n={flat.numel()} mean={flat.mean():.3f} std={flat.std():.3f} "
          f"min={flat.min():.3f} max={flat.max():.3f} (uniform would be {uniform:.3f})")
    print("  first case:", [round(x, 3) for x in flat[:5].tolist()])
    with safe_open(os.path.join(out_dir, "model.safetensors"), framework="pt") as f:
        for k in f.keys():
            print(f"  {k:40s} {list(f.get_slice(k).get_shape())}")


def main():
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"tokenizers {tokenizers.__version__}, safetensors {safetensors.__version__}"
    )
    torch.set_num_threads(1)
    tok = train_tokenizer()
    vocab_size = tok.get_vocab_size()
    eot_id = tok.token_to_id(EOT)
    print(f"tokenizer vocab size {vocab_size}, {EOT} id {eot_id}")
    for t in TEXTS:
        print(f"  {len(tok.encode(t, add_special_tokens=False).ids):3d} tokens: {t!r}")

    only = sys.argv[1:]
    named = [a for a in only if a in FIXTURE_TRANSFORMERS]
    for name in named:
        if FIXTURE_TRANSFORMERS[name] != transformers.__version__:
            sys.exit(f"{name} is made with transformers {FIXTURE_TRANSFORMERS[name]}, "
                     f"this is {transformers.__version__}")

    def wanted(name):
        if named or only:
            return name in named
        return FIXTURE_TRANSFORMERS[name] == transformers.__version__

    builders = {
        "tiny-gpt2": build_gpt2,
        "tiny-gpt-neo": build_gpt_neo,
        "tiny-llama": build_llama,
        "tiny-qwen2": build_qwen2,
        "tiny-llama-v5": build_llama_v5,
        "tiny-llama3-scaled": build_llama3_scaled,
        "tiny-qwen3": build_qwen3,
    }
    for name, builder in builders.items():
        if wanted(name):
            builder(tok, vocab_size, eot_id)
    if "--sgd-step" in only:
        for name in ["tiny-gpt2", "tiny-gpt-neo", "tiny-llama", "tiny-qwen2"]:
            add_sgd_step(name, tok)


def build_gpt2(tok, vocab_size, eot_id):
    torch.manual_seed(1234)
    cfg = GPT2Config(
        vocab_size=vocab_size,
        n_positions=N_CTX,
        n_embd=32,
        n_layer=2,
        n_head=4,
        activation_function="gelu_new",
        bos_token_id=eot_id,
        eos_token_id=eot_id,
    )
    gpt2 = GPT2LMHeadModel(cfg).float()
    torch.manual_seed(1)
    reinit_(gpt2, qk_std=None)
    build("tiny-gpt2", gpt2, tok, save_bpe_files=True)


def build_gpt_neo(tok, vocab_size, eot_id):
    torch.manual_seed(5678)
    cfg = GPTNeoConfig(
        vocab_size=vocab_size,
        max_position_embeddings=N_CTX,
        hidden_size=32,
        num_layers=2,
        num_heads=4,
        attention_types=[[["global", "local"], 1]],
        window_size=4,
        activation_function="gelu_new",
        bos_token_id=eot_id,
        eos_token_id=eot_id,
    )
    neo = GPTNeoForCausalLM(cfg).float()
    torch.manual_seed(2)
    reinit_(neo, qk_std=0.15)
    build("tiny-gpt-neo", neo, tok, save_bpe_files=False)

    # The local window must matter: the same weights with an all-global
    # attention pattern must give clearly different log-probs on the long text.
    glob_dict = {**cfg.to_dict(), "attention_types": [[["global"], 2]]}
    glob_dict.pop("attention_layers")  # else it overrides attention_types
    glob_cfg = GPTNeoConfig(**glob_dict)
    assert glob_cfg.attention_layers == ["global", "global"]
    glob = GPTNeoForCausalLM(glob_cfg).float().eval()
    glob.load_state_dict(neo.state_dict())
    ids = torch.tensor([tok.encode(TEXTS[1], add_special_tokens=False).ids])
    diff = (token_logprobs(neo, ids)[0] - token_logprobs(glob, ids)[0]).abs()
    print(f"  local-vs-global max |dlogprob| on long text: {diff.max():.3f}, "
          f"first {cfg.window_size} positions: {diff[0, : cfg.window_size].max():.2e}")
    assert diff.max().item() > 0.1
    assert diff[0, : cfg.window_size].max().item() < 1e-5


def positions_matter(model, tok, theta_key="rope_theta"):
    """The rotary base must matter: the same weights at the default base score differently."""
    cfg = model.config.to_dict()
    cfg[theta_key] = 10000.0 if model.config.rope_theta != 10000.0 else 500.0
    other = type(model)(type(model.config)(**cfg)).float().eval()
    other.load_state_dict(model.state_dict())
    ids = torch.tensor([tok.encode(TEXTS[1], add_special_tokens=False).ids])
    diff = (token_logprobs(model, ids)[0] - token_logprobs(other, ids)[0]).abs()
    print(f"  rope_theta {model.config.rope_theta} vs {cfg[theta_key]}: max |dlogprob| {diff.max():.3f}")
    assert diff.max().item() > 0.1


def build_llama(tok, vocab_size, eot_id):
    torch.manual_seed(4321)
    cfg = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=N_CTX,
        rms_norm_eps=1e-5,
        rope_theta=500.0,
        tie_word_embeddings=False,
        bos_token_id=eot_id,
        eos_token_id=eot_id,
    )
    model = LlamaForCausalLM(cfg).float()
    torch.manual_seed(3)
    reinit_llama_(model)
    assert not torch.equal(model.lm_head.weight, model.model.embed_tokens.weight)
    build("tiny-llama", model, tok, save_bpe_files=False)
    positions_matter(model.eval(), tok)


def build_qwen2(tok, vocab_size, eot_id):
    torch.manual_seed(8765)
    cfg = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        max_position_embeddings=N_CTX,
        rms_norm_eps=1e-6,
        rope_theta=2000.0,
        tie_word_embeddings=True,
        use_sliding_window=False,
        bos_token_id=eot_id,
        eos_token_id=eot_id,
    )
    model = Qwen2ForCausalLM(cfg).float()
    torch.manual_seed(4)
    reinit_llama_(model)
    assert model.model.layers[0].self_attn.q_proj.bias.abs().sum() > 0
    build("tiny-qwen2", model, tok, save_bpe_files=False)
    positions_matter(model.eval(), tok)


def rope_matters(model, tok, rope_parameters):
    """The rotary parameters must matter: the same weights under `rope_parameters` instead
    score the long text differently (transformers 5's config format)."""
    cfg = model.config.to_dict()
    cfg["rope_parameters"] = rope_parameters
    other = type(model)(type(model.config)(**cfg)).float().eval()
    other.load_state_dict(model.state_dict())
    ids = torch.tensor([tok.encode(TEXTS[1], add_special_tokens=False).ids])
    diff = (token_logprobs(model, ids)[0] - token_logprobs(other, ids)[0]).abs()
    print(f"  {model.config.rope_parameters} vs {rope_parameters}: max |dlogprob| {diff.max():.3f}")
    assert diff.max().item() > 0.1


def build_llama_v5(tok, vocab_size, eot_id):
    torch.manual_seed(2468)
    cfg = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=N_CTX,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 50000.0},
        tie_word_embeddings=False,
        bos_token_id=eot_id,
        eos_token_id=eot_id,
    )
    model = LlamaForCausalLM(cfg).float()
    torch.manual_seed(5)
    reinit_llama_(model)
    build("tiny-llama-v5", model, tok, save_bpe_files=False)
    rope_matters(model.eval(), tok, {"rope_type": "default", "rope_theta": 10000.0})


BOS = "<|begin_of_text|>"

# Llama 3's scaling shrunk to this model: head_dim 8 and θ 500 give wavelengths of 6.3, 29.8,
# 140 and 664 positions; with a pretraining context of 32 (low_freq_factor 1, high_freq_factor 4)
# the first is kept, the second blended and the last two divided by `factor`: all three bands.
LLAMA3_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 500.0,
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 32,
}


def bos_tokenizer(tok):
    """The fixtures' BPE with Llama 3's habit: a BOS token added in front of every encoding."""
    tok = Tokenizer.from_str(tok.to_str())
    tok.add_special_tokens([BOS])
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                      special_tokens=[(BOS, bos_id)]),
    ])
    return tok, bos_id


def build_llama3_scaled(tok, vocab_size, eot_id):
    tok, bos_id = bos_tokenizer(tok)
    torch.manual_seed(1357)
    cfg = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=N_CTX,
        rms_norm_eps=1e-5,
        rope_parameters=dict(LLAMA3_ROPE),
        tie_word_embeddings=True,
        bos_token_id=bos_id,
        eos_token_id=eot_id,
    )
    model = LlamaForCausalLM(cfg).float()
    torch.manual_seed(6)
    reinit_llama_(model)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    build("tiny-llama3-scaled", model, tok, save_bpe_files=False)
    add_bos_cases("tiny-llama3-scaled", model.eval(), tok)
    rope_matters(model, tok, {"rope_type": "default", "rope_theta": 500.0})


def add_bos_cases(name, model, tok):
    """reference.json's `bos_cases`: what transformers' own tokenizer makes of each text (BOS
    first) and the log-probs of those ids: what pglab's prompts and `score` must match."""
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok)
    cases = []
    for text in TEXTS:
        ids = hf_tok(text)["input_ids"]
        assert ids[0] == tok.token_to_id(BOS) and ids[1:] == tok.encode(text, add_special_tokens=False).ids
        tlp, _ = token_logprobs(model, torch.tensor([ids]))
        cases.append({"text": text, "input_ids": ids, "token_logprobs": tlp[0].tolist(),
                      "sum_logprob": tlp[0].sum().item()})
    path = os.path.join(FIXTURES, name, "reference.json")
    with open(path) as f:
        ref = json.load(f)
    ref["bos_cases"] = cases
    with open(path, "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


def build_qwen3(tok, vocab_size, eot_id):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(9753)
    cfg = Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=12,
        max_position_embeddings=N_CTX,
        rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 1000.0},
        tie_word_embeddings=True,
        bos_token_id=eot_id,
        eos_token_id=eot_id,
    )
    model = Qwen3ForCausalLM(cfg).float()
    torch.manual_seed(7)
    reinit_llama_(model)
    norm = model.model.layers[0].self_attn.q_norm.weight
    assert norm.shape == (12,) and (norm - 1).abs().max() > 0.1
    build("tiny-qwen3", model, tok, save_bpe_files=False)
    rope_matters(model.eval(), tok, {"rope_type": "default", "rope_theta": 10000.0})


if __name__ == "__main__":
    sys.exit(main())
