"""How text parameters become words, identically for both engines.

Text is never spliced into a query language: it is split into lower-case word tokens (letters,
digits, underscore), and each engine receives the tokens as a plain value (OpenSearch `match` /
`multi_match`, PostgreSQL `plainto_tsquery` or a bound regex built only from word characters).
"""
from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 12


def words(value: str | None) -> list[str]:
    if not value:
        return []
    return _WORD.findall(value.lower())[:MAX_WORDS]
