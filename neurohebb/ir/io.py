"""Reading and writing network documents (YAML + an optional .npz beside it)."""
from __future__ import annotations

import json
import typing
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from ..errors import NetworkError, known
from .schema import Network
from .validate import validate

NPZ_PREFIX = "npz:"
INLINE_MAX = 64  # arrays with more elements go to the .npz on save


def _resolve_npz(obj, arrays, path, problems, npz_path):
    if isinstance(obj, dict):
        return {k: _resolve_npz(v, arrays, f"{path}.{k}" if path else str(k), problems, npz_path) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_resolve_npz(v, arrays, f"{path}[{i}]", problems, npz_path) for i, v in enumerate(obj)]
    if isinstance(obj, str) and obj.startswith(NPZ_PREFIX):
        key = obj[len(NPZ_PREFIX):]
        if arrays is None:
            problems.append((path, f"refers to {obj!r} but there is no {npz_path.name} beside the document"))
            return obj
        if key not in arrays:
            problems.append((path, f"{obj!r}: no array {key!r} in {npz_path.name}; it holds: {known(arrays)}"))
            return obj
        return arrays[key]
    return obj


def _loc_to_path(loc, data) -> tuple[str, list]:
    """Dotted path of a pydantic error location, without union tags."""
    parts: list[str] = []
    cur = data
    for comp in loc:
        if isinstance(cur, dict) and comp not in cur and isinstance(comp, str):
            tag = next((cur.get(t) for t in ("type", "init", "template") if cur.get(t) == comp), None)
            if tag is not None or comp.startswith("function-"):
                continue
        if isinstance(comp, int):
            parts.append(f"[{comp}]")
        else:
            parts.append(("." if parts else "") + str(comp))
        try:
            cur = cur[comp]
        except (KeyError, IndexError, TypeError):
            cur = None
    return "".join(parts), loc


def _unwrap(ann):
    """Strip Optional/Annotated to the model class or container."""
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(ann)[0])
    if origin is typing.Union:
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return args if len(args) > 1 else _unwrap(args[0])
    return ann


def _model_at(loc, data):
    """The pydantic model class whose fields an error location points into."""
    cls: typing.Any = Network
    cur = data
    for comp in loc[:-1]:
        if isinstance(cls, list):  # a union: choose by the tag in the data
            tagged = [c for c in cls if isinstance(c, type) and issubclass(c, BaseModel)]
            match = None
            for c in tagged:
                for tag in ("type", "init", "template"):
                    f = c.model_fields.get(tag)
                    if f is not None and isinstance(cur, dict) and cur.get(tag) == f.default:
                        match = c
            if match is None:
                return None
            cls = match
            if comp == cls.model_fields.get("type", cls.model_fields.get("init", cls.model_fields.get("template"))).default:
                continue
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            if comp not in cls.model_fields:
                return None
            cls = _unwrap(cls.model_fields[comp].annotation)
        elif typing.get_origin(cls) in (dict, typing.Dict):
            cls = _unwrap(typing.get_args(cls)[1])
        elif typing.get_origin(cls) in (list, typing.List):
            cls = _unwrap(typing.get_args(cls)[0])
        else:
            return None
        try:
            cur = cur[comp]
        except (KeyError, IndexError, TypeError):
            cur = None
    if isinstance(cls, list):
        for c in cls:
            if isinstance(c, type) and issubclass(c, BaseModel):
                for tag in ("type", "init", "template"):
                    f = c.model_fields.get(tag)
                    if f is not None and isinstance(cur, dict) and cur.get(tag) == f.default:
                        return c
        return None
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def format_validation_error(exc: ValidationError, data) -> list[tuple[str, str]]:
    problems = []
    for err in exc.errors(include_url=False):
        path, loc = _loc_to_path(err["loc"], data)
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        kind = err["type"]
        if kind == "extra_forbidden":
            model = _model_at(err["loc"], data)
            allowed = f"; allowed: {', '.join(model.model_fields)}" if model else ""
            field = path.rsplit(".", 1)[-1]
            problems.append((path, f"unknown field {field!r}{allowed}"))
            continue
        if kind == "missing":
            problems.append((path, "required field is missing"))
            continue
        if kind == "union_tag_invalid":
            ctx = err.get("ctx", {})
            tags = str(ctx.get("expected_tags", "")).replace("'", "")
            problems.append((f"{path}.{ctx.get('discriminator', '').strip(chr(39))}" if path else ctx.get("discriminator", ""),
                             f"unknown {ctx.get('discriminator', '').strip(chr(39))} {ctx.get('tag')!r}; known: {tags}"))
            continue
        if kind == "union_tag_not_found":
            ctx = err.get("ctx", {})
            problems.append((path, f"missing the field {ctx.get('discriminator')} that says which kind this is"))
            continue
        inp = err.get("input")
        if kind not in ("union_tag_invalid", "union_tag_not_found") and not isinstance(inp, (dict, np.ndarray)):
            shown = repr(inp)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            msg = f"{msg} (found {shown})"
        problems.append((path, msg))
    return problems


