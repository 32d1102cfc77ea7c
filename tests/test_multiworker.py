"""train_distributed: the fused step under tf.distribute, on one device in
process and on a two-worker MultiWorkerMirroredStrategy cluster on
127.0.0.1 (two subprocesses, since a process holds one cluster)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_gan import AAE, DCGAN
from keras_gan import checkpoint as ckpt
from keras_gan.distribute import is_chief, train_distributed

WORKER = Path(__file__).with_name("multiworker_worker.py")


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (32, 8, 8), dtype=np.uint8)


def weights(family):
    return [v.numpy() for v in family.generator.weights + family.discriminator.weights]


def test_default_strategy_runs_the_same_step_as_fit(images):
    # same seed, data order and fused train_step: the same weights as fit()
    a = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0)
    ha = train_distributed(a, images, epochs=2, batch_size=8, verbose=0)
    b = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0)
    hb = b.fit(images, epochs=2, batch_size=8, verbose=0, jit_compile=False)
    np.testing.assert_allclose(ha.history["g_loss"], hb.history["g_loss"], rtol=1e-6)
    assert ha.epoch == [0, 1] and set(ha.history) == {"d_loss", "g_loss"}
    for x, y in zip(weights(a), weights(b)):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
    assert is_chief(tf.distribute.get_strategy())


def test_resume_equals_an_uninterrupted_run(images, tmp_path):
    ref = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0)
    full = train_distributed(ref, images, epochs=2, batch_size=8, steps_per_epoch=3, verbose=0)
    run = dict(batch_size=8, steps_per_epoch=3, checkpoint_dir=tmp_path, verbose=0)
    first = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0)
    train_distributed(first, images, epochs=1, **run)
    resumed = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0)
    h = train_distributed(resumed, images, epochs=2, resume=True, **run)
    assert h.epoch == [0, 1]
    np.testing.assert_allclose(h.history["d_loss"], full.history["d_loss"], rtol=1e-5)
    for x, y in zip(weights(resumed), weights(ref)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    assert ckpt.load_latest(tmp_path)[0]["meta"]["epochs"] == 2
    # the checkpoint is fit()'s format: fit() resumes it to the same total
    assert resumed.fit(
        images, epochs=2, batch_size=8, checkpoint_dir=tmp_path, resume=True, verbose=0
    ).epoch == [0, 1]


def test_aae_trains_too(images):
    aae = AAE(latent_dim=2, img_size=8, seed=0)
    before = [v.numpy().copy() for v in aae.encoder.trainable_weights]
    h = train_distributed(aae, images, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(h.history["g_loss"]).all()
    assert all(not np.allclose(a, v.numpy()) for a, v in zip(before, aae.encoder.trainable_weights))


def test_errors_name_what_was_received(images):
    gan = DCGAN(latent_dim=4, img_shape=(8, 8, 1), seed=0)
    with pytest.raises(ValueError, match="needs a model family with an `adversarial_model`"):
        train_distributed(object(), images)
    for kwargs, message in [
        (dict(epochs=0), "epochs must be a positive integer"),
        (dict(batch_size=64), r"must not exceed the number of images \(32\)"),
        (dict(steps_per_epoch=-1), "steps_per_epoch must be a positive integer"),
        (dict(jit_compile="auto"), "jit_compile must be True or False"),
        (dict(resume=True), "resume=True needs a checkpoint_dir"),
    ]:
        with pytest.raises(ValueError, match=message):
            train_distributed(gan, images, **{"batch_size": 8, **kwargs})
    with pytest.raises(ValueError, match=r"x must have shape \(n, 8, 8, 1\)"):
        train_distributed(gan, np.zeros((32, 9, 9)), batch_size=8)
    # an AAE built outside the strategy it would train under
    aae = AAE(latent_dim=2, img_size=8, seed=0)
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        with pytest.raises(ValueError, match="was not built in the scope of the MirroredStrategy"):
            train_distributed(aae, images, batch_size=8)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def run_cluster(run_dir, *extra, timeout=150):
    """Starts two workers on 127.0.0.1; returns [(returncode, stdout, stderr, seconds)]."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    procs, start = [], time.perf_counter()
    for index in range(2):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="3")
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(run_dir), *extra],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=max(1.0, timeout - (time.perf_counter() - start)))
            results.append((p.returncode, out, err, time.perf_counter() - start))
    finally:
        for p in procs:  # never leave a worker behind, even when a wait timed out
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


def result_of(stdout):
    line = next(x for x in stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def test_two_workers_survive_a_killed_peer_then_resume_identically(tmp_path):
    # 1. worker 1 is SIGKILLed after 3 steps (after the chief's checkpoint of
    #    epoch 1): the chief fails with a clear error, in bounded time
    (chief_rc, out, err, seconds), (peer_rc, _, _, _) = run_cluster(tmp_path, "3")
    assert peer_rc == -signal.SIGKILL
    assert chief_rc != 0 and "RESULT" not in out
    assert "UnavailableError" in err or "DeadlineExceededError" in err, err[-3000:]
    assert "another worker has probably stopped" in err, err[-3000:]
    assert seconds < 120
    manifest, _ = ckpt.load_latest(tmp_path / "checkpoints")
    assert manifest["meta"]["epochs"] == 1

    # 2. both restart with resume=True: they restore the chief's checkpoint,
    #    train epochs 2 and 3 together and end with identical weights
    results = run_cluster(tmp_path)
    for rc, _out, err, _ in results:
        assert rc == 0, err[-3000:]
    r0, r1 = (result_of(out) for _, out, _, _ in results)
    assert (r0["chief"], r1["chief"]) == (True, False)
    assert r0["replicas"] == r1["replicas"] == 2
    assert r0["moved"] and r1["moved"]
    assert len(r0["history"]["g_loss"]) == 3 and r0["history"] == r1["history"]
    assert np.isfinite(r0["history"]["g_loss"]).all()
    a, b = np.load(tmp_path / "weights_0.npz"), np.load(tmp_path / "weights_1.npz")
    assert len(a.files) == 38  # every variable, BatchNorm statistics included
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert ckpt.load_latest(tmp_path / "checkpoints")[0]["meta"]["epochs"] == 3
