"""Your own images (data.dataset: folder): decoding, resizing and cropping, the search, and every bad
folder refused with one line naming data.path."""
import numpy as np
import pytest
from PIL import Image

from gansweep.data.folder import decode, image_files, load_folder
from gansweep.data.sources import source
from gansweep.registry import ConfigError
from helpers import image_folder, make_config


def folder_config(path, **data):
    return make_config(data={"dataset": "folder", "path": str(path), "image_size": 16, "channels": 3, **data})


def test_a_wide_image_is_resized_by_its_shorter_side_and_center_cropped(tmp_path):
    # 60x20: left third red, middle third green, right third blue; 16 pixels high -> 48x16 -> the middle 16 columns
    pixels = np.zeros((20, 60, 3), dtype=np.uint8)
    pixels[:, :20, 0], pixels[:, 20:40, 1], pixels[:, 40:, 2] = 255, 255, 255
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    out = decode(tmp_path / "wide.png", 16, 3)
    assert out.shape == (3, 16, 16) and out.dtype == np.uint8
    inner = out[:, :, 2:-2]  # Lanczos rings a little next to the color edges just outside the crop
    assert inner[1].min() >= 250 and inner[0].max() <= 5 and inner[2].max() <= 5  # all green: the center
    tall = np.zeros((60, 20, 3), dtype=np.uint8)
    tall[:20, :, 0], tall[20:40, :, 1], tall[40:, :, 2] = 255, 255, 255
    Image.fromarray(tall).save(tmp_path / "tall.jpg", quality=100)
    inner = decode(tmp_path / "tall.jpg", 16, 3)[:, 2:-2]
    assert inner[1].min() >= 240 and inner[0].max() <= 15 and inner[2].max() <= 15


def test_channels_convert_gray_and_color_and_exif_orientation_is_applied(tmp_path):
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "red.png")
    gray = decode(tmp_path / "red.png", 8, 1)
    assert gray.shape == (1, 8, 8) and gray.max() == gray.min() == 76  # ITU-R 601 luma of pure red
    Image.new("L", (8, 8), 200).save(tmp_path / "gray.png")
    assert (decode(tmp_path / "gray.png", 8, 3) == 200).all()  # gray repeated to RGB
    # a 20x10 photo stored sideways with EXIF orientation 6 (rotate 90 degrees): upright it is 10x20
    sideways = np.zeros((10, 20, 3), dtype=np.uint8)
    sideways[:, :10] = 255  # white on the left as stored: at the top once upright
    image = Image.fromarray(sideways)
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "photo.jpg", exif=exif, quality=100)
    upright = decode(tmp_path / "photo.jpg", 10, 3)  # 10 wide, 20 high -> the middle 10 rows: white above, black below
    assert upright.shape == (3, 10, 10)
    assert upright[:, :4].min() > 200 and upright[:, 6:].max() < 50  # not split left/right as stored
    # The same with an EXIF that Pillow cannot write back (tag 0x0115, a number, stored as text): ImageOps.exif_transpose
    # raised struct.error on it, a traceback for an image that decodes fine.
    mistyped = bytes.fromhex("4578696600004d4d002a0000000800020115000200000006000000260112000300000001000600000000000043616e6f6e00")
    image.save(tmp_path / "camera.jpg", exif=mistyped, quality=100)
    assert Image.open(tmp_path / "camera.jpg").getexif()[0x0112] == 6
    assert np.array_equal(decode(tmp_path / "camera.jpg", 10, 3), upright)


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped(tmp_path):
    deep = (np.arange(16 * 16).reshape(16, 16) * 257).astype(np.uint16)  # 0 .. 65535
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    assert (decode(tmp_path / "deep.png", 16, 1)[0] == deep >> 8).all()  # Pillow's own convert gives 255 from 255 on
    assert (decode(tmp_path / "deep.png", 16, 3) == deep >> 8).all()


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_pixels_are_white_whatever_colour_the_file_stores_under_them(mode, tmp_path):
    alpha = np.zeros((16, 16), np.uint8)
    alpha[4:12, 4:12] = 255  # an opaque square on a transparent background
    decoded = []
    for hidden in (0, 200):  # the colour stored under alpha 0 differs between the two files
        rgb = np.full((16, 16, 3), hidden, np.uint8)
        rgb[4:12, 4:12] = (255, 0, 0) if mode != "LA" else 90
        image = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
        if mode == "LA":
            image = image.convert("LA")
        elif mode == "P":  # a palette with one transparent entry
            image = image.convert("RGB").quantize(4)
            image.info["transparency"] = int(np.asarray(image)[0, 0])
        image.save(tmp_path / f"{hidden}.png")
        assert Image.open(tmp_path / f"{hidden}.png").mode == mode
        decoded.append(decode(tmp_path / f"{hidden}.png", 16, 3))
    np.testing.assert_array_equal(decoded[0], decoded[1])
    assert (decoded[0][:, 0, 0] == 255).all() and (decoded[0][:, 8, 8] != 255).any()  # white around, the square kept


