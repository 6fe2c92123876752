"""Plausible wrong answers for lesson 04 (conv vs pooling), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.

Known mistakes (the ones a diagnosis names) live in
``solutions/04-conv-vs-pooling/mistakes.py``; this file keeps the other wrong answers: rule
breaks (other libraries, speed, types) and answers no probe can pin down.
"""

def _with_channel_step(channel_step, unreachable=None):
    """The instructor's design_stack (the shortest pooling path per axis) with its channel
    step replaced by ``channel_step``; with ``unreachable`` (source of a list), an axis that
    no pooling sequence reaches gets those steps instead of a ValueError."""
    if unreachable is None:
        on_none = "        raise ValueError('no pooling sequence reaches the target')\n"
    else:
        on_none = (f"        steps_h = {unreachable} if steps_h is None else steps_h\n"
                   f"        steps_w = {unreachable} if steps_w is None else steps_w\n")
    return ('''
def design_stack(in_shape, out_shape, max_params):
    (_, c, h, w), (_, c2, h2, w2) = in_shape, out_shape
    layers = []
''' + channel_step.lstrip("\n") + '''    steps_h, steps_w = fewest_pools(h, h2), fewest_pools(w, w2)
    if steps_h is None or steps_w is None:
''' + on_none + '''    n_pools = max(len(steps_h), len(steps_w))
    steps_h += [(1, 1, 0)] * (n_pools - len(steps_h))
    steps_w += [(1, 1, 0)] * (n_pools - len(steps_w))
    for (kh, sh, ph), (kw, sw, pw) in zip(steps_h, steps_w):
        layers.append(("pool", (kh, kw), (sh, sw), (ph, pw)))
    return layers


def fewest_pools(size, target):
    steps = [(k, s, p) for k in (2, 3) for s in range(2, k + 1) for p in range(k // 2 + 1)]
    paths, frontier = {size: []}, [size]
    while frontier and target not in paths:
        reached = []
        for n in frontier:
            for k, s, p in steps:
                m = (n + 2 * p - k) // s + 1
                if m >= 1 and m not in paths:
                    paths[m] = paths[n] + [(k, s, p)]
                    reached.append(m)
        frontier = reached
    return paths.get(target)
''')


WRONG = {
    "depthwise_conv2d": [
        ('delegates to torch (correct values, not NumPy)', '''
def depthwise_conv2d(x, weight, stride=1, padding=0):
    import torch
    import torch.nn.functional as F
    x = np.asarray(x, dtype=np.float64)
    out = F.conv2d(torch.from_numpy(x), torch.from_numpy(np.asarray(weight, dtype=np.float64)),
                   stride=stride, padding=padding, groups=x.shape[1])
    return out.numpy()
'''),
    ],
    "avg_pool2d_exclude_pad": [
        ('delegates to poolkit (correct values, not NumPy)', '''
import poolkit


def avg_pool2d_exclude_pad(x, kernel_size, stride=None, padding=0):
    return poolkit.avg_pool2d(np.asarray(x, dtype=np.float64), kernel_size, stride, padding,
                              count_include_pad=False)
'''),
        ('counts real pixels on a map padded with ones (the padding counted again)', '''
def avg_pool2d_exclude_pad(x, kernel_size, stride=None, padding=0):
    x = np.asarray(x, dtype=np.float64)
    stride = kernel_size if stride is None else stride
    ones = np.ones((x.shape[1], 1, kernel_size, kernel_size))
    sums = depthwise_conv2d(x, ones, stride, padding)
    p = padding
    ones_map = np.pad(np.ones_like(x), ((0, 0), (0, 0), (p, p), (p, p)), constant_values=1.0)
    return sums / depthwise_conv2d(ones_map, ones, stride, 0)
'''),
        ('one window size for every border window: divides by k * (k - padding) there', '''
def avg_pool2d_exclude_pad(x, kernel_size, stride=None, padding=0):
    x = np.asarray(x, dtype=np.float64)
    k = kernel_size
    stride = k if stride is None else stride
    sums = depthwise_conv2d(x, np.ones((x.shape[1], 1, k, k)), stride, padding)
    counts = np.full(sums.shape, float(k * k))
    if padding:
        counts[..., 0, :] = counts[..., -1, :] = k * (k - padding)
        counts[..., :, 0] = counts[..., :, -1] = k * (k - padding)
    return sums / counts
'''),
    ],
    "avg_pool2d_backward": [
        ('delegates to torch autograd (correct values, not NumPy)', '''
def avg_pool2d_backward(grad_output, x_shape, kernel_size, stride=None, padding=0):
    import torch
    import torch.nn.functional as F
    x = torch.zeros(tuple(x_shape), dtype=torch.float64, requires_grad=True)
    g = torch.from_numpy(np.array(grad_output, dtype=np.float64))
    F.avg_pool2d(x, kernel_size, stride, padding).backward(g)
    return x.grad.numpy()
'''),
    ],
    "design_stack": [
        ('the degenerate design: one stride-1 window of (H - H2 + 1) x (W - W2 + 1)', '''
def design_stack(in_shape, out_shape, max_params):
    (_, c, h, w), (_, c2, h2, w2) = in_shape, out_shape
    layers = []
    if c2 != c:
        if c * c2 + c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 1, 1, 0))
    layers.append(("pool", (h - h2 + 1, w - w2 + 1), 1, 0))
    return layers
'''),
        ('a 3x3 convolution for the channel change (over the budget)', _with_channel_step('''
    if c2 != c:
        if 9 * c * c2 + c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 3, 1, 1))
''')),
        ('forgets the bias in the budget', _with_channel_step('''
    if c2 != c:
        if c * c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 1, 1, 0))
''')),
        ('never raises for the budget: a convolution whatever it costs', _with_channel_step('''
    if c2 != c:
        layers.append(("conv", c2, 1, 1, 0))
''')),
        ('over the budget, a convolution with no output channels (so no parameters)',
         _with_channel_step('''
    if c2 != c:
        layers.append(("conv", c2 if c * c2 + c2 <= max_params else 0, 1, 1, 0))
''')),
        ('greedy per axis: each step the smallest size not below the target (32 -> 10 is '
         'stuck, where 32 -> 16 -> 8 reaches 8)', _with_channel_step('''
    if c2 != c:
        if c * c2 + c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 1, 1, 0))
''').replace("fewest_pools(h, h2), fewest_pools(w, w2)", "greedy(h, h2), greedy(w, w2)") + '''

def greedy(size, target):
    steps = [(k, s, p) for k in (2, 3) for s in range(2, k + 1) for p in range(k // 2 + 1)]
    found = []
    while size != target:
        reachable = [((size + 2 * p - k) // s + 1, (k, s, p)) for k, s, p in steps]
        reachable = [(m, step) for m, step in reachable if target <= m < size]
        if not reachable:
            return None
        size, step = min(reachable)
        found.append(step)
    return found
'''),
        ('only 2x2 stride-2 poolings, halving each axis while it is above the target', '''
def design_stack(in_shape, out_shape, max_params):
    (_, c, h, w), (_, c2, h2, w2) = in_shape, out_shape
    layers = []
    if c2 != c:
        if c * c2 + c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 1, 1, 0))
    while h > h2 or w > w2:
        kh, kw = (2 if h > h2 else 1), (2 if w > w2 else 1)
        layers.append(("pool", (kh, kw), (kh, kw), 0))
        h, w = h // kh, w // kw
    return layers
'''),
        ('never raises for a size no pooling reaches: leaves that axis alone',
         _with_channel_step('''
    if c2 != c:
        if c * c2 + c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 1, 1, 0))
''', unreachable="[]")),
    ],
}
