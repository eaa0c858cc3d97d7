"""Writing a SavedModel so that TF Serving never sees half of one, nor one it
cannot load, nor the debris of an interrupted export.

A version is written to a staging directory outside the model base path that
TF Serving polls (`.<base>.tsgate-staging/` beside it, on the same file
system, so the final rename is atomic; inside the base path, under a hidden
name TF Serving ignores, only when the base path is a mount point of its own or
its parent is not writable), checked for GPU-only ops, then renamed to
`<base>/<version>`. Exports hold a shared lock on the staging area while they
write; an export that finds no other one running removes what killed ones
left there, so a kill -9 at any moment leaves at most debris that the next
export clears, never a partial version.
"""

import os
import shutil
import tempfile

from tensorflow.core.protobuf import saved_model_pb2

try:
    import fcntl
except ImportError:  # Windows: no locks, so stale staging directories are left for the user
    fcntl = None

GPU_ONLY_OP_PREFIXES = ("CudnnRNN",)
STAGING_PREFIX = ".tsgate-export-"
MAX_VERSION = 2**63 - 1  # TF Serving parses versions as int64


def saved_model_op_types(path):
    """The set of op types in the graph and function library of a SavedModel."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


def check_portable(path):
    """Raises ValueError if the SavedModel at `path` holds an op that only
    exists on GPU builds (a cuDNN RNN), which CPU TF Serving cannot load."""
    gpu_only = sorted(op for op in saved_model_op_types(path) if op.startswith(GPU_ONLY_OP_PREFIXES))
    if gpu_only:
        raise ValueError(
            f"The SavedModel at {path} contains GPU-only ops {gpu_only}; CPU TF Serving "
            "cannot load it (keras #18504). Use tsgate layers instead of "
            "keras.layers.GRU/LSTM, or export on a machine without a GPU."
        )


def check_version_path(path):
    """`path` as an absolute path whose last component is a version TF
    Serving loads: a positive integer below 2**63, written without a sign or
    leading zeros."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Received an invalid value for argument `path`, expected a path, got {path!r}.")
    path = os.path.abspath(os.fspath(path))
    version = os.path.basename(path)
    if not (version.isascii() and version.isdigit() and version[0] != "0" and int(version) <= MAX_VERSION):
        raise ValueError(
            f"The export path {path} must end in its version, a positive integer (TF Serving loads only those, "
            f"from <base path>/<version>), got {version!r}."
        )
    return path


def write_directory_atomically(path, write):
    """Calls `write(staging_dir)` on a staging directory outside the base
    path `dirname(path)`, checks the result with `check_portable`, then
    renames it to `path`; on any failure or interruption nothing is left at
    `path`. An existing `path` is never overwritten."""
    path = check_version_path(path)
    base = os.path.dirname(path)
    os.makedirs(base, exist_ok=True)
    if os.path.lexists(path):
        raise ValueError(f"Export path {path} already exists; nothing was overwritten: choose a new version.")
    area = staging_area(base)
    with _StagingLock(area) as lock:
        if lock.exclusive:
            remove_stale_staging(area)
            if area != base:
                remove_stale_staging(base)  # left in the base path by tsgate 0.1.0
            lock.share()
        staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=area)
        try:
            write(staging)
            check_portable(staging)
            try:
                os.rename(staging, path)
            except OSError:
                if os.path.lexists(path):  # written meanwhile by another export
                    raise ValueError(f"Export path {path} already exists; nothing was overwritten: "
                                     "choose a new version.") from None
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return path


def staging_area(base):
    """The directory exports to `base` stage in: `.<name>.tsgate-staging`
    beside it when that is on the same file system and writable, else `base`."""
    parent, name = os.path.split(base)
    if not name or not parent:
        return base
    area = os.path.join(parent, f".{name}.tsgate-staging")
    try:
        os.makedirs(area, exist_ok=True)
        if os.stat(area).st_dev == os.stat(base).st_dev:
            return area
    except OSError:  # a read-only or foreign parent
        pass
    return base


def remove_stale_staging(area):
    """Removes the staging directories in `area` (call only while holding
    the staging lock exclusively: no export is writing there)."""
    for entry in os.listdir(area):
        if entry.startswith(STAGING_PREFIX) and os.path.isdir(os.path.join(area, entry)):
            shutil.rmtree(os.path.join(area, entry), ignore_errors=True)


class _StagingLock:
    """An flock on `<area>/.tsgate-export.lock`: taken exclusively if no
    export holds it (`exclusive`: stale staging may be removed), else shared.
    Released when the process ends, however it ends."""

    def __init__(self, area):
        self.path, self.fd, self.exclusive = os.path.join(area, f"{STAGING_PREFIX[:-1]}.lock"), None, False

    def __enter__(self):
        if fcntl is None:
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.exclusive = True
        except BlockingIOError:
            fcntl.flock(self.fd, fcntl.LOCK_SH)
        except OSError:  # a file system without locks: no clean-up either
            os.close(self.fd)
            self.fd = None
        return self

    def share(self):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_SH)
        self.exclusive = False

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)


def write_assets(staging, text):
    """`assets/tsgate.json` of a SavedModel being written."""
    os.makedirs(os.path.join(staging, "assets"), exist_ok=True)
    with open(os.path.join(staging, "assets", "tsgate.json"), "w") as f:
        f.write(text)
