"""``ppresnet45 infer``: rows written as windows finish, ``--resume``, ``--max_pixels``, odd formats."""

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
from ppresnet45.inference import recognizer as recognizer_module
from ppresnet45.inference.images import ImageLoadError, load_image, read_image_size
from ppresnet45.inference.results_file import read_rows


def _lines(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = np.full((32, 40 + 9 * i, 3), 255, np.uint8)
        cv2.putText(img, str(i), (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
        paths.append(str(folder / f"{i:03d}.png"))
        cv2.imwrite(paths[-1], img)
    return paths


def _bomb_png(w, h):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 300, 9))
        + chunk(b"IEND", b"")
    )


@pytest.mark.slow
def test_an_interrupted_run_keeps_its_finished_windows_and_resume_finishes_it(model_dir, tmp_path, monkeypatch, capsys):
    paths = _lines(tmp_path / "lines", 40)
    out = tmp_path / "rows.jsonl"
    argv = [
        "infer",
        "--model_dir",
        model_dir,
        "--image_dir",
        str(tmp_path / "lines"),
        "--batch_size",
        "2",
        "--cpu_threads",
        "1",
        "--no_progress",
        "--output",
        str(out),
        "--backend",
        "paddle",
    ]
    real_run_batch, calls = recognizer_module.TextRecognizer._run_batch, []

    def interrupted(self, *args):
        calls.append(1)
        if len(calls) == 10:  # in the second window of 8 batches
            raise KeyboardInterrupt
        return real_run_batch(self, *args)

    monkeypatch.setattr(recognizer_module.TextRecognizer, "_run_batch", interrupted)
    assert main(argv) == 130
    first = read_rows(out)
    assert [r["path"] for r in first] == paths[:16]  # the first window: 8 batches of 2, flushed
    with open(out, "a", encoding="utf-8") as f:
        f.write('{"path": "/half/a/ro')  # what a kill in the middle of a write leaves

    monkeypatch.setattr(recognizer_module.TextRecognizer, "_run_batch", real_run_batch)
    assert main(argv + ["--resume"]) == 0
    err = capsys.readouterr().err
    rows = read_rows(out)
    assert [r["path"] for r in rows] == paths and rows[:16] == first
    assert "infer: 24 images, 0 failed" in err and "16 already in" in err

    assert main(argv + ["--resume"]) == 0  # nothing left to do
    assert len(read_rows(out)) == 40 and "infer: 0 images" in capsys.readouterr().err


def test_a_label_file_run_resumes_by_line_and_counts_earlier_rows_in_the_accuracy(model_dir, tmp_path, capsys):
    _lines(tmp_path / "lines", 3)
    labels = tmp_path / "labels.txt"
    labels.write_text("lines/000.png\t0\nbroken\nlines/001.png\t1\nlines/001.png\t1\n", encoding="utf-8")
    out = tmp_path / "rows.jsonl"
    argv = [
        "infer",
        "--model_dir",
        model_dir,
        "--image_dir",
        str(labels),
        "--cpu_threads",
        "1",
        "--no_progress",
        "--output",
        str(out),
    ]
    assert main(argv) == 1
    rows = read_rows(out)
    assert [r["line"] for r in rows] == [1, 2, 3, 4] and rows[1]["path"] is None
    assert rows[1]["error"] == f"{labels}:2: expected 'image_path<TAB>text', got 'broken'"
    first = capsys.readouterr().err
    assert "4 images, 1 failed" in first and "/3), norm_edit_dis" in first  # the broken line has no label
    out.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]), encoding="utf-8")
    assert main(argv + ["--resume"]) == 0  # the two rows left (a duplicated path) recognized again
    rows = read_rows(out)
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    assert "2 already in" in capsys.readouterr().err


def test_resume_needs_an_output_file_and_a_results_file(model_dir, tmp_path, capsys):
    _lines(tmp_path / "lines", 1)
    base = ["infer", "--model_dir", model_dir, "--image_dir", str(tmp_path / "lines"), "--no_progress"]
    assert main(base + ["--resume"]) == 2
    assert capsys.readouterr().err.strip() == "error: --resume needs --output (the results file to carry on)"
    (tmp_path / "notes.txt").write_text("hello\n")
    assert main(base + ["--resume", "--output", str(tmp_path / "notes.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.txt:1 is not a JSON results row" in err[0]


def test_decompression_bombs_are_error_rows_and_the_limit_is_the_users(model_dir, tmp_path, capsys):
    folder = tmp_path / "imgs"
    _lines(folder, 1)
    (folder / "bomb.png").write_bytes(_bomb_png(100000, 100000))  # 10^10 pixels in ~100 bytes
    (folder / "big.png").write_bytes(_bomb_png(9000, 9000))  # 81 MP: over the default 50 MP
    out = tmp_path / "rows.jsonl"
    assert (
        main(
            [
                "infer",
                "--model_dir",
                model_dir,
                "--image_dir",
                str(folder),
                "--cpu_threads",
                "1",
                "--no_progress",
                "--output",
                str(out),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    rows = {os.path.basename(r["path"]): r for r in read_rows(out)}
    assert rows["bomb.png"]["error"] == (
        "the header declares 100000x100000 = 10000000000 pixels, over the limit of 50000000 (--max_pixels)"
    )
    assert (
        rows["big.png"]["error"] == "the header declares 9000x9000 = 81000000 pixels, over the limit of "
        "50000000 (--max_pixels)"
    )
    assert rows["000.png"]["text"] is not None and "error: error:" not in err and "Traceback" not in err
    assert (
        main(
            [
                "infer",
                "--model_dir",
                model_dir,
                "--image_dir",
                str(folder / "000.png"),
                "--max_pixels",
                "100",
                "--no_progress",
                "--output",
                str(out),
            ]
        )
        == 1
    )
    assert "32 = 1280 pixels, over the limit of 100" in read_rows(out)[0]["error"]


def test_every_format_paddleocr_reads_gives_the_first_frame(tmp_path):
    frames = [Image.fromarray(np.full((10, 30), v, np.uint8)) for v in (40, 220)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(np.full((10, 30, 3), 90, np.uint8)).save(tmp_path / "image.rgb", "SGI")
    gif, sgi = load_image(tmp_path / "anim.gif"), load_image(tmp_path / "image.rgb")
    assert gif.shape[:2] == (10, 30) and abs(int(gif.mean()) - 40) <= 1
    assert sgi.shape == (10, 30, 3) and int(sgi.mean()) == 90
    cmyk = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).convert("CMYK").save(cmyk, "JPEG")
    (tmp_path / "cmyk.jpg").write_bytes(cmyk.getvalue())
    assert load_image(tmp_path / "cmyk.jpg").shape == (8, 8, 3)
    assert read_image_size(tmp_path / "anim.gif") == (10, 30)


def test_a_header_over_the_limit_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(_bomb_png(8000, 8000))
    with pytest.raises(ImageLoadError, match=r"8000x8000 = 64000000 pixels, over the limit of 50000000"):
        load_image(path)
    with pytest.raises(ImageLoadError, match=r"over the limit of 10"):
        read_image_size(path, max_pixels=10)
    with pytest.raises(ImageLoadError, match="cannot decode"):  # no limit of ours: the decoders refuse it
        load_image(path, max_pixels=None)
