"""File connector: CSV or JSONL, one file or a drop folder, streamed.

Settings (``source.settings``): ``path`` (file or folder), optional ``format``
(csv | jsonl; else from the extension), ``delimiter``, ``encoding`` (default
utf-8 with an optional BOM), ``pattern`` (glob for folders, default all .csv,
.tsv, .jsonl, .ndjson, .json files), ``mapping``.

Cursor: ``{"files": {name: {"size", "sha256", "rows", "complete", "at"}}}``.
A folder's files are each read once (a file whose name, size and sha256 match a
completed entry is skipped; a changed file is read again, its rows upserted).
``rows`` counts the rows committed so far, so a crash resumes mid-file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voc.ingest.connectors.base import Connector, RawBatch, RawItem
from voc.ingest.errors import IngestError
from voc.ingest.text import has_invalid_utf8
from voc.models.base import utcnow

# Survey exports carry long free text; the csv module's default cap is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".json": "jsonl"}
_PROGRESS_MIN_BYTES = 2_000_000


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from a binary file (progress bars without ``tell()``)."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - writable buffer
        n = self.raw.readinto(buffer)
        self.count += n or 0
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def file_digest(path: Path) -> tuple[int, str]:
    """``(size, sha256 hex)`` of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return path.stat().st_size, digest.hexdigest()


class FileConnector(Connector):
    """CSV/JSONL files and drop folders."""

    def describe(self) -> str:
        return str(self._root())

    def _root(self) -> Path:
        raw = self.path or self.spec.settings.get("path")
        if not raw:
            raise IngestError(f"source '{self.spec.name}': no path configured "
                              "(set the 'path' setting or pass a file)")
        return Path(raw).expanduser()

    def files(self) -> list[Path]:
        """The files to consider, in name order."""
        root = self._root()
        if root.is_dir():
            pattern = self.spec.settings.get("pattern")
            found = root.glob(pattern) if pattern else (
                p for p in root.iterdir() if p.suffix.lower() in _EXTENSIONS)
            return sorted(p for p in found if p.is_file() and not p.name.startswith("."))
        if not root.exists():
            raise IngestError(f"source '{self.spec.name}': file not found: {root}")
        if not root.is_file():
            raise IngestError(f"source '{self.spec.name}': not a file or folder: {root}")
        return [root]

    def batches(self) -> Iterator[RawBatch]:
        files_cursor: dict[str, Any] = dict((self.spec.cursor or {}).get("files") or {})
        forced = self.path is not None and not Path(self.path).is_dir()
        for path in self.files():
            try:
                size, sha = file_digest(path)
            except OSError as exc:
                raise IngestError(f"source '{self.spec.name}': cannot read {path}: "
                                  f"{exc.strerror or exc}") from None
            key = path.name
            entry = files_cursor.get(key) or {}
            same = entry.get("size") == size and entry.get("sha256") == sha
            if same and entry.get("complete") and not forced:
                continue  # picked up before
            skip = int(entry.get("rows") or 0) if same and not entry.get("complete") else 0
            yield from self._read_file(path, size, sha, skip, files_cursor)

    def _read_file(self, path: Path, size: int, sha: str, skip: int,
                   files_cursor: dict[str, Any]) -> Iterator[RawBatch]:
        fmt = self._format(path)
        raw = open(path, "rb")  # noqa: SIM115 - closed by the wrapper below
        counter = _CountingReader(raw)
        encoding = self.spec.settings.get("encoding") or "utf-8-sig"
        # surrogateescape keeps undecodable bytes visible, so the row is quarantined
        # with a reason instead of the whole file failing or text being altered.
        stream = io.TextIOWrapper(io.BufferedReader(counter, 1 << 16), encoding=encoding,
                                  errors="surrogateescape", newline="")
        bar = self._progress_bar(path, size)
        rows_done = skip
        try:
            reader = self._read_csv(path, stream) if fmt == "csv" else \
                self._read_jsonl(path, stream)
            batch: list[RawItem] = []
            for item in itertools.islice(reader, skip, None):  # rows committed before: skipped
                batch.append(item)
                if len(batch) >= self.batch_size:
                    rows_done += len(batch)
                    yield RawBatch(batch, self._cursor(files_cursor, path, size, sha, rows_done,
                                                       False), counter.count)
                    if bar is not None:
                        bar.update(counter.count - bar.n)
                    batch = []
            rows_done += len(batch)
            yield RawBatch(batch, self._cursor(files_cursor, path, size, sha, rows_done, True),
                           counter.count)
            if bar is not None:
                bar.update(counter.count - bar.n)
        except (csv.Error, UnicodeError) as exc:
            raise IngestError(f"source '{self.spec.name}': cannot parse {path.name}: {exc}") \
                from None
        finally:
            stream.close()
            if bar is not None:
                bar.close()

    def _cursor(self, files_cursor: dict[str, Any], path: Path, size: int, sha: str,
                rows: int, complete: bool) -> dict[str, Any]:
        files_cursor[path.name] = {"size": size, "sha256": sha, "rows": rows,
                                   "complete": complete, "at": utcnow().isoformat()}
        return {"files": dict(files_cursor)}

    def _format(self, path: Path) -> str:
        fmt = (self.spec.settings.get("format") or "").lower()
        if not fmt:
            fmt = _EXTENSIONS.get(path.suffix.lower(), "")
        if fmt not in ("csv", "jsonl"):
            raise IngestError(f"source '{self.spec.name}': cannot tell the format of {path.name} "
                              "(use a .csv or .jsonl file, or --format csv|jsonl)")
        return fmt

    def _read_csv(self, path: Path, stream: io.TextIOBase) -> Iterator[RawItem]:
        delimiter = self.spec.settings.get("delimiter") or \
            ("\t" if path.suffix.lower() == ".tsv" else ",")
        reader = csv.reader(stream, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        width = len(header)
        name = path.name
        for row in reader:
            location = f"{name}:{reader.line_num}"
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) > width:
                payload = dict(zip(header, row, strict=False))
                payload["_extra_values"] = row[width:]
                yield RawItem(payload, location, error=f"row has {len(row) - width} more "
                              f"value(s) than the header's {width} columns (unquoted delimiter?)")
                continue
            # One fast check per row; the builder scans fields only for suspicious rows.
            joined = "".join(row)
            suspect = not joined.isascii() and has_invalid_utf8(joined)
            yield RawItem(dict(zip(header, row, strict=False)), location, check_utf8=suspect)

    def _read_jsonl(self, path: Path, stream: io.TextIOBase) -> Iterator[RawItem]:
        name = path.name  # a pathlib property: computed once, not per line
        for number, line in enumerate(stream, start=1):
            line = line.strip()
            if not line:
                continue
            location = f"{name}:{number}"
            try:
                payload = json.loads(line)
            except ValueError as exc:
                yield RawItem(line[:2000], location, error=f"invalid JSON: {exc}")
                continue
            # Undecodable bytes, or JSON escapes of lone surrogates ("\udc80").
            suspect = ("\\u" in line and ("\\ud" in line or "\\uD" in line)) or (
                not line.isascii() and has_invalid_utf8(line))
            yield RawItem(payload, location, None, suspect)

    def _progress_bar(self, path: Path, size: int):  # noqa: ANN202
        if not self.progress or size < _PROGRESS_MIN_BYTES:
            return None
        from tqdm import tqdm

        return tqdm(total=size, unit="B", unit_scale=True, desc=path.name, leave=False)
