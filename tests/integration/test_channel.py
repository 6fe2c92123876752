"""The data-only channel between the grader and a student's kernel (poolgrade.sandbox.channel):
what round-trips exactly, what a reply may not claim, and what a kernel cannot make the
grader do (run code, grow without bound, follow a link, block on a FIFO).

Three levels: messages in memory (encode/decode), the kernel's side of a call run in a plain
interpreter that may neither create nor delete files in its folder, and calls through a
real sandboxed NumPy-only kernel.  Speed is measured in benchmarks/bench_channel.py.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from poolgrade.execution.test_cells import StudentRaised
from poolgrade.sandbox import channel
from poolgrade.sandbox.bwrap import SANDBOX_UID, SandboxLimits, unavailable_reason

REPO = Path(__file__).resolve().parents[2]
needs_bwrap = pytest.mark.skipif(unavailable_reason() is not None and not os.environ.get("CI"),
                                 reason=f"no sandbox here: {unavailable_reason()}")


def round_trip(value):
    return channel.decode(channel.encode(value))


def sample(dtype: str, shape) -> np.ndarray:
    """Values that use the whole range of ``dtype`` (extremes included)."""
    rng = np.random.default_rng(7)
    dt = np.dtype(dtype)
    count = math.prod(shape)
    if dt.kind == "b":
        flat = rng.integers(0, 2, count).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = rng.integers(info.min, info.max, count, dtype=dt, endpoint=True)
        flat[:2] = (info.min, info.max)[:count]
    else:
        flat = rng.standard_normal(count).astype(dt) * dt.type(1000)
        flat[:4] = np.array([-0.0, np.inf, -np.inf, np.finfo(dt).tiny], dtype=dt)[:count]
    return flat.reshape(shape)


def assert_fresh_copy(got: np.ndarray, sent: np.ndarray) -> None:
    assert type(got) is np.ndarray and got.dtype == sent.dtype.newbyteorder("=")
    assert got.shape == sent.shape
    assert got.flags.c_contiguous and got.flags.writeable
    assert not np.shares_memory(got, sent)
    assert np.array_equal(got, sent, equal_nan=got.dtype.kind == "f")
    assert got.tobytes() == sent.astype(got.dtype).tobytes()    # -0.0 and nan bits too


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", channel.DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (), (0, 5), (2, 0, 3), (1, 1, 2, 3, 1)])
def test_every_allowed_dtype_and_shape_round_trips_exactly(dtype, shape):
    sent = sample(dtype, shape)
    assert_fresh_copy(round_trip(sent), sent)


@pytest.mark.parametrize("make", [
    lambda: np.arange(60.0).reshape(6, 10)[::2, ::3],             # strided view
    lambda: np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4)),
    lambda: np.arange(10, dtype=np.uint32)[::-1],                 # negative stride
    lambda: np.arange(6, dtype=">f8").reshape(2, 3) / 7,          # big-endian
    lambda: np.arange(5, dtype=">i4"),
    lambda: np.broadcast_to(np.float32(2.5), (3, 4)),             # zero strides
])
def test_non_contiguous_fortran_and_big_endian_arrays_arrive_c_ordered_and_native(make):
    sent = make()
    got = round_trip(sent)
    assert_fresh_copy(got, sent)


def test_values_keep_their_types_and_exact_bits():
    value = ([1, (2, None, "s")], {"mode": "max", "nested": {"k": [True, False]}},
             -0.0, float("nan"), float("inf"), -float("inf"), 5e-324, 0.1,
             10**4000, -(2**1000), 0, True, None, "", "üñí\u2603",
             np.int64(7), np.float32(0.5), np.uint64(2**64 - 1), np.int8(-128),
             np.float16(0.1), np.bool_(True), ())
    back = round_trip(value)
    assert type(back) is tuple and len(back) == len(value)
    assert back[0] == [1, (2, None, "s")] and type(back[0][1]) is tuple
    assert back[1] == {"mode": "max", "nested": {"k": [True, False]}}
    assert math.copysign(1.0, back[2]) == -1.0 and back[2] == 0.0
    assert math.isnan(back[3]) and back[4] == math.inf and back[5] == -math.inf
    assert back[6] == 5e-324 and back[7] == 0.1
    assert back[8] == 10**4000 and back[9] == -(2**1000) and back[10] == 0
    assert back[11] is True and back[12] is None and back[13:15] == ("", "üñí\u2603")
    for got, sent in zip(back[15:20], value[15:20]):
        assert type(got) is type(sent) and got == sent
    assert back[20] is True and back[21] == ()


@pytest.mark.parametrize("value, match", [
    (object(), "object"),
    (np.zeros(2, dtype=complex), "complex128"),
    (np.array([object()], dtype=object), "object"),
    (np.zeros(2, dtype=[("a", "<f8")]), "dtype"),
    (np.str_("x"), "str_"),
    ({1: 2}, "dict"),
    (np.zeros(2).view(type("Rigged", (np.ndarray,), {})), "Rigged"),   # a subclass
    (np.broadcast_to(np.float64(0), (1 << 17, 1 << 17)), "bytes"),   # 128 GB, never copied
])
def test_the_grader_refuses_to_send_what_is_not_data(value, match):
    with pytest.raises(channel.ChannelError, match=match):
        channel.encode(value)


def test_values_nested_too_deeply_are_refused_on_both_sides():
    deep = []
    for _ in range(channel.MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(channel.ChannelError, match="nested more than"):
        channel.encode(deep)
    tagged = {"list": []}
    for _ in range(channel.MAX_DEPTH + 1):
        tagged = {"list": [tagged]}
    with pytest.raises(channel.ChannelError, match="nests more than"):
        channel.decode(message({"value": tagged, "arrays": []}))


# ----------------------------------------------------------------------------- refused
def message(header, payload: bytes = b"", *, length: int | None = None,
            magic: bytes = channel.MAGIC) -> bytes:
    """A message with any header (a dict as JSON, or raw bytes) and payload."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return magic + struct.pack("<Q", len(raw) if length is None else length) + raw + payload


