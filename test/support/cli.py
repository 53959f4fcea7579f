"""A command-line entry point run in this process, as a shell would see it."""
from __future__ import annotations

from typing import Callable, Sequence


def exit_code(main: Callable[[Sequence[str]], int], argv: Sequence[str]) -> int:
    """``main(argv)``'s exit code; argparse's own refusals raise SystemExit and count too."""
    try:
        return main(list(argv))
    except SystemExit as exc:
        return exc.code
