"""Writing a file atomically: the one temporary-then-rename writer of tsgate.

The file is written under a temporary name in the same directory (so that the
rename is atomic: same file system), flushed to disk (fsync), renamed over
`path` (`os.replace`), and the directory is flushed (where the platform can
open one: not on Windows) so that the rename itself survives a power cut.
The guarantee:

- a reader, or a process started after a kill or a crash at any moment, sees
  the old file at `path` or the new one, never a partial one;
- if writing fails (an exception, a full disk), the temporary is removed and
  `path` is left as it was.

Only a kill (or a power cut) before the rename can leave a temporary behind:
its name is `TEMPORARY_PREFIX` + the process id, a random part and `path`'s
name (`.tmp-<pid>-<hex>-<name>`), so that whoever owns the directory can
recognise and remove such leftovers (`tsgate.checkpoints.Checkpoints` does).
The temporary ends with `path`'s name, suffix included, for writers that check
it (Keras' `Model.save` wants `.keras`, `save_weights` `.weights.h5`).
"""

import contextlib
import os
import secrets

TEMPORARY_PREFIX = ".tmp-"


@contextlib.contextmanager
def staged(path):
    """Yields a temporary path beside `path` to write the new file to; when
    the block ends without error, the file is flushed and renamed to `path`.
    Blocks nest: `with staged(a) as x, staged(b) as y:` writes both before
    either is renamed, then renames `b` first and `a` last."""
    path = os.fspath(path)
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f"{TEMPORARY_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{name}")
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    with contextlib.suppress(OSError):  # where a directory cannot be opened (Windows), the rename is not flushed
        _fsync(directory or os.curdir)


def write_atomically(path, write):
    """Calls `write(temporary)` to write the new file, then renames it to
    `path` as `staged` does. Returns `path`."""
    with staged(path) as temporary:
        write(temporary)
    return path


def write_text_atomically(path, text, encoding="utf-8"):
    """Writes `text` to `path` atomically (`write_atomically`). Returns `path`."""
    return write_atomically(path, lambda temporary: _write_text(temporary, text, encoding))


def _write_text(path, text, encoding):
    with open(path, "w", encoding=encoding) as f:
        f.write(text)


def _fsync(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