def one_array(payload: bytes = np.arange(4.0).tobytes(), **entry) -> bytes:
    """A message that holds one array; ``entry`` overrides what its table entry says."""
    table = {"dtype": "<f8", "shape": [4], "offset": 0, "nbytes": 32, **entry}
    return message({"value": {"array": 0}, "arrays": [table]}, payload)


def test_the_hand_built_messages_below_are_valid_until_they_lie():
    assert channel.decode(one_array()).tolist() == [0.0, 1.0, 2.0, 3.0]
    two = message({"value": {"tuple": [{"array": 0}, {"array": 1}]},
                   "arrays": [{"dtype": "|u1", "shape": [3], "offset": 0, "nbytes": 3},
                              {"dtype": "<i2", "shape": [1], "offset": 8, "nbytes": 2}]},
                  b"\x01\x02\x03" + bytes(5) + b"\x05\x00")
    first, second = channel.decode(two)
    assert first.tolist() == [1, 2, 3] and second.tolist() == [5]


@pytest.mark.parametrize("data, match", [
    (one_array(nbytes=31), "nbytes does not match"),
    (one_array(nbytes=64, shape=[8]), "past the end"),
    (one_array(offset=8), "past the end"),
    (one_array(offset=-8), "past the end"),
    (one_array(shape=[-4], nbytes=-32), "shape"),
    (one_array(shape=[2**40], nbytes=2**43), "shape"),
    (one_array(shape=[2**13, 2**14], nbytes=2**30), "elements, over the limit"),
    (one_array(shape=[1] * (channel.MAX_NDIM + 1)), "shape"),
    (one_array(shape=[True, 4]), "shape"),
    (one_array(shape="4"), "shape"),
    (one_array(payload=np.arange(4.0).tobytes()[:-1]), "past the end"),       # truncated
    (one_array(payload=np.arange(4.0).tobytes() + bytes(8)), "goes on after"),
    (one_array(dtype="|O"), "not allowed"),
    (one_array(dtype="|V8"), "not allowed"),
    (one_array(dtype="<c16", shape=[2]), "not allowed"),
    (one_array(dtype=">f8"), "not allowed"),          # big-endian: only little on the wire
    (one_array(dtype="<M8[s]"), "not allowed"),
    (one_array(dtype="<U1", shape=[8]), "not allowed"),
    (one_array(dtype="float64"), "not allowed"),
    (one_array(dtype=["<f8"]), "not allowed"),
    (one_array(extra=1), "not {dtype"),
    (message({"value": {"array": 1}, "arrays": []}), "out of range"),
    (message({"value": {"array": True}, "arrays": []}), "out of range"),
    (message({"value": {"tuple": [{"array": 0}, {"array": 0}]},
              "arrays": [{"dtype": "|u1", "shape": [1], "offset": 0, "nbytes": 1}]}, b"\x01"),
     "used twice"),
    (message({"value": {"array": 0},
              "arrays": [{"dtype": "|u1", "shape": [1], "offset": 0, "nbytes": 1}] * 2},
             b"\x01"), "overlap"),
    (message({"value": {"none": True},
              "arrays": [{"dtype": "|u1", "shape": [1], "offset": 0, "nbytes": 1}]}, b"\x01"),
     "does not use"),
    (message({"value": {"none": True}, "arrays": [], "code": "x"}), "not {'value'"),
    (message({"value": {"none": True}, "arrays": {}}), "array table"),
    (message({"value": {"none": True}, "arrays": []}, length=channel.MAX_HEADER_BYTES + 1),
     "a header of"),
    (message({"value": {"none": True}, "arrays": []}, length=2**63), "a header of"),
    (message({"value": {"none": True}, "arrays": []}, length=4096), "ends inside its header"),
    (message(b'{"value": {"float": NaN}, "arrays": []}'), "NaN is not allowed"),
    (message(b'{"value": {"none": true}, "arrays": [], "x": Infinity}'), "Infinity"),
    (message(b'{"value": {"none": true}, "arrays": [], "x": -Infinity}'), "Infinity"),
    (message(b'{"value": {"int": 1.0}, "arrays": []}'), "fraction"),
    (message(b'{"value": {"int": 1e5}, "arrays": []}'), "fraction"),
    (message(b'{"value": {"none": true}, "arrays": [], "arrays": []}'), "repeats a key"),
    (message(b'{"value": {"none": true}, "arrays": [' + b"1" * 30 + b"]}"), "integer that long"),
    (message(b"[" * 100_000 + b"]" * 100_000), "nests too deeply to parse"),
    (message(b'{"value": {"str": "\xff"}, "arrays": []}'), "not valid JSON"),
    (message(b"{'value': None}"), "not valid JSON"),
    (message({"value": {"none": True}, "arrays": []}, magic=b"\x93NUMPY\x01\x00"),
     "not a message"),
    (b"", "cut short"),
    (channel.MAGIC, "cut short"),
])
def test_lying_truncated_and_malformed_messages_are_refused(data, match):
    with pytest.raises(channel.ChannelError, match=match):
        channel.decode(data)


