#!/usr/bin/env python3
"""What this machine can do at most for the `chapter` workload of `pglab bench`, measured with
PyTorch's own kernels (BENCHMARKS.md, "The three sizes on the 2-core AVX2 machine").

The chapter's model: GPT-Neo, vocab 50,257, n_embd 768, 4 layers (12·C² weights each in its
matmuls), N = 10 sequences of 4 prompt + 96 new tokens.
  * Training multiplies: forward 10·100 tokens through the layers and 10·96 scored positions
    through the LM head, backward twice that: FLOPs = 3 · 2 · (1000 · 4 · 12 · 768² + 960 · 768
    · 50,257). Its floor is those FLOPs at the machine's matmul rate, measured here on the LM
    head's own shape [960, 768] × [768, 50,257] (the largest product of the step).
  * Sampling decodes 95 steps after the prefill, each a [10, C] pass through every weight
    matrix: 10 rows share each weight read, so a step reads all 67M weights (268 MB) for 20
    FLOPs per 4 bytes. Its floor is those bytes at the rate memory can be read, measured
    here as a sum over the LM head's 154 MB weight (torch's own [10, 768] × [768, 50,257]
    product is timed too: it reads the same matrix, far slower).
Usage: python3 bench/roofline.py [--threads T] (default: all cores). Needs torch.
"""
import argparse
import json
import os
import time

import torch

C, V, LAYERS, N, PROMPT, NEW = 768, 50_257, 4, 10, 4, 96


def median_time(f, repeats):
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    w = torch.randn(C, V) / C**0.5
    scored = torch.randn(N * NEW, C)
    gemm_s = median_time(lambda: scored @ w, args.repeats)
    gemm_flops = 2 * N * NEW * C * V
    rows = torch.randn(N, C)
    decode_s = median_time(lambda: rows @ w, 20 * args.repeats)
    read_s = median_time(lambda: w.sum(), 20 * args.repeats)
    tokens = N * (PROMPT + NEW)
    layer_weights = LAYERS * 12 * C * C
    train_flops = 3 * 2 * (tokens * layer_weights + N * NEW * C * V)
    step_bytes = 4 * (layer_weights + C * V)
    sample_bytes = (NEW - 1) * step_bytes
    rate = gemm_flops / gemm_s
    bandwidth = 4 * C * V / read_s
    print(json.dumps({
        "threads": args.threads,
        "torch_version": torch.__version__,
        "gemm_gflop_per_s": round(rate / 1e9, 1),
        "read_gb_per_s": round(bandwidth / 1e9, 2),
        "decode_product_gb_per_s": round(4 * C * V / decode_s / 1e9, 2),
        "train_gflop": round(train_flops / 1e9, 1),
        "train_floor_s": round(train_flops / rate, 2),
        "sample_gb_read": round(sample_bytes / 1e9, 1),
        "sample_floor_s": round(sample_bytes / bandwidth, 2),
    }))


if __name__ == "__main__":
    main()
