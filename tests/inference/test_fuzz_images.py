"""Fuzz: 1,000+ generated inputs through ``ppresnet45 infer`` in one process, nothing lost.

Random bytes, image magic followed by garbage, truncated and bit-flipped PNG/JPEG/WebP/TIFF/
BMP/GIF/SGI files, headers declaring huge sizes, odd but valid images (1x1, 1x100000,
100000x1, 5000x20, 20x5000, 16-bit, palette, CMYK, LA, 1-bit, float, animated GIF), a folder,
missing files and malformed label-file lines, with names holding spaces and non-ASCII, all
listed in one label file. Every entry must come back as exactly one row; every input known
to be unreadable an ``error``, every valid image a text, and every other input (a flipped
bit may or may not break a file) the outcome :func:`load_image` gives it on its own.
"""

import io
import json
import os
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from ppresnet45.cli import main
from ppresnet45.inference.images import ImageLoadError, list_image_sources, load_image

ENCODED = (".png", ".jpg", ".webp", ".tif", ".bmp", ".gif", ".rgb")
JUNK_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".rgb", ".ppm", ".jp2")
MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    b"BM",
    b"\x01\xda",
)


def _base(rng):
    """A small text-like BGR image."""
    h, w = int(rng.integers(8, 40)), int(rng.integers(8, 120))
    img = np.full((h, w, 3), int(rng.integers(150, 256)), np.uint8)
    cv2.putText(img, "ab1", (1, h - 2), cv2.FONT_HERSHEY_SIMPLEX, h / 40, (0, 0, 0), 1)
    return img


def _pil_bytes(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _encode(img, ext):
    if ext == ".gif":
        return _pil_bytes(Image.fromarray(img[:, :, ::-1]).convert("P"), "GIF")
    if ext == ".rgb":
        return _pil_bytes(Image.fromarray(img[:, :, ::-1]), "SGI")
    ok, buf = cv2.imencode(ext, img)
    assert ok, ext
    return buf.tobytes()


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _huge_headers():
    """Small files whose headers declare enormous images (decompression bombs)."""

    def png(w, h):
        return (
            b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 400, 9))
            + _png_chunk(b"IEND", b"")
        )

    jpeg = b"\xff\xd8" + b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 65535, 65535, 1) + b"\x01\x11\x00" + b"\xff\xd9"
    gif = (
        b"GIF89a"
        + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
        + b","
        + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
        + b"\x02\x02\x44\x01\x00;"
    )
    bmp = (
        b"BM"
        + struct.pack("<IHHI", 54, 0, 0, 54)
        + struct.pack("<IiiHHIIiiII", 40, 100000, 100000, 1, 24, 0, 0, 0, 0, 0, 0)
    )
    tiff = Image.new("L", (1, 1))
    tiff_bytes = bytearray(_pil_bytes(tiff, "TIFF"))
    webp = (
        b"RIFF"
        + struct.pack("<I", 22)
        + b"WEBPVP8X"
        + struct.pack("<I", 10)
        + b"\x00\x00\x00\x00"
        + (16383).to_bytes(3, "little")
        + (16383).to_bytes(3, "little")
    )
    out = {
        "bomb_100k.png": png(100000, 100000),
        "bomb_60M.png": png(60000, 1000),
        "bomb_2e9.png": png(2**31 - 1, 1),
        "bomb.jpg": jpeg,
        "bomb.gif": gif,
        "bomb.bmp": bmp,
        "bomb.webp": webp,
    }
    # the 1x1 TIFF with its width/length tags patched to 100000 x 100000
    for tag in (256, 257):
        at = bytes(tiff_bytes).find(struct.pack("<HH", tag, 3))
        if at >= 0:
            tiff_bytes[at + 8 : at + 10] = struct.pack("<H", 50000)
        at = bytes(tiff_bytes).find(struct.pack("<HH", tag, 4))
        if at >= 0:
            tiff_bytes[at + 8 : at + 12] = struct.pack("<I", 100000)
    out["bomb.tif"] = bytes(tiff_bytes)
    return out


