"""The data-only channel between the trusted grader and a student's kernel.

The grader never receives an object from a kernel, only data: it sends a request (which
function, and its arguments), the kernel runs the function and answers with a reply, and
both travel as JSON text in which arrays are ``.npy`` bytes (base64) read back with
``allow_pickle=False``.  Numbers, strings, ``None``, tuples, lists and dicts with string
keys are tagged, so a tuple stays a tuple and a float is exact (``float.hex``).

The kernel side is :data:`KERNEL_CALL`, a piece of source the grader executes in the
kernel (the request itself waits in a file beside the kernel's sockets); it uses only the
standard library and NumPy (a NumPy-only kernel has nothing else).  Everything that comes
back is untrusted: :func:`read_reply` and :func:`decode` accept only the shapes of data
described here, build fresh plain objects from them, and turn anything else into a clear
error.  A student's code can make a reply say anything, but it cannot make
the grader run code, and it never sees an expected value.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets

import numpy as np

MAX_REPLY_BYTES = 64 * 2**20   # the lessons exchange arrays of a few MB at most
MAX_DEPTH = 20
ARRAY_KINDS = "biuf"


class ChannelError(Exception):
    """A reply that is not well-formed data (or a value that cannot be sent)."""


class Unreadable:
    """Stands for a value the kernel could not send as data (a torch tensor, an object).

    Subclasses are made per type name, so that messages such as ``your result is a
    Tensor`` name what the student returned."""

    remote_type = "object"

    def __repr__(self):
        return f"<{self.remote_type} from the student's kernel>"


def _unreadable(type_name: str) -> Unreadable:
    short = "".join(ch for ch in type_name.rpartition(".")[2] if ch.isalnum() or ch == "_")
    cls = type(short or "object", (Unreadable,), {"remote_type": type_name[:80]})
    return cls()


# --------------------------------------------------------------------------- trusted side


def encode(value, depth: int = 0):
    """Plain data -> JSON-ready tagged form (the grader's arguments)."""
    if depth > MAX_DEPTH:
        raise ChannelError("value nested too deeply")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in ARRAY_KINDS:
            raise ChannelError(f"cannot send an array of dtype {value.dtype}")
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(value), allow_pickle=False)
        return {"array": base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(value, (bool, np.bool_)):
        return {"bool": bool(value)}
    if isinstance(value, np.generic) and value.dtype.kind in "iuf":
        return {"scalar": value.dtype.str, "value": encode(value.item(), depth + 1)}
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": value.hex()}
    if isinstance(value, str):
        return {"str": value}
    if value is None:
        return {"none": True}
    if isinstance(value, tuple):
        return {"tuple": [encode(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return {"list": [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": [[k, encode(v, depth + 1)] for k, v in value.items()]}
    raise ChannelError(f"cannot send a {type(value).__name__} to the kernel")


def decode(tagged, depth: int = 0):
    """Tagged form from an untrusted reply -> fresh plain Python/NumPy values."""
    if depth > MAX_DEPTH:
        raise ChannelError("the reply is nested too deeply")
    if type(tagged) is not dict or len(tagged) not in (1, 2):
        raise ChannelError("the reply is not well-formed")
    if "array" in tagged:
        raw = tagged["array"]
        if type(raw) is not str:
            raise ChannelError("the reply is not well-formed")
        try:
            array = np.load(io.BytesIO(base64.b64decode(raw, validate=True)),
                            allow_pickle=False)
        except Exception as err:
            raise ChannelError(f"the reply holds an unreadable array ({err})") from None
        if type(array) is not np.ndarray or array.dtype.kind not in ARRAY_KINDS:
            raise ChannelError("the reply holds an array that is not numeric")
        return np.array(array, copy=True)
    if "bool" in tagged and type(tagged["bool"]) is bool:
        return tagged["bool"]
    if "int" in tagged and type(tagged["int"]) is str and len(tagged["int"]) < 5000:
        return int(tagged["int"])
    if "float" in tagged and type(tagged["float"]) is str:
        return float.fromhex(tagged["float"])
    if "str" in tagged and type(tagged["str"]) is str:
        return tagged["str"]
    if "none" in tagged:
        return None
    if "scalar" in tagged and type(tagged["scalar"]) is str:
        dtype = np.dtype(tagged["scalar"])
        if dtype.kind not in "iuf":
            raise ChannelError("the reply holds a scalar that is not numeric")
        return dtype.type(decode(tagged.get("value"), depth + 1))
    for kind, build in (("tuple", tuple), ("list", list)):
        if kind in tagged and type(tagged[kind]) is list:
            return build(decode(v, depth + 1) for v in tagged[kind])
    if "dict" in tagged and type(tagged["dict"]) is list:
        out = {}
        for pair in tagged["dict"]:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise ChannelError("the reply is not well-formed")
            out[pair[0]] = decode(pair[1], depth + 1)
        return out
    if "object" in tagged and type(tagged["object"]) is str:
        return _unreadable(tagged["object"])
    raise ChannelError("the reply is not well-formed")


def call_request(function: str, args: tuple, kwargs: dict, folder: str) -> str:
    """The kernel code for one call of ``function`` (a name in the student's namespace).

    The arguments go in a new file in ``folder`` (one the kernel can read), not in the code:
    megabytes of array in a cell's source would make IPython's input processing crawl."""
    request = json.dumps({"function": function, "args": encode(tuple(args)),
                          "kwargs": encode(dict(kwargs))})
    path = os.path.join(folder, f"call-{secrets.token_hex(8)}.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(request)
    return KERNEL_CALL.replace("__REQUEST__", repr(path))


def read_reply(text) -> dict:
    """Parse the kernel's reply text (untrusted) into a dict with exactly one known key."""
    if type(text) is not str or len(text) > MAX_REPLY_BYTES:
        raise ChannelError("the kernel sent no reply, or one that is too large")
    try:
        reply = json.loads(text)
    except ValueError:
        raise ChannelError("the kernel's reply is not JSON") from None
    if type(reply) is not dict or len(reply) != 1:
        raise ChannelError("the kernel's reply is not well-formed")
    return reply


# --------------------------------------------------------------------------- kernel side
# Executed in the student's kernel: stdlib and NumPy only, every name local, the reply left
# in ``_poolkit_reply`` for the grader to read through the execute request's user
# expressions.  It must not use the grader's modules: a NumPy-only kernel cannot import them.

_KERNEL_HELPERS = r'''
def _poolkit_channel(job):
    import base64, io, json, sys
    try:
        import numpy
    except Exception:
        numpy = None
    namespace = sys.modules["__main__"].__dict__

    def enc(v, depth=0):
        if depth > 20:
            raise ValueError("nested too deeply")
        if numpy is not None and isinstance(v, numpy.ndarray):
            if v.dtype.kind not in "biuf" or type(v) is not numpy.ndarray:
                return {"object": f"{type(v).__module__}.{type(v).__qualname__} of dtype {v.dtype}"}
            buf = io.BytesIO()
            numpy.save(buf, numpy.ascontiguousarray(v), allow_pickle=False)
            return {"array": base64.b64encode(buf.getvalue()).decode("ascii")}
        t = type(v)
        if t is bool or (numpy is not None and t is numpy.bool_):
            return {"bool": bool(v)}
        if numpy is not None and isinstance(v, numpy.generic) and v.dtype.kind in "iuf" \
                and t.__module__ == "numpy":
            return {"scalar": v.dtype.str, "value": enc(v.item(), depth + 1)}
        if t is int:
            return {"int": str(v)}
        if t is float:
            return {"float": v.hex()}
        if t is str:
            return {"str": v}
        if v is None:
            return {"none": True}
        if t is tuple or t is list:
            return {t.__name__: [enc(x, depth + 1) for x in v]}
        if t is dict and all(type(k) is str for k in v):
            return {"dict": [[k, enc(x, depth + 1)] for k, x in v.items()]}
        return {"object": f"{t.__module__}.{t.__qualname__}"}

    def dec(v):
        if "array" in v:
            return numpy.load(io.BytesIO(base64.b64decode(v["array"])), allow_pickle=False)
        for key, build in (("bool", bool), ("str", str)):
            if key in v:
                return build(v[key])
        if "int" in v:
            return int(v["int"])
        if "float" in v:
            return float.fromhex(v["float"])
        if "none" in v:
            return None
        if "scalar" in v:
            return numpy.dtype(v["scalar"]).type(dec(v["value"]))
        if "tuple" in v:
            return tuple(dec(x) for x in v["tuple"])
        if "list" in v:
            return [dec(x) for x in v["list"]]
        return {k: dec(x) for k, x in v["dict"]}

    return job(namespace, enc, dec)
'''

KERNEL_CALL = _KERNEL_HELPERS + r'''
def _poolkit_job(namespace, enc, dec):
    import json, os
    with open(__REQUEST__) as f:
        request = json.load(f)
    os.remove(__REQUEST__)
    fn = namespace.get(request["function"])
    if fn is None:
        return json.dumps({"missing": request["function"]})
    args, kwargs = dec(request["args"]), dec(request["kwargs"])
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        return json.dumps({"raised": [type(exc).__name__, str(exc)[:2000]]})
    try:
        return json.dumps({"result": enc(result)})
    except BaseException as exc:
        return json.dumps({"result": {"object": f"unreadable value ({type(exc).__name__})"}})

_poolkit_reply = _poolkit_channel(_poolkit_job)
del _poolkit_channel, _poolkit_job
'''
