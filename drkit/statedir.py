"""How drkit writes files under ``state_dir``: the one home of the state directory's file rules.

Journals (``runs/``), locks (``locks/``), the audit log and the source-group inventory
(``inventory/``) are the only memory a resumed or rolled-back run has, and they may describe
production secrets' surroundings, so every write goes through here:

* directories are created 0700 and files 0600, whatever the umask;
* a replaced file is written atomically — temp file created exclusively in the same directory,
  fsync, rename over the target, fsync of the directory — so a crash leaves the old or the new
  file, never half of one;
* appends are one ``write()`` on an ``O_APPEND`` descriptor, fsynced;
* files are opened with ``O_NOFOLLOW``: a symlink planted in the state dir is refused, not
  followed to somewhere else.

The hardening still to come (owner and mode checks of ``state_dir`` itself) belongs here too.
"""

from __future__ import annotations

import contextlib
import os
import secrets as _random
from datetime import UTC, datetime
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def format_time(when: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``: sorts as text and parses everywhere."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def utc_now() -> str:
    """Now, as :func:`format_time` writes it."""
    return format_time(datetime.now(UTC))


def fsync_dir(directory: Path) -> None:
    """Make a rename, creation or removal in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(directory: Path) -> None:
    """Create ``directory`` as 0700 whatever the umask; an existing one's mode is left alone.

    Its parents are the operator's (e.g. the project dir holding ``.drkit``) and get default
    permissions; callers create ``state_dir`` itself with this function first.
    """
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=DIR_MODE)
    except FileExistsError:
        return
    os.chmod(directory, DIR_MODE)
    fsync_dir(directory.parent)


def atomic_write(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` (mode 0600) so a crash leaves the old or the new file.

    Temp file in the same directory (created exclusively, so nothing else's file is reused),
    fsync, rename over the target, fsync of the directory so the rename itself is durable.
    """
    tmp = path.with_name(f".{path.name}.{_random.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NOFOLLOW,
                 FILE_MODE)
    try:
        try:
            write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def create_exclusive(path: Path, payload: bytes) -> None:
    """Create ``path`` (0600) holding ``payload``; FileExistsError if it exists (a lock's rule)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NOFOLLOW,
                 FILE_MODE)
    try:
        write_all(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)


def open_guard(path: Path) -> int:
    """A descriptor on ``path`` (created 0600 if absent) for ``flock``; never a symlink's target."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | _NOFOLLOW, FILE_MODE)


def append_line(directory: Path, path: Path, payload: bytes) -> None:
    """Append ``payload`` as one line to ``path`` in ``directory``: one write, fsynced.

    One ``write()`` on an ``O_APPEND`` descriptor, so lines from two processes never interleave;
    a file left without its final newline by a crash gets one first, so only that line is lost.
    Raises OSError.
    """
    ensure_dir(directory)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | _NOFOLLOW,
                 FILE_MODE)
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o077:
            os.fchmod(fd, FILE_MODE)
        if st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
            payload = b"\n" + payload
        write_all(fd, payload + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    if st.st_size == 0:
        fsync_dir(directory)


def read_bytes(path: Path) -> bytes:
    """The content of ``path``, refusing a symlink (OSError ELOOP) instead of following it."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def file_identity(path: Path) -> tuple[int, ...]:
    """Changes whenever the file is replaced or edited (inode, size, mtime, ctime)."""
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def write_all(fd: int, payload: bytes) -> None:
    """``os.write`` until every byte is written (a write may be short)."""
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def read_or_create_key(path: Path, nbytes: int = 32) -> bytes:
    """The secret key in ``path``, created (``nbytes`` random bytes, hex) if it does not exist.

    Created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600 from its first moment, read with
    ``O_NOFOLLOW``. Raises PermissionError if the file is not owned by this user or is readable
    or writable by anyone else (a key others can read lets them forge what it protects), and
    ValueError if it does not hold a hex key; OSError otherwise.
    """
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW)
        except FileNotFoundError:
            ensure_dir(path.parent)
            # FileExistsError: a concurrent drkit created it meanwhile; read that one.
            with contextlib.suppress(FileExistsError):
                create_exclusive(path, _random.token_hex(nbytes).encode() + b"\n")
            continue
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_uid != os.geteuid() or st.st_mode & 0o077:
                raise PermissionError(
                    f"{path} must be owned by uid {os.geteuid()} and mode 0600 "
                    f"(it is uid {st.st_uid}, mode {st.st_mode & 0o777:04o})")
            text = fh.read().decode("ascii", errors="replace").strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) < 16:
            raise ValueError(f"{path} does not hold a key (expected hex, at least 16 bytes)")
        return key
    raise OSError(f"{path} vanished while it was being created")