def test_a_header_over_its_limit_is_refused_before_it_is_parsed():
    big = json.dumps({"value": {"list": [{"int": "1"}] * 200_000}, "arrays": []}).encode()
    assert len(big) > channel.MAX_HEADER_BYTES
    with pytest.raises(channel.ChannelError, match="a header of"):
        channel.decode(message(big))
    with pytest.raises(channel.ChannelError, match="a header of"):
        channel.encode([1] * 200_000)          # the writer keeps the same limit


def test_a_message_over_the_size_limit_is_refused_whole():
    with pytest.raises(channel.ChannelError, match="a message of"):
        channel.decode(bytes(channel.MAX_MESSAGE_BYTES + 1))


@pytest.mark.parametrize("tagged", [
    {"int": "1e5"}, {"int": "+1"}, {"int": " 1"}, {"int": "01"}, {"int": "1_000"},
    {"int": "\u0661\u0662"}, {"int": "9" * (channel.MAX_INT_DIGITS + 1)}, {"int": 1},
    {"float": "0x1p99999"}, {"float": "zz"}, {"float": "0x1p0" + " " * 40}, {"float": 1},
    {"scalar": "|i1", "value": {"int": "300"}}, {"scalar": "<u8", "value": {"int": "-1"}},
    {"scalar": "<c16", "value": {"float": "0x0p+0"}}, {"scalar": "|b1", "value": {"bool": True}},
    {"scalar": "<f8", "value": {"int": "1"}}, {"scalar": "<i8", "value": {"float": "0x1p0"}},
    {"scalar": "|O", "value": {"none": True}},
    {"none": False}, {"bool": 1}, {"str": 5}, {"tuple": {}}, {"list": "ab"},
    {"dict": [[1, {"int": "1"}]]}, {"dict": [["a", {"int": "1"}], ["a", {"int": "2"}]]},
    {"dict": [["a"]]}, {"object": 3}, {"pickle": "gASVAAAAAAAAAAA="}, {"code": "print(1)"},
    {"int": "1", "str": "1"}, {}, [], "x", None,
])
def test_values_that_are_not_the_tagged_data_are_refused(tagged):
    with pytest.raises(channel.ChannelError):
        channel.decode(message({"value": tagged, "arrays": []}))


