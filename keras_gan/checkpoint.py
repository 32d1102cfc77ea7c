"""Atomic training checkpoints: save, prune, find the latest good one, load.

A checkpoint is a directory `ckpt-<step>/` holding `state.npz` (every
variable as a plain array: no pickle) and `manifest.json` (format, step,
metadata such as the model's class and configuration, iteration counter,
random state and history, plus the SHA-256 of `state.npz`). It is written
under a temporary name, flushed to disk and renamed into place, then the
`latest` pointer is replaced atomically: a crash at any moment leaves the
previous checkpoint complete and findable. Loading verifies the checksum and
falls back to the newest checkpoint that verifies.

Nothing here knows a model class: callers pass named groups of variables and
a JSON-serialisable metadata dict.
"""

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

FORMAT = "keras_gan-checkpoint-1"
_PREFIX = "ckpt-"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or belongs to another model."""


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path, text):
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _step_of(path):
    try:
        return int(path.name[len(_PREFIX) :])
    except ValueError:
        return None


def list_checkpoints(directory):
    """Returns the checkpoint directories under `directory`, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.glob(f"{_PREFIX}*") if p.is_dir() and _step_of(p) is not None]
    return sorted(found, key=_step_of)


def save_checkpoint(directory, step, variables, meta, keep=3):
    """Writes a checkpoint atomically and prunes old ones.

    Args:
        directory: Directory holding the run's checkpoints (created).
        step: Non-negative integer identifying the checkpoint (iterations
            or epochs done).
        variables: Dict of group name -> list of Keras variables or arrays.
        meta: JSON-serialisable dict (configuration, counters, history...).
        keep: Positive integer, how many checkpoints to keep.

    Returns:
        The checkpoint's directory as a `pathlib.Path`.

    Raises:
        FloatingPointError: if a float variable holds NaN or inf; nothing is
            written, so the previous checkpoint stays the latest.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays, index = {}, {}
    for group, values in variables.items():
        for i, v in enumerate(values):
            a = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                raise FloatingPointError(
                    f"Refusing to checkpoint step {step}: {group} variable {i} "
                    f"({getattr(v, 'path', '?')}) holds NaN or inf."
                )
            arrays[f"{group}/{i}"] = a
            index[f"{group}/{i}"] = getattr(v, "path", None)
    for stale in directory.glob(f".{_PREFIX}*.tmp*"):  # left by a crash
        shutil.rmtree(stale, ignore_errors=True)
    final = directory / f"{_PREFIX}{step:08d}"
    tmp = directory / f".{final.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with open(tmp / "state.npz", "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    manifest = {
        "format": FORMAT,
        "step": int(step),
        "sha256": _sha256(tmp / "state.npz"),
        "variables": index,
        "meta": meta,
    }
    _write_atomic(tmp / "manifest.json", json.dumps(manifest))
    _fsync_dir(tmp)
    if final.exists():  # the same step again (a resumed run): keep a complete one
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(directory)
    _write_atomic(directory / "latest", final.name + "\n")
    _fsync_dir(directory)
    for old in list_checkpoints(directory)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _read(path):
    manifest = json.loads((path / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} has format {manifest.get('format')!r}, expected {FORMAT!r}")
    if _sha256(path / "state.npz") != manifest["sha256"]:
        raise CheckpointError(f"{path}/state.npz does not match its checksum")
    with np.load(path / "state.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return manifest, arrays


def load_latest(directory):
    """Loads the newest checkpoint that verifies.

    Args:
        directory: Directory given to `save_checkpoint`.

    Returns:
        `(manifest, arrays)` — the manifest dict (with `step` and `meta`) and
        a dict `"group/i"` -> array — or `None` when the directory holds no
        checkpoint at all.

    Raises:
        CheckpointError: if checkpoints exist but none can be read.
    """
    directory = Path(directory)
    candidates = list_checkpoints(directory)[::-1]
    pointer = directory / "latest"
    try:
        named = directory / pointer.read_text().strip()
        if named in candidates:
            candidates.remove(named)
            candidates.insert(0, named)
    except OSError:
        pass
    errors = []
    for path in candidates:
        try:
            return _read(path)
        except (OSError, ValueError, KeyError) as e:
            errors.append(f"{path.name}: {type(e).__name__}: {e}")
            warnings.warn(f"Skipping unreadable checkpoint {path}: {e}", stacklevel=2)
    if errors:
        raise CheckpointError(f"No readable checkpoint in {str(directory)!r}: " + "; ".join(errors))
    return None


def assign(variables, arrays):
    """Assigns checkpoint arrays to variables group by group, checking shapes.

    Raises:
        CheckpointError: if a group's count or a variable's shape differs
            (a checkpoint from another configuration).
    """
    for group, values in variables.items():
        stored = sorted(
            (k for k in arrays if k.rsplit("/", 1)[0] == group),
            key=lambda k: int(k.rsplit("/", 1)[1]),
        )
        if len(stored) != len(values):
            raise CheckpointError(
                f"The checkpoint holds {len(stored)} variables for {group!r}; this model "
                f"has {len(values)}. It was written by another model configuration."
            )
        for v, key in zip(values, stored):
            a = arrays[key]
            if tuple(a.shape) != tuple(v.shape):
                raise CheckpointError(
                    f"Checkpoint variable {key} has shape {a.shape}; this model's "
                    f"{getattr(v, 'path', key)} has shape {tuple(v.shape)}. The checkpoint "
                    "was written by another model configuration."
                )
    for group, values in variables.items():
        for i, v in enumerate(values):
            v.assign(arrays[f"{group}/{i}"])
