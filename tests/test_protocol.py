"""The selection of the best generator never uses the reported score's latents or real images."""
import numpy as np
import pytest
import torch

from gansweep.evaluate import generated_batches
from gansweep.nn.networks import Generator
from gansweep.protocol import REPORT, SELECTION, check_reference, describe, latent_seed, real_images
from gansweep.registry import ConfigError
from helpers import make_config, model_config


def latents(seed, n, dim=8):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_selection_and_report_latents_are_disjoint_streams():
    cfg = make_config()
    report = latents(latent_seed(cfg.metrics.seed, REPORT), cfg.metrics.generated_images)
    selection = latents(latent_seed(cfg.metrics.seed, SELECTION), cfg.train.eval_images)
    assert not (torch.cdist(selection, report) == 0).any()  # no latent vector in both samples
    assert latent_seed(0, REPORT) == latent_seed(0, REPORT) != latent_seed(1, REPORT)


def test_generated_batches_draw_from_the_given_stream():
    generator = Generator(model_config(latent_dim=8, g_width=4), (1, 28, 28)).eval()
    a = torch.cat(list(generated_batches(generator, 6, latent_seed(0, REPORT))))
    b = torch.cat(list(generated_batches(generator, 6, latent_seed(0, SELECTION))))
    assert a.dtype == torch.uint8 and a.shape == (6, 1, 28, 28) and not torch.equal(a, b)


def images(n, offset=0):
    # each image distinct: its index written into its pixels
    return (np.arange(offset, offset + n)[:, None, None, None] + np.zeros((1, 1, 4, 4))).astype(np.int64)


def test_selection_images_follow_the_reported_reference_in_the_train_split():
    cfg = make_config(metrics={"reference_images": 500}, train={"eval_reference_images": 250})
    splits = {"train": images(5000)}
    report, selection = real_images(cfg, splits, REPORT), real_images(cfg, splits, SELECTION)
    assert len(report) == 500 and len(selection) == 250
    assert not set(report[:, 0, 0, 0]) & set(selection[:, 0, 0, 0])


def test_a_test_split_reference_leaves_selection_on_the_train_split():
    cfg = make_config(data={"dataset": "mnist"}, metrics={"reference_split": "test", "reference_images": 100},
                      train={"eval_reference_images": 50})
    splits = {"train": images(1000), "test": images(200, offset=10_000)}
    assert real_images(cfg, splits, REPORT)[:, 0, 0, 0].min() >= 10_000
    assert set(real_images(cfg, splits, SELECTION)[:, 0, 0, 0]) == set(range(50))


def test_too_few_images_for_both_samples_is_refused_with_the_numbers():
    cfg = make_config(metrics={"reference_images": 500}, train={"eval_reference_images": 250})
    with pytest.raises(ConfigError, match="train.eval_reference_images is 250, but the train split of mnist-5k has only 100 images besides the 500"):
        real_images(cfg, {"train": images(600)}, SELECTION)


def test_statistics_made_for_another_purpose_or_size_are_refused():
    cfg = make_config()
    made = {**describe(cfg, REPORT)}
    check_reference(made, cfg, REPORT)
    with pytest.raises(ConfigError, match="the selection statistics are for start=0, params say 500"):
        check_reference(made, cfg, SELECTION)  # made from other images
    with pytest.raises(ConfigError, match="the selection statistics are for purpose=report, params say selection"):
        check_reference({**made, "start": 500, "images": 250}, cfg, SELECTION)
    with pytest.raises(ConfigError, match="images=12, params say 500"):
        check_reference({**made, "images": 12}, cfg, REPORT)


def test_statistics_of_other_prepared_images_are_refused():
    # Params edited without `dvc repro` (a study reads data/ as it is): another shuffle, folder or image size
    folder = make_config(data={"dataset": "folder", "path": "photos", "image_size": 32, "channels": 3})
    made = describe(folder, REPORT)
    check_reference(made, folder, REPORT)
    for data, found in [({"seed": 1}, "seed 1, photos at 3x32x32"), ({"path": "other"}, "seed 0, other at 3x32x32"),
                        ({"image_size": 16}, "seed 0, photos at 3x16x16"), ({"channels": 1}, "seed 0, photos at 1x32x32")]:
        with pytest.raises(ConfigError, match=f"the report statistics are for data=seed 0, photos at 3x32x32, params say {found}: run dvc repro"):
            check_reference(made, make_config(data={**folder.data.model_dump(), **data}), REPORT)
    with pytest.raises(ConfigError, match="the report statistics are for data=seed 0, params say seed 2"):
        check_reference(describe(make_config(), REPORT), make_config(data={"seed": 2}), REPORT)
    check_reference(describe(make_config(), REPORT), make_config(data={"path": "elsewhere"}), REPORT)  # mnist-5k never reads it
