"""Character dictionaries (PaddleOCR format): space char, blank at 0, bad files reported."""

import pytest

from ppresnet45 import ConfigError
from ppresnet45.charset import DEFAULT_CHARACTERS, CTCCharset, load_character_list


def test_dictionary_file_with_space_char_and_blank_at_zero(tmp_path):
    d = tmp_path / "dict.txt"
    d.write_bytes("a\r\nb\n中\n".encode())
    chars = load_character_list(d, use_space_char=True)
    assert chars == ["a", "b", "中", " "]
    cs = CTCCharset(chars)
    assert cs.labels[0] == "blank" and cs.index["a"] == 1 and cs.num_classes == 5
    assert cs.encode("ab?a") == ([1, 2, 1], 1)


def test_default_dictionary_is_digits_and_lowercase():
    assert load_character_list(None) == list(DEFAULT_CHARACTERS)


def test_bad_dictionaries_are_reported(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_character_list(empty)
    dup = tmp_path / "dup.txt"
    dup.write_text("a\nb\na\n")
    with pytest.raises(ConfigError, match="duplicate entries"):
        load_character_list(dup)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00a")
    with pytest.raises(ConfigError, match="is not UTF-8"):
        load_character_list(binary)
