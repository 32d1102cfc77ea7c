"""SIGKILL a real training process at random moments, resume, and check
that nothing is corrupt or lost: the final weights equal an uninterrupted
run's, and every checkpoint left on disk verifies."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from keras_gan import checkpoint as ckpt

WORKER = Path(__file__).with_name("kill_worker.py")
ITERATIONS = 30
KILLS = 6


def start(run_dir):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(run_dir), str(ITERATIONS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_sigkill_at_random_moments_then_resume(tmp_path):
    reference = tmp_path / "reference"
    p = start(reference)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-3000:]

    run = tmp_path / "killed"
    rng = random.Random(1234)
    kills, progress = 0, []
    while True:
        p = start(run)
        assert p.stdout.readline().strip() == "READY"
        if kills < KILLS:
            # let 2-4 iterations finish, then kill at a random moment within
            # about one iteration (timed between two ITER lines, so start-up
            # is not counted): often while the checkpoint is being written
            took, last = None, None
            for _ in range(rng.randint(2, 4)):
                line = p.stdout.readline()
                if not line.startswith("ITER"):  # the worker ended by itself: show why
                    err = p.communicate(timeout=60)[1]
                    raise AssertionError(
                        f"{line!r}; worker exit status {p.returncode}, progress {progress}, "
                        f"stderr: {err[-3000:]}"
                    )
                now = time.perf_counter()
                took, last = (None if last is None else now - last), now
            time.sleep(rng.uniform(0.0, 1.5 * took))
            p.send_signal(signal.SIGKILL)
            kills += 1
        _, err = p.communicate(timeout=300)
        if p.returncode == 0:
            break
        assert p.returncode == -signal.SIGKILL, err[-3000:]
        # after every kill: each checkpoint left on disk is complete
        for path in ckpt.list_checkpoints(run / "checkpoints"):
            manifest = json.loads((path / "manifest.json").read_text())
            assert manifest["step"] == int(path.name.split("-")[1])
        loaded = ckpt.load_latest(run / "checkpoints")
        progress.append(0 if loaded is None else loaded[0]["step"])

    assert kills == KILLS
    assert progress == sorted(progress), "a resume went backwards"
    a, b = np.load(reference / "final.npz"), np.load(run / "final.npz")
    for key in a.files:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-5, atol=1e-6, err_msg=key)
    manifest, _ = ckpt.load_latest(run / "checkpoints")
    assert manifest["step"] == ITERATIONS
    assert len(manifest["meta"]["history"]["g_loss"]) == ITERATIONS
    grids = sorted(p.name for p in (run / "samples").iterdir())
    assert grids == sorted(f"mnist_{i}.png" for i in range(0, ITERATIONS, 5))
