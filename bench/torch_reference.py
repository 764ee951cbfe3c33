#!/usr/bin/env python3
"""PyTorch reference for `pglab bench`: the same RL-step workload, timed the same way.

What it measures (mirrors crates/runner/src/bench.rs):
  * a GPT-2 with random weights (seed 0, dropout 0), `small` (vocab 4096, 256 positions,
    n_embd 128, 4 layers, 4 heads) or `medium` (vocab 8192, 256 positions, n_embd 256,
    6 layers, 8 heads) (`tiny`, `chapter` and `smollm`: see CONFIGS below);
  * sample: P random prompts (16 tokens each), each repeated k times (8 x 4 = 32 sequences),
    100 new tokens at temperature 1 from the full distribution (no top-k / top-p), with the
    KV cache and no stop at EOS;
  * train: one forward + backward + SGD step (lr 1e-4) on the 32 prompt+completion sequences,
    loss = -mean_i(advantage_i * sum of the completion tokens' log-probs), advantages +1, -1, ...
  * each phase: one warm-up, then --repeats timed runs; the medians are reported.

Two sampling flavours:
  * generate: transformers' `model.generate(do_sample=True, top_k=0, ...)`, what most code uses;
  * lean: a hand loop over `past_key_values` with `torch.multinomial`, under inference mode,
    the fastest plain-PyTorch way to sample.

Install (once, outside the repository; PyPI's torch wheel brings CUDA libraries, several GB):
    python3 -m venv /var/tmp/torch-venv
    /var/tmp/torch-venv/bin/pip install torch transformers

Run:
    /var/tmp/torch-venv/bin/python bench/torch_reference.py --config small --flavour lean
    /var/tmp/torch-venv/bin/python bench/torch_reference.py --config medium --flavour generate
    /var/tmp/torch-venv/bin/python bench/torch_reference.py --device cuda --json
`--json` prints one line with the fields of `pglab bench --json` (plus torch_version,
transformers_version, flavour); bench/compare.py runs both side by side.
"""

import argparse
import inspect
import json
import os
import statistics
import sys
import time

INSTALL_HINT = (
    "python3 -m venv /var/tmp/torch-venv && "
    "/var/tmp/torch-venv/bin/pip install torch transformers"
)

try:
    import torch
    import transformers
    from transformers import (
        DynamicCache,
        GPT2Config,
        GPT2LMHeadModel,
        GPTNeoConfig,
        GPTNeoForCausalLM,
        LlamaConfig,
        LlamaForCausalLM,
    )
except ImportError as error:
    print(
        f"torch_reference.py: PyTorch reference not installed ({error}).\n"
        f"Install it with:\n  {INSTALL_HINT}\n"
        "then run this script with /var/tmp/torch-venv/bin/python.",
        file=sys.stderr,
    )
    sys.exit(2)

def cache_arg(model):
    """forward's name for the KV cache: transformers 5 renamed `past_key_values` to `cache` (the
    old name warns); 4.x has only the old one. Asked of the model's own class: an unknown
    keyword would vanish into **kwargs and the loop would run without its cache."""
    parameters = inspect.signature(type(model).forward).parameters
    for name in ("cache", "past_key_values"):
        if name in parameters:
            return name
    raise RuntimeError(f"{type(model).__name__}.forward takes no KV cache argument")


# (vocab, n_positions, n_embd, n_layer, n_head), as BenchConfig::gpt in bench.rs. `chapter` is
# a GPT-Neo of TinyStories-33M's shape (layers alternate global and local attention, window 256).
CONFIGS = {
    "tiny": (512, 64, 32, 2, 2),
    "small": (4096, 256, 128, 4, 4),
    "medium": (8192, 256, 256, 6, 8),
    "chapter": (50257, 2048, 768, 4, 16),
    # A Llama of SmolLM2-135M's shape: 3 key/value heads, SwiGLU width 1536, RoPE base 1e5, tied.
    "smollm": (49152, 2048, 576, 30, 9),
    # A Qwen3 of Qwen3-0.6B's shape: 8 key/value heads of 128 channels, q/k norms, SwiGLU width
    # 3072, RoPE base 1e6, tied.
    "qwen3": (151936, 2048, 1024, 28, 16),
}