def from_dict(data, source: str | None = None, arrays=None, npz_path: Path | None = None) -> Network:
    """Validate a plain dict (as read from YAML) into a :class:`Network`."""
    if not isinstance(data, dict):
        raise NetworkError([("", f"a network document is a mapping with 'populations', 'projections', ...; found {type(data).__name__}")], source)
    problems: list = []
    data = _resolve_npz(data, arrays, "", problems, npz_path or Path("arrays.npz"))
    if problems:
        raise NetworkError(problems, source)
    try:
        net = Network.model_validate(data)
    except ValidationError as exc:
        raise NetworkError(format_validation_error(exc, data), source) from None
    return validate(net, source)


def load(path) -> Network:
    """Read and validate ``path`` (YAML); arrays ``npz:KEY`` come from ``path.npz``."""
    path = Path(path)
    if not path.exists():
        raise NetworkError([("", "file not found")], str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise NetworkError([("", f"not valid YAML: {where}{getattr(exc, 'problem', exc)}")], str(path)) from None
    npz = path.with_suffix(".npz")
    arrays = dict(np.load(npz, allow_pickle=False)) if npz.exists() else None
    return from_dict(data, str(path), arrays, npz)


TAGS = ("type", "init", "template")


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    try:
        return bool(a == b)
    except Exception:  # pragma: no cover
        return False


def _dump(obj):
    """Like ``model_dump(exclude_defaults=True)`` but keeps union tags."""
    if isinstance(obj, BaseModel):
        out = {}
        for name, f in type(obj).model_fields.items():
            val = getattr(obj, name)
            if name not in TAGS and not f.is_required() and _same(val, f.get_default(call_default_factory=True)):
                continue
            out[name] = _dump(val)
        return out
    if isinstance(obj, dict):
        return {k: _dump(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_dump(v) for v in obj]
    return obj


def to_dict(net: Network, arrays: dict | None = None) -> dict:
    """Plain data for YAML.  Arrays larger than ``INLINE_MAX`` go into
    ``arrays`` (written to the .npz) when it is given."""
    raw = {"format_version": net.format_version, **_dump(net)}
    raw.pop("format_version", None)
    raw = {"format_version": net.format_version, **raw}

    def conv(obj, path):
        if isinstance(obj, dict):
            return {k: conv(v, f"{path}.{k}" if path else k) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [conv(v, f"{path}.{i}") for i, v in enumerate(obj)]
        if isinstance(obj, np.ndarray):
            if arrays is not None and obj.size > INLINE_MAX:
                key = path.replace(".", "__")
                arrays[key] = obj
                return NPZ_PREFIX + key
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        return obj

    return conv(raw, "")


def save(net: Network, path) -> Path:
    """Write ``path`` (YAML) and, if there are large arrays, ``path.npz``."""
    path = Path(path)
    arrays: dict = {}
    data = to_dict(net, arrays)
    path.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100))
    npz = path.with_suffix(".npz")
    if arrays:
        np.savez_compressed(npz, **arrays)
    elif npz.exists():
        npz.unlink()
    return path


def json_schema() -> dict:
    return Network.model_json_schema()


def write_json_schema(path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(json_schema(), indent=1) + "\n")
    return path
