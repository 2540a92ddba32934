"""Character dictionaries in PaddleOCR's format and the CTC index mapping.

A dictionary file has one character per line (UTF-8). With ``use_space_char`` a space is
appended. For CTC, index 0 is the blank and character ``i`` of the list gets index
``i + 1``. Without a file the default is ``0-9a-z``, as in PaddleOCR.
"""

from .errors import ConfigError
from .utils.io import read_utf8_text

DEFAULT_CHARACTERS = "0123456789abcdefghijklmnopqrstuvwxyz"
CTC_BLANK = "blank"


def load_character_list(character_dict_path=None, use_space_char=False, key="Global.character_dict_path"):
    """Return the list of characters (without the blank).

    Args:
        character_dict_path (str | None): dictionary file, one character per line.
        use_space_char (bool): append ``" "`` to the list.
        key (str): config key named in error messages.
    """
    if character_dict_path in (None, "", "None"):
        chars = list(DEFAULT_CHARACTERS)
    else:
        path = str(character_dict_path)
        raw = read_utf8_text(path, f"{key}: character dictionary", "a UTF-8 file, one character per line", ConfigError)
        chars = []
        for line in raw.splitlines():
            ch = line.rstrip("\r\n")
            if ch == "":
                continue
            chars.append(ch)
        if not chars:
            raise ConfigError(f"{key}: character dictionary '{path}' is empty")
    if use_space_char and " " not in chars:
        chars.append(" ")
    seen = set()
    dupes = [c for c in chars if c in seen or seen.add(c)]
    if dupes:
        raise ConfigError(f"{key}: character dictionary has duplicate entries {dupes[:5]!r}")
    return chars


class CTCCharset:
    """The CTC label space: ``["blank"] + characters``.

    Args:
        characters (list[str]): dictionary characters, without the blank.
    """

    def __init__(self, characters):
        self.characters = list(characters)
        self.labels = [CTC_BLANK] + self.characters
        self.index = {c: i + 1 for i, c in enumerate(self.characters)}

    @classmethod
    def from_config(cls, global_cfg):
        """Build from a config's ``Global`` section (``character_dict_path``, ``use_space_char``)."""
        global_cfg = global_cfg or {}
        return cls(
            load_character_list(global_cfg.get("character_dict_path"), bool(global_cfg.get("use_space_char", False)))
        )

    @property
    def num_classes(self):
        """Head output size: characters + 1 blank."""
        return len(self.labels)

    def encode(self, text, drop_unknown=True):
        """Map text to label indices (1-based). Unknown characters are dropped (or raise
        ``KeyError`` with ``drop_unknown=False``). Returns ``(indices, n_dropped)``."""
        out, dropped = [], 0
        for ch in text:
            idx = self.index.get(ch)
            if idx is None:
                if not drop_unknown:
                    raise KeyError(ch)
                dropped += 1
                continue
            out.append(idx)
        return out, dropped
