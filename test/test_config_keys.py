"""Every key in config/default.yaml is read somewhere, every literal key chain the code reads
exists there, and no library module loads a preset by itself."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "seg_by_interaction"
DEFAULTS = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())

# Where the code that reads the configuration lives (tests do not count as readers).
READERS = ("src", "nodes", "benchmarks", "scripts", "launch", "research")

# Subtrees whose keys are read dynamically, not by a literal name; their own key is checked,
# the keys below it are not.
DYNAMIC = {
    # per-descriptor thresholds, indexed by the descriptor's name (rearrangement/descriptors.py)
    "rearrangement.rejection_threshold",
    # per-split counts, indexed by the split's name (evaluation/eval_set.py)
    "arena.eval_images_per_background",
    # size bins are iterated by name (evaluation/metrics.py size_binned_ap)
    "evaluation.size_bins",
    # dotted overrides, applied through with_overrides (which rejects unknown keys)
    "evaluation.standard_arena",
}


def _dynamic(path: tuple) -> bool:
    for pattern in DYNAMIC:
        parts = pattern.split(".")
        if len(path) > len(parts) and all(p in ("*", q) for p, q in zip(parts, path)):
            return True
    return False


def leaf_keys(node: dict, path: tuple = ()):
    for key, value in node.items():
        here = path + (str(key),)
        if _dynamic(here):
            continue
        if isinstance(value, dict) and value:
            yield from leaf_keys(value, here)
        else:
            yield here


def _reader_text() -> str:
    parts = []
    for folder in READERS:
        for p in sorted((ROOT / folder).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in ("", ".py", ".sh", ".launch"):
                parts.append(p.read_text(errors="replace"))
    return "\n".join(parts)


def unread_keys(defaults: dict, text: str) -> list[str]:
    """Leaf keys whose name appears nowhere as an attribute (``.name``) or a quoted string
    literal (a heuristic: a common name may be found elsewhere, but a key nobody names is
    certainly unread)."""
    return [".".join(path) for path in leaf_keys(defaults)
            if not re.search(r"""(["']%s["']|\.%s\b)""" % ((re.escape(path[-1]),) * 2), text)]


_CHAIN = re.compile(r"""\[\s*(["'])\w+\1\s*\](?:\[\s*(["'])\w+\2\s*\])+|\bcfg(?:\.[a-z_]\w*){2,}""")
_KEY = re.compile(r"""\[\s*["'](\w+)["']\s*\]|\.([a-z_]\w*)""")


def missing_chains(defaults: dict, files, root: Path = ROOT) -> list[str]:
    """``x["section"]["key"]...`` literal chains and ``cfg.section.key...`` attribute chains
    starting at a top-level section whose keys are not in ``defaults`` (followed down while
    the value is a mapping)."""
    bad = []
    for path in files:
        text = path.read_text()
        for m in _CHAIN.finditer(text):
            names = [a or b for a, b in _KEY.findall(m.group(0))]
            if not isinstance(defaults.get(names[0]), dict):
                continue
            node = defaults
            for name in names:
                if not isinstance(node, dict) or name.startswith("model_"):   # pydantic's methods
                    break
                if name not in node:
                    line = text.count("\n", 0, m.start()) + 1
                    bad.append(f"{path.relative_to(root)}:{line}: {m.group(0)}")
                    break
                node = node[name]
    return bad


def _code_files():
    for folder in ("src", "nodes"):
        for p in sorted((ROOT / folder).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix in ("", ".py"):
                yield p


def test_every_default_key_is_read_somewhere():
    unread = unread_keys(DEFAULTS, _reader_text())
    assert not unread, f"keys in config/default.yaml nothing reads (remove or wire them up): {unread}"


def test_unread_key_detection_finds_a_stray_key():
    defaults = {"loop": {"camera": "random", "no_such_setting_anywhere": 1},
                "rearrangement": {"rejection_threshold": {"some_descriptor_name": 0.5}}}
    assert unread_keys(defaults, _reader_text()) == ["loop.no_such_setting_anywhere"]


def test_every_literal_config_chain_exists_in_the_defaults():
    bad = missing_chains(DEFAULTS, _code_files())
    assert not bad, f"configuration keys read in code but missing from default.yaml: {bad}"


def test_chain_detection_finds_a_misspelt_key(tmp_path):
    f = tmp_path / "mod.py"
    f.write_text('a = cfg["labeling"]["window"]\nb = cfg["labeling"]["windwo"]\n'
                 'c = ckpt["state"]["x"]\nd = cfg["rearrangement"]["appearance"]["colour_binz"]\n'
                 'e = cfg.labeling.window\nf = cfg.training.batch_sise + 1\n')
    bad = missing_chains(DEFAULTS, [f], root=tmp_path)
    assert bad == ['mod.py:2: ["labeling"]["windwo"]',
                   'mod.py:4: ["rearrangement"]["appearance"]["colour_binz"]',
                   'mod.py:6: cfg.training.batch_sise']


def test_library_modules_load_no_preset():
    """Only command-line entry points (__main__.py, cli.py) and the ROS layer (node parameters)
    turn a preset name into a configuration; everything else is given its section."""
    callers = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                     if re.search(r"\bload_config\(", p.read_text())
                     and p.name not in ("__main__.py", "cli.py")
                     and p.parts[len(SRC.parts)] not in ("ros", "config"))
    assert callers == []
