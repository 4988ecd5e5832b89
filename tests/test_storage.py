"""A study's storage URL: what may be shown of it, and which URLs are refused before any connection."""
from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from gansweep.registry import ConfigError
from gansweep.storage import masked, open_storage


class Search:
    def __init__(self, storage):
        self.storage, self.heartbeat = storage, 60


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql://gan:s3cret@db:5432/optuna", "postgresql://gan:***@db:5432/optuna"),
        ("postgresql://gan:s3@cret@db/optuna", "postgresql://gan:***@db/optuna"),  # urllib splits at the last '@'
        ("postgresql://gan:s3/cret@db/optuna", "postgresql://gan:***@db/optuna"),  # urllib would see no password
        ("postgresql://gan@db/optuna", "postgresql://gan@db/optuna"),
        ("postgresql://db/optuna", "postgresql://db/optuna"),
        (None, "journal file"),
    ],
)
def test_masked_never_shows_the_password(url, shown):
    assert masked(url) == shown


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql://gan:s3@cret@127.0.0.1:9/optuna", "holds a character reserved in URLs"),
        ("postgresql://gan:s3/cret@127.0.0.1:9/optuna", "holds a character reserved in URLs"),
        ("postgresql://gan:s3cret@127.0.0.1:port/optuna", "is not a valid URL (host, port?)"),
        ("postgresql://gan:s3cret@[127.0.0.1/optuna", "is not a valid URL (host, port?)"),
        ("mysql://gan:s3cret@127.0.0.1/optuna", "use null (a journal file under studies/) or postgresql://"),
    ],
)
def test_a_bad_url_is_one_line_without_the_password(tmp_path, url, message):
    with pytest.raises(ConfigError) as refused:
        open_storage(Search(url), tmp_path)
    assert message in str(refused.value) and "cret" not in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_percent_encoding_the_message_asks_for_is_the_password_the_driver_sees(tmp_path):
    url = "postgresql://gan:s3%40cret@127.0.0.1:9/optuna"
    assert make_url(url).password == "s3@cret" and masked(url) == "postgresql://gan:***@127.0.0.1:9/optuna"
    with pytest.raises(ConfigError) as refused:  # accepted, then no server on port 9: the driver's error, masked
        open_storage(Search(url), tmp_path)
    assert "cannot use postgresql://gan:***@127.0.0.1:9/optuna" in str(refused.value) and "cret" not in str(refused.value)


@pytest.mark.parametrize("content", [b"not a torch file at all", None])
def test_a_damaged_generator_file_is_named_without_torchs_advice_to_unpickle_it(tmp_path, content):
    """torch's own message for such a file suggests `weights_only=False`, which would run whatever
    code the file holds: the one line says what is wrong and how to restore the file instead."""
    import torch

    from gansweep.generators import load_generator
    from gansweep.paths import DamagedFileError

    path = tmp_path / "generator.pt"
    if content is None:
        torch.save({"model": Search(None)}, path)  # a pickled object, as a foreign or tampered file holds
    else:
        path.write_bytes(content)
    with pytest.raises(DamagedFileError) as refused:
        load_generator(path)
    message = str(refused.value)
    assert message.startswith(f"{path} (generator) is damaged or unreadable (not a file of tensors as gansweep writes them)")
    assert "weights_only" not in message and "\n" not in message
