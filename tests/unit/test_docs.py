"""The documentation lives in the repository: every relative link resolves, and nothing cites a file outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")
# The design notes the project started from are not part of a clone: code and docs cite docs/ instead.
OUTSIDE = re.compile(r"\.\./shared|\b(?:API|CONTRACTS|DESIGN|TOOLING|SEMANTICS|SPEC)\.md\b|\bSPEC\b")
SOURCES = ("layers", "functions", "infra", "tests", "bench", "events", "docs", ".ci")
TOP_FILES = ("README.md", "CONTRIBUTING.md", "CHANGELOG.md", "template.yaml", "Makefile", "pyproject.toml", "samconfig.toml")


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes from a document's headings."""
    made = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        made.add(slug)
    return made


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    """Given a document, when its relative links are followed, then each names a file (and heading) in the repository."""
    broken = []
    for target in LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        outside = not resolved.exists() or ROOT not in (resolved, *resolved.parents)
        if outside or (anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text(encoding="utf-8"))):
            broken.append(target)
    assert broken == []


def cited_files() -> list[Path]:
    """The code, tests, docs and build files that may cite documentation."""
    files = [ROOT / name for name in TOP_FILES] + [p for folder in SOURCES for p in (ROOT / folder).rglob("*") if p.is_file()]
    kept = {".py", ".md", ".yaml", ".yml", ".toml", ".json", ".txt", ""}
    return [p for p in files if p.suffix in kept and "__pycache__" not in p.parts and p.exists()]


def test_every_cited_docs_section_exists() -> None:
    """Given a citation such as `docs/api.md#errors` in code or docs, then that file has that heading."""
    missing = []
    for path in cited_files():
        for name, anchor in re.findall(r"\bdocs/([\w/.-]+\.md)(?:#([\w-]+))?", path.read_text(encoding="utf-8", errors="replace")):
            target = ROOT / "docs" / name
            if not target.exists() or (anchor and anchor not in anchors(target.read_text(encoding="utf-8"))):
                missing.append(f"{path.relative_to(ROOT)}: docs/{name}#{anchor}")
    assert missing == []


def test_nothing_cites_a_file_outside_the_repository() -> None:
    """Given the code, tests, docs and build files, then none cites the design notes outside the repository."""
    citing = []
    for path in cited_files():
        if path == Path(__file__).resolve():
            continue  # the pattern itself names them
        text = path.read_text(encoding="utf-8", errors="replace")
        citing += [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}" for m in OUTSIDE.finditer(text)]
    assert citing == []
