"""The JSON Lines files of the results store: appends that survive a torn line, readers that say where.

A record is one line, written by one ``write`` and flushed. A process killed mid-write, or a disk
that fills up, can still leave the file's last line unfinished (no newline). The rules:

- An append takes an exclusive ``flock`` on the file (shards of one run append to the same files),
  looks at the end, and starts on a fresh line: an unfinished last line that is not a whole JSON
  object is the remnant of an interrupted write and is cut off first (with a warning giving its
  size and start; it never was a record, and its job counts as not done, so nothing finished is
  lost); a whole object that only lacks its newline (an editor's doing) gets one.
- An append that fails (``ENOSPC``, a short write) takes back what it wrote and raises
  :class:`~motionbench.errors.StoreError`; the run stops and the same command finishes the rest.
- A reader skips an unfinished last line with a warning (a run may be writing it right now), reads a
  line where an older MotionBench glued a remnant to the next record by keeping the whole record
  (with a warning), and stops at any other bad line with the file name and line number.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from motionbench.errors import MotionBenchWarning, StoreError

T = TypeVar("T")
_TAIL_CHUNK = 1 << 16


def append_line(path: Path, line: str) -> None:
    """Append one whole line (ending in a newline) in a single write, then fsync it.

    Raises:
        StoreError: the write failed or was short (a full disk); the file is left as it was.
    """
    data = line.encode("utf-8")
    if not data.endswith(b"\n"):
        raise ValueError("append_line needs a line ending in a newline")
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot open for appending ({exc.strerror}); check the folder's permissions") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the tail check and the write are one step for concurrent shards
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            size = _repair_tail(fd, size, path)
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes)")
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, size)  # take the partial line back: the file stays readable
            except OSError:
                pass  # then the next append or reader deals with the torn line
            hint = "the disk is full: free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "fix this"
            raise StoreError(f"{path}: appending a record failed ({exc.strerror or exc}); {hint} and run the same "
                             "command again: finished work is kept and only the rest is done") from None
    finally:
        os.close(fd)  # closing drops the flock


def _repair_tail(fd: int, size: int, path: Path) -> int:
    """Make the file end on a line boundary (see module docstring); returns its new size."""
    start = size
    while start > 0:  # find where the last line starts
        lo = max(0, start - _TAIL_CHUNK)
        chunk = os.pread(fd, start - lo, lo)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            start = lo + cut + 1
            break
        start = lo
    tail = os.pread(fd, size - start, start)
    if _whole_object(tail):
        return size  # complete; the caller adds the newline
    os.ftruncate(fd, start)
    warnings.warn(MotionBenchWarning(
        f"{path}: removed an unfinished last line ({len(tail)} bytes, starting {tail[:60]!r}) left by an "
        "interrupted write; it never was a record, and its job or score is redone"), stacklevel=3)
    return start


def _whole_object(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError):
        return False


def read_lines(path: Path, parse: Callable[[dict[str, Any]], T], what: str = "record") -> Iterator[T]:
    """``parse(obj)`` of each line's JSON object, in file order (see module docstring for bad lines).

    Args:
        path: the JSONL file; a missing file has no lines.
        parse: builds the record from a decoded object; raises TypeError, ValueError or KeyError
            when the object is not one.
        what: the record's name, for messages.

    Raises:
        StoreError: a line other than an unfinished last one is not a ``what``; names the line.
    """
    if not path.exists():
        return
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                warnings.warn(MotionBenchWarning(
                    f"{path}, line {number}: unfinished last line ({len(raw)} bytes) from an interrupted or "
                    "ongoing write; ignored (its job or score counts as not done)"), stacklevel=2)
                return
            if raw.strip():
                yield _parse_line(raw, parse, path, number, what)


def _parse_line(raw: bytes, parse: Callable[[dict[str, Any]], T], path: Path, number: int, what: str) -> T:
    try:
        return _parse(raw, parse)
    except (UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    # Before appends started on a fresh line, a remnant could be glued to the next whole record.
    at = raw.find(b'{"', 1)
    while at > 0:
        try:
            record = _parse(raw[at:], parse)
        except (UnicodeDecodeError, ValueError, TypeError, KeyError):
            at = raw.find(b'{"', at + 1)
            continue
        warnings.warn(MotionBenchWarning(
            f"{path}, line {number}: an unfinished record ({at} bytes) is glued to a whole one (an interrupted "
            "write, appended to by an older MotionBench); read the whole one, ignored the rest"), stacklevel=3)
        return record
    raise StoreError(f"{path}, line {number}: not a valid {what} ({problem[:200]}). The file was edited by hand or "
                     "damaged; fix or delete that line (the other lines are kept) and run again")


def _parse(raw: bytes, parse: Callable[[dict[str, Any]], T]) -> T:
    obj = json.loads(raw.decode("utf-8"))
    if not isinstance(obj, dict):
        raise TypeError(f"a JSON {type(obj).__name__}, not an object")
    return parse(obj)