def _valid_images(rng):
    """Odd but valid images: name -> bytes."""
    line = _base(rng)
    rgb = Image.fromarray(line[:, :, ::-1])
    gray = cv2.cvtColor(line, cv2.COLOR_BGR2GRAY)
    frames = [Image.fromarray(np.full((12, 30), v, np.uint8)) for v in (0, 255)]
    anim = io.BytesIO()
    frames[0].save(anim, "GIF", save_all=True, append_images=frames[1:])
    out = {
        "1x1.png": _encode(np.zeros((1, 1, 3), np.uint8), ".png"),
        "1x1.jpg": _encode(np.zeros((1, 1, 3), np.uint8), ".jpg"),
        "1x100000.png": cv2.imencode(".png", np.tile(np.array([[0, 255]], np.uint8), (1, 50000)))[1].tobytes(),
        "100000x1.png": cv2.imencode(".png", np.zeros((100000, 1), np.uint8))[1].tobytes(),
        "5000x20.png": cv2.imencode(".png", np.full((5000, 20), 200, np.uint8))[1].tobytes(),
        "20x5000.png": cv2.imencode(".png", np.full((20, 5000, 3), 100, np.uint8))[1].tobytes(),
        "16bit_gray.png": cv2.imencode(".png", gray.astype(np.uint16) * 257)[1].tobytes(),
        "16bit_bgr.png": cv2.imencode(".png", line.astype(np.uint16) * 257)[1].tobytes(),
        "16bit.tif": cv2.imencode(".tif", gray.astype(np.uint16) * 257)[1].tobytes(),
        "palette.png": _pil_bytes(rgb.convert("P"), "PNG"),
        "palette_transparent.png": _pil_bytes(rgb.convert("P"), "PNG", transparency=0),
        "cmyk.jpg": _pil_bytes(rgb.convert("CMYK"), "JPEG"),
        "cmyk.tif": _pil_bytes(rgb.convert("CMYK"), "TIFF"),
        "la.png": _pil_bytes(Image.fromarray(gray).convert("LA"), "PNG"),
        "rgba.png": _pil_bytes(rgb.convert("RGBA"), "PNG"),
        "1bit.png": _pil_bytes(rgb.convert("1"), "PNG"),
        "float.tif": _pil_bytes(rgb.convert("F"), "TIFF"),
        "animated.gif": anim.getvalue(),
        "gray.jpg": _encode(gray[:, :, None].repeat(3, 2), ".jpg"),
        "lossless.webp": cv2.imencode(".webp", line, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes(),
        "image.ppm": _encode(line, ".ppm"),
        "image.pgm": cv2.imencode(".pgm", gray)[1].tobytes(),
    }
    for k in range(100 - len(out)):  # and plain ones of every format, in random sizes
        ext = ENCODED[k % len(ENCODED)]
        out[f"plain_{k}{ext}"] = _encode(_base(rng), ext)
    return out


def _name(i, stem, rng):
    """Every fifth name has spaces and non-ASCII characters."""
    return f"{i:04d} ü名前 {stem}" if rng.random() < 0.2 else f"{i:04d}_{stem}"


def _generate(folder, seed=0):
    """Write the fuzz inputs; returns label-file lines and, per line, the expected outcome
    ("error", "text" or "either")."""
    rng = np.random.default_rng(seed)
    lines, expect = [], []

    def add(stem, data, outcome):
        name = _name(len(lines), stem, rng)
        (folder / name).write_bytes(data)
        lines.append(f"{name}\tlabel")
        expect.append(outcome)

    for k in range(200):
        add(f"random{JUNK_EXTS[k % len(JUNK_EXTS)]}", rng.bytes(int(rng.integers(0, 3000))), "error")
    for k in range(100):
        add(
            f"magic{JUNK_EXTS[k % len(JUNK_EXTS)]}",
            MAGIC[k % len(MAGIC)] + rng.bytes(int(rng.integers(0, 2000))),
            "either",
        )
    for k in range(200):
        ext = ENCODED[k % len(ENCODED)]
        data = _encode(_base(rng), ext)
        strict = ext in (".png", ".jpg")  # no IEND / end-of-image marker: refused by rule
        cut = int(rng.integers(8, len(data) - 9)) if ext == ".png" else int(rng.integers(2, len(data) - 2))
        add(f"cut{ext}", data[:cut], "error" if strict else "either")
    for k in range(300):
        ext = ENCODED[k % len(ENCODED)]
        data = bytearray(_encode(_base(rng), ext))
        for _ in range(int(rng.integers(1, 9))):
            at = int(rng.integers(0, len(data)))
            data[at] ^= 1 << int(rng.integers(0, 8))
        add(f"flip{ext}", bytes(data), "either")
    for _ in range(9):
        for name, data in _huge_headers().items():
            add(name, data, "error")
    for name, data in _valid_images(rng).items():
        add(name, data, "text")
    (folder / "a folder.png").mkdir()
    for k in range(10):
        lines.append("a folder.png\tlabel")
        expect.append("error")
        lines.append(f"missing ü {k}.png\tlabel")
        expect.append("error")
    for _ in range(8):
        lines += ["no tab on this line", "\tempty path"]
        expect += ["error", "error"]
    return lines, expect


@pytest.mark.slow
def test_a_thousand_generated_inputs_give_one_row_each_and_never_stop_infer(model_dir, tmp_path, capsys):
    folder = tmp_path / "fuzz ü"
    folder.mkdir()
    lines, expect = _generate(folder)
    labels = folder / "labels.txt"
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "rows.jsonl"

    rc = main(
        [
            "infer",
            "--model_dir",
            model_dir,
            "--image_dir",
            str(labels),
            "--output",
            str(out),
            "--batch_size",
            "32",
            "--max_chunks",
            "4",
            "--cpu_threads",
            "1",
            "--no_progress",
        ]
    )

    err = capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rc == 1 and "Traceback" not in err and len(lines) >= 1000
    assert len(rows) == len(lines) and [r["line"] for r in rows] == list(range(1, len(lines) + 1))
    wrong = []
    for row, outcome in zip(rows, expect):
        failed = "error" in row
        assert failed == (row["text"] is None) and (row["score"] is None) == failed, row  # text xor error
        if outcome == "either":
            try:
                load_image(row["path"])
                outcome = "text"
            except ImageLoadError:
                outcome = "error"
        if failed != (outcome == "error"):
            wrong.append((row, outcome))
    assert not wrong, wrong[:5]
    n_text = sum("error" not in r for r in rows)
    assert 150 < n_text < 700 and f"{len(rows)} images, {len(rows) - n_text} failed" in err


def test_the_folder_listing_finds_odd_names_and_skips_folders(tmp_path):
    for name in ("a b.png", "ü名前.jpg", "x.GIF", "y.rgb", ".hidden.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "dir.png").mkdir()
    (tmp_path / "dir.png" / "inner.webp").write_bytes(b"x")
    names = [os.path.relpath(p, tmp_path) for p in list_image_sources(tmp_path).paths]
    assert names == ["a b.png", os.path.join("dir.png", "inner.webp"), "x.GIF", "y.rgb", "ü名前.jpg"]
