"""Build and find the realistic arena's asset library (scripts/setup.sh runs ``build``).

    python -m seg_by_interaction.assets build        # build (or find) the cached library
    python -m seg_by_interaction.assets where        # print the library folder

The contact sheet and provenance table (docs/arena.png, docs/assets.md) are written by
``python -m sbi_research arena-docs``.
"""
from __future__ import annotations

import sys
import time

from seg_by_interaction.assets.sources import AssetSourceError
from seg_by_interaction.cli import config_from_args, parser_with_config, run


def cmd_build(args) -> int:
    from seg_by_interaction.assets.build import ensure_library
    t = time.perf_counter()
    manifest = ensure_library(config_from_args(args),
                              progress=lambda msg: print(f"[assets] {msg}", flush=True))
    if args.cmd == "where":
        print(manifest["root"])
    else:
        print(f"[assets] library {manifest['root']}: {len(manifest['surfaces'])} surfaces, "
              f"{len(manifest['objects'])} objects ({time.perf_counter() - t:.1f} s)")
    return 0


def main(argv=None) -> int:
    parser = parser_with_config("python -m seg_by_interaction.assets", __doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="build the library if it is not cached").set_defaults(func=cmd_build)
    sub.add_parser("where", help="print the library's folder (building it first if needed)") \
        .set_defaults(func=cmd_build)
    try:
        return run(parser, argv)
    except (AssetSourceError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
