"""python -m seg_by_interaction.data {stats ROOT | export-coco ROOT OUT.json}"""
from __future__ import annotations

import argparse
import json
import sys

from seg_by_interaction.types import SOURCES


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seg_by_interaction.data",
                                 description="Inspect and export a dataset store.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("stats", help="print example counts by source, split and label")
    st.add_argument("root")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    ex = sub.add_parser("export-coco", help="write COCO instance JSON")
    ex.add_argument("root")
    ex.add_argument("out")
    ex.add_argument("--split")
    ex.add_argument("--source", action="append", choices=SOURCES)
    for p in (st, ex):
        p.add_argument("--preset", default="default",
                       help="configuration preset (its store section: SQLite busy timeout)")
    args = ap.parse_args(argv)

    import sqlite3
    from pathlib import Path

    from seg_by_interaction.config import ConfigError, load_config
    from seg_by_interaction.data.store import DatasetStore, StoreError, damaged
    root = Path(args.root)
    try:  # read commands: the index is opened read-only and checked, never recreated
        store = DatasetStore(root, load_config(args.preset), read_only=True)
        return _run(args, store)
    except (StoreError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except sqlite3.DatabaseError as exc:   # damage past the first page shows only when read
        print(f"error: {damaged(root, f'is damaged: {exc}')}", file=sys.stderr)
    return 2


def _run(args, store) -> int:
    if args.cmd == "stats":
        s = store.stats()
        if args.json:
            print(json.dumps(s, indent=2))
        else:
            print(f"examples: {s['examples']}")
            print(f"positives: {s['positives']}")
            print(f"interactions_labelled: {s['interactions_labelled']}")
            print(f"robots: {', '.join(s['robots']) or '-'}")
            for g in s["groups"]:
                label = "positive" if g["positive"] else "negative"
                print(f"  {g['source']:<13} {g['split']:<8} {label:<9} {g['count']}")
    else:
        n = store.export_coco(args.out, split=args.split, sources=args.source)
        print(f"images: {n['images']}")
        print(f"annotations: {n['annotations']}")
        print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
