"""Types taken from literals, shared by the modules of :mod:`poolkit.checks`."""

# Types taken from literals: a student can rebind the names ``type``, ``int``, ``float``
# in builtins, but not the class of ``0``.
_type = (0).__class__.__class__
_int = (0).__class__
_float = (0.0).__class__
_bool = (True).__class__
_tuple = ().__class__
_list = [].__class__
_str = "".__class__
_none = (None).__class__
_dict = {}.__class__
_builtin_function = _type([].append)
_HEAPTYPE = 1 << 9          # Py_TPFLAGS_HEAPTYPE: set on every class made by Python code