def test_images_are_found_recursively_in_path_order_skipping_hidden_and_other_files(tmp_path):
    for name in ("b/2.png", "a/1.JPG", "a/z/3.webp", "0.jpeg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(tmp_path / name, format={"png": "PNG", "jpg": "JPEG", "webp": "WEBP", "jpeg": "JPEG"}[name.rsplit(".", 1)[1].lower()])
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "._1.png").write_bytes(b"macOS metadata")  # AppleDouble files are hidden
    (tmp_path / ".cache").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / ".cache" / "thumb.png")
    assert [p.relative_to(tmp_path).as_posix() for p in image_files(tmp_path)] == ["0.jpeg", "a/1.JPG", "a/z/3.webp", "b/2.png"]


def test_the_folder_becomes_the_prepared_array(tmp_path):
    image_folder(tmp_path / "images", 30, size=20, non_square=5)
    cfg = folder_config(tmp_path / "images")
    assert cfg.data.image_shape() == (3, 16, 16)
    splits = source(cfg.data).load(tmp_path / "raw")
    images, labels = splits["train"]
    assert list(splits) == ["train"] and images.shape == (30, 3, 16, 16) and images.dtype == np.uint8 and labels.shape == (30,)
    assert np.array_equal(images, load_folder(tmp_path / "images", 16, 3))  # the same every time (threads keep the order)
    assert source(cfg.data).check(needed=30) == 30


def test_folder_keys_are_validated_where_params_are_read(tmp_path):
    with pytest.raises(ConfigError, match="data.image_size: the folder dataset needs it"):
        make_config(data={"dataset": "folder", "image_size": None, "channels": 3})
    with pytest.raises(ConfigError, match=r"data.channels: Input should be 1 or 3, got 2"):
        make_config(data={"dataset": "folder", "image_size": 32, "channels": 2})
    with pytest.raises(ConfigError, match=r"data.image_size: only the folder dataset takes it \(mnist-5k images are 1x28x28\); set null"):
        make_config(data={"image_size": 32})
    # an architecture that cannot take the folder's image side is refused before any work
    with pytest.raises(ConfigError, match="infogan needs an image side divisible by 4"):
        make_config(data={"dataset": "folder", "image_size": 30, "channels": 1}, model={"architecture": "infogan"})
    with pytest.raises(ConfigError, match=r"model.architecture: dcgan needs an even image side of at least 8 pixels \(data.image_size\), got 31"):
        make_config(data={"dataset": "folder", "image_size": 31, "channels": 1}, model={"architecture": "dcgan"})


def bad_folders(tmp_path):
    """(folder, what the one line says) for each bad case."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    image_folder(tmp_path / "few", 5, size=16)
    image_folder(tmp_path / "broken", 20, size=16)
    (tmp_path / "broken" / "s1" / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (tmp_path / "a_file.png").write_bytes(b"")
    image_folder(tmp_path / "linked", 20, size=16)
    (tmp_path / "linked" / "more").symlink_to(tmp_path / "few")  # DVC's hash of data.path does not look inside it
    return [
        (tmp_path / "missing", "does not exist"),
        (tmp_path / "a_file.png", "is a file, not a folder of images"),
        (tmp_path / "empty", "holds no PNG, JPEG or WebP images"),
        (tmp_path / "few", "holds 5 images, fewer than the 12 that metrics.reference_images and train.eval_reference_images take"),
        (tmp_path / "broken", "damaged.png cannot be decoded as an image"),
        (tmp_path / "linked", f"linked/more is a link to a folder, which DVC does not follow (an edit there would not re-run "
                              f"prepare): move or copy its images under {tmp_path / 'linked'}"),
    ]


def test_every_bad_folder_is_one_line_naming_data_path(tmp_path):
    for folder, says in bad_folders(tmp_path):
        cfg = make_config(data={"dataset": "folder", "path": str(folder), "image_size": 16, "channels": 3},
                          metrics={"reference_images": 8, "kid_subset_size": 4, "generated_images": 8}, train={"eval_reference_images": 4})
        with pytest.raises(ConfigError) as err:
            dataset = source(cfg.data)
            dataset.check(needed=12)
            dataset.load(tmp_path / "raw")
        message = str(err.value)
        assert message.startswith(f"data.path: {folder}") and says in message and "\n" not in message, message


def test_a_built_in_dataset_with_a_missing_data_path_is_one_line(tmp_path):
    # prepare depends on data.path whatever the dataset; DVC would stop on it with its own error
    assert source(make_config(data={"dataset": "mnist-5k", "path": str(tmp_path)}).data).check(needed=12) is None
    with pytest.raises(ConfigError, match=f"^data.path: {tmp_path / 'gone'} is not a folder"):
        source(make_config(data={"dataset": "mnist-5k", "path": str(tmp_path / "gone")}).data).check(needed=12)
