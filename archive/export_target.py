"""Where an export is written: a regular file replaced whole at the end, a folder, or stdout.

Every file an export writes goes to a hidden temp file next to its target and is renamed into
place only when everything was written: a failed export never leaves a half-written file behind
and keeps the previous one. The target must be missing or a regular file: a device, FIFO,
socket, folder or symlink there is refused (StorageError) and left as it is, since renaming
over it would replace it with a regular file.
"""

from __future__ import annotations

import io
import os
import stat
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from archive.errors import StorageError


@contextmanager
def staged(outs: list[Path]) -> Iterator[list[Path]]:
    """Temp paths beside ``outs``; renamed over them, all together, when the block ends well.

    The targets are checked before anything is written and again just before the renames.
    """
    for out in outs:
        refuse_non_regular(out)
        if not out.parent.is_dir():
            raise StorageError(f"cannot write export {out}: folder {out.parent} does not exist")
    tmps = [out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part") for out in outs]
    try:
        yield tmps
        for tmp in tmps:
            _fsync(tmp)
        for out in outs:
            refuse_non_regular(out)  # again: something may have appeared there meanwhile
        for tmp, out in zip(tmps, outs, strict=True):
            os.replace(tmp, out)
    except OSError as exc:
        where = next((out for out in outs if out.name in str(exc.filename or "")), outs[0])
        raise StorageError(f"cannot write export {where}: {exc.strerror or exc}") from exc
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def text_target(out: Path | None) -> Iterator[TextIO]:
    """stdout (``out`` None), or a UTF-8 temp file beside ``out`` renamed over it at the end."""
    if out is None:
        yield from _stdout()
        return
    out = Path(out)
    with staged([out]) as (tmp,):
        try:
            stream = open(tmp, "x", encoding="utf-8", newline="")
        except OSError as exc:
            raise StorageError(f"cannot write export {out}: {exc.strerror or exc}") from exc
        with stream:
            yield stream


def prepare_folder(folder: Path) -> None:
    """``folder`` exists as a folder (created when missing; its parent must exist)."""
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        if not folder.parent.is_dir():
            raise StorageError(
                f"cannot write export {folder}: folder {folder.parent} does not exist"
            ) from None
        try:
            folder.mkdir()
        except OSError as exc:
            raise StorageError(f"cannot write export {folder}: {exc.strerror or exc}") from exc
        return
    except OSError as exc:
        raise StorageError(f"cannot write export {folder}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(mode):
        kind = "a regular file" if stat.S_ISREG(mode) else _kind(mode)
        raise StorageError(
            f"cannot write export {folder}: it is {kind}; parquet writes a folder of files "
            "(articles.parquet, versions.parquet, clusters.parquet)"
        )


def refuse_non_regular(out: Path) -> None:
    """StorageError unless ``out`` is missing or a regular file (not followed if a symlink).

    A symlink is refused even when it points to a regular file: renaming over it would
    replace the link, not write where it points.
    """
    try:
        mode = os.lstat(out).st_mode
    except OSError:  # missing (fine), or a parent that is a file: opening the temp file says so
        return
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise StorageError(f"cannot write export {out}: it is a folder")
    raise StorageError(
        f"cannot write export {out}: it is {_kind(mode)}; export writes only regular files "
        "(use -o - for standard output)"
    )


_KINDS = (
    (stat.S_ISLNK, "a symlink"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _stdout() -> Iterator[TextIO]:
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # already a text-only stream (some test runners)
        yield sys.stdout
        return
    sys.stdout.flush()
    stream = io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
    try:
        yield stream
        stream.flush()
    finally:
        stream.detach()  # leave sys.stdout's buffer open
