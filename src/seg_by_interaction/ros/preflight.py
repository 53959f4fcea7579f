"""preflight: a launch's arguments checked once, before any node starts.

A launch file runs it as a ``<param command="...">``: roslaunch executes parameter
commands while it reads the file, before it starts a master or a node, and a command that
fails ends the launch with a non-zero exit. So a bad preset, an unusable data_dir, a
negative budget or a run folder already in use gives one clear message instead of every
node crash-looping under respawn (and, for a second launch, instead of two labellers and
two trainers kicking each other off the master).

    rosrun seg_by_interaction preflight --preset P [--data-dir D] [--interactions N] [--lock]
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import xmlrpc.client
from pathlib import Path
from typing import Optional, Sequence

from seg_by_interaction.config import ConfigError, load_config
from seg_by_interaction.data.run_lock import RunLockHeld, claim
from seg_by_interaction.processes import process_command


class PreflightError(RuntimeError):
    """A launch argument that cannot work; the message says which and why."""


def check_interactions(value: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise PreflightError(f"interactions:={value!r} is not a whole number (0 = run forever)")
    if n < 0:
        raise PreflightError(f"interactions:={n} is negative (0 = run forever, N > 0 = stop after N)")
    return n


def check_config(preset: str) -> dict:
    from seg_by_interaction.cameras.codec import FORMATS
    try:
        cfg = load_config(preset)
    except ConfigError as exc:
        raise PreflightError(f"preset:={preset}: {exc}") from exc
    fmt = cfg.ros.record.format
    if fmt not in FORMATS:
        raise PreflightError(f"preset:={preset}: ros.record.format {fmt!r} is not one of "
                             f"{', '.join(FORMATS)}")
    return cfg


def check_data_dir(data_dir: str) -> Path:
    """The folder exists (made if need be) and takes a file."""
    path = Path(os.path.expanduser(data_dir))
    if not str(data_dir).strip():
        raise PreflightError("data_dir:= is empty")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".preflight-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise PreflightError(f"data_dir:={data_dir} cannot hold the run: {exc.strerror or exc} "
                             f"({exc.filename or path})") from exc
    return path.resolve()


def launch_owner() -> int:
    """The roslaunch process this command runs in (its parent), else the parent itself."""
    return os.getppid()


def check_master(names: Sequence[str], timeout: float = 2.0) -> None:
    """PreflightError when a master is up and a live node already holds one of ``names``
    (a loop's /labeler or /trainer: a second loop's would kick it off)."""
    uri = os.environ.get("ROS_MASTER_URI", "")
    if not uri:
        return
    socket.setdefaulttimeout(timeout)
    try:
        master = xmlrpc.client.ServerProxy(uri)
        for name in names:
            try:
                code, _, node_uri = master.lookupNode("/preflight", name)
            except (OSError, xmlrpc.client.Error):
                return                               # no master yet: roslaunch starts one
            if code != 1:
                continue
            try:
                code, _, pid = xmlrpc.client.ServerProxy(node_uri).getPid("/preflight")
            except (OSError, xmlrpc.client.Error):
                continue                             # a stale registration of a dead node
            if code == 1:
                raise PreflightError(
                    f"a loop is already running on this master ({uri}): its {name} is pid {pid} "
                    f"({process_command(int(pid))[:120] or '?'}). Another robot joins it with "
                    "fleet_robots.launch or remote_robot.launch; a separate loop needs its own "
                    "master (roslaunch -p PORT) and its own data_dir")
    finally:
        socket.setdefaulttimeout(None)


def check_init(cfg, folder: Optional[Path], init: str) -> str:
    """init:=FILE checked against the preset's network and made the run's model v1."""
    from seg_by_interaction.perception.checkpoint import CheckpointError
    from seg_by_interaction.training.initial_model import install_initial_model
    if folder is None:
        raise PreflightError("init:= needs data_dir:=")
    try:
        made = install_initial_model(cfg, folder, init)
    except CheckpointError as exc:
        raise PreflightError(f"init:={init} cannot start this run: {exc}") from exc
    return f"init {made}" if made else "init: the run already has models (resuming)"


def preflight(preset: str, data_dir: Optional[str] = None, interactions: Optional[str] = None,
              lock: bool = False, master_names: Sequence[str] = (),
              owner_pid: Optional[int] = None, init: str = "") -> str:
    """Every check; a one-line summary (the parameter's value). PreflightError otherwise."""
    n = check_interactions(interactions) if interactions is not None else None
    cfg = check_config(preset)
    folder = check_data_dir(data_dir) if data_dir is not None else None
    if master_names:
        check_master(master_names)
    if lock:
        if folder is None:
            raise PreflightError("--lock needs --data-dir")
        try:
            claim(folder, owner_pid or launch_owner())
        except RunLockHeld as exc:
            raise PreflightError(str(exc)) from exc
    parts = [f"preset {preset}"] + ([f"data_dir {folder}"] if folder else []) + \
        ([f"interactions {n}"] if n is not None else [])
    if init:
        parts.append(check_init(cfg, folder, init))
    return "ok: " + ", ".join(parts)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="preflight", description=__doc__.splitlines()[0])
    ap.add_argument("--preset", required=True)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--interactions", default=None)
    ap.add_argument("--lock", action="store_true",
                    help="claim --data-dir for the launch that runs this (one run per folder)")
    ap.add_argument("--owner-pid", type=int, default=None,
                    help="the process that owns the run (default: the parent, i.e. roslaunch)")
    ap.add_argument("--init", default="", help="a model to start from (init:=FILE)")
    ap.add_argument("--unique-nodes", default="",
                    help="comma-separated node names a second loop on this master must not take")
    args = ap.parse_args(argv)
    try:
        print(preflight(args.preset, args.data_dir, args.interactions, args.lock,
                        [n for n in args.unique_nodes.split(",") if n], args.owner_pid, args.init))
    except PreflightError as exc:
        print(f"\n[seg_by_interaction] cannot start: {exc}\n", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
