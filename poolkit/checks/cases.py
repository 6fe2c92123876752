"""Case sets: recipes for test cases (a generator name and its parameters) that the oracle's
fresh process rebuilds, the generators behind them, and :func:`arr` for hand-written arrays.
"""

from __future__ import annotations

import numpy as np

from ._literals import _dict, _float, _list, _tuple, _type


class CaseSet:
    """A recipe for test cases: generator name + parameters, rebuilt in a fresh process."""

    def __init__(self, generator: str, params: dict, names: tuple):
        self.generator = generator
        self.params = params
        self.names = names

    def build(self) -> list:
        """The cases as ``[(args, kwargs, note), ...]``."""
        return _GENERATORS[self.generator](**self.params)

    def __repr__(self):
        return f"CaseSet({self.generator!r}, {self.params!r})"


def _values(rng, shape, style, dtype):
    if style == "ties":          # few distinct values: many equal maxima
        x = rng.integers(-3, 4, size=shape).astype(np.float64)
    elif style == "negative":    # all below zero: zero padding would win
        x = -rng.uniform(0.5, 5.0, size=shape)
    else:
        x = rng.normal(0.0, 2.0, size=shape)
    return x.astype(dtype)


_STYLES = ("negative", "ties", "normal")


def _gen_pool(seed, n, ndim, square, padding, stride_none, dilation, ceil_mode, max_kernel,
              max_size, batch, dtype, min_kernel):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        style = _STYLES[i % 3]
        ks, ss, ps, ds, sizes = [], [], [], [], []
        k0 = int(rng.integers(min_kernel, max_kernel + 1))
        for _ in range(ndim):
            k = k0 if square else int(rng.integers(min_kernel, max_kernel + 1))
            s = int(rng.integers(1, k + 2)) if not square or not ks else ss[0]
            p = int(rng.integers(0, k // 2 + 1)) if padding else 0
            d = int(rng.integers(1, 3)) if dilation else 1
            if square and ks:
                s, p, d = ss[0], ps[0], ds[0]
            span = d * (k - 1) + 1
            low = max(span - 2 * p, 1)
            size = int(rng.integers(low, max(low, max_size) + 1))
            ks.append(k)
            ss.append(s)
            ps.append(p)
            ds.append(d)
            sizes.append(size)
        channels = int(rng.integers(1, 4))
        shape = ((int(rng.integers(1, 3)), channels) if batch else (channels,)) + tuple(sizes)
        x = _values(rng, shape, style, dtype)

        def arg(values):
            return values[0] if square or len(set(values)) == 1 else tuple(values)

        stride = None if (stride_none and i % 4 == 3) else arg(ss)
        if stride is None:
            # stride=None means stride=kernel_size; keep the padding rule valid for it
            pass
        kwargs = {}
        if dilation:
            kwargs["dilation"] = arg(ds)
        if ceil_mode:
            kwargs["ceil_mode"] = bool(i % 2)
        cases.append(((x, arg(ks), stride, arg(ps)), kwargs, f"values: {style}"))
    return cases


def pool_cases(seed: int, n: int = 8, *, ndim: int = 2, square: bool = True,
               padding: bool = True, stride_none: bool = False, dilation: bool = False,
               ceil_mode: bool = False, max_kernel: int = 3, max_size: int = 9,
               batch: bool = True, dtype: str = "float64", min_kernel: int = 1) -> CaseSet:
    """Random pooling problems, called as ``fn(x, kernel_size, stride, padding, **extra)``.

    ``x`` is ``(N, C, *spatial)`` (``(C, *spatial)`` with ``batch=False``); cases cycle
    through all-negative values (zero padding loses), small integers (ties) and normal
    values.  Every configuration is one torch accepts (``padding <= kernel_size // 2``,
    output at least 1).  ``square=False`` mixes ints and per-dimension tuples;
    ``stride_none`` makes every 4th stride ``None``; ``dilation``/``ceil_mode`` add those
    keyword arguments.
    """
    params = dict(seed=seed, n=n, ndim=ndim, square=square, padding=padding,
                  stride_none=stride_none, dilation=dilation, ceil_mode=ceil_mode,
                  max_kernel=max_kernel, max_size=max_size, batch=batch, dtype=dtype,
                  min_kernel=min_kernel)
    return CaseSet("pool", params, ("x", "kernel_size", "stride", "padding"))


def _gen_size(seed, n, padding, dilation, ceil_mode, max_size, stride_none=False):
    rng = np.random.default_rng(seed)
    cases = []
    fixed = [(5, 2, 2, 1, 1, True), (6, 3, 2, 0, 1, True), (6, 3, 2, 0, 1, False),
             (24, 2, 2, 0, 1, False), (7, 3, 1, 1, 1, False), (10, 3, 3, 1, 1, True)]
    for row in fixed:
        size, k, s, p, d, c = row
        if (p and not padding) or (c and not ceil_mode):
            continue
        cases.append(((size, k, s, p, d, c), {}, "classic"))
    while len(cases) < n:
        k = int(rng.integers(1, 6))
        s = int(rng.integers(1, 5))
        p = int(rng.integers(0, k // 2 + 1)) if padding else 0
        d = int(rng.integers(1, 4)) if dilation else 1
        c = bool(rng.integers(0, 2)) if ceil_mode else False
        span = d * (k - 1) + 1
        low = max(span - 2 * p, 1)
        size = int(rng.integers(low, max(low, max_size) + 1))
        if stride_none and len(cases) % 4 == 3:
            s = None
            size = max(size, span - 2 * p)
        cases.append(((size, k, s, p, d, c), {}, "random"))
    return cases[:n]


def size_cases(seed: int, n: int = 30, *, padding: bool = True, dilation: bool = True,
               ceil_mode: bool = True, max_size: int = 40, stride_none: bool = False) -> CaseSet:
    """Output-size problems, called as
    ``fn(size, kernel_size, stride, padding, dilation, ceil_mode)`` (all ints/bools).

    Starts with classic cases (the ceil-mode window that would start in the padding,
    ``L=5, k=2, s=2, p=1``) and fills up with random ones torch accepts; with
    ``stride_none`` every 4th random case passes ``stride=None``.
    """
    params = dict(seed=seed, n=n, padding=padding, dilation=dilation, ceil_mode=ceil_mode,
                  max_size=max_size, stride_none=stride_none)
    return CaseSet("size", params,
                   ("size", "kernel_size", "stride", "padding", "dilation", "ceil_mode"))


def _gen_keras_size(seed, n, with_padding, max_size, strides_none=False):
    rng = np.random.default_rng(seed)
    cases = []
    fixed = [(5, 2, 2), (24, 2, 2), (7, 3, 2), (6, 3, 1), (4, 4, 1)]
    for size, k, s in fixed:
        cases.append(((size, k, s), "classic"))
    while len(cases) < n:
        k = int(rng.integers(1, 6))
        s = int(rng.integers(1, 5))
        size = int(rng.integers(1, max_size + 1))
        if strides_none and len(cases) % 4 == 3:
            s = None
        cases.append(((size, k, s), "random"))
    out = []
    for i, (args, note) in enumerate(cases[:n]):
        if with_padding:
            args = args + (("same", "valid")[i % 2],)
            if args[3] == "valid" and args[0] < args[1]:  # Keras gives an empty axis
                args = args[:3] + ("same",)
        out.append((args, {}, note))
    return out


def keras_size_cases(seed: int, n: int = 20, *, with_padding: bool = False,
                     max_size: int = 30, strides_none: bool = False) -> CaseSet:
    """Keras shape problems, called as ``fn(size, pool_size, strides)`` or, with
    ``with_padding=True``, ``fn(size, pool_size, strides, padding)`` where padding
    alternates ``"same"``/``"valid"``; ``strides_none`` makes every 4th random
    ``strides`` None.
    """
    params = dict(seed=seed, n=n, with_padding=with_padding, max_size=max_size,
                  strides_none=strides_none)
    names = ("size", "pool_size", "strides") + (("padding",) if with_padding else ())
    return CaseSet("keras_size", params, names)


def arr(values, dtype: str = "float64"):
    """An array argument for :func:`literal_cases`, given as nested lists."""
    return ("__ndarray__", _encode_nonfinite(values), dtype)


def _encode_nonfinite(values):
    if _type(values) in (_list, _tuple):
        return [_encode_nonfinite(v) for v in values]
    if _type(values) is _float and (values != values or values - values != 0):
        return repr(values)            # 'inf', '-inf', 'nan': NumPy parses these back
    return values


def _decode(value):
    if _type(value) is _tuple and value.__len__() == 3 and value[0] == "__ndarray__":
        return np.array(value[1], dtype=value[2])
    if _type(value) is _tuple:
        return tuple(_decode(v) for v in value)
    if _type(value) is _dict:
        return {k: _decode(v) for k, v in value.items()}
    return value


def _gen_literal(cases):
    return [(_decode(tuple(args)), _decode(dict(kwargs)), note) for args, kwargs, note in cases]


def literal_cases(cases, names=()) -> CaseSet:
    """Hand-written cases: ``[(args, kwargs, note), ...]`` (or ``(args, kwargs)``) made of
    ints, floats, strings, bools, None, tuples and :func:`arr` arrays."""
    norm = []
    for case in cases:
        args, kwargs = case[0], case[1]
        note = case[2] if case.__len__() > 2 else ""
        norm.append((tuple(args), dict(kwargs), note))
    return CaseSet("literal", {"cases": norm}, tuple(names))


def _gen_arrays(seed, n, rank, max_size, extra_args, extra_kwargs):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        style = _STYLES[i % 3]
        shape = tuple(int(rng.integers(1, 4)) for _ in range(min(rank, 2)))
        shape += tuple(int(rng.integers(1, max_size + 1)) for _ in range(rank - 2))
        cases.append(((_values(rng, shape, style, "float64"),) + tuple(extra_args),
                      dict(extra_kwargs or {}), f"values: {style}"))
    return cases


def array_cases(seed: int, n: int = 6, *, rank: int = 4, max_size: int = 9,
                extra_args=(), extra_kwargs=None) -> CaseSet:
    """Random arrays ``x`` of ``rank`` dims (first two 1..3, the rest 1..max_size), called as
    ``fn(x, *extra_args, **extra_kwargs)``; values cycle negative / ties / normal."""
    params = dict(seed=seed, n=n, rank=rank, max_size=max_size,
                  extra_args=tuple(extra_args), extra_kwargs=dict(extra_kwargs or {}))
    return CaseSet("arrays", params, ("x",))


def _gen_hw(seed, n, padding, stride_none, max_size):
    rng = np.random.default_rng(seed)
    cases = [((24, 24, 2, 2, 0), {}, "classic"), ((7, 5, 3, 2, 1), {}, "classic")]
    while len(cases) < n:
        k = int(rng.integers(1, 5))
        s = None if (stride_none and len(cases) % 4 == 3) else int(rng.integers(1, 5))
        p = int(rng.integers(0, k // 2 + 1)) if padding else 0
        low = max(k - 2 * p, 1)
        h = int(rng.integers(low, max(low, max_size) + 1))
        w = int(rng.integers(low, max(low, max_size) + 1))
        cases.append(((h, w, k, s, p), {}, "random"))
    return [c for c in cases if padding or c[0][4] == 0][:n]


def hw_cases(seed: int, n: int = 20, *, padding: bool = True, stride_none: bool = False,
             max_size: int = 32) -> CaseSet:
    """Square-window problems on an ``height x width`` plane, called as
    ``fn(height, width, kernel_size, stride, padding)`` (valid torch configurations)."""
    params = dict(seed=seed, n=n, padding=padding, stride_none=stride_none,
                  max_size=max_size)
    return CaseSet("hw", params, ("height", "width", "kernel_size", "stride", "padding"))


_GENERATORS = {"pool": _gen_pool, "size": _gen_size, "keras_size": _gen_keras_size,
               "literal": _gen_literal, "arrays": _gen_arrays, "hw": _gen_hw}
