"""Command line: `python -m sandbox check` reports whether the sandbox works here."""

from __future__ import annotations

import argparse
import sys

from .check import main as check


def main(argv: list[str] | None = None) -> int:
    """Parse the command and run it."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument(
        "command", choices=["check"], help="check: report whether the sandbox works"
    )
    parser.parse_args(argv)
    return check()


if __name__ == "__main__":
    sys.exit(main())
