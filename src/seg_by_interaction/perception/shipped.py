"""The model that ships with the package: the main job's final weights, so a user with a
camera and no robot gets masks on a fresh machine (``models/default.pt`` beside
``config/``, with its card ``models/MODEL_CARD.md``).

It is an ordinary verified checkpoint (magic line, SHA-256, a weights-only payload) holding
the weights alone, in float16 (half the size; loading copies them into the float32 model).
``ship`` writes one from a run's checkpoint and that run's report.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Optional

import torch

from seg_by_interaction.config import config_dir
from seg_by_interaction.perception.checkpoint import read_checkpoint, save_checkpoint

MODEL_FILE = "default.pt"
CARD_FILE = "MODEL_CARD.md"


def models_dir() -> Path:
    """``models/`` beside the presets (the source tree, or the install space's share/<pkg>)."""
    return config_dir().parent / "models"


def shipped_model() -> Path:
    path = models_dir() / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no shipped model at {path}: give ~checkpoint, or ship one with "
                                "python -m seg_by_interaction ship-model --run-dir RUN")
    return path


class _Weights(torch.nn.Module):
    """A state dict dressed as a module, for save_checkpoint."""

    def __init__(self, state: dict, cfg: dict):
        super().__init__()
        self._state, self.cfg = state, cfg

    def state_dict(self, *args, **kwargs):
        return self._state


def _git_commit(repo: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def ship(checkpoint: str | Path, report_json: Optional[str | Path], command: str,
         out_dir: Optional[Path] = None) -> Path:
    """Write ``models/default.pt`` (float16 weights of ``checkpoint``) and its card, which
    states where it came from and how it scored (from the run's report, if given)."""
    out_dir = Path(out_dir) if out_dir is not None else models_dir()
    payload = read_checkpoint(checkpoint)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in payload["model"].items()}
    extra = payload["state"].get("extra", {})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MODEL_FILE
    save_checkpoint(path, _Weights(state, payload["model_cfg"]), None,
                    {"step": int(payload["state"].get("step", 0)),
                     "extra": {**extra, "shipped_from": Path(checkpoint).name}}, model_cfg=payload["model_cfg"])
    lines = ["# The shipped model", "",
             f"- **What**: the DeepMask-style network of `config/default.yaml` (model section: "
             f"{json.dumps(payload['model_cfg'], sort_keys=True)}), float16 weights "
             f"({path.stat().st_size / 1e6:.1f} MB).",
             f"- **Made by**: `{command}`: model v{extra.get('version', '?')} after "
             f"{extra.get('interactions_seen', '?')} interactions in the simulated arena; shipped "
             f"{time.strftime('%Y-%m-%d', time.gmtime())} from commit "
             f"{_git_commit(Path(__file__).resolve().parents[3])}.",
             "- **Trained on**: no human labels: the passive bootstrap (masks from watching random "
             "pushes) and the robot's own pick-and-place interactions (difference-image masks, "
             "robust set loss), in the PyBullet arena's training split (photographed surfaces, "
             "Sweet Home 3D and robosuite models at mixed sizes, cameras that move between scenes).",
             "- **Licence**: the weights are this project's (MIT). The arena's assets are CC0 / CC-BY 3.0 "
             "/ MIT (docs/assets.md); no asset is contained in the weights file."]
    if report_json and Path(report_json).is_file():
        results = json.loads(Path(report_json).read_text())
        lines += ["", "## How it scores (authors' AP, %)", "",
                  "| set | AP@0.3 | AP@0.5 | Overlap F | Boundary F | F@.75 |", "|---|---|---|---|---|---|"]
        for name, part in (("test split", results), ("out of the arena", results.get("out_of_arena") or {})):
            runs = (part.get("table", {}).get("self_sup_rsl") or {}).get("runs") or []
            if runs:
                ap, ob = runs[-1]["ap"]["voc07"], runs[-1].get("overlap_boundary") or {}
                cells = [f"{100 * ap[t]:.1f}" for t in ("0.3", "0.5")]
                cells += [f"{100 * ob[k]:.1f}" if k in ob else "-" for k in ("overlap_f", "boundary_f", "f_at_075")]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", f"From the run's report ({Path(report_json).name}, "
                  f"{results.get('meta', {}).get('date', 'undated')})."]
    (out_dir / CARD_FILE).write_text("\n".join(lines) + "\n")
    return path
