"""Load a YAML config file; every error names the file, the line and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from trunkline.config.schema import Config


class ConfigError(Exception):
    """A configuration that cannot be used; ``str()`` is the message for the operator."""


def load_config(path: str | Path | None) -> Config:
    """The embedded defaults when ``path`` is None, else the validated file."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_config(text, str(path))


def parse_config(text: str, name: str = "<config>") -> Config:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{name}:1: the top level must be a mapping of settings")
    lines = _line_map(root) if root is not None else {}
    duplicate = _first_duplicate_key(root)
    if duplicate is not None:  # YAML keeps the last silently: a setting the operator lost
        dup_line, path = duplicate
        field = ".".join(str(p) for p in path)
        raise ConfigError(f"{name}:{dup_line}: {field}: duplicate key (set once)")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = _closest_line(lines, loc)
        field = ".".join(str(p) for p in loc) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{name}:{line}: {field}: {message}{more}") from None


def _line_map(node: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Path of every YAML node (keys and indexes) -> its 1-based line."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            lines[sub] = key.start_mark.line + 1
            lines.update({k: v for k, v in _line_map(value, sub).items() if k != sub})
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_line_map(item, (*path, i)))
    return lines


def _first_duplicate_key(
    node: Any, path: tuple[Any, ...] = ()
) -> tuple[int, tuple[Any, ...]] | None:
    """(line, path) of the first mapping key given twice, or None."""
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            sub = (*path, key.value)
            if key.value in seen:
                return key.start_mark.line + 1, sub
            seen.add(key.value)
            found = _first_duplicate_key(value, sub)
            if found is not None:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _first_duplicate_key(item, (*path, i))
            if found is not None:
                return found
    return None


def _closest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1
