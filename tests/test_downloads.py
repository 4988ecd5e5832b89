"""The torchvision download path, for real over HTTP, against a local server serving small files
in the datasets' formats (the real mirrors are out of reach here)."""
import gzip
import hashlib
import http.server
import io
import pickle
import tarfile
import threading
from functools import partial

import numpy as np
import pytest
import torchvision

from gansweep.data.sources import DATASETS, DownloadError


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "mirror"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def idx(array: np.ndarray) -> bytes:
    """The IDX format of the MNIST files: magic (type 0x08 = ubyte, ndim), big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def serve_mnist_like(root, rng):
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 6),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 3),
    }
    resources = []
    for name, array in arrays.items():
        data = idx(array)
        (root / name).write_bytes(data)
        resources.append((name, md5(data)))
    return arrays, resources


@pytest.mark.parametrize("name, cls", [("mnist", torchvision.datasets.MNIST), ("fashion-mnist", torchvision.datasets.FashionMNIST)])
def test_mnist_like_download_verifies_and_loads_both_splits(name, cls, server, tmp_path, monkeypatch):
    root, url = server
    arrays, resources = serve_mnist_like(root, np.random.default_rng(0))
    monkeypatch.setattr(cls, "resources", resources)  # the checksums of the files served here
    monkeypatch.setenv("GANSWEEP_DATA_MIRROR", url)
    source = DATASETS.get(name)()
    info = source.fetch(tmp_path / "raw")
    assert len(info["files"]) == 4 and all(len(h) == 64 for h in info["files"].values())
    splits = source.load(tmp_path / "raw")
    np.testing.assert_array_equal(splits["train"][0][:, 0], arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(splits["test"][1], arrays["t10k-labels-idx1-ubyte.gz"])
    assert splits["train"][0].dtype == np.uint8 and splits["train"][0].shape == (6, 1, 28, 28)


def test_a_file_with_a_wrong_checksum_is_rejected(server, tmp_path, monkeypatch):
    root, url = server
    _, resources = serve_mnist_like(root, np.random.default_rng(1))
    resources[0] = (resources[0][0], "0" * 32)
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources", resources)
    monkeypatch.setenv("GANSWEEP_DATA_MIRROR", url)
    with pytest.raises(DownloadError, match="mnist: Error downloading train-images-idx3-ubyte.gz"):
        DATASETS.get("mnist")().fetch(tmp_path / "raw")


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_an_unreachable_or_wrong_mirror_is_one_line(name, server, tmp_path, monkeypatch):
    root, url = server  # serves nothing: every file is a 404
    for mirror, reason in ((url, "Not Found|404"), ("http://127.0.0.1:1/", "refused|Error downloading")):
        monkeypatch.setenv("GANSWEEP_DATA_MIRROR", mirror)
        with pytest.raises(DownloadError, match=f"^{name}: .*({reason})"):
            DATASETS.get(name)().fetch(tmp_path / "raw")


def test_cifar10_download_verifies_and_loads_rgb(server, tmp_path, monkeypatch):
    root, url = server
    rng = np.random.default_rng(2)
    batches, members = {}, []
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        batches[name] = {"data": rng.integers(0, 256, (2, 3072)).astype(np.uint8), "labels": rng.integers(0, 10, 2).tolist()}
        members.append((name, pickle.dumps(batches[name])))
    members.append(("batches.meta", pickle.dumps({"label_names": [str(i) for i in range(10)]})))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members:
            entry = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    (root / "cifar-10-python.tar.gz").write_bytes(buffer.getvalue())
    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "tgz_md5", md5(buffer.getvalue()))
    monkeypatch.setattr(cls, "train_list", [[n, md5(d)] for n, d in members[:5]])
    monkeypatch.setattr(cls, "test_list", [[members[5][0], md5(members[5][1])]])
    monkeypatch.setattr(cls, "meta", {"filename": "batches.meta", "key": "label_names", "md5": md5(members[6][1])})
    monkeypatch.setenv("GANSWEEP_DATA_MIRROR", url)
    source = DATASETS.get("cifar10")()
    source.fetch(tmp_path / "raw")
    splits = source.load(tmp_path / "raw")
    assert splits["train"][0].shape == (10, 3, 32, 32) and splits["test"][0].shape == (2, 3, 32, 32)
    # CIFAR stores each image as 1024 red, then green, then blue values: channel-first after load.
    np.testing.assert_array_equal(splits["test"][0][0].reshape(-1), batches["test_batch"]["data"][0])