class RunsWhereUnpickled:
    loaded = False

    def __reduce__(self):
        return (setattr, (RunsWhereUnpickled, "loaded", True))


def test_a_pickled_npy_reply_is_refused_and_never_unpickled():
    import io

    box = np.empty(1, dtype=object)
    box[0] = RunsWhereUnpickled()
    npy = io.BytesIO()
    np.save(npy, box, allow_pickle=True)
    for data in (npy.getvalue(), message({"value": {"dict": [["result", {"array": 0}]]},
                                          "arrays": [{"dtype": "|O", "shape": [1],
                                                      "offset": 0, "nbytes": 8}]},
                                         npy.getvalue()[-8:])):
        with pytest.raises(channel.ChannelError):
            channel.read_reply(data)
    assert not RunsWhereUnpickled.loaded


def test_bool_arrays_are_rebuilt_clean_whatever_their_bytes():
    got = channel.decode(one_array(b"\x00\x02\xff\x01", dtype="|b1", nbytes=4))
    assert got.dtype == bool and got.view(np.uint8).tolist() == [0, 1, 1, 1]


def test_placeholders_name_what_was_returned_and_are_bounded():
    got = channel.decode(message({"value": {"object": "torch.Tensor"}, "arrays": []}))
    assert isinstance(got, channel.Unreadable) and type(got).__name__ == "Tensor"
    from poolkit import checks

    with pytest.raises(AssertionError, match="is a Tensor; expected a plain numpy.ndarray"):
        checks.strict_value(got)
    same = channel.decode(message({"value": {"list": [{"object": "a.B"}] * 1000},
                                   "arrays": []}))
    assert len({type(x) for x in same}) == 1, "one class per type name, not per value"
    many = [{"object": f"m.T{i}"} for i in range(channel.MAX_PLACEHOLDER_TYPES + 1)]
    with pytest.raises(channel.ChannelError, match="kinds of value"):
        channel.decode(message({"value": {"list": many}, "arrays": []}))


@pytest.mark.parametrize("reply", [
    {"result": 1, "raised": ("A", "b")}, {"other": 1}, {"raised": ("A",)},
    {"raised": ["A", "b"]}, {"raised": ("A", 2)}, {"missing": 3}, [1], "result",
])
def test_replies_other_than_result_missing_or_raised_are_refused(reply):
    with pytest.raises(channel.ChannelError):
        channel.read_reply(channel.encode(reply))


def test_well_formed_replies_are_read():
    assert channel.read_reply(channel.encode({"result": (1, 2.5)})) == {"result": (1, 2.5)}
    assert channel.read_reply(channel.encode({"raised": ("ValueError", "bad")})) == \
        {"raised": ("ValueError", "bad")}


# ----------------------------------------------------------------------------- reply file
def reply_file(folder: Path, value=None) -> Path:
    path = folder / "call.reply"
    path.write_bytes(channel.encode({"result": value}))
    return path


