"""Build and inspect the realistic arena's asset library.

    python -m seg_by_interaction.sim.assets build        # build (or find) the cached library
    python -m seg_by_interaction.sim.assets docs         # docs/arena.png + docs/assets.md
    python -m seg_by_interaction.sim.assets where        # print the library folder
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from seg_by_interaction.config import ConfigError, load_config, parse_override
from seg_by_interaction.sim.assets.sources import AssetSourceError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seg_by_interaction.sim.assets", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="default")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="build the library if it is not cached")
    sub.add_parser("where", help="print the library's folder (building it first if needed)")
    d = sub.add_parser("docs", help="write the contact sheet and the provenance table")
    d.add_argument("--sheet", default="docs/arena.png")
    d.add_argument("--table", default="docs/assets.md")
    d.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.preset, overrides=dict(parse_override(s) for s in args.set))
        from seg_by_interaction.sim.assets.build import ensure_library
        t = time.perf_counter()
        manifest = ensure_library(cfg, progress=lambda msg: print(f"[assets] {msg}", flush=True))
        if args.cmd == "build":
            print(f"[assets] library {manifest['root']}: {len(manifest['surfaces'])} surfaces, "
                  f"{len(manifest['objects'])} objects ({time.perf_counter() - t:.1f} s)")
        elif args.cmd == "where":
            print(manifest["root"])
        else:
            from seg_by_interaction.sim.arena import Arena
            from seg_by_interaction.sim.assets.report import contact_sheet, provenance_markdown
            with Arena(cfg, seed=args.seed, split="train") as arena:
                sheet = contact_sheet(arena, args.sheet)
                Path(args.table).write_text(provenance_markdown(
                    arena, manifest, "python -m seg_by_interaction.sim.assets docs"))
            print(f"[assets] wrote {sheet} and {args.table}")
    except (ConfigError, AssetSourceError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
