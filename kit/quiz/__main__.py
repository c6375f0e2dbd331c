"""Command line for the question bank.

    python -m kit.quiz check [PATH ...]          # validate (default: the bundled questions/)
    python -m kit.quiz anki [PATH ...] [--out FILE] [--deck NAME]   # export for Anki

``check`` prints every problem as ``path:line: message`` and exits 1 if there is any, else
prints ``ok: N questions in T topics`` and exits 0. A path that does not exist exits 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kit.quiz.anki import to_anki_csv
from kit.quiz.parse import QUESTIONS_DIR, load_bank
from kit.quiz.record import Bank


def _shown_default() -> Path:
    """The bundled questions/ folder, relative to the working directory when inside it."""
    try:
        return Path(os.path.relpath(QUESTIONS_DIR))
    except ValueError:  # another drive on Windows
        return QUESTIONS_DIR


def _load(paths: Sequence[str]) -> Bank | None:
    """The bank from ``paths`` (default: questions/), or None after reporting a bad path."""
    chosen = [Path(p) for p in paths] or [_shown_default()]
    for path in chosen:
        if not path.exists():
            print(f"error: no such file or folder: {path}", file=sys.stderr)
            return None
    return load_bank(chosen)


def _check(args: argparse.Namespace) -> int:
    bank = _load(args.paths)
    if bank is None:
        return 2
    for problem in bank.problems:
        print(problem)
    if bank.problems:
        n = len(bank.problems)
        print(
            f"{n} problem{'s' * (n != 1)} ({bank.summary()} loaded fine)",
            file=sys.stderr,
        )
        return 1
    print(f"ok: {bank.summary()}")
    return 0


def _anki(args: argparse.Namespace) -> int:
    bank = _load(args.paths)
    if bank is None:
        return 2
    if bank.problems:
        for problem in bank.problems:
            print(problem, file=sys.stderr)
        print("error: fix these problems first (python -m kit.quiz check)", file=sys.stderr)
        return 1
    text = to_anki_csv(bank.questions, deck=args.deck)
    if args.out in (None, "-"):
        sys.stdout.write(text)
    else:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"wrote {bank.summary()} to {args.out}", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kit.quiz", description="Validate or export the quiz question bank."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate question files; print path:line: problems",
        description="Validate question files. Prints every problem as path:line: message and "
        "exits 1 when there is any; prints 'ok: N questions in T topics' and exits 0 otherwise.",
    )
    anki = commands.add_parser(
        "anki",
        help="export the questions as an Anki CSV",
        description="Export the questions as a CSV file Anki 2.1.55+ imports (front, back, tags).",
    )
    for sub in (check, anki):
        sub.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help="question files or folders (default: the bundled questions/ folder)",
        )
    anki.add_argument("--out", metavar="FILE", help="write the CSV here (default: stdout)")
    anki.add_argument("--deck", metavar="NAME", help="Anki deck to put the notes in")
    check.set_defaults(run=_check)
    anki.set_defaults(run=_anki)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
