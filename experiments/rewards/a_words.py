#!/usr/bin/env python3
"""The A-word reward as a pglab reward command: the built-in `a_words`, in Python.

Protocol (README, "Your own reward"): pglab writes one JSON line per batch to stdin,
  {"step": 3, "seed": 0, "phase": "train", "prompts": [...], "completions": [...]}
and reads one JSON line from stdout, {"rewards": [one number per completion]}.
Anything else this program wants to say goes to stderr (the run's reward.log).

It counts words as the built-in does, so a sweep with it gives the same metrics.csv:
a word is a maximal run of non-whitespace (Unicode White_Space, as Rust's split_whitespace),
and its first letter is its first letter-or-digit, if that is a letter. (The one difference:
Rust counts a combining vowel sign as a letter, Python's isalnum does not.)
"""
import json
import re
import sys

WHITESPACE = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


def first_letter(word):
    for c in word:
        if c.isalnum():
            return c if c.isalpha() else None
    return None


def a_words(text):
    return sum(1 for word in WHITESPACE.split(text) if (first_letter(word) or "").lower() == "a")


for line in sys.stdin:
    batch = json.loads(line)
    rewards = [a_words(text) for text in batch["completions"]]
    print(json.dumps({"rewards": rewards}), flush=True)
