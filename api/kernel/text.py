"""The one rule for text the API accepts: no control characters but tab, line feed and carriage return.

Refused anywhere in a request (JSON keys and values, query parameters, form fields, the path, chat
frames): C0 control characters U+0000-U+001F except \\t \\n \\r, DEL (U+007F), and unpaired UTF-16
surrogates (U+D800-U+DFFF). PostgreSQL cannot store NUL in text and no surrogate encodes as UTF-8, so
such input used to fail deep in the database driver as a 500; the others are invisible, reorder or
recolour what people see (terminal escapes in logs, names that look alike). Refusing (422 naming the
field) rather than stripping keeps one behaviour for every field, free-form or not: what is stored
is exactly what was sent. C1 controls and other Unicode format characters are allowed.
"""
from __future__ import annotations

import re

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` is refused (the reason of a field error), or None when it is acceptable."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        return f"contains an unpaired surrogate (U+{ord(char):04X}), which is not valid text"
    return (f"contains a control character (U+{ord(char):04X}); "
            "only tab, line feed and carriage return are allowed")


def check_text(value: str) -> str:
    """A pydantic AfterValidator: the value unchanged, or ValueError with the reason."""
    reason = text_problem(value)
    if reason is not None:
        raise ValueError(reason)
    return value
