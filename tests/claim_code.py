"""Reads the reference code out of a question's ``## Answer`` so a claim test runs that exact code.

Only the bundled question files are read (fixed paths under ``questions/``), never user input.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn.functional as F

QUESTIONS = Path(__file__).resolve().parents[1] / "questions"
CODE_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def section(topic: str, qid: str, name: str) -> str:
    """The text of one level-2 section of ``questions/<topic>/<qid>.md``."""
    text = (QUESTIONS / topic / f"{qid}.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"{qid} has no '## {name}' section"
    return match.group(1)


def code_blocks(topic: str, qid: str, name: str = "Answer") -> list[str]:
    """Every fenced python block of that section, in order."""
    blocks = CODE_BLOCK.findall(section(topic, qid, name))
    assert blocks, f"{qid}: no python code in '## {name}'"
    return blocks


def run_block(source: str) -> dict:
    """Execute one code block (trusted, from the repository) and return its namespace."""
    namespace: dict = {"torch": torch, "F": F}
    exec(compile(source, "<answer>", "exec"), namespace)
    return namespace
