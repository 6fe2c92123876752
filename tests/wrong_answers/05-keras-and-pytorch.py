"""Plausible wrong answers for lesson 05 (Keras and PyTorch), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.

Known mistakes (the ones a diagnosis names) live in
``solutions/05-keras-and-pytorch/mistakes.py``; this file keeps the other wrong answers: rule
breaks (other libraries, speed, types) and answers no probe can pin down.
"""

WRONG = {
    "keras_same_max_pool": [
        ('delegates to poolkit (correct values, not NumPy)', '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)

import keras


def keras_same_max_pool2d(x, pool_size, strides=None):
    layer = keras.layers.MaxPooling2D(pool_size, strides, padding="same")
    return keras.ops.convert_to_numpy(layer(np.asarray(x, dtype=np.float32))).astype(np.float64)
'''),
        ('same_padding for floor(L / s) outputs (the last window is dropped)', '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = size // strides
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)

def keras_same_max_pool2d(x, pool_size, strides=None):
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    n, height, width, c = x.shape
    (top, bottom), (left, right) = (same_padding(height, pool_size, strides),
                                    same_padding(width, pool_size, strides))
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
    h_out, w_out = -(-height // strides), -(-width // strides)
    out = np.full((n, h_out, w_out, c), -np.inf)
    for a in range(pool_size):
        for b in range(pool_size):
            out = np.maximum(out, padded[:, a : a + strides * (h_out - 1) + 1 : strides,
                                         b : b + strides * (w_out - 1) + 1 : strides, :])
    return out
'''),
        ('same_padding that goes negative when the windows already fit', '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = (out - 1) * strides + pool_size - size
    return int(total // 2), int(total - total // 2)

def keras_same_max_pool2d(x, pool_size, strides=None):
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    n, height, width, c = x.shape
    (top, bottom), (left, right) = (same_padding(height, pool_size, strides),
                                    same_padding(width, pool_size, strides))
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
    h_out, w_out = -(-height // strides), -(-width // strides)
    out = np.full((n, h_out, w_out, c), -np.inf)
    for a in range(pool_size):
        for b in range(pool_size):
            out = np.maximum(out, padded[:, a : a + strides * (h_out - 1) + 1 : strides,
                                         b : b + strides * (w_out - 1) + 1 : strides, :])
    return out
'''),
        ('same_padding splits an odd total evenly, rounding both halves down', '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total // 2)

def keras_same_max_pool2d(x, pool_size, strides=None):
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    n, height, width, c = x.shape
    (top, bottom), (left, right) = (same_padding(height, pool_size, strides),
                                    same_padding(width, pool_size, strides))
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
    h_out, w_out = -(-height // strides), -(-width // strides)
    out = np.full((n, h_out, w_out, c), -np.inf)
    for a in range(pool_size):
        for b in range(pool_size):
            out = np.maximum(out, padded[:, a : a + strides * (h_out - 1) + 1 : strides,
                                         b : b + strides * (w_out - 1) + 1 : strides, :])
    return out
'''),
    ],
    "torch_to_keras": [
        ("any padding becomes Keras 'same' (never raises)", '''
def torch_to_keras(layer, input_hw):
    def pair(v):
        return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))

    keras_name = {"MaxPool2d": "MaxPooling2D", "AvgPool2d": "AveragePooling2D"}[layer["type"]]
    k = pair(layer["kernel_size"])
    s = k if layer.get("stride") is None else pair(layer["stride"])
    p = pair(layer.get("padding", 0))
    pool = {"pool_size": k, "strides": s}

    return [(keras_name, {**pool, "padding": "valid" if p == (0, 0) else "same"})]
'''),
        ('zero padding for every padded layer (zeros win a max on negative inputs)', '''
def torch_to_keras(layer, input_hw):
    def pair(v):
        return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))

    keras_name = {"MaxPool2d": "MaxPooling2D", "AvgPool2d": "AveragePooling2D"}[layer["type"]]
    k = pair(layer["kernel_size"])
    s = k if layer.get("stride") is None else pair(layer["stride"])
    p = pair(layer.get("padding", 0))
    pool = {"pool_size": k, "strides": s}

    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    return [("ZeroPadding2D", {"padding": ((p[0], p[0]), (p[1], p[1]))}),
            (keras_name, {**pool, "padding": "valid"})]
'''),
        ('ignores count_include_pad (always zero padding for average)', '''
def torch_to_keras(layer, input_hw):
    def pair(v):
        return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))

    keras_name = {"MaxPool2d": "MaxPooling2D", "AvgPool2d": "AveragePooling2D"}[layer["type"]]
    k = pair(layer["kernel_size"])
    s = k if layer.get("stride") is None else pair(layer["stride"])
    p = pair(layer.get("padding", 0))
    pool = {"pool_size": k, "strides": s}

    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    if layer["type"] == "AvgPool2d":
        return [("ZeroPadding2D", {"padding": ((p[0], p[0]), (p[1], p[1]))}),
                (keras_name, {**pool, "padding": "valid"})]

    for size, kk, ss, pp in zip(input_hw, k, s, p):
        out_torch = (size + 2 * pp - kk) // ss + 1
        out_same = -(-size // ss)
        before = max((out_same - 1) * ss + kk - size, 0) // 2
        if out_same != out_torch or before != pp:
            raise ValueError("no translation")
    return [(keras_name, {**pool, "padding": "same"})]
'''),
        ("'same' accepted when the output sizes match, padding not compared", '''
def torch_to_keras(layer, input_hw):
    def pair(v):
        return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))

    keras_name = {"MaxPool2d": "MaxPooling2D", "AvgPool2d": "AveragePooling2D"}[layer["type"]]
    k = pair(layer["kernel_size"])
    s = k if layer.get("stride") is None else pair(layer["stride"])
    p = pair(layer.get("padding", 0))
    pool = {"pool_size": k, "strides": s}

    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    if layer["type"] == "AvgPool2d" and layer.get("count_include_pad", True):
        return [("ZeroPadding2D", {"padding": ((p[0], p[0]), (p[1], p[1]))}),
                (keras_name, {**pool, "padding": "valid"})]
    for size, kk, ss, pp in zip(input_hw, k, s, p):
        if -(-size // ss) != (size + 2 * pp - kk) // ss + 1:
            raise ValueError("no translation")
    return [(keras_name, {**pool, "padding": "same"})]
'''),
        ('H and W padding swapped in ZeroPadding2D', '''
def torch_to_keras(layer, input_hw):
    def pair(v):
        return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))

    keras_name = {"MaxPool2d": "MaxPooling2D", "AvgPool2d": "AveragePooling2D"}[layer["type"]]
    k = pair(layer["kernel_size"])
    s = k if layer.get("stride") is None else pair(layer["stride"])
    p = pair(layer.get("padding", 0))
    pool = {"pool_size": k, "strides": s}

    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    if layer["type"] == "AvgPool2d" and layer.get("count_include_pad", True):
        return [("ZeroPadding2D", {"padding": ((p[1], p[1]), (p[0], p[0]))}),
                (keras_name, {**pool, "padding": "valid"})]

    for size, kk, ss, pp in zip(input_hw, k, s, p):
        out_torch = (size + 2 * pp - kk) // ss + 1
        out_same = -(-size // ss)
        before = max((out_same - 1) * ss + kk - size, 0) // 2
        if out_same != out_torch or before != pp:
            raise ValueError("no translation")
    return [(keras_name, {**pool, "padding": "same"})]
'''),
        ("average pooling that ignores its padding always becomes 'same' (max is checked)", '''
def torch_to_keras(layer, input_hw):
    def pair(v):
        return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))

    keras_name = {"MaxPool2d": "MaxPooling2D", "AvgPool2d": "AveragePooling2D"}[layer["type"]]
    k = pair(layer["kernel_size"])
    s = k if layer.get("stride") is None else pair(layer["stride"])
    p = pair(layer.get("padding", 0))
    pool = {"pool_size": k, "strides": s}

    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    if layer["type"] == "AvgPool2d":
        if layer.get("count_include_pad", True):
            return [("ZeroPadding2D", {"padding": ((p[0], p[0]), (p[1], p[1]))}),
                    (keras_name, {**pool, "padding": "valid"})]
        return [(keras_name, {**pool, "padding": "same"})]
    for size, kk, ss, pp in zip(input_hw, k, s, p):
        out_torch = (size + 2 * pp - kk) // ss + 1
        out_same = -(-size // ss)
        before = max((out_same - 1) * ss + kk - size, 0) // 2
        if out_same != out_torch or before != pp:
            raise ValueError("no translation")
    return [(keras_name, {**pool, "padding": "same"})]
'''),
    ],
    "pool_nets": [
        ('Keras layers in the wrong order (pooling before the convolution)', '''
def pool_nets(x, conv_weight, conv_bias):
    import keras
    import torch
    import torch.nn as nn
    from tensorflow.keras.layers import Conv2D, MaxPooling2D, ZeroPadding2D

    x = np.asarray(x, dtype=np.float32)
    torch_model = nn.Sequential(nn.Conv2d(2, 5, kernel_size=3),
                                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    with torch.no_grad():
        torch_model[0].weight.copy_(torch.from_numpy(np.asarray(conv_weight, np.float32)))
        torch_model[0].bias.copy_(torch.from_numpy(np.asarray(conv_bias, np.float32)))
        torch_output = torch_model(torch.from_numpy(x)).numpy()
    keras_model = keras.Sequential([keras.Input(shape=(9, 9, 2)),
                                    MaxPooling2D(pool_size=3, strides=2, padding="same"),
                                    Conv2D(5, 3)])
    kernel = np.transpose(np.asarray(conv_weight, np.float32), (2, 3, 1, 0))
    keras_model.layers[1].set_weights([kernel, np.asarray(conv_bias, np.float32)])
    keras_output = keras.ops.convert_to_numpy(keras_model(np.transpose(x, (0, 2, 3, 1))))
    return {"torch_output": torch_output, "keras_output": keras_output,
            "torch_parameters": sum(p.numel() for p in torch_model.parameters()),
            "keras_parameters": keras_model.count_params()}
'''),
        ("MaxPooling2D with padding='valid' (torch pads 1)", '''
def pool_nets(x, conv_weight, conv_bias):
    import keras
    import torch
    import torch.nn as nn
    from tensorflow.keras.layers import Conv2D, MaxPooling2D, ZeroPadding2D

    x = np.asarray(x, dtype=np.float32)
    torch_model = nn.Sequential(nn.Conv2d(2, 5, kernel_size=3),
                                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    with torch.no_grad():
        torch_model[0].weight.copy_(torch.from_numpy(np.asarray(conv_weight, np.float32)))
        torch_model[0].bias.copy_(torch.from_numpy(np.asarray(conv_bias, np.float32)))
        torch_output = torch_model(torch.from_numpy(x)).numpy()
    keras_model = keras.Sequential([keras.Input(shape=(9, 9, 2)), Conv2D(5, 3),
                                    MaxPooling2D(pool_size=3, strides=2, padding="valid")])
    kernel = np.transpose(np.asarray(conv_weight, np.float32), (2, 3, 1, 0))
    keras_model.layers[0].set_weights([kernel, np.asarray(conv_bias, np.float32)])
    keras_output = keras.ops.convert_to_numpy(keras_model(np.transpose(x, (0, 2, 3, 1))))
    return {"torch_output": torch_output, "keras_output": keras_output,
            "torch_parameters": sum(p.numel() for p in torch_model.parameters()),
            "keras_parameters": keras_model.count_params()}
'''),
        ('channels-first input fed to Keras (no transpose)', '''
def pool_nets(x, conv_weight, conv_bias):
    import keras
    import torch
    import torch.nn as nn
    from tensorflow.keras.layers import Conv2D, MaxPooling2D, ZeroPadding2D

    x = np.asarray(x, dtype=np.float32)
    torch_model = nn.Sequential(nn.Conv2d(2, 5, kernel_size=3),
                                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    with torch.no_grad():
        torch_model[0].weight.copy_(torch.from_numpy(np.asarray(conv_weight, np.float32)))
        torch_model[0].bias.copy_(torch.from_numpy(np.asarray(conv_bias, np.float32)))
        torch_output = torch_model(torch.from_numpy(x)).numpy()
    keras_model = keras.Sequential([keras.Input(shape=(2, 9, 9)), Conv2D(5, 3),
                                    MaxPooling2D(pool_size=3, strides=2, padding="same")])
    kernel = np.transpose(np.asarray(conv_weight, np.float32), (2, 3, 1, 0))
    keras_model.layers[0].set_weights([kernel, np.asarray(conv_bias, np.float32)])
    keras_output = keras.ops.convert_to_numpy(keras_model(x))
    return {"torch_output": torch_output, "keras_output": keras_output,
            "torch_parameters": sum(p.numel() for p in torch_model.parameters()),
            "keras_parameters": keras_model.count_params()}
'''),
        ("ZeroPadding2D(1) then a 'valid' MaxPooling2D (zeros win on negative maps)", '''
def pool_nets(x, conv_weight, conv_bias):
    import keras
    import torch
    import torch.nn as nn
    from tensorflow.keras.layers import Conv2D, MaxPooling2D, ZeroPadding2D

    x = np.asarray(x, dtype=np.float32)
    torch_model = nn.Sequential(nn.Conv2d(2, 5, kernel_size=3),
                                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    with torch.no_grad():
        torch_model[0].weight.copy_(torch.from_numpy(np.asarray(conv_weight, np.float32)))
        torch_model[0].bias.copy_(torch.from_numpy(np.asarray(conv_bias, np.float32)))
        torch_output = torch_model(torch.from_numpy(x)).numpy()
    keras_model = keras.Sequential([keras.Input(shape=(9, 9, 2)), Conv2D(5, 3),
                                    ZeroPadding2D(1),
                                    MaxPooling2D(pool_size=3, strides=2, padding="valid")])
    kernel = np.transpose(np.asarray(conv_weight, np.float32), (2, 3, 1, 0))
    keras_model.layers[0].set_weights([kernel, np.asarray(conv_bias, np.float32)])
    keras_output = keras.ops.convert_to_numpy(keras_model(np.transpose(x, (0, 2, 3, 1))))
    return {"torch_output": torch_output, "keras_output": keras_output,
            "torch_parameters": sum(p.numel() for p in torch_model.parameters()),
            "keras_parameters": keras_model.count_params()}
'''),
        ('Keras kernel reshaped instead of transposed (scrambled weights)', '''
def pool_nets(x, conv_weight, conv_bias):
    import keras
    import torch
    import torch.nn as nn
    from tensorflow.keras.layers import Conv2D, MaxPooling2D, ZeroPadding2D

    x = np.asarray(x, dtype=np.float32)
    torch_model = nn.Sequential(nn.Conv2d(2, 5, kernel_size=3),
                                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    with torch.no_grad():
        torch_model[0].weight.copy_(torch.from_numpy(np.asarray(conv_weight, np.float32)))
        torch_model[0].bias.copy_(torch.from_numpy(np.asarray(conv_bias, np.float32)))
        torch_output = torch_model(torch.from_numpy(x)).numpy()
    keras_model = keras.Sequential([keras.Input(shape=(9, 9, 2)), Conv2D(5, 3),
                                    MaxPooling2D(pool_size=3, strides=2, padding="same")])
    kernel = np.reshape(np.asarray(conv_weight, np.float32), (3, 3, 2, 5))
    keras_model.layers[0].set_weights([kernel, np.asarray(conv_bias, np.float32)])
    keras_output = keras.ops.convert_to_numpy(keras_model(np.transpose(x, (0, 2, 3, 1))))
    return {"torch_output": torch_output, "keras_output": keras_output,
            "torch_parameters": sum(p.numel() for p in torch_model.parameters()),
            "keras_parameters": keras_model.count_params()}
'''),
    ],
}
