"""Launch files carry nothing dead: every declared arg is used, and every private parameter
they set on this package's nodes is read by the node's code."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PKG = "seg_by_interaction"


def _code() -> str:
    return "\n".join(p.read_text() for folder in ("src", "nodes") for p in sorted((REPO / folder).rglob("*"))
                     if p.is_file() and "__pycache__" not in p.parts and p.suffix in ("", ".py"))


def dead_entries(name: str, text: str, code: str) -> list[str]:
    root = ET.fromstring(text)
    evals = " ".join(re.findall(r"\$\(eval ([^)]*)\)", text))
    out = [f"{name}: arg '{a}' is never used"
           for a in (e.get("name") for e in root.findall("arg"))
           if f"$(arg {a})" not in text and not re.search(rf"\b{re.escape(a)}\b", evals)]
    for node in root.iter("node"):
        if node.get("pkg") != PKG:
            continue                       # other packages' nodes (image_saver) read their own
        for param in node.findall("param"):
            p = param.get("name")
            if not re.search(rf"""["']~{re.escape(p)}["']""", code):
                out.append(f"{name}: {node.get('type')} never reads ~{p}")
    return out


def test_no_dead_launch_args_or_node_params():
    code = _code()
    dead = [d for f in sorted((REPO / "launch").glob("*.launch"))
            for d in dead_entries(f.name, f.read_text(), code)]
    assert not dead, dead


def test_dead_entry_detection():
    text = """<launch>
      <arg name="used" default="1"/> <arg name="in_eval" default="false"/> <arg name="stray" default="0"/>
      <node if="$(eval in_eval)" pkg="seg_by_interaction" type="segmenter" name="s">
        <param name="preset" value="$(arg used)"/> <param name="nobody_reads_this" value="1"/>
      </node>
      <node pkg="image_view" type="image_saver" name="v"><param name="filename_format" value="x"/></node>
    </launch>"""
    assert dead_entries("t.launch", text, _code()) == [
        "t.launch: arg 'stray' is never used", "t.launch: segmenter never reads ~nobody_reads_this"]
