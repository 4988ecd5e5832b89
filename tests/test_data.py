import numpy as np
import pytest
import torch

from gansweep.data import prepared
from gansweep.data.sources import DATASETS, ChecksumError, EmbeddedMnist5k, sha256, verify


def test_embedded_mnist_is_copied_verified_and_loaded(tmp_path):
    info = DATASETS.get("mnist-5k")().fetch(tmp_path)
    assert info["files"] == {"mnist_5k.csv.gz": EmbeddedMnist5k.sha256}
    images, labels = EmbeddedMnist5k().load(tmp_path)["train"]
    assert images.shape == (5000, 1, 28, 28) and images.dtype == np.uint8
    assert sorted(np.unique(labels)) == list(range(10))
    assert images.max() == 255 and images.min() == 0
    # Digits are bright strokes on a dark background: the border is black, the centre is not.
    assert images[:, :, 0, :].mean() < 1 and images[:, :, 10:18, 10:18].mean() > 50


def test_a_corrupted_file_fails_its_checksum(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")
    assert verify(path, sha256(path)) == sha256(path)
    with pytest.raises(ChecksumError, match="does not match"):
        verify(path, "0" * 64)


def test_shuffle_is_seeded_and_keeps_pairs():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    labels = np.arange(10)
    a_images, a_labels = prepared.shuffle(images, labels, seed=3)
    b_images, _ = prepared.shuffle(images, labels, seed=3)
    c_images, _ = prepared.shuffle(images, labels, seed=4)
    np.testing.assert_array_equal(a_images, b_images)
    assert not np.array_equal(a_images, c_images)
    np.testing.assert_array_equal(a_images.ravel(), a_labels)
    with pytest.raises(ValueError, match="uint8 NCHW"):
        prepared.shuffle(images.astype(np.float32), labels, seed=0)


@pytest.mark.parametrize("output, low", [("tanh", -1.0), ("sigmoid", 0.0)])
def test_uint8_round_trip_through_the_generator_range_is_exact(output, low):
    values = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    scaled = prepared.to_model_range(values, output)
    assert scaled.min() == low and scaled.max() == 1
    assert torch.equal(prepared.to_uint8(scaled, output), values)
    # Out-of-range generator outputs clamp instead of wrapping around.
    assert prepared.to_uint8(torch.tensor([-2.0, 2.0]), output).tolist() == [0, 255]
    # Rounding to nearest: just below the midpoint between two levels goes down.
    assert prepared.to_uint8(prepared.to_model_range(torch.tensor([10]), output) + 0.49 * (1 - low) / 255, output).item() == 10
