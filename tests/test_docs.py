"""The user-facing documents stand on their own in a fresh clone (issue 23, items 12, 13, 17).

* they never point at ``../shared`` or ``science.md`` (a clone has neither); the physics
  and algorithms are in ``docs/theory.md``, whose section links must resolve;
* ``make demo`` ends by saying how to put ``resim`` on PATH, and the README's Use section
  does so before its first ``resim`` command;
* every measured figure in the README (a time, an error rate, a speed ratio) carries the
  date it was measured, and the reproducibility claim says what holds across machines.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
USER_FACING = [README, *sorted((REPO / "docs").rglob("*")), *sorted((REPO / "examples").rglob("*")),
               *sorted((REPO / "netlists").rglob("*")), *sorted((REPO / "resim").rglob("*.py")),
               *sorted((REPO / "resim").rglob("*.lark")), REPO / "Makefile", REPO / "pyproject.toml"]
TEXT_SUFFIXES = {".md", ".toml", ".cir", ".py", ".lark", ""}


def _text_files() -> list[Path]:
    return [p for p in USER_FACING if p.is_file() and p.suffix in TEXT_SUFFIXES]


def test_user_facing_files_are_found():
    names = {p.name for p in _text_files()}
    assert {"README.md", "theory.md", "train.md", "drn_xs_fashion.toml", "divider.cir", "simulate.py"} <= names


@pytest.mark.parametrize("path", _text_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_pointer_outside_the_clone(path):
    """README, docs, examples, netlists, help texts and docstrings: nothing a clone lacks."""
    text = path.read_text(encoding="utf-8", errors="replace")
    bad = [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1)
           if "../shared" in line or "science.md" in line or "/work/shared" in line]
    assert not bad, f"{path.relative_to(REPO)} points outside the repository:\n" + "\n".join(bad)


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation but '-' and '_' dropped, spaces to '-'."""
    out = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def test_theory_links_resolve():
    """Every ``theory.md#anchor`` link anywhere in the docs, README and code names a heading."""
    anchors = _anchors((REPO / "docs" / "theory.md").read_text(encoding="utf-8"))
    links = {(p, a) for p in _text_files() for a in re.findall(r"theory\.md#([\w\-]+)", p.read_text(encoding="utf-8"))}
    assert links, "no section link into docs/theory.md"
    missing = sorted(f"{p.relative_to(REPO)}: #{a}" for p, a in links if a not in anchors)
    assert not missing, "links to headings docs/theory.md does not have:\n" + "\n".join(missing)


def test_theory_sections_cited_by_number_exist():
    """``docs/theory.md §N`` in code and docs: theory.md has a heading numbered N."""
    text = (REPO / "docs" / "theory.md").read_text(encoding="utf-8")
    numbers = set(re.findall(r"^## (\d+)\.", text, re.M))
    cited = {(p, n) for p in _text_files() for n in re.findall(r"theory\.md §(\d+)", p.read_text(encoding="utf-8"))}
    assert cited
    assert not [f"{p.relative_to(REPO)}: §{n}" for p, n in cited if n not in numbers]


def test_readme_says_how_to_get_ibmpg1():
    text = README.read_text(encoding="utf-8") + (REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert "RESIM_SHARED_BENCH" in text and "IBM power-grid benchmark" in text


# ---- item 12: resim on PATH ------------------------------------------------------------------


def _sh_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", markdown, re.S | re.M)


def test_readme_activates_the_venv_before_the_first_resim_command():
    lines = [line.strip() for block in _sh_blocks(README.read_text(encoding="utf-8")) for line in block.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith("resim "))
    assert any(line.startswith(". .venv/bin/activate") for line in lines[:first]), lines[:first + 1]


def test_make_demo_says_how_to_put_resim_on_path(tmp_path):
    """``make demo`` with an installed venv (here a stand-in whose ``resim`` is this one):
    it solves the clipper and ends with the command that puts resim on PATH."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    real = Path(sys.executable).parent / "resim"
    assert real.is_file(), f"{real} missing: install resim into this interpreter's environment"
    for name, target in (("python", sys.executable), ("resim", str(real))):
        (venv / "bin" / name).write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
        (venv / "bin" / name).chmod(0o755)
    (venv / ".installed").touch()  # newer than pyproject.toml: make installs nothing
    result = subprocess.run(["make", "-s", "-C", str(REPO), "demo", f"VENV={venv}"], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "COLUMNS": "100"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "certificate:" in result.stdout  # the clipper was solved
    assert f". {venv}/bin/activate" in result.stdout, result.stdout


# ---- item 17: figures carry their date and machine --------------------------------------------

FIGURE = re.compile(r"\d[\d,.]*\s?(%|s\b|ms\b|min\b|minutes|GB\b|MB\b|x faster|x\b)")
DATE = re.compile(r"20\d\d-\d\d-\d\d")


def statements(markdown: str) -> list[str]:
    """The README cut into what a date must accompany: each line of a code block, each
    bullet (with its continuation lines), each other paragraph."""
    out, prose, code = [], [], False
    for line in markdown.splitlines() + [""]:
        if line.startswith("```"):
            code = not code
            out.append(" ".join(prose))
            prose = []
            continue
        if code:
            out.append(line)
        elif not line.strip() or line.startswith(("* ", "#")):
            out.append(" ".join(prose))
            prose = [line] if line.strip() else []
        else:
            prose.append(line)
    return [s for s in out if s.strip()]


def test_statements_cut_bullets_and_code_lines():
    text = "para one\ncontinued 2026-01-01\n\n* a 3 s\n  b\n* c\n```sh\nx 1 s\ny\n```\n"
    assert statements(text) == ["para one continued 2026-01-01", "* a 3 s   b", "* c", "x 1 s", "y"]


def test_readme_figures_carry_their_date():
    """A statement of the README that gives a measured figure says when (and where) it was
    measured, or points to the docs page that does."""
    undated = [s for s in statements(README.read_text(encoding="utf-8"))
               if FIGURE.search(s) and not DATE.search(s) and "docs/" not in s]
    assert not undated, "figures without a date (or a pointer to the docs page that dates them):\n" + "\n".join(undated)


def test_readme_figures_name_their_machine():
    dated = [s for s in statements(README.read_text(encoding="utf-8")) if FIGURE.search(s) and DATE.search(s)]
    assert dated
    assert not [s for s in dated if "VM" not in s and "machine" not in s]


def test_reproducibility_is_stated_with_its_tolerance():
    """README and docs/train.md: bit for bit on one machine, within a stated tolerance across
    CPUs; never 'the seed fixes everything'."""
    for path in (README, REPO / "docs" / "train.md", REPO / "docs" / "results.md"):
        text = path.read_text(encoding="utf-8")
        assert "fixes everything" not in text and "the seed fixes the run" not in text, path.name
    train = (REPO / "docs" / "train.md").read_text(encoding="utf-8")
    assert "bit for bit on one machine" in train.lower() and "percentage points" in train
    assert "OPENBLAS_CORETYPE" in train