# (prompts, k, prompt tokens, new tokens) when not given, as BenchConfig::workload: the chapter's
# RLOO step is k = 10 completions of one 4-token prompt, 96 new tokens.
WORKLOADS = {
    "tiny": (2, 2, 4, 12),
    "small": (8, 4, 16, 100),
    "medium": (8, 4, 16, 100),
    "chapter": (1, 10, 4, 96),
    "smollm": (2, 4, 16, 48),
    "qwen3": (2, 4, 16, 48),
}


def default_threads():
    # Rust's available_parallelism (what pglab reports) honours the CPU affinity mask;
    # os.cpu_count() does not.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def parse_args():
    parser = argparse.ArgumentParser(
        description="PyTorch reference for `pglab bench` (sampling + one RL training step)."
    )
    parser.add_argument("--config", choices=list(CONFIGS), default="small")
    parser.add_argument("--flavour", choices=["generate", "lean"], default="lean")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed repetitions of each phase, after one warm-up")
    parser.add_argument("--threads", type=int, default=default_threads(),
                        help="torch.set_num_threads (default: all cores, as pglab)")
    parser.add_argument("--prompts", type=int, help="prompts per step (P; default 8, chapter 1)")
    parser.add_argument("--k", type=int, help="completions per prompt (default 4, chapter 10)")
    parser.add_argument("--prompt-tokens", type=int, help="default 16, chapter 4")
    parser.add_argument("--new-tokens", type=int, help="default 100, chapter 96")
    parser.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    args = parser.parse_args()
    defaults = WORKLOADS[args.config]
    for name, default in zip(["prompts", "k", "prompt_tokens", "new_tokens"], defaults):
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.repeats < 1:
        parser.error("--repeats: must be at least 1")
    if args.threads < 1:
        parser.error("--threads: must be at least 1")
    if args.prompts * args.k < 1 or args.prompt_tokens < 1 or args.new_tokens < 1:
        parser.error("--prompts, --k, --prompt-tokens, --new-tokens: must be at least 1")
    n_positions = CONFIGS[args.config][1]
    if args.prompt_tokens + args.new_tokens > n_positions:
        parser.error(f"--prompt-tokens + --new-tokens: more than the {n_positions} positions")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    return args


