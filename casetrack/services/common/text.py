"""Text from outside: what may be stored, and what every writer (xlsx, docx, XML) can hold."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

# The C0 controls but tab, line feed and carriage return; DEL and the C1 controls; lone
# surrogates (no database encodes them); U+FFFE and U+FFFF. XML 1.0 and Excel refuse most of
# them, and no one types any of them.
_NEVER = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
NEVER = re.compile(f"[{_NEVER}]")
NOT_ONE_LINE = re.compile(f"[\t\n\r{_NEVER}]")
SURROGATE = re.compile("[\ud800-\udfff]")


def text_error(value: Any, one_line: bool = True) -> str | None:
    """What is wrong with the characters of a text (a title, a name: `one_line`), or None."""
    if not isinstance(value, str) or not (NOT_ONE_LINE if one_line else NEVER).search(value):
        return None
    if SURROGATE.search(value):
        return _("This text holds an invalid character (a lone UTF-16 surrogate); send valid Unicode, please.")
    if NEVER.search(value):
        return _("Control characters (such as U+0001) cannot be stored; remove them, please.")
    return _("One line, please: no tabs or line breaks.")


def printable(value: Any) -> Any:
    """Text any writer can hold, even if stored before input was checked: each character XML
    and Excel refuse becomes U+FFFD. Anything else is returned as it is."""
    return NEVER.sub("\ufffd", value) if isinstance(value, str) else value
