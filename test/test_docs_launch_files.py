"""Every launch file the documentation names exists (docker/README.md once named a
trainer.launch that never did)."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_launch_file_named_in_the_docs_exists():
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
            *sorted((REPO / "docker").glob("*.md"))]
    named = set()
    for doc in docs:
        named |= {(doc.name, m) for m in re.findall(r"([A-Za-z0-9_]+)\.launch\b", doc.read_text())}
    assert named, "no launch file named in the docs: the pattern is wrong"
    missing = sorted(f"{doc}: {name}.launch" for doc, name in named
                     if not (REPO / "launch" / f"{name}.launch").is_file())
    assert not missing, missing
