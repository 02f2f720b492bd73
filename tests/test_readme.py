"""The README stays true: every ```python block runs, in order, in one namespace (in a
temporary folder), and a block followed directly by a ```text block must print exactly that
text (trailing spaces aside)."""

import contextlib
import io
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def readme_blocks(text):
    """[(line number, python source, expected output or None)] for each python block."""
    fences = [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1, m.start(), m.end())
              for m in FENCE.finditer(text)]
    blocks = []
    for i, (lang, body, line, _, end) in enumerate(fences):
        if lang != "python":
            continue
        expected = None
        if i + 1 < len(fences):
            next_lang, next_body, _, next_start, _ = fences[i + 1]
            if next_lang == "text" and not text[end:next_start].strip():
                expected = next_body
        blocks.append((line, body, expected))
    return blocks


def normalise(output):
    return "\n".join(line.rstrip() for line in output.strip("\n").splitlines())


def test_the_parser_pairs_blocks_with_their_output():
    text = ("intro\n```python\nprint(1)\n```\n\n```text\n1\n```\n"
            "```bash\nls\n```\n```python\nx = 2\n```\nsome words\n```text\nnot output\n```\n")
    assert readme_blocks(text) == [(2, "print(1)\n", "1\n"), (12, "x = 2\n", None)]


def test_readme_code_runs_and_prints_what_it_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 4, "the README lost its examples"
    namespace = {"__name__": "readme"}
    for line, source, expected in blocks:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(source, f"README.md:{line}", "exec"), namespace)
            except Exception as error:
                pytest.fail(f"README.md line {line}: the block raised {type(error).__name__}: "
                            f"{error}")
        if expected is not None:
            assert normalise(printed.getvalue()) == normalise(expected), (
                f"README.md line {line}: the block prints something else than the output "
                "shown after it")
