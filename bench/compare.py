#!/usr/bin/env python3
"""`pglab bench` next to its PyTorch reference (bench/torch_reference.py), config by config.

For each config it runs, one after another (never in parallel, so they do not share cores):
    <pglab> bench --json --config C --backend B --repeats R
    <python> bench/torch_reference.py --json --config C --flavour lean ...
    <python> bench/torch_reference.py --json --config C --flavour generate ...
and prints, per config, the sample / train / RL-step medians in seconds with the ratios
pglab/torch (below 1: pglab is faster). Standard library only.

If the torch reference is not installed, it prints pglab's figures alone and how to install it.

    python3 bench/compare.py                                 # target/release/pglab, auto backend
    python3 bench/compare.py --pglab /path/to/pglab --backend flex --repeats 3 --json-out runs.json
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
TORCH_REFERENCE = BENCH_DIR / "torch_reference.py"
DEFAULT_VENV_PYTHON = Path("/var/tmp/torch-venv/bin/python")
INSTALL_HINT = (
    "python3 -m venv /var/tmp/torch-venv && "
    "/var/tmp/torch-venv/bin/pip install torch transformers"
)
FLAVOURS = ("lean", "generate")
PHASES = (("sample", "sample_s"), ("train", "train_s"), ("RL step", "step_s"))


class NotInstalled(Exception):
    """The torch reference exited with status 2: torch or transformers is missing."""


def default_pglab():
    # Where `cargo build --release` puts the binary, honouring CARGO_TARGET_DIR as cargo does.
    target = os.environ.get("CARGO_TARGET_DIR")
    target = Path(target) if target else BENCH_DIR.parent / "target"
    return str(target / "release" / "pglab")


def default_python():
    if os.environ.get("PGLAB_TORCH_PYTHON"):
        return os.environ["PGLAB_TORCH_PYTHON"]
    if DEFAULT_VENV_PYTHON.exists():
        return str(DEFAULT_VENV_PYTHON)
    return "python3"


def parse_args():
    parser = argparse.ArgumentParser(
        description="Run `pglab bench` and the PyTorch reference side by side."
    )
    parser.add_argument("--configs", nargs="+", choices=["tiny", "small", "medium", "chapter", "smollm", "qwen3"],
                        default=["small", "medium", "chapter", "smollm", "qwen3"])
    parser.add_argument("--pglab", default=default_pglab(),
                        help="pglab binary (default: $CARGO_TARGET_DIR/release/pglab, else "
                             "target/release/pglab; now %(default)s)")
    parser.add_argument("--backend", default="auto", help="pglab's --backend (auto, flex, wgpu)")
    parser.add_argument("--python", default=default_python(),
                        help="interpreter with torch and transformers (default: "
                             "$PGLAB_TORCH_PYTHON, else /var/tmp/torch-venv/bin/python "
                             "if present, else python3; now %(default)s)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="the torch reference's device")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed repetitions of each phase, after one warm-up (both)")
    parser.add_argument("--threads", type=int,
                        help="torch threads (default: all cores; pglab always uses all cores)")
    parser.add_argument("--json-out", metavar="FILE", help="save every raw record as a JSON list")
    parser.add_argument("--jsonl", metavar="FILE",
                        help="append each record to FILE as one JSON line as soon as it is measured")
    parser.add_argument("--markdown", metavar="FILE",
                        help="also write the results as one markdown table")
    parser.add_argument("--table-from", metavar="FILE",
                        help="run nothing: the markdown table of the records in a --jsonl FILE")
    return parser.parse_args()


def run_json(command, torch=False):
    """Runs one benchmark to completion and returns its JSON line."""
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        if torch:
            raise NotInstalled(f"no interpreter {command[0]}")
        sys.exit(f"compare.py: no such program: {command[0]}")
    # Status 2 is also argparse's usage error: only the install message means "not installed".
    if torch and done.returncode == 2 and "pip install" in done.stderr:
        raise NotInstalled(f"{command[0]} lacks torch or transformers")
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        sys.exit(f"compare.py: status {done.returncode} from: {' '.join(command)}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        sys.exit(f"compare.py: no output from: {' '.join(command)}")
    return json.loads(lines[-1])


def pglab_command(args, config):
    return [args.pglab, "bench", "--json", "--config", config,
            "--backend", args.backend, "--repeats", str(args.repeats)]


def torch_command(args, config, flavour):
    command = [args.python, str(TORCH_REFERENCE), "--json", "--config", config,
               "--flavour", flavour, "--device", args.device, "--repeats", str(args.repeats)]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    return command


def ratio(pglab_s, torch_s):
    return f"{pglab_s / torch_s:.2f}" if torch_s > 0 else "-"


def print_config(config, pglab, torch_runs):
    """One table: phases as rows, pglab and each torch flavour as columns, then the ratios."""
    header = f"{config}: pglab {pglab['backend']} ({pglab['threads']} threads)"
    if torch_runs:
        any_run = next(iter(torch_runs.values()))
        header += (f" vs torch {any_run['torch_version']} / transformers "
                   f"{any_run['transformers_version']} ({any_run['threads']} threads)")
    print(header + f", {pglab['sequences']} sequences x {pglab['new_tokens']} new tokens, "
          f"median of {pglab['repeats']}")
    columns = ["pglab s"] + [f"torch {f} s" for f in torch_runs]
    columns += [f"pglab/{f}" for f in torch_runs]
    width = max(len(c) for c in columns) + 2
    print(f"  {'phase':<8}" + "".join(f"{c:>{width}}" for c in columns))
    for name, key in PHASES:
        cells = [f"{pglab[key]:.3f}"] + [f"{r[key]:.3f}" for r in torch_runs.values()]
        cells += [ratio(pglab[key], r[key]) for r in torch_runs.values()]
        print(f"  {name:<8}" + "".join(f"{c:>{width}}" for c in cells))
    print()


def markdown_table(records):
    """Every config's phases as rows of one markdown table: pglab's seconds, each torch
    flavour's, and the ratios pglab/torch."""
    pglab_runs = [r for r in records if "torch_version" not in r]
    torch_runs = [r for r in records if "torch_version" in r]
    if not pglab_runs:
        sys.exit("compare.py: no pglab record to tabulate")
    title = f"pglab `{pglab_runs[0]['backend']}` ({pglab_runs[0]['threads']} threads)"
    if torch_runs:
        title += (f" vs torch {torch_runs[0]['torch_version']}, transformers "
                  f"{torch_runs[0]['transformers_version']}, on "
                  f"`{torch_runs[0]['backend'].rsplit('-', 1)[0]}`")
    header = ["config", "sequences × new tokens", "phase", "pglab s"]
    header += [f"torch {f} s" for f in FLAVOURS] + [f"pglab/{f}" for f in FLAVOURS]
    lines = [f"{title}; medians of {pglab_runs[0]['repeats']} after one warm-up.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for pglab in pglab_runs:
        config = pglab["config"]
        by_flavour = {r["flavour"]: r for r in torch_runs if r["config"] == config}
        shape = f"{pglab['sequences']} × {pglab['new_tokens']}"
        for name, key in PHASES:
            cells = [config, shape, name, f"{pglab[key]:.3f}"]
            cells += [f"{by_flavour[f][key]:.3f}" if f in by_flavour else "-" for f in FLAVOURS]
            cells += [ratio(pglab[key], by_flavour[f][key]) if f in by_flavour else "-"
                      for f in FLAVOURS]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def record(records, args, one):
    """Keeps a record, and appends it at once to --jsonl, so a run cut short keeps it."""
    records.append(one)
    if args.jsonl:
        with open(args.jsonl, "a") as file:
            file.write(json.dumps(one) + "\n")


def main():
    args = parse_args()
    if args.table_from:
        records = [json.loads(line) for line in Path(args.table_from).read_text().splitlines()]
        table = markdown_table(records)
        if args.markdown:
            Path(args.markdown).write_text(table)
        print(table, end="")
        return
    records = []
    torch_missing = None
    for config in args.configs:
        pglab = run_json(pglab_command(args, config))
        record(records, args, pglab)
        torch_runs = {}
        for flavour in FLAVOURS:
            if torch_missing:
                break
            try:
                torch_runs[flavour] = run_json(torch_command(args, config, flavour), torch=True)
            except NotInstalled as why:
                torch_missing = str(why)
                break
            record(records, args, torch_runs[flavour])
        print_config(config, pglab, torch_runs)
    if torch_missing:
        print(f"PyTorch reference not run ({torch_missing}); install it with: {INSTALL_HINT}")
    else:
        print("ratio = pglab seconds / torch seconds; below 1 means pglab is faster.")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(records, indent=2) + "\n")
        print(f"raw records: {args.json_out}")
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(records))
        print(f"markdown table: {args.markdown}")


if __name__ == "__main__":
    main()
