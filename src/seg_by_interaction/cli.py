"""What every command line of the package shares: the preset and KEY=VALUE overrides, and one
way to turn a bad input into one line on stderr and exit status 2."""
from __future__ import annotations

import argparse
import sys

from seg_by_interaction.config import ConfigError, load_config, parse_override


def config_from_args(args) -> dict:
    """The configuration the command line asked for (--preset, --set), runtime applied."""
    from seg_by_interaction.runtime import apply_runtime
    cfg = load_config(args.preset, dict(parse_override(o) for o in args.set or []))
    apply_runtime(cfg)
    return cfg


def set_json(text: str) -> tuple[str, str]:
    """``NAME=annotations.json``: an argparse type for the commands that score named evaluation sets."""
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=PATH of an annotations.json")
    return name.strip(), path.strip()


def parser_with_config(prog: str, description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every command line here shares: the preset and
    KEY=VALUE overrides."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--preset", default="default", help="config preset name or YAML path")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a config key (repeatable), e.g. training.batch_size=8")
    return parser


def run(parser: argparse.ArgumentParser, argv=None) -> int:
    """Parse, run the chosen command, and turn a bad input into one line and exit code 2."""
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
