"""Reading and writing network documents (YAML + an optional .npz beside it)."""
from __future__ import annotations

import json
import reprlib
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

#: limits of the reading path (a document larger, deeper or with more nodes
#: after alias expansion is refused before it is built)
MAX_DOCUMENT_BYTES = 64 * 2**20
MAX_DEPTH = 64
MAX_NODES = 2_000_000


class _Refused(Exception):
    """A limit of the reading path; ``mark`` is a YAML position (or None)."""

    def __init__(self, message, mark=None):
        super().__init__(message)
        self.mark = mark


def _at(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data only, no Python objects) that refuses
    nesting deeper than :data:`MAX_DEPTH` and duplicate mapping keys."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    key = (key_node.tag, key_node.value)
                    if key in seen:
                        first = seen[key]
                        raise _Refused(f"duplicate key {key_node.value!r} (first at line {first.line + 1}); "
                                       "every key may appear once in a mapping", key_node.start_mark)
                    seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _check_graph(root):
    """Refuse recursive aliases, and documents that expand (through aliases)
    to more than MAX_NODES nodes or deeper than MAX_DEPTH levels."""
    memo: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def visit(node, depth):
        key = id(node)
        if key in active:
            raise _Refused("a recursive alias (a node that contains itself)", node.start_mark)
        if key in memo:
            size, sub = memo[key]
        else:
            active.add(key)
            size, sub = 1, 0
            if isinstance(node, yaml.SequenceNode):
                children = node.value
            elif isinstance(node, yaml.MappingNode):
                children = [c for kv in node.value for c in kv]
            else:
                children = ()
            for c in children:
                if depth + 1 + 1 > MAX_DEPTH:
                    raise _Refused(f"nesting deeper than {MAX_DEPTH} levels (after expanding aliases)", c.start_mark)
                cs, cd = visit(c, depth + 1)
                size += cs
                sub = max(sub, cd + 1)
                if size > MAX_NODES:
                    raise _Refused(f"the document expands (through aliases) to more than {MAX_NODES} nodes",
                                   node.start_mark)
            active.discard(key)
            memo[key] = (size, sub)
        if depth + sub > MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels (after expanding aliases)", node.start_mark)
        return size, sub

    visit(root, 0)


def _positions(root) -> dict[str, tuple[int, int]]:
    """Field path (as in error messages) -> (line, column), 1-based."""
    out: dict[str, tuple[int, int]] = {}
    stack = [(root, "")]
    visited: set[int] = set()  # an aliased node is walked once (its first path)
    while stack and len(visited) < 200_000:
        node, path = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    p = f"{path}.{k.value}" if path else str(k.value)
                    out.setdefault(p, (k.start_mark.line + 1, k.start_mark.column + 1))
                    stack.append((v, p))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                if isinstance(v, (yaml.MappingNode, yaml.SequenceNode)):
                    p = f"{path}[{i}]"
                    out.setdefault(p, (v.start_mark.line + 1, v.start_mark.column + 1))
                    stack.append((v, p))
    return out


def read_text(path: Path) -> str:
    """The document's bytes as text: UTF-8 (a BOM is allowed), at most
    :data:`MAX_DOCUMENT_BYTES`; a clear :class:`NetworkError` otherwise."""
    src = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise NetworkError([("", f"{size} bytes; a network document may have at most {MAX_DOCUMENT_BYTES} "
                                     "(put large arrays in the .npz beside it)")], src)
        data = path.read_bytes()
    except IsADirectoryError:
        raise NetworkError([("", "is a directory, not a network document")], src) from None
    except OSError as exc:
        raise NetworkError([("", f"cannot read: {exc.strerror or exc}")], src) from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise NetworkError([("", f"more than {MAX_DOCUMENT_BYTES} bytes; a network document may have at most that")], src)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise NetworkError([("", f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {col} "
                                 f"(offset {exc.start}); save the document as UTF-8")], src) from None
    if "\x00" in text:
        i = text.index("\x00")
        raise NetworkError([("", f"not a text document: a NUL character at line {text.count(chr(10), 0, i) + 1}")], src)
    return text


