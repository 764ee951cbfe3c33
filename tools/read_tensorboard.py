#!/usr/bin/env python3
"""Read a sweep's TensorBoard event files with TensorBoard's own reader (EventAccumulator).

usage: python3 tools/read_tensorboard.py SWEEP_DIR
       python3 tools/read_tensorboard.py --check   (exit 0 when everything it imports is here)

Prints one JSON object: for every run directory (runs/<id>) its scalar tags with their
(step, value) pairs, its text tags, its hparams session (the start's hparams, the end's status)
and the number of event files; and the sweep's hparams experiment (hparam and metric names).
The tests compare it with metrics.csv and summary.csv. Non-finite values are written as null. Needs `pip install tensorboard`.
"""
import glob
import json
import math
import os
import sys

# Every import the reader needs, tried before anything else: `--check` (the tests' up-front
# question "can TensorBoard files be read here?") then answers for all of them at once, and a
# missing one is named in one line instead of a traceback.
try:
    from google.protobuf import json_format
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2
except ImportError as missing:
    print(f"read_tensorboard.py: {missing} (pip install tensorboard)", file=sys.stderr)
    sys.exit(3)
if sys.argv[1:] == ["--check"]:
    sys.exit(0)


def finite_or_none(x):
    """JSON has no NaN or infinity: they are written as null."""
    return x if math.isfinite(x) else None


def plugin_content(accumulator, plugin):
    """Tag -> content of `plugin`'s summaries ({} when the file has none)."""
    try:
        return accumulator.PluginTagToContent(plugin)
    except KeyError:
        return {}


def hparams_data(accumulator, tag):
    content = plugin_content(accumulator, "hparams").get(tag)
    if content is None:
        return None
    return json_format.MessageToDict(plugin_data_pb2.HParamsPluginData.FromString(content))


def read(directory):
    accumulator = EventAccumulator(directory, size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    return {
        "event_files": len(glob.glob(os.path.join(directory, "*tfevents*"))),
        "scalars": {
            tag: [[e.step, finite_or_none(e.value)] for e in accumulator.Scalars(tag)]
            for tag in tags["scalars"]
        },
        "texts": sorted(
            tag for tag in tags["tensors"] if tag in plugin_content(accumulator, "text")
        ),
        "session_start": hparams_data(accumulator, "_hparams_/session_start_info"),
        "session_end": hparams_data(accumulator, "_hparams_/session_end_info"),
    }


def main():
    sweep = sys.argv[1]
    runs = {}
    for directory in sorted(glob.glob(os.path.join(sweep, "runs", "*"))):
        runs[os.path.basename(directory)] = read(directory)
    accumulator = EventAccumulator(sweep)
    accumulator.Reload()
    experiment = hparams_data(accumulator, "_hparams_/experiment")
    print(json.dumps({"runs": runs, "experiment": experiment}))


if __name__ == "__main__":
    sys.exit(main())
