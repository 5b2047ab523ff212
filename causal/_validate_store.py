"""The results file of a validation: one JSON line per finished replication, so a killed run resumes.

Format (UTF-8 text)::

    {"causalsim_validate": 1, "fingerprint": "<sha256>", "config": {...}}
    {"setting": 0, "rep": 0, "records": [{...}, ...], "check": "<crc32>"}
    ...

The first line names the configuration (source, knobs, estimators, ``n``,
seed, contrast; not ``reps``, so a finished run can be extended with more
replications). Every later line is one replication: the records of every
estimator, written with a single ``write`` of the whole line, then
``fsync``. A line counts only when it is complete (ends with a newline) and
its CRC-32 matches; a torn last line (a kill during the write) is cut off
before new lines are appended.

Why JSON lines rather than Parquet parts: appending one line is atomic per
replication without thousands of part files or a footer that a kill would
leave unwritten; Python writes floats with ``repr``, so every value reads back
to the same bits (the table of a resumed run is byte-identical); the file
needs no optional dependency and ``tail -f`` shows progress.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from causal.errors import EstimationError

__all__ = ["fingerprint", "ResultsFile"]

_MAGIC = "causalsim_validate"


def fingerprint(config: Mapping[str, Any]) -> str:
    """SHA-256 of the configuration's canonical JSON."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _line(setting: int, rep: int, records: list[dict[str, Any]]) -> bytes:
    body = json.dumps({"setting": setting, "rep": rep, "records": records}, sort_keys=True)
    check = f"{zlib.crc32(body.encode()):08x}"
    return (body[:-1] + f', "check": "{check}"}}\n').encode()


def _parse(raw: bytes) -> tuple[int, int, list[dict[str, Any]]] | None:
    """A replication's line, or ``None`` if it is torn or corrupt."""
    if not raw.endswith(b"\n"):
        return None
    text = raw.decode("utf-8", errors="replace").rstrip("\n")
    head, sep, tail = text.rpartition(', "check": "')
    if not sep or not tail.endswith('"}'):
        return None
    body = head + "}"
    if f"{zlib.crc32(body.encode()):08x}" != tail[:-2]:
        return None
    obj = json.loads(body)
    return int(obj["setting"]), int(obj["rep"]), list(obj["records"])


class ResultsFile:
    """Open (or create) a results file for ``config``; refuse one written for another configuration.

    Parameters
    ----------
    path : str or Path
    config : mapping
        The JSON-able configuration; its fingerprint must match the file's.

    Attributes
    ----------
    done : dict
        ``(setting, rep) -> records`` already in the file.
    """

    def __init__(self, path: str | os.PathLike, config: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.config = json.loads(json.dumps(dict(config), sort_keys=True, default=str))
        self.fingerprint = fingerprint(self.config)
        self.done: dict[tuple[int, int], list[dict[str, Any]]] = {}
        if self.path.is_dir():
            raise EstimationError(f"results={str(self.path)!r} is a folder; give a file name "
                                  "(e.g. results.jsonl)")
        if not self.path.exists() or self.path.stat().st_size == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            head = json.dumps({_MAGIC: 1, "fingerprint": self.fingerprint, "config": self.config},
                              sort_keys=True) + "\n"
            self._append(head.encode())
        else:
            self._load()

    def _mismatch(self, theirs: Mapping[str, Any]) -> EstimationError:
        keys = sorted(k for k in set(self.config) | set(theirs) if self.config.get(k) != theirs.get(k))
        return EstimationError(
            f"results file {str(self.path)!r} holds replications of a different validation (it differs in: "
            f"{', '.join(keys) or 'the file format'}); refusing to mix them. To start fresh, delete the "
            "file or pass another results= path (causalsim validate: another --out folder); to resume it, "
            "rerun with the same settings")

    def _load(self) -> None:
        with open(self.path, "rb") as f:
            blob = f.read()
        lines = blob.splitlines(keepends=True)
        try:
            head = json.loads(lines[0])
            ok = isinstance(head, dict) and head.get(_MAGIC) == 1
        except (ValueError, IndexError):
            ok = False
        if not ok:
            raise EstimationError(f"results file {str(self.path)!r} is not a causalsim validation results "
                                  "file; delete it or pass another results= path")
        if head.get("fingerprint") != self.fingerprint:
            raise self._mismatch(head.get("config", {}))
        offset = len(lines[0])
        for i, raw in enumerate(lines[1:], start=1):
            parsed = _parse(raw)
            if parsed is None:
                if i != len(lines) - 1:
                    raise EstimationError(f"results file {str(self.path)!r} is corrupt at line {i + 1} "
                                          "(not only its last line); delete it to start fresh")
                with open(self.path, "r+b") as f:  # a torn last line from a killed run: cut it off
                    f.truncate(offset)
                    f.flush()
                    os.fsync(f.fileno())
                break
            s, r, records = parsed
            self.done[(s, r)] = records
            offset += len(raw)

    def _append(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def write(self, items: Iterable[tuple[int, int, list[dict[str, Any]]]]) -> None:
        """Append finished replications (one line and one ``fsync`` each)."""
        for s, r, records in items:
            self._append(_line(s, r, records))
            self.done[(s, r)] = records
