import numpy as np
import pytest
import torch

from gansweep.metrics.inception import FEATURE_DIM, inception_features, iterate, preprocess, tf_bilinear_resize


def tf1_resize_bilinear(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """TF1 tf.image.resize_bilinear(align_corners=False, half_pixel_centers=False), written from
    its kernel: source coordinate = destination * (in / out), upper neighbour clamped at the edge."""
    in_h, in_w = image.shape
    out = np.zeros((out_h, out_w))
    for y in range(out_h):
        sy = y * in_h / out_h
        y0 = int(np.floor(sy)); y1 = min(y0 + 1, in_h - 1); fy = sy - y0
        for x in range(out_w):
            sx = x * in_w / out_w
            x0 = int(np.floor(sx)); x1 = min(x0 + 1, in_w - 1); fx = sx - x0
            top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
            bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
            out[y, x] = top * (1 - fy) + bottom * fy
    return out


@pytest.mark.parametrize("size_in, size_out", [(5, 12), (28, 299), (7, 3)])
def test_resize_matches_tf1_bilinear(size_in, size_out):
    image = np.random.default_rng(0).uniform(0, 255, size=(size_in, size_in))
    expected = tf1_resize_bilinear(image, size_out, size_out)
    actual = tf_bilinear_resize(torch.tensor(image, dtype=torch.float32)[None, None], size_out)[0, 0].numpy()
    np.testing.assert_allclose(actual / 255, expected / 255, atol=1e-5)  # in [0, 1] units, float32 as in use


def test_preprocess_repeats_gray_resizes_and_scales():
    images = torch.full((2, 1, 28, 28), 255, dtype=torch.uint8)
    x = preprocess(images)
    assert x.shape == (2, 3, 299, 299)
    assert torch.allclose(x, torch.tensor(127 / 128))  # (255 - 128) / 128
    with pytest.raises(TypeError, match="uint8"):
        preprocess(images.float())


def test_features_are_2048_d_and_depend_on_the_image():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 1, 28, 28), dtype=np.uint8)
    images[2] = images[0]
    features = inception_features(iterate(images, batch_size=2), total=3, device="cpu")
    assert features.shape == (3, FEATURE_DIM) and features.dtype == np.float64
    assert (features >= 0).all()  # pool3 follows a ReLU
    np.testing.assert_allclose(features[0], features[2], rtol=1e-4, atol=1e-5)  # batch-independent
    assert np.abs(features[0] - features[1]).max() > 1e-2
