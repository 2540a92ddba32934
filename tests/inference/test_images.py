"""Image sources and robust image loading (ppresnet45.inference.images)."""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from ppresnet45.errors import DataError
from ppresnet45.inference.images import ImageLoadError, list_image_sources, load_image


def write(path, img):
    ok, buf = cv2.imencode(os.path.splitext(str(path))[1], img)
    assert ok
    buf.tofile(str(path))
    return str(path)


def text_line(text, height=32):
    """Dark text on white, ~12 px per character, BGR uint8."""
    img = np.full((height, 12 * len(text) + 8, 3), 255, np.uint8)
    cv2.putText(img, text, (4, height - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    return img


def test_list_image_sources_errors_name_the_path(tmp_path):
    with pytest.raises(DataError, match="nope"):
        list_image_sources(tmp_path / "nope")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        list_image_sources(tmp_path / "empty_dir")
    binary = tmp_path / "data.bin"
    binary.write_bytes(b"\x00\x01PK\x03")
    with pytest.raises(DataError, match=r"data.bin': not an image .* and not a text label file"):
        list_image_sources(binary)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataError, match=r"blank.txt' has no 'path<TAB>text' lines"):
        list_image_sources(blank)


def test_a_malformed_label_line_is_an_error_entry_and_the_rest_goes_on(tmp_path):
    bad = tmp_path / "labels.txt"
    bad.write_bytes("a.png\tok\nno tab here\n\tno path\n\xff\xfe.png\tx\nb.png\tsecond\n".encode("latin-1"))
    sources = list_image_sources(bad)
    assert sources.lines == [1, 2, 3, 4, 5] and sources.labels == ["ok", None, None, None, "second"]
    assert sorted(sources.errors) == [1, 2, 3]
    assert sources.errors[1].startswith(f"{bad}:2: expected 'image_path<TAB>text'")
    assert sources.errors[2] == f"{bad}:3: empty image path before the delimiter"
    assert sources.errors[3] == f"{bad}:4: not UTF-8 text (byte 0)"
    inputs = sources.inputs()
    assert inputs[0] == str(tmp_path / "a.png") and inputs[4] == str(tmp_path / "b.png")
    assert [type(x).__name__ for x in inputs[1:4]] == ["BadInput"] * 3 and inputs[1].reason == sources.errors[1]


def test_load_image_reasons(tmp_path):
    folder = tmp_path / "x.png"
    folder.mkdir()
    with pytest.raises(ImageLoadError, match="is a folder"):
        load_image(folder)
    jpg = write(tmp_path / "a.jpg", text_line("abc"))
    data = Path(jpg).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="truncated JPEG"):
        load_image(tmp_path / "cut.jpg")
    transparent = np.zeros((10, 20, 4), np.uint8)  # black, fully transparent → white
    assert load_image(write(tmp_path / "t.png", transparent)).min() == 255


def test_label_file_paths_are_relative_to_its_folder(tmp_path):
    (tmp_path / "data" / "imgs").mkdir(parents=True)
    write(tmp_path / "data" / "imgs" / "0.png", text_line("ab"))
    labels = tmp_path / "data" / "labels.txt"
    labels.write_text("imgs/0.png\thello world\n\n", encoding="utf-8")
    sources = list_image_sources(labels)
    assert sources.kind == "label_file" and sources.labels == ["hello world"]
    assert sources.paths == [str(tmp_path / "data" / "imgs" / "0.png")]
