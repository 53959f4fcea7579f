"""The rearrangement report: ``report.md`` with the table and the command, a PNG plot
(success rate with 95 % intervals, final distance against the starting one, interactions),
and ``results.json`` to re-render from. Only measured numbers are shown."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FIGURE = "rearrangement.png"


def table_rows(results: dict) -> list[str]:
    """Markdown table of every method's summary."""
    rows = ["| method | episodes | success (95 % CI) | mean final distance px (median) | "
            "interactions (mean) | own judgement: success |",
            "|---|---|---|---|---|---|"]
    for m in results["methods"]:
        s = m["summary"]
        lo, hi = s["success_ci95"]
        rows.append(f"| {m['label']} | {s['episodes']} | {100 * s['success_rate']:.0f} % "
                    f"({100 * lo:.0f}-{100 * hi:.0f}) | {s['final_mean_px']:.1f} "
                    f"({s['final_median_px']:.1f}) | {s['mean_interactions']:.1f} | "
                    f"{100 * s['robot_success_rate']:.0f} % |")
    return rows


def plot(results: dict, path: Path, dpi: int) -> Path:
    methods = results["methods"]
    labels = [m["label"] for m in methods]
    y = np.arange(len(methods))
    fig, axes = plt.subplots(1, 3, figsize=(14, 0.5 * len(methods) + 2.2), sharey=True)
    rate = np.array([100 * m["summary"]["success_rate"] for m in methods])
    ci = np.array([[100 * v for v in m["summary"]["success_ci95"]] for m in methods])
    axes[0].barh(y, rate, color="tab:blue")
    axes[0].hlines(y, ci[:, 0], ci[:, 1], color="black", linewidth=1.2)   # the intervals
    axes[0].plot(ci.ravel(), np.repeat(y, 2), "|", color="black", markersize=8)
    axes[0].set_xlim(0, 100)
    axes[0].set_xlabel("success rate (%), 95 % Wilson interval")
    start = [m["summary"]["initial_mean_px"] for m in methods]
    final = [m["summary"]["final_mean_px"] for m in methods]
    axes[1].barh(y - 0.2, start, height=0.4, color="lightgray", label="start")
    axes[1].barh(y + 0.2, final, height=0.4, color="tab:orange", label="end")
    axes[1].axvline(results["tolerance_px"], color="black", linestyle="--", linewidth=1,
                    label=f"tolerance {results['tolerance_px']:g} px")
    axes[1].set_xlabel("mean distance of displaced objects (px)")
    axes[1].legend(fontsize=7)
    axes[2].barh(y, [m["summary"]["mean_interactions"] for m in methods], color="tab:green")
    axes[2].set_xlim(0, results["max_interactions"])
    axes[2].set_xlabel("interactions used (mean)")
    axes[0].set_yticks(y, labels, fontsize=8)
    axes[0].invert_yaxis()
    for ax in axes:
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Rearrangement in the arena: {results['episodes']} episodes per method")
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def write_report(results: dict, out_dir, dpi: int = 100) -> Path:
    """report.md + the plot + results.json into ``out_dir``; returns report.md's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot(results, out / FIGURE, dpi)
    meta = results.get("meta", {})
    lines = [f"# {meta.get('title', 'Rearranging objects to match a target image')}", ""]
    if meta.get("command"):
        lines += ["Command:", "", "```", meta["command"], "```", ""]
    if meta.get("date"):
        lines += [f"Date: {meta['date']}" + (f"; wall clock {meta['wall_clock_s']:.0f} s"
                                            if meta.get("wall_clock_s") else ""), ""]
    lines += [f"{results['episodes']} episodes per method (scene seed {results['seed']}; the same "
              f"scenes, targets and displaced objects for every method). Success = every object "
              f"within {results['tolerance_px']:g} px of its target position in the target camera, "
              f"measured from the simulator's object positions projected through the camera model "
              f"(never from a segmenter); at most {results['max_interactions']} interactions. "
              f"Distances are of the displaced objects; \"own judgement\" is how often the method "
              f"itself believed it was done.", ""]
    lines += table_rows(results) + ["", f"![rearrangement]({FIGURE})", ""]
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
