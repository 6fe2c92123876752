"""The data-only channel between the trusted grader and a student's kernel.

The grader never receives an object from a kernel, only data.  For each call it writes a
request (which function, and its arguments) to a file beside the kernel's sockets, creates
an empty reply file there for the kernel to fill, and executes :data:`KERNEL_CALL` in the
kernel; the kernel reads the request, calls the function and writes its answer into the
reply file, which the grader reads back and deletes (:func:`prepare_call`).  The kernel
never creates or removes a file: it reads the request and writes into the file it was given.

A message (request or reply) is binary::

    magic     8 bytes   b"PKCHAN1\\n"
    length    8 bytes   little-endian unsigned: the header's size in bytes
    header    JSON      {"value": <tagged value>, "arrays": [<array entry>, ...]}
    payload   the arrays' raw bytes, each at its entry's offset (counted from here)

The tagged value says what each piece of data is, so that a tuple stays a tuple and a float
is exact: ``{"int": "-12"}`` (decimal text), ``{"float": "0x1.8p+1"}`` (``float.hex``, so
``-0.0``, ``nan`` and ``inf`` survive), ``{"str": ...}``, ``{"none": true}``,
``{"bool": ...}``, ``{"tuple": [...]}``, ``{"list": [...]}``, ``{"dict": [[key, value],
...]}`` (string keys), ``{"scalar": "<f4", "value": ...}`` (a NumPy scalar; a NumPy bool
travels as a bool), ``{"array": i}`` (entry ``i`` of the array table, each entry used exactly
once) and, from the kernel only, ``{"object": "torch.Tensor"}`` for a value that is not data
(it arrives as an :class:`Unreadable` placeholder, so that a message can say "your result is
a Tensor").  An array entry is ``{"dtype": "<f8", "shape": [600, 600], "offset": 0,
"nbytes": 2880000}``: the dtype is one of :data:`DTYPES` (bool, int8..int64, uint8..uint64,
float16/32/64), always little-endian on the wire (a big-endian array is converted before it
is sent, and arrays arrive in the receiver's native order); the bytes are in C order, and
the arrays lie in the payload in table order without overlapping, so that no byte is
counted twice.  A message is at most :data:`MAX_MESSAGE_BYTES`, also on the kernel's side:
an array or a whole result too large to send arrives as a placeholder.

What the grader accepts from a kernel (:func:`decode` for bytes, :func:`read_reply_file`
for the reply file), each check before anything it guards is read or allocated:

- the reply file is opened without following links or blocking, and must be the regular
  file the grader created, non-empty and no larger than :data:`MAX_MESSAGE_BYTES` (by
  ``fstat``): a huge, sparse or endless file costs nothing;
- the header is at most :data:`MAX_HEADER_BYTES` of UTF-8 JSON, parsed by ``json.loads``
  with ``NaN``/``Infinity``, bare floats, long integers and repeated keys refused and a
  nesting that exhausts the recursion limit caught; values nest at most :data:`MAX_DEPTH`
  levels and name at most :data:`MAX_PLACEHOLDER_TYPES` types that are not data;
- each array entry: a dtype from the allow-list (checked as a string before NumPy sees
  it), at most :data:`MAX_NDIM` dimensions, no negative size, at most
  :data:`MAX_ELEMENTS` elements, ``nbytes == prod(shape) * itemsize``, an offset at or
  after the previous array's end and an end inside the payload, which must end with the
  last array (so a truncated or padded message is refused); at most :data:`MAX_ARRAYS`;
- integers of at most :data:`MAX_INT_DIGITS` digits, floats only as ``float.hex`` text,
  scalars within their dtype's range.

Each array is a fresh ``np.empty`` of the checked dtype and shape (C-contiguous, writable,
owned by nobody else) into which the received bytes are copied once, straight from the file;
a bool array's bytes are read as ``!= 0``.  Nothing is unpickled, no object is built but the
plain types above and the placeholders, and no code runs: a student's code can make a reply
say anything, and a reply costs the grader at most :data:`MAX_MESSAGE_BYTES` for its arrays
and about 25 times :data:`MAX_HEADER_BYTES` to parse its header, but it cannot make the
grader run code, and the kernel never sees an expected value.  Anything else is a
:class:`ChannelError` that says what was wrong.

The kernel side (:data:`KERNEL_HELPERS`, installed by :data:`KERNEL_CALL`) uses only the
standard library and NumPy, so that it runs in the NumPy-only kernel too.  The function that
turns a value into a message is the same source on both sides (:data:`_PACK_SOURCE`): the
grader runs it with a hook that refuses a value that is not data, the kernel with one that
sends a placeholder.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import stat
import struct
from dataclasses import dataclass

import numpy as np

from poolgrade.sandbox.bwrap import SANDBOX_UID

MAGIC = b"PKCHAN1\n"
PREFIX = struct.Struct("<8sQ")             # magic, header length
MAX_MESSAGE_BYTES = 64 * 2**20             # the lessons exchange arrays of a few MB at most
MAX_HEADER_BYTES = 2**20                   # parsed, it costs the grader about 25x this
MAX_DEPTH = 20
MAX_NDIM = 32
MAX_ELEMENTS = MAX_MESSAGE_BYTES           # an element is at least one byte
MAX_ARRAYS = 4096
MAX_INT_DIGITS = 4300                      # Python's own limit for int <-> str
MAX_PLACEHOLDER_TYPES = 64                 # each is a class: bounded, not one per value
ALIGN = 64                                 # the writer aligns every array to this
DTYPES = ("|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8")
SCALAR_DTYPES = DTYPES[1:]                 # a NumPy bool travels as a Python bool

_ITEMSIZE = {name: np.dtype(name).itemsize for name in DTYPES}
_INT_TEXT = re.compile(rf"-?(0|[1-9][0-9]{{0,{MAX_INT_DIGITS - 1}}})")
_MAX_FLOAT_TEXT = 32                       # '-0x1.fffffffffffffp+1023' is 24 characters


class ChannelError(Exception):
    """A reply that is not well-formed data (or a value that cannot be sent)."""


class Unreadable:
    """Stands for a value the kernel could not send as data (a torch tensor, an object).

    Subclasses are made per type name, so that messages such as ``your result is a
    Tensor`` name what the student returned."""

    remote_type = "object"

    def __repr__(self):
        return f"<{self.remote_type} from the student's kernel>"


def _unreadable_type(type_name: str) -> type:
    """The placeholder class for ``type_name``: ``torch.Tensor`` -> a class ``Tensor``."""
    short = "".join(ch for ch in type_name.rpartition(".")[2] if ch.isalnum() or ch == "_")
    return type(short[:80] or "object", (Unreadable,), {"remote_type": type_name[:80]})


# --------------------------------------------------------------------------- both sides
# The value -> message function, as source: the grader executes it here (below) and sends
# it to the kernel in KERNEL_HELPERS, so both sides write messages the same way.  It uses
# only the standard library and NumPy, and only names it defines or imports.

_PACK_SOURCE = r'''
def _poolkit_pack(value, unsendable):
    """``value`` (plain data) -> the message, as a list of buffers to write in order.
    ``unsendable(v, what)`` returns the tag for a value that is not data (or raises);
    ValueError when the value nests too deeply or the message would be too large."""
    import json
    import struct

    import numpy

    max_depth, max_message, max_header = __MAX_DEPTH__, __MAX_MESSAGE_BYTES__, \
        __MAX_HEADER_BYTES__
    dtypes, scalar_dtypes, align = __DTYPES__, __SCALAR_DTYPES__, __ALIGN__
    arrays, table = [], []
    end = [0]       # where the payload ends so far

    def tag(v, depth):
        if depth > max_depth:
            raise ValueError("channel limit: nested more than %d levels deep" % max_depth)
        t = type(v)
        if t is numpy.ndarray:
            wire = v.dtype.newbyteorder("<")
            if wire.str not in dtypes or v.dtype.fields is not None:
                return unsendable(v, "numpy.ndarray of dtype %s" % v.dtype)
            offset = end[0] + (-end[0] % align)
            if v.nbytes > max_message - offset:
                return unsendable(v, "numpy.ndarray of %d bytes (over the channel "
                                  "limit)" % v.nbytes)
            a = v.astype(wire, order="C", copy=False)
            arrays.append((offset, a.reshape(-1).view(numpy.uint8)))
            table.append({"dtype": wire.str, "shape": list(a.shape), "offset": offset,
                          "nbytes": a.nbytes})
            end[0] = offset + a.nbytes
            return {"array": len(table) - 1}
        if t is bool or t is numpy.bool_:
            return {"bool": bool(v)}
        if isinstance(v, numpy.generic) and t.__module__ == "numpy":
            wire = v.dtype.newbyteorder("<").str
            if wire not in scalar_dtypes:
                return unsendable(v, None)
            return {"scalar": wire, "value": tag(v.item(), depth + 1)}
        if t is int:
            return {"int": str(v)}
        if t is float:
            return {"float": v.hex()}
        if t is str:
            return {"str": v}
        if v is None:
            return {"none": True}
        if t is tuple or t is list:
            return {t.__name__: [tag(x, depth + 1) for x in v]}
        if t is dict and all(type(k) is str for k in v):
            return {"dict": [[k, tag(x, depth + 1)] for k, x in v.items()]}
        return unsendable(v, None)

    tagged = tag(value, 0)
    header = json.dumps({"value": tagged, "arrays": table}, separators=(",", ":"),
                        allow_nan=False).encode("ascii")
    header += b" " * (-(16 + len(header)) % align)     # the payload starts aligned
    if len(header) > max_header:
        raise ValueError("channel limit: a header of %d bytes, over %d"
                         % (len(header), max_header))
    if 16 + len(header) + end[0] > max_message:
        raise ValueError("channel limit: a message of %d bytes, over %d"
                         % (16 + len(header) + end[0], max_message))
    parts = [__MAGIC__ + struct.pack("<Q", len(header)) + header]
    written = 0
    for offset, data in arrays:
        if offset > written:
            parts.append(bytes(offset - written))
        if data.size:
            parts.append(data)
        written = offset + data.size
    return parts
'''


def _kernel_source(source: str) -> str:
    for name, value in (("__MAX_DEPTH__", MAX_DEPTH), ("__MAX_MESSAGE_BYTES__",
                                                      MAX_MESSAGE_BYTES),
                        ("__MAX_HEADER_BYTES__", MAX_HEADER_BYTES), ("__DTYPES__", DTYPES),
                        ("__SCALAR_DTYPES__", SCALAR_DTYPES), ("__ALIGN__", ALIGN),
                        ("__MAGIC__", MAGIC)):
        source = source.replace(name, repr(value))
    return source


_shared: dict = {}
exec(compile(_kernel_source(_PACK_SOURCE), "<poolkit channel>", "exec"), _shared)  # our source
_pack = _shared["_poolkit_pack"]


# --------------------------------------------------------------------------- trusted side


def _refuse(value, what):
    raise ChannelError(f"cannot send {what or 'a ' + type(value).__name__} to the kernel")


def message_parts(value) -> list:
    """Plain data -> the message as buffers to write in order (``b"".join`` them for the
    bytes).  Arrays are not copied when they are already C-ordered and little-endian."""
    try:
        return _pack(value, _refuse)
    except ValueError as err:
        raise ChannelError(f"cannot send this value to the kernel: {err}") from None


def encode(value) -> bytes:
    """Plain data -> one message (the grader's arguments, in the tests)."""
    return b"".join(message_parts(value))


def _refuse_json_constant(name):
    raise ValueError(f"{name} is not allowed in a header")


def _refuse_json_float(text):
    raise ValueError("a bare number with a fraction is not allowed in a header")


def _short_json_int(text):
    if len(text) > 20:
        raise ValueError("an integer that long is not allowed in a header")
    return int(text)


def _unique_keys(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a header object repeats a key")
    return out


def _parse_header(raw: bytes) -> dict:
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_refuse_json_constant,
                            parse_float=_refuse_json_float, parse_int=_short_json_int,
                            object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ChannelError("the header nests too deeply to parse") from None
    except ValueError as err:   # (UnicodeDecodeError and JSONDecodeError included)
        raise ChannelError(f"the header is not valid JSON ({str(err)[:200]})") from None
    if type(header) is not dict or header.keys() != {"value", "arrays"}:
        raise ChannelError("the header is not {'value': ..., 'arrays': [...]}")
    return header


def _array_table(entries, payload_bytes: int) -> list[tuple[str, tuple, int, int]]:
    """The header's array entries, checked against the limits and the payload's size:
    (dtype, shape, offset, element count) for each."""
    if type(entries) is not list or len(entries) > MAX_ARRAYS:
        raise ChannelError(f"the array table is not a list of at most {MAX_ARRAYS} entries")
    table, end = [], 0
    for i, entry in enumerate(entries):
        if type(entry) is not dict or entry.keys() != {"dtype", "shape", "offset", "nbytes"}:
            raise ChannelError(f"array {i}: not {{dtype, shape, offset, nbytes}}")
        dtype, shape, offset, nbytes = (entry[k] for k in ("dtype", "shape", "offset",
                                                           "nbytes"))
        if type(dtype) is not str or dtype not in _ITEMSIZE:
            raise ChannelError(f"array {i}: dtype {str(dtype)[:20]!r} is not allowed "
                               f"(only {', '.join(DTYPES)})")
        if type(shape) is not list or len(shape) > MAX_NDIM \
                or any(type(n) is not int or not 0 <= n <= MAX_ELEMENTS for n in shape):
            raise ChannelError(f"array {i}: the shape is not a list of at most {MAX_NDIM} "
                               f"sizes from 0 to {MAX_ELEMENTS}")
        count = math.prod(shape)
        if count > MAX_ELEMENTS:
            raise ChannelError(f"array {i}: {count} elements, over the limit of "
                               f"{MAX_ELEMENTS}")
        if type(nbytes) is not int or nbytes != count * _ITEMSIZE[dtype]:
            raise ChannelError(f"array {i}: nbytes does not match its shape and dtype")
        if type(offset) is not int or offset < end or offset > payload_bytes - nbytes:
            raise ChannelError(f"array {i}: its bytes overlap the previous array or lie "
                               f"past the end of the message (truncated?)")
        table.append((dtype, tuple(shape), offset, count))
        end = offset + nbytes
    if end != payload_bytes:
        raise ChannelError("the message goes on after its last array")
    return table


class _Reader:
    """Builds fresh values from a checked header and the message's bytes, which
    ``fill(destination, offset)`` copies (returning how many it copied)."""

    def __init__(self, fill, payload_start: int, table: list):
        self.fill, self.payload_start, self.table = fill, payload_start, table
        self.used = [False] * len(table)
        self.placeholders: dict[str, type] = {}

    def array(self, index) -> np.ndarray:
        if type(index) is not int or not 0 <= index < len(self.table) or self.used[index]:
            raise ChannelError("an array reference is out of range or used twice")
        self.used[index] = True
        dtype, shape, offset, count = self.table[index]
        wire = np.dtype(dtype)
        # A fresh array of the checked size, filled with the received bytes: the only
        # copy, straight from the reply file (a second buffer and copy cost milliseconds).
        out = np.empty(shape, dtype=np.uint8 if dtype == "|b1" else wire)
        if count and self.fill(memoryview(out).cast("B"),
                               self.payload_start + offset) != out.nbytes:
            raise ChannelError("the message ended inside an array (truncated?)")
        if dtype == "|b1":
            return np.minimum(out, 1, out=out).view(np.bool_)   # clean True/False
        if not wire.isnative:        # (on a big-endian machine)
            out = out.astype(wire.newbyteorder("="))
        return out

    def placeholder(self, type_name: str) -> Unreadable:
        cls = self.placeholders.get(type_name)
        if cls is None:
            if len(self.placeholders) >= MAX_PLACEHOLDER_TYPES:
                raise ChannelError(f"more than {MAX_PLACEHOLDER_TYPES} kinds of value that "
                                   f"are not data")
            cls = self.placeholders[type_name] = _unreadable_type(type_name)
        return cls()

    def value(self, tagged, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ChannelError(f"the value nests more than {MAX_DEPTH} levels deep")
        if type(tagged) is not dict:
            raise ChannelError("the value is not well-formed")
        if len(tagged) == 2 and tagged.keys() == {"scalar", "value"}:
            return self.scalar(tagged["scalar"], tagged["value"], depth)
        if len(tagged) != 1:
            raise ChannelError("the value is not well-formed")
        [(kind, body)] = tagged.items()
        if kind == "array":
            return self.array(body)
        if kind == "bool" and type(body) is bool:
            return body
        if kind == "int" and type(body) is str and _INT_TEXT.fullmatch(body):
            return int(body)
        if kind == "float" and type(body) is str and len(body) <= _MAX_FLOAT_TEXT:
            try:
                return float.fromhex(body)
            except (ValueError, OverflowError):
                raise ChannelError("a float is not float.hex text") from None
        if kind == "str" and type(body) is str:
            return body
        if kind == "none" and body is True:
            return None
        if kind in ("tuple", "list") and type(body) is list:
            items = [self.value(item, depth + 1) for item in body]
            return tuple(items) if kind == "tuple" else items
        if kind == "dict" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str \
                        or pair[0] in out:
                    raise ChannelError("a dict is not a list of [str key, value] pairs "
                                       "with different keys")
                out[pair[0]] = self.value(pair[1], depth + 1)
            return out
        if kind == "object" and type(body) is str:
            return self.placeholder(body)
        raise ChannelError(f"the value is not well-formed (at a {str(kind)[:20]!r} tag)")

    def scalar(self, dtype, tagged, depth: int):
        if type(dtype) is not str or dtype not in SCALAR_DTYPES:
            raise ChannelError(f"a scalar's dtype {str(dtype)[:20]!r} is not allowed")
        number = self.value(tagged, depth + 1)
        expected = float if dtype[1] == "f" else int
        if type(number) is not expected:
            raise ChannelError(f"a {dtype} scalar holds a {type(number).__name__}")
        try:
            return np.dtype(dtype).newbyteorder("=").type(number)
        except (OverflowError, ValueError):
            raise ChannelError(f"a {dtype} scalar out of range") from None


def decode(data) -> object:
    """One message (untrusted bytes) -> fresh plain Python/NumPy values, or ChannelError."""
    view = memoryview(data).cast("B")

    def read(offset: int, size: int) -> bytes:
        return bytes(view[offset:offset + size])

    def fill(destination: memoryview, offset: int) -> int:
        piece = view[offset:offset + len(destination)]
        destination[:len(piece)] = piece
        return len(piece)

    return _decode(view.nbytes, read, fill)


def _decode(size: int, read, fill) -> object:
    """The checks of the module docstring and the building of the value, in that order,
    for a message of ``size`` bytes: ``read(offset, n)`` returns at most ``n`` of them,
    ``fill(destination, offset)`` copies them into a buffer and says how many it copied."""
    if size > MAX_MESSAGE_BYTES:
        raise ChannelError(f"a message of {size} bytes (the limit is {MAX_MESSAGE_BYTES})")
    prefix = read(0, PREFIX.size)
    if len(prefix) < PREFIX.size:
        raise ChannelError("the message is empty or cut short")
    magic, header_bytes = PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise ChannelError("not a message of the grading channel")
    if header_bytes > MAX_HEADER_BYTES:
        raise ChannelError(f"a header of {header_bytes} bytes (the limit is "
                           f"{MAX_HEADER_BYTES})")
    payload_start = PREFIX.size + header_bytes
    raw = read(PREFIX.size, header_bytes) if payload_start <= size else b""
    if len(raw) != header_bytes:
        raise ChannelError("the message ends inside its header (truncated?)")
    header = _parse_header(raw)
    table = _array_table(header["arrays"], size - payload_start)
    reader = _Reader(fill, payload_start, table)
    value = reader.value(header["value"])
    if not all(reader.used):
        raise ChannelError("the array table holds an array the value does not use")
    return value


# --------------------------------------------------------------------------- one call

KNOWN_REPLIES = ("result", "missing", "raised")


def read_reply(data) -> dict:
    """A reply message (untrusted bytes) -> ``{"result": value}``, ``{"missing": name}``
    or ``{"raised": (type name, message)}``."""
    return _checked_reply(decode(data))


def _checked_reply(reply) -> dict:
    if type(reply) is not dict or len(reply) != 1 or next(iter(reply)) not in KNOWN_REPLIES:
        raise ChannelError("the reply is not one of result, missing or raised")
    if "missing" in reply and type(reply["missing"]) is not str:
        raise ChannelError("the reply is not well-formed")
    raised = reply.get("raised", ("", ""))
    if type(raised) is not tuple or len(raised) != 2 or any(type(x) is not str
                                                            for x in raised):
        raise ChannelError("the reply is not well-formed")
    return reply


def read_reply_file(path: str, expected: tuple[int, int] | None = None) -> dict:
    """The reply in the file at ``path`` (see :func:`read_reply`).  The file is opened
    without following a link or blocking on a FIFO; it must be a regular file (the one
    whose (st_dev, st_ino) is ``expected``, when given), non-empty and at most
    MAX_MESSAGE_BYTES, all checked with fstat before a byte is read.  Then only the header
    and the arrays the checked header describes are read, each straight into its place.
    A kernel that changes the file meanwhile gets a ChannelError, nothing more."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise ChannelError(f"the reply file cannot be opened ({err.strerror})") from None

    def read(offset: int, size: int) -> bytes:
        return os.pread(fd, size, offset)

    def fill(destination: memoryview, offset: int) -> int:
        got = 0
        while got < len(destination):
            n = os.preadv(fd, [destination[got:]], offset + got)
            if n == 0:
                break
            got += n
        return got

    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (expected is not None
                                              and (info.st_dev, info.st_ino) != expected):
            raise ChannelError("the reply file was replaced by something else")
        if info.st_size == 0:
            raise ChannelError("the kernel wrote no reply")
        if info.st_size > MAX_MESSAGE_BYTES:
            raise ChannelError(f"a reply of {info.st_size} bytes (the limit is "
                               f"{MAX_MESSAGE_BYTES})")
        return _checked_reply(_decode(info.st_size, read, fill))
    finally:
        os.close(fd)


@dataclass
class PendingCall:
    """One call's files in the kernel's socket folder, and the code that makes it."""

    code: str                     # what the kernel executes
    request_path: str             # the request, written by the grader, read by the kernel
    reply_path: str               # made empty by the grader, written by the kernel
    helpers_path: str             # KERNEL_HELPERS, read when the kernel has none yet
    reply_id: tuple[int, int]     # (st_dev, st_ino) of that reply file

    def read_reply(self) -> dict:
        return read_reply_file(self.reply_path, self.reply_id)

    def remove(self) -> None:
        for path in (self.request_path, self.reply_path, self.helpers_path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def prepare_call(function: str, args: tuple, kwargs: dict, folder: str) -> PendingCall:
    """Write the request for one call of ``function`` (a name in the student's namespace),
    the kernel's helpers and an empty reply file into ``folder``; the caller executes
    ``.code`` in the kernel, reads ``.read_reply()`` and always ends with ``.remove()``.

    The request and helpers are readable by everyone (the kernel runs as another user when
    the grader is root); the reply file is 0600 and, when the grader is root, owned by the
    sandbox user, so that the kernel can write it without being able to create files.
    Arguments and helpers travel in files, not in the code: IPython reads a cell's source
    slowly (a few KB cost milliseconds, megabytes would crawl)."""
    parts = message_parts({"function": function, "args": tuple(args),
                           "kwargs": dict(kwargs)})
    stem = os.path.join(folder, f"call-{secrets.token_hex(8)}")
    call = PendingCall(code="", request_path=stem + ".request", reply_path=stem + ".reply",
                       helpers_path=stem + ".helpers", reply_id=(0, 0))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        for path, contents in ((call.request_path, parts),
                               (call.helpers_path, [KERNEL_HELPERS.encode()])):
            fd = os.open(path, flags, 0o600)
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o644)      # (whatever the umask)
                for part in contents:
                    f.write(part)
        fd = os.open(call.reply_path, flags, 0o600)
        try:
            if os.geteuid() == 0:
                os.fchown(fd, SANDBOX_UID, SANDBOX_UID)
            info = os.fstat(fd)
        finally:
            os.close(fd)
    except BaseException:
        call.remove()
        raise
    call.reply_id = (info.st_dev, info.st_ino)
    paths = {"__HELPERS__": call.helpers_path, "__REQUEST__": call.request_path,
             "__REPLY__": call.reply_path}
    call.code = re.sub("__HELPERS__|__REQUEST__|__REPLY__",      # one pass: a path may
                       lambda m: repr(paths[m.group()]), KERNEL_CALL)   # hold any text
    return call


# --------------------------------------------------------------------------- kernel side
# Run in the student's kernel: stdlib and NumPy only (a NumPy-only kernel has nothing
# else).  The helpers below are compiled once per kernel into a module of their own (in
# sys.modules, outside the student's namespace): IPython takes ~10 ms to read a cell of
# this size, so each call runs a short cell that installs them from their file only when
# they are missing.  The student can replace them, as anything else in their kernel; the
# grader trusts no reply either way.  The request comes from the grader and is read without
# checks; the reply goes into the file the grader made (opened without O_CREAT: the kernel
# may not create files there).

_KERNEL_JOB = r'''
def _poolkit_unpack(path):
    import json
    import struct

    import numpy

    with open(path, "rb", buffering=0) as f:
        (length,) = struct.unpack("<8xQ", f.read(16))
        header = json.loads(f.read(length))
        arrays = []
        for entry in header["arrays"]:
            dtype = numpy.dtype(entry["dtype"])
            array = numpy.empty(entry["shape"], dtype=dtype)
            view, got = memoryview(array).cast("B") if array.size else b"", 0
            f.seek(16 + length + entry["offset"])
            while got < len(view):
                n = f.readinto(view[got:])
                if not n:
                    raise EOFError("the request file is cut short")
                got += n
            arrays.append(array if dtype.isnative else array.astype(dtype.newbyteorder("=")))

    def untag(v):
        [(kind, body)] = [(k, x) for k, x in v.items() if k != "value"]
        if kind == "array":
            return arrays[body]
        if kind == "int":
            return int(body)
        if kind == "float":
            return float.fromhex(body)
        if kind == "none":
            return None
        if kind == "scalar":
            return numpy.dtype(body).type(untag(v["value"]))
        if kind == "tuple":
            return tuple(untag(x) for x in body)
        if kind == "list":
            return [untag(x) for x in body]
        if kind == "dict":
            return {k: untag(x) for k, x in body}
        return body   # bool, str

    return untag(header["value"])


def _poolkit_job(request_path, reply_path):
    import os
    import sys

    namespace = sys.modules["__main__"].__dict__
    request = _poolkit_unpack(request_path)
    name = request["function"]
    fn = namespace.get(name)
    if fn is None:
        reply = {"missing": name}
    else:
        try:
            reply = {"result": fn(*request["args"], **request["kwargs"])}
        except BaseException as exc:
            try:
                reply = {"raised": (type(exc).__name__[:100], str(exc)[:2000])}
            except BaseException:
                reply = {"raised": ("Exception", "(an exception that cannot be shown)")}

    def placeholder(value, what):
        t = type(value)
        return {"object": what or "%s.%s" % (t.__module__, t.__qualname__)}

    try:
        parts = _poolkit_pack(reply, placeholder)
    except BaseException as exc:   # nested too deeply, too large, a giant int
        why = str(exc) if str(exc).startswith("channel limit") else type(exc).__name__
        # (the exception is not data, so the hook names it: the result's placeholder)
        parts = _poolkit_pack({"result": exc},
                              lambda value, what: {"object": "unreadable value (%s)" % why})
    fd = os.open(reply_path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "wb") as f:
        for part in parts:
            f.write(part)
'''

KERNEL_HELPERS = _kernel_source(_PACK_SOURCE) + _KERNEL_JOB
_HELPERS_MODULE = "_poolkit_channel_" + hashlib.sha256(KERNEL_HELPERS.encode()).hexdigest()[:12]

# One call: __HELPERS__, __REQUEST__ and __REPLY__ become the call's files' paths.
KERNEL_CALL = r'''
def _poolkit_call(helpers_path, request, reply):
    import sys
    import types

    helpers = sys.modules.get(__MODULE__)
    if type(helpers) is not types.ModuleType or not hasattr(helpers, "_poolkit_job"):
        helpers = types.ModuleType(__MODULE__)
        with open(helpers_path) as f:
            exec(compile(f.read(), "<poolkit channel>", "exec"), helpers.__dict__)
        sys.modules[__MODULE__] = helpers
    helpers._poolkit_job(request, reply)


try:
    _poolkit_call(__HELPERS__, __REQUEST__, __REPLY__)
finally:
    del _poolkit_call
'''.replace("__MODULE__", repr(_HELPERS_MODULE))