def parse_yaml(text: str, source: str | None = None):
    """``text`` as plain data with the safe loader (no duplicate keys, limited
    nesting and alias expansion); returns ``(data, positions)``."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_graph(node)
        positions = _positions(node)
        data = loader.construct_document(node)
    except _Refused as exc:
        raise NetworkError([("", f"{_at(exc.mark)}{exc}")], source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise NetworkError([("", f"not valid YAML: {_at(mark)}{getattr(exc, 'problem', None) or exc}")], source) from None
    except (RecursionError, MemoryError):
        raise NetworkError([("", "not readable: the YAML is nested too deeply or too large")], source) from None
    finally:
        loader.dispose()
    return data, positions


# ---------------------------------------------------------------- the .npz beside a document
class NpzArrays:
    """The arrays of an .npz, read lazily: only the keys a document refers to
    are read, each after its header (dtype, shape, size) has been checked;
    object (pickled) arrays are refused.  Errors are ``(path, message)``
    problems naming the referring field."""

    def __init__(self, path: Path, max_bytes: int | None = None):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._zip = None
        self._error = None
        self._names = None

    def _open(self):
        import zipfile

        if self._zip is None and self._error is None:
            try:
                self._zip = zipfile.ZipFile(self.path)
                self._names = {n[:-4]: n for n in self._zip.namelist() if n.endswith(".npy")}
            except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
                self._error = f"{self.path.name} is not a readable .npz (a zip of .npy arrays): {exc}"
        return self._error

    def keys(self):
        return [] if self._open() else list(self._names)

    def close(self):
        if self._zip is not None:
            self._zip.close()

    def get(self, key: str, field: str):
        """``(array, None)`` or ``(None, message)``."""
        from .common import MAX_ARRAY_ELEMENTS

        err = self._open()
        if err:
            return None, err
        if key not in self._names:
            return None, f"no array {key!r} in {self.path.name}; it holds: {known(self._names)}"
        name = f"{self.path.name}[{key!r}]"
        info = self._zip.getinfo(self._names[key])
        try:
            with self._zip.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                elif version in ((2, 0), (3, 0)):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
                else:
                    return None, f"{name}: unsupported .npy format version {version}"
                if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
                    return None, (f"{name} has dtype {dtype}; allowed: booleans, integers or real floats "
                                  "(object/pickled arrays are never loaded)")
                count = int(np.prod(shape, dtype=object)) if shape else 1
                nbytes = count * dtype.itemsize
                if count > MAX_ARRAY_ELEMENTS:
                    return None, f"{name} has shape {shape} ({count} elements); at most {MAX_ARRAY_ELEMENTS} are allowed"
                if self.max_bytes is not None and nbytes > self.max_bytes:
                    return None, f"{name} needs {nbytes / 2**30:.3g} GB; {self.max_bytes / 2**30:.3g} GB are available"
                header = fh.tell()
                if info.file_size < header + nbytes:
                    return None, (f"{name} is truncated: its header says {shape} {dtype} ({nbytes} bytes) but the "
                                  f"file holds {info.file_size - header}")
                raw = fh.read(nbytes)
            if len(raw) != nbytes:
                return None, f"{name} is truncated"
            arr = np.frombuffer(raw, dtype=dtype)
            arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
            arr = np.array(arr)  # own, writable copy
        except (OSError, ValueError, EOFError, RuntimeError) as exc:  # zipfile/zlib raise these for corrupt data
            return None, f"{name} cannot be read: {exc}"
        except Exception as exc:  # zlib.error and friends
            return None, f"{name} cannot be read: {type(exc).__name__}: {exc}"
        if dtype.kind == "f" and not np.all(np.isfinite(arr)):
            bad = np.argwhere(~np.isfinite(arr))[0] if arr.ndim else ()
            return None, f"{name} contains NaN or infinity (first at index {list(map(int, bad))}); every value must be finite"
        return arr, None


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
        if isinstance(arrays, NpzArrays):
            arr, err = arrays.get(key, path)
            if err:
                problems.append((path, f"{obj!r}: {err}"))
                return obj
            return arr
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


_SHORT = reprlib.Repr()
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 8
_SHORT.maxlevel = 3
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 60


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
            shown = _SHORT.repr(inp)  # bounded: an input may be a list of a million elements
            if len(shown) > 60:
                shown = shown[:57] + "..."
            msg = f"{msg} (found {shown})"
        problems.append((path, msg))
    return problems


def from_dict(data, source: str | None = None, arrays=None, npz_path: Path | None = None, positions=None) -> Network:
    """Validate a plain dict (as read from YAML) into a :class:`Network`.
    ``positions``: field path -> (line, column), added to messages."""
    if not isinstance(data, dict):
        raise NetworkError([("", f"a network document is a mapping with 'populations', 'projections', ...; found {type(data).__name__}")], source)
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise NetworkError([("", f"top-level key {bad_keys[0]!r} is not a field name; allowed: {', '.join(Network.model_fields)}")], source)
    problems: list = []
    data = _resolve_npz(data, arrays, "", problems, npz_path or Path("arrays.npz"))
    if problems:
        raise _placed(NetworkError(problems, source), positions)
    try:
        net = Network.model_validate(data)
    except ValidationError as exc:
        raise _placed(NetworkError(format_validation_error(exc, data), source), positions) from None
    try:
        return validate(net, source)
    except NetworkError as exc:
        raise _placed(exc, positions) from None


def _placed(exc: NetworkError, positions) -> NetworkError:
    """``exc`` with ``(line L, column C)`` after each problem whose field (or
    its nearest parent) has a known position."""
    if not positions:
        return exc
    out = []
    for path, msg in exc.problems:
        p = path
        while p and p not in positions:
            cut = max(p.rfind("."), p.rfind("["))
            p = p[:cut] if cut > 0 else ""
        out.append((path, f"{msg} (line {positions[p][0]}, column {positions[p][1]})" if p else msg))
    return NetworkError(out, exc.source)


def load(path) -> Network:
    """Read and validate ``path`` (YAML); arrays ``npz:KEY`` come from ``path.npz``.

    The reading path cannot crash: bytes -> UTF-8 text -> YAML (safe loader;
    duplicate keys, nesting deeper than :data:`MAX_DEPTH` and alias expansion
    beyond :data:`MAX_NODES` are refused) -> the schema -> cross-field checks
    -> a memory estimate of the run.  Arrays of the .npz are read only when
    referenced, each checked (dtype, shape, size, finite) before it is read.
    Every failure is a :class:`NetworkError` naming the file and the field
    (or line and column)."""
    path = Path(path)
    if not path.exists():
        raise NetworkError([("", "file not found")], str(path))
    text = read_text(path)
    data, positions = parse_yaml(text, str(path))
    npz = path.with_suffix(".npz")
    arrays = NpzArrays(npz) if npz.is_file() else None
    try:
        return from_dict(data, str(path), arrays, npz, positions)
    finally:
        if arrays is not None:
            arrays.close()


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
