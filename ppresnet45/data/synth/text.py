"""Random texts for rendered lines: characters from a charset, or words from a word list."""

import os

from ...errors import ConfigError, DataError
from ...utils.io import read_utf8_text


def _charset_list(charset):
    if charset is None:
        return None
    if isinstance(charset, str):
        chars = list(dict.fromkeys(charset))
    else:
        chars = list(dict.fromkeys(str(c) for c in charset))
    bad = [c for c in chars if c == "" or "\t" in c or "\n" in c or "\r" in c]
    if bad:
        raise ConfigError(f"charset: entries {bad[:5]!r} cannot appear in a label (empty, tab or newline)")
    if not chars:
        raise ConfigError("charset: empty (expected at least one character)")
    return chars


def random_text(rng, charset, min_len, max_len, words=None):
    """Draw one random string.

    Without ``words``: ``rng.integers(min_len, max_len + 1)`` characters from ``charset``
    (a space, if in the charset, is never first, last or doubled, since it would be
    invisible or ambiguous). With ``words``: words joined by single spaces, between
    ``min_len`` and ``max_len`` characters long.

    Args:
        rng (np.random.Generator): the only source of randomness.
        charset (str | list[str]): characters to draw from (ignored with ``words``).
        min_len (int): shortest text, in characters (dictionary entries).
        max_len (int): longest text.
        words (list[str] | None): word list to draw from instead of single characters.

    Returns:
        str: the text.

    Raises:
        ConfigError: lengths are invalid, the charset has no visible character, or no
            word combination fits ``min_len..max_len``.
    """
    if not (isinstance(min_len, int) and isinstance(max_len, int)) or min_len < 1 or max_len < min_len:
        raise ConfigError(
            f"min_len/max_len: expected integers with 1 <= min_len <= max_len, got {min_len!r}/{max_len!r}"
        )
    if words:
        return _random_words(rng, words, min_len, max_len)
    chars = charset if isinstance(charset, list) else _charset_list(charset)
    visible = [c for c in chars if not c.isspace()]
    if not visible:
        raise ConfigError(f"charset: {chars!r} has no visible character")
    has_space = len(visible) != len(chars)
    length = int(rng.integers(min_len, max_len + 1))
    out = []
    for i in range(length):
        edge = i == 0 or i == length - 1 or out[-1].isspace()
        pool = visible if (edge or not has_space) else chars
        out.append(pool[int(rng.integers(len(pool)))])
    return "".join(out)


def _random_words(rng, words, min_len, max_len):
    fitting = [w for w in words if len(w) <= max_len]
    if not fitting:
        raise ConfigError(f"words: no word is at most max_len={max_len} characters long")
    for _ in range(100):
        target = int(rng.integers(min_len, max_len + 1))
        text = fitting[int(rng.integers(len(fitting)))]
        while len(text) < target:
            word = fitting[int(rng.integers(len(fitting)))]
            if len(text) + 1 + len(word) > max_len:
                break
            text = text + " " + word
        if min_len <= len(text) <= max_len:
            return text
    raise ConfigError(
        f"words: cannot join words into a text of {min_len}..{max_len} characters (check min_len/max_len)"
    )


def read_word_list(path):
    """Read a word list: one word (or phrase) per line, UTF-8; blank lines are skipped.

    Args:
        path (str): the file.

    Raises:
        DataError: the file is missing, not UTF-8, empty, or a line holds a tab.
    """
    path = os.fspath(path)
    raw = read_utf8_text(path, "word list", "a UTF-8 file, one word per line", DataError)
    words = []
    for lineno, line in enumerate(raw.splitlines(), 1):
        word = line.strip()
        if not word:
            continue
        if "\t" in word:
            raise DataError(f"word list '{path}' line {lineno}: a word cannot contain a tab (labels are tab-separated)")
        words.append(" ".join(word.split()))
    if not words:
        raise DataError(f"word list '{path}' is empty (expected one word per line)")
    return words