def test_a_reply_file_is_read_only_when_it_is_the_regular_file_the_grader_made(tmp_path):
    good = reply_file(tmp_path, np.arange(3))
    info = good.stat()
    assert channel.read_reply_file(str(good), (info.st_dev, info.st_ino))["result"].tolist() \
        == [0, 1, 2]
    link = tmp_path / "link.reply"
    link.symlink_to(good)
    with pytest.raises(channel.ChannelError, match="cannot be opened"):
        channel.read_reply_file(str(link))
    other = tmp_path / "other.reply"
    shutil.copy(good, other)
    with pytest.raises(channel.ChannelError, match="replaced"):
        channel.read_reply_file(str(other), (info.st_dev, info.st_ino))
    with pytest.raises(channel.ChannelError, match="replaced"):
        channel.read_reply_file(str(tmp_path))                    # a directory
    (tmp_path / "empty.reply").touch()
    with pytest.raises(channel.ChannelError, match="no reply"):
        channel.read_reply_file(str(tmp_path / "empty.reply"))
    with pytest.raises(channel.ChannelError, match="cannot be opened"):
        channel.read_reply_file(str(tmp_path / "missing.reply"))


def test_a_fifo_in_place_of_the_reply_is_refused_without_blocking(tmp_path):
    """Run in a child with a deadline: a grader that opened the FIFO for reading would wait
    for a writer forever."""
    fifo = tmp_path / "call.reply"
    os.mkfifo(fifo)
    code = ("from poolgrade.sandbox import channel\n"
            f"try:\n    channel.read_reply_file({str(fifo)!r})\n"
            "except channel.ChannelError as err:\n    print('refused:', err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert out.stdout.startswith("refused: the reply file was replaced"), out


def test_a_reply_file_over_the_limit_is_refused_without_being_read(tmp_path):
    """A sparse 8 GiB reply: refused by its size alone, the grader's memory does not move."""
    huge = tmp_path / "call.reply"
    with open(huge, "wb") as f:
        f.write(channel.encode({"result": 1}))
        f.truncate(8 * 2**30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(channel.ChannelError, match=r"a reply of 8589934592 bytes"):
        channel.read_reply_file(str(huge))
    grew_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grew_kib < 64 * 1024, f"the grader's peak memory grew by {grew_kib} KiB"


def test_a_reply_file_that_lies_about_its_arrays_is_refused_before_they_are_read(tmp_path):
    path = tmp_path / "call.reply"
    path.write_bytes(message({"value": {"dict": [["result", {"array": 0}]]},
                              "arrays": [{"dtype": "<f8", "shape": [2**23], "offset": 0,
                                          "nbytes": 2**26}]}, bytes(64)))
    with pytest.raises(channel.ChannelError, match="past the end"):
        channel.read_reply_file(str(path))


def test_prepare_call_makes_the_request_and_an_empty_reply_and_removes_them(tmp_path):
    call = channel.prepare_call("f", (np.arange(3.0),), {"k": 2}, str(tmp_path))
    request, reply = Path(call.request_path), Path(call.reply_path)
    assert request.parent == reply.parent == tmp_path
    assert request.stat().st_mode & 0o777 == 0o644
    assert reply.stat().st_mode & 0o777 == 0o600 and reply.stat().st_size == 0
    assert reply.stat().st_uid == (SANDBOX_UID if os.geteuid() == 0 else os.geteuid())
    sent = channel.decode(request.read_bytes())
    assert sent["function"] == "f" and sent["kwargs"] == {"k": 2}
    assert sent["args"][0].tolist() == [0.0, 1.0, 2.0]
    assert "_poolkit_call" in call.code and call.reply_path in call.code
    call.remove()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(channel.ChannelError, match="cannot send"):
        channel.prepare_call("f", (object(),), {}, str(tmp_path))
    assert list(tmp_path.iterdir()) == [], "nothing is left behind by a refused call"


# ----------------------------------------------------------------------------- kernel side
KERNEL_FUNCTIONS = '''
import numpy as np

def echo(*args, **kwargs):
    return (args, kwargs)

def tensor():
    import torch
    return torch.zeros(2)

class Agreeable(np.ndarray):
    pass

def subclass():
    return np.zeros(3).view(Agreeable)

def complex_array():
    return np.zeros(2, dtype=complex)

def giant_int():
    return 10 ** 5000

def too_deep():
    value = []
    for _ in range(30):
        value = [value]
    return value

def huge_view():
    return np.broadcast_to(np.float64(0.0), (1, 1, 100_000, 100_000))

def boom(x):
    raise ValueError(f"bad head {x}")

def spin():
    while True:
        pass
'''


def run_kernel_side(calls: list[tuple[str, tuple, dict]]) -> list:
    """The kernel's code for each call, run in a plain interpreter (not IPython) that cannot
    create or delete files in the calls' folder (as nobody when the grader is root); the
    replies as the grader reads them.  (That the code needs nothing but NumPy is shown by
    the NumPy-only kernel below, in which nothing else exists.)"""
    folder = tempfile.mkdtemp(prefix="channel-")
    try:
        os.chmod(folder, 0o711)
        pending = [channel.prepare_call(name, args, kwargs, folder)
                   for name, args, kwargs in calls]
        listing = sorted(os.listdir(folder))
        os.chmod(folder, 0o555)
        script = KERNEL_FUNCTIONS + "\n".join(call.code for call in pending)
        prefix = ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}",
                  "--clear-groups"] if os.geteuid() == 0 else []
        proc = subprocess.run(prefix + [sys.executable, "-I", "-c", script], cwd="/",
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert sorted(os.listdir(folder)) == listing, "the kernel created or removed a file"
        replies = [call.read_reply() for call in pending]
        for call in pending:
            call.remove()
        return replies
    finally:
        os.chmod(folder, 0o700)
        shutil.rmtree(folder)


def test_kernel_side_reads_the_request_and_writes_only_into_the_reply_file():
    x = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    replies = run_kernel_side([
        ("echo", (x, 2, np.int8(-3), (-0.0, float("nan"))), {"scale": 0.5, "d": {"k": [1]}}),
        ("boom", (3,), {}),
        ("nothing_here", (), {}),
    ])
    (args, kwargs) = replies[0]["result"]
    assert_fresh_copy(args[0], x)
    assert args[1] == 2 and type(args[2]) is np.int8 and args[2] == -3
    assert math.copysign(1, args[3][0]) == -1 and math.isnan(args[3][1])
    assert kwargs == {"scale": 0.5, "d": {"k": [1]}}
    assert replies[1] == {"raised": ("ValueError", "bad head 3")}
    assert replies[2] == {"missing": "nothing_here"}


def test_values_the_kernel_cannot_send_arrive_as_named_placeholders():
    names = ["tensor", "subclass", "complex_array", "giant_int", "too_deep", "huge_view"]
    replies = run_kernel_side([(name, (), {}) for name in names])
    got = {name: reply["result"] for name, reply in zip(names, replies)}
    for value in got.values():
        assert isinstance(value, channel.Unreadable), got
    assert type(got["tensor"]).__name__ == "Tensor"
    assert type(got["subclass"]).__name__ == "Agreeable"
    assert "complex128" in got["complex_array"].remote_type
    assert got["giant_int"].remote_type == "unreadable value (ValueError)"
    assert "nested more than" in got["too_deep"].remote_type
    assert "80000000000 bytes" in got["huge_view"].remote_type


# ----------------------------------------------------------------------------- real kernel
LIMITS = SandboxLimits(memory_bytes=2048 * 2**20, cpu_seconds=300, file_bytes=1024 * 2**20)


def start_numpy_only_kernel(run_dir: str):
    from poolgrade.sandbox.kernels import NumpyOnlyKernel

    os.chmod(run_dir, 0o711)
    files = os.path.join(run_dir, "submission")     # the submission's files: none
    os.makedirs(files, exist_ok=True)
    kernel = NumpyOnlyKernel(files=files, run_dir=run_dir, limits=LIMITS,
                             cell_timeout=60, unsandboxed=False)
    caller = kernel.ready_for([], 0)
    defined = caller.execute(KERNEL_FUNCTIONS, 60)
    assert defined["status"] == "ok", defined
    return kernel, caller


@pytest.fixture(scope="module")
def kernel_caller():
    run_dir = tempfile.mkdtemp(prefix="channel-kernel-")
    kernel, caller = start_numpy_only_kernel(run_dir)
    try:
        yield caller
    finally:
        kernel.close()
        shutil.rmtree(run_dir, ignore_errors=True)


@needs_bwrap
def test_every_dtype_round_trips_through_a_sandboxed_kernel(kernel_caller):
    sent = [sample(dtype, shape) for dtype in channel.DTYPES
            for shape in [(3, 4), (), (0, 5)]]
    sent += [np.arange(60.0).reshape(6, 10)[::2, ::3], np.arange(5, dtype=">i4"),
             np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4))]
    args, kwargs = kernel_caller("echo", tuple(sent), {}, 60)
    assert kwargs == {} and len(args) == len(sent)
    for got, array in zip(args, sent):
        assert_fresh_copy(got, array)


