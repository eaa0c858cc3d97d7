"""The README's Python snippets run as written, each on its own, in a scratch
directory. A snippet that cannot run here says so in the README, on the line
before it: `<!-- not run: <reason> -->`."""

import os
import re

import pytest

from tests.helpers import BACKEND

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->")


def snippets():
    """(line, section, code, reason not to run or None) of every ```python block of the README."""
    with open(README, encoding="utf-8") as f:
        lines = f.read().split("\n")
    found, section, start = [], None, None
    for number, line in enumerate(lines, 1):
        if start is None and line.startswith("#"):
            section = line.lstrip("#").strip()
        elif start is None and line.strip() == "```python":
            start = number
        elif start is not None and line.strip() == "```":
            before = next((text for text in reversed(lines[: start - 1]) if text.strip()), "")
            marked = NOT_RUN.fullmatch(before.strip())
            reason = marked.group(1) if marked else None
            found.append((start, section, "\n".join(lines[start:number - 1]), reason))
            start = None
    return found


def test_the_readme_has_runnable_snippets():
    assert sum(reason is None for *_, reason in snippets()) >= 3


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the snippets forecast and serve with TensorFlow")
@pytest.mark.parametrize(("line", "section", "code", "reason"), snippets(),
                         ids=[f"line{line}" for line, *_ in snippets()])
def test_snippet_runs_as_written(line, section, code, reason, tmp_path, monkeypatch):
    if reason:
        pytest.skip(f"README.md line {line} ({section}): {reason}")
    monkeypatch.chdir(tmp_path)  # the snippets write forecast.png, my_forecaster/, ...
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})