def build_model(config_name, device):
    vocab, n_positions, n_embd, n_layer, n_head = CONFIGS[config_name]
    if config_name == "smollm":
        config = LlamaConfig(
            vocab_size=vocab,
            max_position_embeddings=n_positions,
            hidden_size=n_embd,
            intermediate_size=1536,
            num_hidden_layers=n_layer,
            num_attention_heads=n_head,
            num_key_value_heads=3,
            rms_norm_eps=1e-5,
            rope_theta=100000.0,
            tie_word_embeddings=True,
            bos_token_id=None,
            eos_token_id=None,
        )
        torch.manual_seed(0)
        return LlamaForCausalLM(config).to(device)
    if config_name == "qwen3":
        from transformers import Qwen3Config, Qwen3ForCausalLM

        config = Qwen3Config(
            vocab_size=vocab,
            max_position_embeddings=n_positions,
            hidden_size=n_embd,
            intermediate_size=3072,
            num_hidden_layers=n_layer,
            num_attention_heads=n_head,
            num_key_value_heads=8,
            head_dim=128,
            rms_norm_eps=1e-6,
            rope_theta=1000000.0,
            tie_word_embeddings=True,
            bos_token_id=None,
            eos_token_id=None,
        )
        torch.manual_seed(0)
        return Qwen3ForCausalLM(config).to(device)
    if config_name == "chapter":
        config = GPTNeoConfig(
            vocab_size=vocab,
            max_position_embeddings=n_positions,
            hidden_size=n_embd,
            num_layers=n_layer,
            num_heads=n_head,
            attention_types=[[["global", "local"], n_layer // 2]],
            window_size=256,
            activation_function="gelu_new",
            resid_dropout=0.0,
            embed_dropout=0.0,
            attention_dropout=0.0,
            bos_token_id=None,
            eos_token_id=None,
        )
        torch.manual_seed(0)
        return GPTNeoForCausalLM(config).to(device)
    config = GPT2Config(
        vocab_size=vocab,
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        # pglab's model has no BOS/EOS; GPT-2's default 50256 would not even fit the vocabulary.
        bos_token_id=None,
        eos_token_id=None,
    )
    torch.manual_seed(0)
    return GPT2LMHeadModel(config).to(device)


def make_prompts(args, vocab, device):
    generator = torch.Generator().manual_seed(0)
    prompts = torch.randint(0, vocab, (args.prompts, args.prompt_tokens), generator=generator)
    # Each prompt k times in a row, as bench.rs does.
    return prompts.repeat_interleave(args.k, dim=0).to(device)


def sample_generate(model, prompts, new_tokens):
    """transformers' generate: full-distribution sampling for exactly `new_tokens` tokens."""
    return model.generate(
        prompts,
        # Explicit all-ones mask: otherwise generate infers one from pad_token_id and would
        # mask any prompt token that happens to equal it.
        attention_mask=torch.ones_like(prompts),
        do_sample=True,
        temperature=1.0,
        # Left unset, generate keeps only the top 50 tokens; 0 disables top-k (4.x and 5.x).
        top_k=0,
        top_p=1.0,
        max_new_tokens=new_tokens,
        # No effect without an EOS token (there is none), kept to make "no early stop" explicit.
        min_new_tokens=new_tokens,
        pad_token_id=0,
        use_cache=True,
    )


@torch.inference_mode()
def sample_lean(model, prompts, new_tokens, temperature=1.0):
    """A hand loop over the KV cache: prefill once, then one token per forward."""
    cache_kw = cache_arg(model)
    if "logits_to_keep" in inspect.signature(type(model).forward).parameters:
        # transformers >= 4.50: a cache object filled in place by each forward, and the
        # prefill's logits for the last position only, as pglab's sampler.
        try:
            cache = DynamicCache(config=model.config)
        except TypeError:  # 4.x takes no config
            cache = DynamicCache()
        forward = lambda ids, **kw: model(ids, use_cache=True, **{cache_kw: cache}, **kw)
        logits = forward(prompts, logits_to_keep=1).logits[:, -1, :]
    else:
        # Older transformers (4.46's GPT-2 takes no cache object): the cache each forward
        # returns goes into the next; the prefill computes every position's logits.
        cache = None

        def forward(ids):
            nonlocal cache
            out = model(ids, use_cache=True, **({cache_kw: cache} if cache is not None else {}))
            cache = out.past_key_values
            return out

        logits = forward(prompts).logits[:, -1, :]
    tokens = []
    for step in range(new_tokens):
        probs = torch.softmax(logits / temperature, dim=-1)
        token = torch.multinomial(probs, num_samples=1)  # [B, 1]
        tokens.append(token)
        if step + 1 == new_tokens:
            break  # the last token needs no forward
        logits = forward(token).logits[:, -1, :]
    return torch.cat([prompts, *tokens], dim=1)


def sample(model, prompts, args):
    model.eval()
    if args.flavour == "generate":
        sequences = sample_generate(model, prompts, args.new_tokens)
    else:
        sequences = sample_lean(model, prompts, args.new_tokens)
    expected = (prompts.shape[0], args.prompt_tokens + args.new_tokens)
    if tuple(sequences.shape) != expected:
        raise RuntimeError(f"sampled shape {tuple(sequences.shape)}, expected {expected}")
    return sequences


def train_step(model, optimizer, sequences, advantages, prompt_tokens):
    """One forward + backward + SGD step of the policy-gradient loss."""
    model.train()  # dropout is 0: this only mirrors a real training step
    optimizer.zero_grad(set_to_none=True)
    hidden = model.base_model(sequences).last_hidden_state  # [B, T, C]
    # The last position predicts nothing scored: drop it before the LM head, as pglab does.
    logits = model.lm_head(hidden[:, :-1, :])  # [B, T-1, V]
    log_probs = torch.log_softmax(logits, dim=-1)
    targets = sequences[:, 1:].unsqueeze(-1)
    token_logprobs = log_probs.gather(-1, targets).squeeze(-1)  # [B, T-1]
    # Only completion tokens are scored: targets from index prompt_tokens on.
    completion_logprobs = token_logprobs[:, prompt_tokens - 1:].sum(dim=1)  # [B]
    loss = -(advantages * completion_logprobs).mean()
    loss.backward()
    optimizer.step()
    return loss


def median_time(repeats, device, phase):
    """One warm-up, then `repeats` timed calls of `phase`; the median and the last result."""
    def timed():
        start = time.perf_counter()
        result = phase()
        if device.type == "cuda":
            torch.cuda.synchronize()  # kernels are asynchronous: wait before reading the clock
        return time.perf_counter() - start, result

    timed()
    runs = [timed() for _ in range(repeats)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def run(args):
    torch.set_num_threads(args.threads)
    # Keep logging on stderr quiet; the JSON line goes alone to stdout.
    transformers.utils.logging.set_verbosity_error()
    device = torch.device(args.device)
    model = build_model(args.config, device)
    prompts = make_prompts(args, model.config.vocab_size, device)
    torch.manual_seed(0)  # the sampling RNG, independent of the prompts' generator

    sample_s, sequences = median_time(args.repeats, device, lambda: sample(model, prompts, args))
    # The lean loop returns an inference-mode tensor, which autograd refuses to save; a plain
    # copy (untimed, like pglab's token_batch) serves both flavours.
    sequences = sequences.clone()

    n = sequences.shape[0]
    advantages = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(n)], device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    train_s, _ = median_time(
        args.repeats, device,
        lambda: train_step(model, optimizer, sequences, advantages, args.prompt_tokens),
    )

    step_s = sample_s + train_s
    return {
        "sample_s": sample_s,
        "train_s": train_s,
        "step_s": step_s,
        "tokens_per_s": n * args.new_tokens / step_s,
        "backend": f"torch-{device.type}-{args.flavour}",
        "config": args.config,
        "sequences": n,
        "prompt_tokens": args.prompt_tokens,
        "new_tokens": args.new_tokens,
        "repeats": args.repeats,
        "threads": args.threads,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "flavour": args.flavour,
    }


def print_table(r):
    print(
        f"torch reference: {r['config']} on {r['backend']} ({r['threads']} threads), "
        f"{r['sequences']} sequences, {r['prompt_tokens']}-token prompts, "
        f"{r['new_tokens']} new tokens, median of {r['repeats']}"
    )
    print(f"  {'phase':<28} {'seconds':>9}")
    print(f"  {'sample (KV cache, no grad)':<28} {r['sample_s']:>9.3f}")
    print(f"  {'train (fwd + bwd + SGD)':<28} {r['train_s']:>9.3f}")
    print(f"  {'RL step (sum)':<28} {r['step_s']:>9.3f}")
    print(f"  {'sampled tokens / s':<28} {r['tokens_per_s']:>9.0f}")
    print(f"  torch {r['torch_version']}, transformers {r['transformers_version']}")


def main():
    args = parse_args()
    record = run(args)
    if args.json:
        print(json.dumps(record))
    else:
        print_table(record)


if __name__ == "__main__":
    main()