@needs_bwrap
def test_values_round_trip_through_a_sandboxed_kernel(kernel_caller):
    value = ([1, (2, None)], {"mode": "max", "p": 0.1}, -0.0, float("nan"), -float("inf"),
             10**4000, np.float32(0.5), np.uint64(2**64 - 1), True, "ünï")
    (args, kwargs) = kernel_caller("echo", value, {"k": (1,)}, 60)
    assert args[:2] == value[:2] and math.copysign(1, args[2]) == -1
    assert math.isnan(args[3]) and args[4] == -math.inf and args[5] == 10**4000
    assert type(args[6]) is np.float32 and type(args[7]) is np.uint64 and args[7] == 2**64 - 1
    assert args[8:] == (True, "ünï") and kwargs == {"k": (1,)}


@needs_bwrap
def test_a_sandboxed_kernel_reports_raises_missing_names_and_unsendable_results(kernel_caller):
    with pytest.raises(StudentRaised, match="bad head 4") as raised:
        kernel_caller("boom", (4,), {}, 60)
    assert raised.value.type_name == "ValueError"
    with pytest.raises(StudentRaised, match="not defined") as missing:
        kernel_caller("nothing_here", (), {}, 60)
    assert missing.value.type_name == "NameError"
    assert type(kernel_caller("subclass", (), {}, 60)).__name__ == "Agreeable"
    assert "80000000000 bytes" in kernel_caller("huge_view", (), {}, 60).remote_type
    folder = os.path.dirname(kernel_caller.km.connection_file)
    assert not [n for n in os.listdir(folder) if n.startswith("call-")], \
        "the grader removes every call's files"


