#!/usr/bin/env python3
"""A reward the built-ins cannot express: the number of DISTINCT words starting with "a".

The built-in `a_words` counts every occurrence, so a policy can collect it by writing
"a a a a …" (the default sweep's RLOO runs do exactly that). Counting each A-word once, after
lower-casing and stripping punctuation, rewards vocabulary instead: "a a a" scores 1,
"an ant ate apples" scores 4.

Protocol as in a_words.py: one JSON line in per batch, {"rewards": [...]} out, logs to stderr.
"""
import json
import sys


def distinct_a_words(text):
    words = {word.strip("\"'.,;:!?()[]{}«»“”‘’-—").lower() for word in text.split()}
    return sum(1 for word in words if word.startswith("a"))


batches = 0
for line in sys.stdin:
    batch = json.loads(line)
    rewards = [distinct_a_words(text) for text in batch["completions"]]
    print(json.dumps({"rewards": rewards}), flush=True)
    batches += 1
print(f"distinct_a_words: scored {batches} batch(es)", file=sys.stderr)
