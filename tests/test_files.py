"""tsgate.files: the atomic writer every file of tsgate goes through."""

import os

import pytest

from tsgate.files import TEMPORARY_PREFIX, staged, write_atomically, write_text_atomically


def test_the_new_file_replaces_the_old_and_the_temporary_keeps_the_name_and_suffix(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old")
    seen = []

    def write(temporary):
        seen.append(os.path.basename(temporary))
        assert path.read_text() == "old"  # readers see the old file until the rename
        with open(temporary, "w") as f:
            f.write("new")

    assert write_atomically(path, write) == path
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["state.json"]
    assert seen[0].startswith(TEMPORARY_PREFIX) and seen[0].endswith("-state.json")
    write_text_atomically(str(path), "é")
    assert path.read_text(encoding="utf-8") == "é"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("old")

    def torn(temporary):
        with open(temporary, "w") as f:
            f.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, torn)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["model.keras"]


def _write_new(*paths):
    for path in paths:
        with open(path, "w") as f:
            f.write("new")


def test_nested_blocks_write_both_before_renaming_either(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    with pytest.raises(RuntimeError):
        with staged(first) as a, staged(second) as b:
            _write_new(a, b)
            raise RuntimeError("after both were written")
    assert os.listdir(tmp_path) == []  # neither renamed, no temporary left
    with staged(first) as a, staged(second) as b:
        _write_new(a, b)
    assert first.read_text() == second.read_text() == "new" and sorted(os.listdir(tmp_path)) == ["a", "b"]
