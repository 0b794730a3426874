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

* every directory is checked with ``lstat`` before it is used: it must be a real directory (a
  symlink is refused — ``state_dir`` itself may be a symlink the current user made), owned by
  the current user and not writable by group or others. Anyone else who can write there could
  swap ``runs/`` or plant a journal, a lock or a symlink, and so choose what a resumed run
  does with the operator's credentials (issue 17 §3). Such a directory is refused with a
  :class:`~drkit.errors.StateDirError` (exit 2, one line naming it and what to do), as is one
  drkit cannot create or write (read-only, no permission, disk full) — before anything is touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets as _random
import stat
from datetime import UTC, datetime
from pathlib import Path

from drkit.errors import StateDirError

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


#: Subdirectories drkit makes in ``state_dir``; never symlinks, always checked.
SUBDIRS = ("runs", "locks", "inventory", "drills")
_FIX = "`chown` it to you and `chmod 700` it, or pick another state_dir in drkit.toml"


def _user(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_dir(directory: Path, *, link_ok: bool | None = None) -> bool:
    """Whether ``directory`` exists; StateDirError if it exists but is not safe to use.

    Safe: a directory (``lstat``: a symlink is refused unless ``link_ok`` and the link itself
    belongs to the current user), owned by the current user, not writable by group or others.
    ``link_ok`` defaults to True for ``state_dir`` itself (an operator may point it elsewhere
    with a symlink of their own) and False for drkit's own :data:`SUBDIRS`, which drkit
    always makes as directories.
    """
    if link_ok is None:
        link_ok = directory.name not in SUBDIRS
    me = os.geteuid()
    try:
        st = os.lstat(directory)
        if stat.S_ISLNK(st.st_mode):
            if not link_ok or st.st_uid != me:
                raise StateDirError(
                    f"state directory {directory} is a symlink drkit did not make (owned by "
                    f"{_user(st.st_uid)}); drkit never follows one there: remove it, or pick "
                    "another state_dir in drkit.toml")
            st = os.stat(directory)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateDirError(f"cannot look at state directory {directory}: {_why(exc)}; drkit "
                            "needs to read and write there: fix its permissions, or pick "
                            "another state_dir in drkit.toml") from None
    if not stat.S_ISDIR(st.st_mode):
        raise StateDirError(f"state directory {directory} is not a directory; move it away, "
                            "or pick another state_dir in drkit.toml")
    if st.st_uid != me:
        raise StateDirError(
            f"state directory {directory} is owned by {_user(st.st_uid)}, not by you "
            f"({_user(me)}): whoever owns it can change what drkit resumes; {_FIX}")
    if st.st_mode & 0o022:
        raise StateDirError(
            f"state directory {directory} is writable by group or others (mode "
            f"{st.st_mode & 0o777:04o}): they could plant journals or symlinks; {_FIX}")
    return True


def _make_dir(directory: Path) -> None:
    """``mkdir`` 0700 and ``chmod`` it through a no-follow descriptor, whatever the umask."""
    directory.parent.mkdir(parents=True, exist_ok=True)  # the operator's, default permissions
    try:
        os.mkdir(directory, DIR_MODE)
    except FileExistsError:
        return  # a concurrent drkit made it: checked by the caller like any existing one
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | _NOFOLLOW)
    try:
        os.fchmod(fd, DIR_MODE)
        if os.fstat(fd).st_mode & 0o777 != DIR_MODE:
            raise StateDirError(f"state directory {directory} could not be made mode 0700; "
                                "pick another state_dir in drkit.toml")
    finally:
        os.close(fd)
    fsync_dir(directory.parent)


def ensure_dir(directory: Path, *, link_ok: bool | None = None) -> None:
    """Create ``directory`` as 0700 whatever the umask, or check the existing one.

    Existing or just made, it must pass :func:`check_dir` (StateDirError otherwise); its mode is
    not changed. Its parents are the operator's (e.g. the project dir holding ``.drkit``) and
    get default permissions; callers create ``state_dir`` itself with this function first.
    A directory that cannot be created is a StateDirError naming it and what is needed.
    """
    if check_dir(directory, link_ok=link_ok):
        return
    try:
        _make_dir(directory)
    except OSError as exc:
        raise StateDirError(
            f"cannot create state directory {directory}: {_why(exc)}; drkit needs to create "
            "it and write there: make its parent writable for you, or pick another state_dir "
            "in drkit.toml") from None
    check_dir(directory, link_ok=link_ok)


