"""The README's Python example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    example = re.search(r"```python\n(.*?)```\n", README.read_text(), re.S)
    assert example, "the README has a Python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(example.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "message b'hello'" in out
    assert "written by my-sdk 1.0 with 1 message" in out
    assert "imported Counts(conversations=1, messages=1, consent=0)" in out
    assert "backup holds 1 message" in out
    assert "refused: the key does not open this archive" in out
    assert (tmp_path / "restored.db").exists()
