"""tutor/atomic_write.py: the whole text or the old file, never half of it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tutor.atomic_write import write_atomically


def test_writes_the_text_with_the_given_permissions(tmp_path: Path) -> None:
    private, shared = tmp_path / "private.json", tmp_path / "shared.jsonl"
    write_atomically(private, "{}\r\n")
    write_atomically(shared, "한글\n", mode=0o644)
    assert private.read_bytes() == b"{}\r\n"
    assert shared.read_text(encoding="utf-8") == "한글\n"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["private.json", "shared.jsonl"]


def test_a_failed_rename_keeps_the_old_file_and_removes_the_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "params.json"
    path.write_text("old", encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("tutor.atomic_write.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["params.json"]


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "absent" / "x.json", "{}")