def check_state_dir(state_dir: Path | str, *, writable: bool = True) -> None:
    """The up-front check of ``state_dir`` and its subdirectories, before anything is touched.

    Refuses (StateDirError, exit 2) a state directory or subdirectory that is not safe
    (:func:`check_dir`); with ``writable`` also creates ``state_dir`` if absent and refuses one
    drkit cannot write (read-only file system, no write permission).
    """
    root = Path(state_dir)
    if writable:
        ensure_dir(root)
    elif not check_dir(root):
        return
    for sub in SUBDIRS:
        check_dir(root / sub)
    if writable and not os.access(root, os.W_OK | os.X_OK):
        raise StateDirError(
            f"state directory {root} is not writable (read-only file system or mode "
            f"{os.stat(root).st_mode & 0o777:04o}); drkit journals every run there: make it "
            "writable for you, or pick another state_dir in drkit.toml")


def write_failed(path: Path, exc: OSError, doing: str = "write") -> StateDirError:
    """The one line for a state file drkit could not write: which file, why, what to do."""
    code = exc.errno
    if code == errno.ELOOP:
        todo = "it is a symlink drkit did not make and never follows: remove it"
    elif code in (errno.ENOSPC, errno.EDQUOT):
        todo = "free space on its file system (nothing was half-written)"
    else:
        todo = ("drkit needs to write its state directory: make it writable for you, "
                "or pick another state_dir in drkit.toml")
    return StateDirError(f"cannot {doing} {path}: {_why(exc)}; {todo}")


def atomic_write(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` (mode 0600) so a crash leaves the old or the new file.

    Temp file in the same directory (created exclusively, so nothing else's file is reused),
    fsync, rename over the target, fsync of the directory so the rename itself is durable.
    """
    tmp = path.with_name(f".{path.name}.{_random.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NOFOLLOW,
                     FILE_MODE)
    except OSError as exc:
        raise write_failed(path, exc) from None
    try:
        try:
            write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        if os.path.islink(path):  # rename would replace the link, but say so instead
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_failed(path, exc) from None
        raise
    fsync_dir(path.parent)


def create_exclusive(path: Path, payload: bytes) -> None:
    """Create ``path`` (0600) holding ``payload``; FileExistsError if it exists (a lock's rule)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NOFOLLOW,
                     FILE_MODE)
    except FileExistsError:
        raise
    except OSError as exc:
        raise write_failed(path, exc, "create") from None
    try:
        write_all(fd, payload)
        os.fsync(fd)
    except OSError as exc:
        path.unlink(missing_ok=True)  # never leave half of it
        raise write_failed(path, exc) from None
    finally:
        os.close(fd)
    fsync_dir(path.parent)


def open_guard(path: Path) -> int:
    """A descriptor on ``path`` (created 0600 if absent) for ``flock``; never a symlink's target."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | _NOFOLLOW, FILE_MODE)
    except OSError as exc:
        raise write_failed(path, exc, "open") from None


def append_line(directory: Path, path: Path, payload: bytes) -> None:
    """Append ``payload`` as one line to ``path`` in ``directory``: one write, fsynced.

    One ``write()`` on an ``O_APPEND`` descriptor, so lines from two processes never interleave;
    a file left without its final newline by a crash gets one first, so only that line is lost.
    ``directory`` is ``state_dir`` (checked, created 0700). A file that is not a regular file
    owned by the current user is refused, never appended to or chmod-ed. Raises StateDirError.
    """
    ensure_dir(directory)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | _NOFOLLOW,
                     FILE_MODE)
    except OSError as exc:
        raise write_failed(path, exc, "append to") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise StateDirError(
                f"{path} is not a file drkit made (owned by {_user(st.st_uid)}); refusing to "
                "write to it: move it away, or pick another state_dir in drkit.toml")
        if st.st_mode & 0o077:
            os.fchmod(fd, FILE_MODE)
        if st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
            payload = b"\n" + payload
        write_all(fd, payload + b"\n")
        os.fsync(fd)
    except OSError as exc:
        raise write_failed(path, exc, "append to") from None
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
