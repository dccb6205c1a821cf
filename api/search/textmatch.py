"""How text parameters become words, identically for both engines.

Text is never spliced into a query language: it is split into lower-case word tokens (letters,
digits, underscore) with accents folded ("Chloé" -> "chloe"), and each engine receives the tokens as a
plain value (OpenSearch `match` / `multi_match`, whose analyser also folds accents; PostgreSQL
`plainto_tsquery` or a bound regex built only from word characters). PostgreSQL folds the stored
text with `translate()` over the same character table (`FOLD_FROM` -> `FOLD_TO`), passed as parameters.
"""
from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 12


def _fold_table() -> tuple[str, str]:
    """Lower-case Latin letters with diacritics -> their ASCII base letter (what asciifolding does to them)."""
    src, dst = [], []
    for cp in range(0xC0, 0x250):
        ch = chr(cp).lower()
        if ch in src or len(ch) != 1:
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if len(base) == 1 and base.isascii() and base.isalpha() and base != ch:
            src.append(ch)
            dst.append(base)
    for ch, base in (("ø", "o"), ("đ", "d"), ("ł", "l"), ("ı", "i"), ("ħ", "h"), ("ŧ", "t")):
        if ch not in src:
            src.append(ch)
            dst.append(base)
    return "".join(src), "".join(dst)


FOLD_FROM, FOLD_TO = _fold_table()
_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)


def fold(value: str) -> str:
    return value.lower().translate(_TABLE)


def words(value: str | None) -> list[str]:
    if not value:
        return []
    return _WORD.findall(fold(value))[:MAX_WORDS]


def fold_sql(expr: str) -> str:
    """SQL for the folded, lower-cased text of `expr` (needs `fold_params` in the query parameters)."""
    return f"translate(lower({expr}), :fold_from, :fold_to)"


def fold_params() -> dict[str, str]:
    return {"fold_from": FOLD_FROM, "fold_to": FOLD_TO}
