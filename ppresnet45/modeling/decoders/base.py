"""What every label decoder shares: its dictionary, the head size it implies, array helpers."""

import numpy as np

from ...charset import load_character_list


class DictionaryDecoder:
    """Base of the label decoders: holds the dictionary's characters.

    Args:
        character_dict_path (str | None): dictionary file (PaddleOCR format); default 0-9a-z.
        use_space_char (bool): append a space to the dictionary.
        character_list (list[str] | None): the characters directly (as stored in
            ``inference.yml``); overrides the two arguments above.
    """

    def __init__(self, character_dict_path=None, use_space_char=False, character_list=None):
        if character_list is None:
            character_list = load_character_list(character_dict_path, use_space_char)
        self.characters = list(character_list)

    @classmethod
    def head_out_channels(cls, num_characters):
        """The ``Head.out_channels`` a model needs for a dictionary of ``num_characters``:
        the characters plus the decoder's one special class (CTC's blank, ABINet's ``</s>``)."""
        return num_characters + 1


def as_numpy(value):
    """A Paddle tensor or array-like as a numpy array."""
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def softmax(x, axis=-1):
    """Numerically stable softmax in float32."""
    x = np.asarray(x, dtype=np.float32)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