@needs_bwrap
def test_a_call_past_its_time_limit_is_interrupted_and_leaves_no_files(kernel_caller):
    from poolgrade.execution.test_cells import CallTimeout

    with pytest.raises(CallTimeout):
        kernel_caller("spin", (), {}, 0.5)
    folder = os.path.dirname(kernel_caller.km.connection_file)
    assert not [n for n in os.listdir(folder) if n.startswith("call-")]
    assert kernel_caller("echo", (5,), {}, 60) == ((5,), {})


@needs_bwrap
def test_a_kernel_that_writes_a_lying_reply_gets_a_channel_error(kernel_caller):
    """The student replaces the kernel's helpers: whatever they write is refused as data,
    and the kernel keeps answering afterwards."""
    lie = message({"value": {"dict": [["result", {"array": 0}]]},
                   "arrays": [{"dtype": "<f8", "shape": [2**20], "offset": 0,
                               "nbytes": 2**23}]}, bytes(8))
    assert kernel_caller("echo", (1,), {}, 60) == ((1,), {})     # the helpers are in place
    rigged = kernel_caller.execute(textwrap.dedent(f'''
        import sys
        _h = sys.modules[{channel._HELPERS_MODULE!r}]
        _h._real_job = _h._poolkit_job
        def _lie(request, reply):
            with open(reply, "r+b") as f:
                f.write({lie!r})
        _h._poolkit_job = _lie
        '''), 60)
    assert rigged["status"] == "ok", rigged
    try:
        with pytest.raises(StudentRaised, match="past the end") as err:
            kernel_caller("echo", (1,), {}, 60)
        assert err.value.type_name == "ChannelError"
    finally:
        kernel_caller.execute(f"import sys\nsys.modules[{channel._HELPERS_MODULE!r}]"
                              "._poolkit_job = _h._real_job", 60)
    assert kernel_caller("echo", (2,), {}, 60) == ((2,), {})


