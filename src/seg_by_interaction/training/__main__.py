"""The online trainer without ROS, for a GPU box (several GPUs through torchrun):

    torchrun --nproc_per_node=4 -m seg_by_interaction.training --data-dir DIR --preset paper
    python -m seg_by_interaction.training --data-dir DIR            # one process (CPU)

It reads the fleet's store in DIR (shared filesystem), pre-trains on the passive set,
then updates every ``training.update_every`` new examples and writes numbered
checkpoints to DIR/checkpoints -- the same OnlineTrainer as the trainer node, so the
two are interchangeable. ``checkpoint_announcer`` (a ROS node next to the robots)
tells the segmenters about each new checkpoint. ``--follow`` keeps polling the store;
otherwise it stops after ``--updates`` updates or when nothing new is left.
"""
from __future__ import annotations

import argparse
import sys
import time

from seg_by_interaction.config import ConfigError, load_config, parse_override


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seg_by_interaction.training",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, help="the fleet's data folder (store, checkpoints)")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE", default=[])
    ap.add_argument("--device", default=None, help="cpu | cuda (default: the preset's)")
    ap.add_argument("--mode", default=None, choices=["rsl", "ce", "gt"])
    ap.add_argument("--updates", type=int, default=0, help="stop after this many updates (0: no limit)")
    ap.add_argument("--follow", action="store_true", help="keep polling the store for new examples")
    ap.add_argument("--force", action="store_true",
                    help="update on whatever is new, even below training.update_every")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.preset, dict(parse_override(s) for s in args.set))
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from seg_by_interaction.runtime import apply_runtime
    from seg_by_interaction.training import distributed
    from seg_by_interaction.training.online import OnlineTrainer
    apply_runtime(cfg)
    info = distributed.init_from_env(args.device or cfg.device)
    say = print if info.rank == 0 else (lambda *a, **k: None)
    say(f"[train] {info.world_size} process(es), backend {info.backend}, device {info.device}")
    online = OnlineTrainer(cfg, args.data_dir, device=info.device, mode=args.mode,
                           progress=info.rank == 0)
    try:
        say(f"[train] at model v{online.version}, {online.examples_seen} examples seen")
        update = online.pretrain()
        if update is not None:
            say(f"[train] pre-trained: {update.checkpoint}")
        done = 0
        period = 1.0 / float(cfg.training.poll_hz)
        while not args.updates or done < args.updates:
            update = online.maybe_update(force=args.force)
            if update is not None:
                done += 1
                say(f"[train] model v{update.version} after {update.examples_seen} examples "
                    f"(mask loss {update.loss:.3f}): {update.checkpoint}")
            elif not args.follow:
                break
            else:
                time.sleep(period)
    finally:
        online.close()
        distributed.shutdown()
    say(f"[train] done at model v{online.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
