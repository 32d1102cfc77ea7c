"""MirroredStrategy over two logical CPU devices, in a subprocess (the
device split must happen before TensorFlow initialises)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np


def test_mirrored_strategy_step_equals_single_device_and_every_model_trains():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    worker = Path(__file__).with_name("distributed_worker.py")
    r = subprocess.run(
        [sys.executable, str(worker)], capture_output=True, text=True, env=env, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT ") :])
    assert out["replicas"] == 2
    # one fit step on a global batch of 8 split 4 + 4 over two replicas, with
    # the same noise rows, updates every weight as one device does on all 8
    assert out["weights_moved"]
    assert out["max_weight_diff"] < 1e-4
    assert out["replica_noise_differs"]
    assert out["dcgan_g_changed"]
    assert all(v == v for v in out["dcgan_history"]["g_loss"])  # finite, not NaN
    for variant in ("bce", "softmax"):
        assert out[f"gaussian_{variant}_g_changed"], variant
        losses = out[f"gaussian_{variant}_history"]["g_loss"]
        assert len(losses) == 2 and all(np.isfinite(losses)), (variant, losses)
    # the AAE trains under it; its encoder's BN statistics are the global
    # batch's on both replicas; each replica samples its own codes
    assert out["aae_encoder_changed"] and all(np.isfinite(out["aae_history"]["g_loss"]))
    assert out["aae_bn_moved"] and out["aae_bn_replicas_agree"]
    assert out["aae_bn_vs_one_device"] < 1e-5
    assert out["aae_precise_replicas_agree"] and out["aae_precise_moved"] > 1e-3
    assert out["aae_precise_vs_one_device"] < 1e-5
    assert out["aae_replica_codes_differ"]
    # the 50-line GAN trains under it, each replica on its own minibatches
    assert out["moments_replica_samples_differ"]
    assert out["moments_g_changed"] and out["moments_epochs"] == 20
    assert len(out["moments_history"]["g_loss"]) == 2
    assert all(np.isfinite(out["moments_history"]["g_loss"]))
    assert out["loops_and_xla_refused"] == [True, True, True]
    # the generator's weight average is refused, not silently wrong, on 2 replicas
    assert out["ema_refused"]
    assert out["aae_ema_refused"]  # the AAE's autoencoder average too