@needs_bwrap
def test_a_kernel_that_breaks_its_helpers_gets_them_back(kernel_caller):
    broken = kernel_caller.execute(f"import sys\nsys.modules[{channel._HELPERS_MODULE!r}] = 'gone'",
                                   60)
    assert broken["status"] == "ok", broken
    assert kernel_caller("echo", (3,), {}, 60) == ((3,), {})


# ----------------------------------------------------------------------------- attacks
RSS_PROBE = r'''
import json, os, shutil, sys, tempfile
import numpy as np
from tests.integration.test_channel import start_numpy_only_kernel
from poolgrade.sandbox import channel
from poolgrade.execution.test_cells import StudentRaised


def peak_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024


run_dir = tempfile.mkdtemp(prefix="channel-attack-")
kernel, caller = start_numpy_only_kernel(run_dir)
out = {}
try:
    x = np.random.default_rng(0).standard_normal((600, 600))
    args, _ = caller("echo", (x,), {}, 60)
    out["honest"] = bool(np.array_equal(args[0], x))
    # 1. IPython's text formatter rigged: every repr is 5 MB of literal
    rig = caller.execute(
        "_bomb = '[' + '0,' * 2_500_000 + ']'\n"
        "_f = get_ipython().display_formatter.formatters['text/plain']\n"
        "for _t in (str, bytes, dict, list, tuple, int, float, object):\n"
        "    _f.for_type(_t, lambda obj, p, cycle: p.text(_bomb))\n", 60)
    msg_id = caller.kc.execute("", silent=True, user_expressions={"probe": "'x'"})
    shown = caller._reply(msg_id, 60)["content"]["user_expressions"]["probe"]
    out["rigged"] = rig["status"] == "ok" and len(shown["data"]["text/plain"]) > 5_000_000
    del shown
    out["before"] = peak_mib()
    results = []
    for i in range(3):
        args, _ = caller("echo", (x, i), {}, 60)
        results.append(bool(np.array_equal(args[0], x)) and args[1] == i)
    out["calls"] = results
    # 2. the reply file grown to 900 MB (sparse) after the kernel wrote it
    grow = caller.execute(
        "import os, sys\n_h = sys.modules[" + repr(channel._HELPERS_MODULE) + "]\n"
        "_real = _h._poolkit_job\n"
        "def _grow(request, reply):\n"
        "    _real(request, reply)\n"
        "    os.truncate(reply, 900 * 2**20)\n"
        "_h._poolkit_job = _grow\n", 60)
    out["grow"] = grow["status"]
    try:
        caller("echo", (x,), {}, 60)
        out["grown reply"] = "accepted"
    except StudentRaised as err:
        out["grown reply"] = str(err)
    out["after"] = peak_mib()
finally:
    kernel.close()
    shutil.rmtree(run_dir, ignore_errors=True)
print(json.dumps(out))
'''


@needs_bwrap
def test_a_rigged_formatter_or_a_huge_reply_file_cannot_grow_the_grader():
    """In a fresh grader process: before the binary channel, the rigged formatter alone made
    the grader parse a 5 MB literal (2.4 GB and 12 s of CPU here).  Now nothing is read
    from IPython's formatters, and a reply file over the limit is refused by its size."""
    code = f"REPO = {str(REPO)!r}\n" + RSS_PROBE
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["honest"] and out["rigged"] and out["grow"] == "ok", out
    assert out["calls"] == [True, True, True], out
    assert "a reply of 943718400 bytes" in out["grown reply"], out
    assert out["after"] - out["before"] < 64, f"the grader's peak memory grew: {out}"
