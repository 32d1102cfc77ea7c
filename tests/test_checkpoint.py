import json

import numpy as np
import pytest

from keras_gan import DCGAN
from keras_gan import checkpoint as ckpt
from keras_gan.engine import TrainingDivergedError


def weights(gan):
    return [v.numpy() for v in gan.generator.variables + gan.discriminator.variables]


def small(seed=0, **kw):
    return DCGAN(latent_dim=6, img_shape=(8, 8, 1), seed=seed, **kw)


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tiny_images, tmp_path):
    args = dict(batch_size=8, save_interval=0, x_train=tiny_images, verbose=0)
    straight = small()
    h_straight = straight.train(6, checkpoint_dir=tmp_path / "a", checkpoint_interval=2, **args)

    first = small()
    first.train(3, checkpoint_dir=tmp_path / "b", checkpoint_interval=2, **args)  # "killed" at 3
    resumed = small()  # a new process: fresh weights, then the checkpoint
    h = resumed.train(6, checkpoint_dir=tmp_path / "b", checkpoint_interval=2, resume=True, **args)
    assert resumed.iterations == 6
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert h.epoch == list(range(6))
    np.testing.assert_allclose(h.history["g_loss"], h_straight.history["g_loss"], rtol=1e-6)


def test_checkpoints_are_pruned_and_latest_points_to_newest(tiny_images, tmp_path):
    gan = small()
    gan.train(
        7,
        batch_size=8,
        save_interval=0,
        x_train=tiny_images,
        verbose=0,
        checkpoint_dir=tmp_path,
        checkpoint_interval=1,
        keep_checkpoints=2,
    )
    names = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert names == ["ckpt-00000006", "ckpt-00000007"]
    assert (tmp_path / "latest").read_text().strip() == "ckpt-00000007"
    manifest = json.loads((tmp_path / "ckpt-00000007" / "manifest.json").read_text())
    meta = manifest["meta"]
    assert meta["class"] == "DCGAN" and meta["iterations"] == 7
    assert meta["config"] == {
        "latent_dim": 6,
        "img_shape": [8, 8, 1],
        "seed": 0,
        "mixed_precision": False,
        "fast_upsampling": False,
        "settings": "document",
        "dropout": 0.25,
        "label_smoothing": 0.0,
        "learning_rate": 0.0002,
        "ema_decay": None,
        "d_normalization": "batch",
        "lr_decay_fraction": 0.0,
        "r1_gamma": 0.0,
    }
    assert len(meta["history"]["d_loss"]) == 7


def test_corrupt_latest_falls_back_to_the_previous_one(tiny_images, tmp_path):
    gan = small()
    gan.train(
        4,
        batch_size=8,
        save_interval=0,
        x_train=tiny_images,
        verbose=0,
        checkpoint_dir=tmp_path,
        checkpoint_interval=2,
    )
    (tmp_path / "ckpt-00000004" / "state.npz").write_bytes(b"half written")
    other = small(seed=1)
    with pytest.warns(UserWarning, match="Skipping unreadable checkpoint"):
        other.restore_checkpoint(tmp_path)
    assert other.iterations == 3


def test_nothing_readable_is_a_clear_error(tmp_path):
    (tmp_path / "ckpt-00000001").mkdir()
    with (
        pytest.warns(UserWarning),
        pytest.raises(ckpt.CheckpointError, match="No readable checkpoint"),
    ):
        small().restore_checkpoint(tmp_path)


def test_checkpoint_of_another_configuration_or_class_is_refused(tiny_images, tmp_path):
    small().train(
        1, batch_size=8, save_interval=0, x_train=tiny_images, verbose=0, checkpoint_dir=tmp_path
    )
    with pytest.raises(ValueError, match=r"latent_dim.*6.*this model has.*latent_dim.*7"):
        DCGAN(latent_dim=7, img_shape=(8, 8, 1)).restore_checkpoint(tmp_path)
    manifest = tmp_path / "ckpt-00000001" / "manifest.json"
    m = json.loads(manifest.read_text())
    m["meta"]["class"] = "AAE"
    manifest.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="written by AAE, not DCGAN"):
        small().restore_checkpoint(tmp_path)


def test_divergence_keeps_the_last_good_checkpoint(tiny_images, tmp_path):
    gan = small()
    args = dict(
        batch_size=8,
        save_interval=0,
        x_train=tiny_images,
        verbose=0,
        checkpoint_dir=tmp_path,
        checkpoint_interval=1,
    )
    gan.train(2, **args)
    good = (tmp_path / "ckpt-00000002" / "state.npz").read_bytes()
    for v in gan.generator.trainable_weights:
        v.assign(np.full(v.shape, np.inf, "float32"))
    with pytest.raises(TrainingDivergedError, match=r"iteration 2"):
        gan.train(2, **args)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)][-1] == "ckpt-00000002"
    assert (tmp_path / "ckpt-00000002" / "state.npz").read_bytes() == good
    with pytest.raises(FloatingPointError, match="NaN or inf"):
        gan.save_checkpoint(tmp_path)


def test_resume_without_a_directory_is_an_error(tiny_images):
    with pytest.raises(ValueError, match="resume=True needs a checkpoint_dir"):
        small().train(1, batch_size=8, x_train=tiny_images, resume=True, verbose=0)


def test_fit_interrupted_and_resumed_ends_with_the_same_weights(tiny_images, tmp_path):
    args = dict(batch_size=16, verbose=0, jit_compile=False)
    straight = small()
    h_straight = straight.fit(tiny_images, epochs=3, checkpoint_dir=tmp_path / "a", **args)
    first = small()
    first.fit(tiny_images, epochs=2, checkpoint_dir=tmp_path / "b", **args)  # "killed" after 2
    resumed = small()
    h = resumed.fit(tiny_images, epochs=3, checkpoint_dir=tmp_path / "b", resume=True, **args)
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert h.epoch == [0, 1, 2]
    np.testing.assert_allclose(h.history["g_loss"], h_straight.history["g_loss"], rtol=1e-5)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "b")][-1] == "ckpt-00000003"


def test_fit_diverging_raises_naming_the_batch(tiny_images, tmp_path):
    gan = small()
    for v in gan.generator.trainable_weights:
        v.assign(np.full(v.shape, np.nan, "float32"))
    with pytest.raises(TrainingDivergedError, match=r"batch 0 of epoch 0: d_loss=nan"):
        gan.fit(
            tiny_images,
            epochs=1,
            batch_size=16,
            verbose=0,
            jit_compile=False,
            checkpoint_dir=tmp_path,
        )
    assert ckpt.list_checkpoints(tmp_path) == []
