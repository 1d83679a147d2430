"""One reader for every TOML file notifsim loads (scenarios, policies, experiments).

A file must be UTF-8 text (the byte offset of the first bad byte is named),
valid TOML (line and column of the mistake), a table at the top, and no
deeper than :data:`MAX_DEPTH` tables and lists; anything else raises
:class:`~notifsim.errors.ConfigError` naming the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError, check_text

#: Tables and lists nested deeper than this are refused (the deepest real file nests 4).
MAX_DEPTH = 16

#: Files larger than this are refused before they are read (bytes; the largest shipped file is about 3 KB).
MAX_BYTES = 64 * 1024 * 1024


def read_toml(path: str | os.PathLike, field: str) -> dict[str, Any]:
    """The top-level table of the TOML file at ``path``; :class:`ConfigError` naming ``field`` otherwise."""
    path = Path(path)
    shown = repr(str(path))
    try:
        if path.is_dir():
            raise ConfigError(field, f"{shown} is a directory; give a .toml file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(field, f"{shown} is {size:,} bytes; a TOML file notifsim reads is at most {MAX_BYTES:,}")
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(field, f"cannot read {shown}: {exc.strerror or exc}") from None
    return parse_toml(raw, field, shown)


def parse_toml(raw: bytes | str, field: str, source: str = "the text") -> dict[str, Any]:
    """The top-level table of TOML text (bytes must be UTF-8); :class:`ConfigError` naming ``field`` and ``source`` otherwise."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(field, f"{source} is not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x}); save it as UTF-8") from None
    else:
        text = raw
    if "\x00" in text:
        raise ConfigError(field, f"{source} is not text (it contains a NUL byte at character {text.index(chr(0))})")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(field, f"{source} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(field, f"{source} nests tables or lists too deeply (at most {MAX_DEPTH} levels)") from None
    check_depth(data, field, source)
    return data


def check_depth(value: Any, field: str, source: str = "the text") -> None:
    """Refuse values nested more than :data:`MAX_DEPTH` tables or lists deep (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(field, f"{source} nests tables or lists {depth} deep; at most {MAX_DEPTH} levels are allowed")
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item)


def table(value: Any, field: str, what: str = "a table") -> dict[str, Any]:
    """``value`` if it is a table (mapping with string keys), else a :class:`ConfigError` saying what was found."""
    if not isinstance(value, Mapping):
        raise ConfigError(field, f"must be {what}; got {type_name(value)} {short(value)}")
    return dict(value)


def name_and_description(data: Mapping[str, Any], default_name: str) -> tuple[str, str]:
    """A file's ``name`` (a non-empty string, ``default_name`` when absent) and ``description`` (a string)."""
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ConfigError("name", f"must be a non-empty string; got {name!r}")
    check_text(name, "name", 200)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", f"must be a string; got {description!r}")
    return name, description


def type_name(value: Any) -> str:
    """The TOML word for a Python value's type: string, integer, float, boolean, table, array, datetime."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    return f"a {type(value).__name__}"


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so a message stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
