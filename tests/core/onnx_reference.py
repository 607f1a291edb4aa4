#!/usr/bin/python3
"""Independent ONNX helpers for tests/core/test_onnx_activations.cpp (python3-onnx + numpy).

  onnx_reference.py forward MODEL.onnx X.npy OUT.npy [MODEL X OUT ...]
      Runs a chain of ONNX nodes on X (float32, batch first) with numpy in float64, from the
      operator definitions of the model's opset, and writes the output as float32 (for each
      triple: one python start for many models).
  onnx_reference.py twins DIR
      Writes small models at opsets 6, 7, 8 and 13 (DIR/<name>_opset<k>.onnx), each checked
      by onnx.checker at its opset; the twins of one name compute the same function.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SELU_ALPHA = 1.6732632423543772
SELU_GAMMA = 1.0507009873554805


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def legacy_broadcast(a, b, at):
    """Add/Mul up to opset 6: B's dims line up with A's from `axis` (default: trailing)."""
    if not at.get("broadcast", 0):
        assert a.shape == b.shape, (a.shape, b.shape)
        return b
    axis = at.get("axis", a.ndim - b.ndim)
    if axis < 0:
        axis += a.ndim
    shape = [1] * a.ndim
    shape[axis:axis + b.ndim] = b.shape
    return b.reshape(shape)


def softmax(x, axis, opset):
    if opset < 13:  # coerced to 2-D at `axis`
        shape = x.shape
        x = x.reshape(int(np.prod(shape[:axis])), -1)
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).reshape(shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def forward(model, x):
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    vals = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in vals]
    assert len(inputs) == 1, inputs
    vals[inputs[0]] = x.astype(np.float64)
    for n in model.graph.node:
        at = attrs(n)
        ins = [vals[i] if i else None for i in n.input]
        op = n.op_type
        if op == "Constant":
            y = numpy_helper.to_array(at["value"]).astype(np.float64)
        elif op in ("Identity", "Dropout"):
            y = ins[0]
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-ins[0]))
        elif op == "Tanh":
            y = np.tanh(ins[0])
        elif op == "HardSigmoid":
            y = np.clip(at.get("alpha", 0.2) * ins[0] + at.get("beta", 0.5), 0, 1)
        elif op == "LeakyRelu":
            y = np.where(ins[0] >= 0, ins[0], at.get("alpha", 0.01) * ins[0])
        elif op == "Elu":
            y = np.where(ins[0] >= 0, ins[0], at.get("alpha", 1.0) * np.expm1(ins[0]))
        elif op == "Selu":
            a, g = at.get("alpha", SELU_ALPHA), at.get("gamma", SELU_GAMMA)
            y = g * np.where(ins[0] >= 0, ins[0], a * np.expm1(ins[0]))
        elif op == "Add":
            b = legacy_broadcast(ins[0], ins[1], at) if opset <= 6 else ins[1]
            y = ins[0] + b
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op == "Gemm":
            a = ins[0].T if at.get("transA", 0) else ins[0]
            b = ins[1].T if at.get("transB", 0) else ins[1]
            y = at.get("alpha", 1.0) * (a @ b)
            if len(ins) > 2 and ins[2] is not None:
                y = y + at.get("beta", 1.0) * ins[2]
        elif op == "Conv":  # valid, stride 1, no dilation, group 1 (what twins() writes)
            w = ins[1]
            f, c, kh, kw = w.shape
            xin = ins[0]
            oh, ow = xin.shape[2] - kh + 1, xin.shape[3] - kw + 1
            y = np.zeros((xin.shape[0], f, oh, ow))
            for i in range(oh):
                for j in range(ow):
                    patch = xin[:, :, i:i + kh, j:j + kw]
                    y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
            if len(ins) > 2:
                y = y + ins[2].reshape(1, f, 1, 1)
        elif op == "BatchNormalization":
            s, b, m, v = ins[1:5]
            shape = [1, -1] + [1] * (ins[0].ndim - 2)
            eps = at.get("epsilon", 1e-5)
            y = (ins[0] - m.reshape(shape)) / np.sqrt(v.reshape(shape) + eps) * s.reshape(
                shape) + b.reshape(shape)
        elif op == "Flatten":
            axis = at.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:axis])), -1)
        elif op == "Transpose":
            y = np.transpose(ins[0], at["perm"])
        elif op == "Softmax":
            axis = at.get("axis", 1 if opset < 13 else -1)
            if axis < 0:
                axis += ins[0].ndim
            y = softmax(ins[0], axis, opset)
        else:
            raise SystemExit("onnx_reference.py: op %s is not implemented" % op)
        vals[n.output[0]] = y
    return vals[model.graph.output[0].name]


# ---- twins -------------------------------------------------------------------------------


def save(path, nodes, inits, in_shape, out_shape, opset):
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)]
    if opset <= 8:  # IR version 3 lists the initializers as graph inputs too
        inputs += [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape)
                   for k, v in inits.items()]
    graph = helper.make_graph(
        nodes, os.path.basename(path).split("_opset")[0], inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="onnx_reference.py")
    model.ir_version = 3 if opset <= 8 else 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


def twins(out_dir):
    rng = np.random.default_rng(5)

    def rand(*shape, scale=0.5):
        return rng.uniform(-scale, scale, size=shape).astype(np.float32)

    # mlp: MatMul + Add, Relu, Gemm (transB, alpha, beta), Softmax.
    mlp = {"w1": rand(6, 8), "b1": rand(8), "w2": rand(4, 8), "b2": rand(4)}
    # bn: Gemm, BatchNormalization, Sigmoid, Dropout, MatMul, Tanh.
    bn = {"w1": rand(5, 7), "b1": rand(7), "gamma": rand(7), "beta": rand(7), "mean": rand(7),
          "var": np.abs(rand(7)) + 0.5, "w2": rand(7, 3)}
    # conv: Conv without bias + Add of a per-channel bias, Relu, Flatten, Gemm, Softmax.
    conv = {"wc": rand(3, 2, 2, 2), "bc": rand(3), "wf": rand(3 * 3 * 3, 4), "bf": rand(4)}
    # acts: HardSigmoid, LeakyRelu, Elu, Selu between MatMuls.
    acts = {"w1": rand(4, 6, scale=1.5), "w2": rand(6, 6, scale=1.5), "w3": rand(6, 6, scale=1.5),
            "w4": rand(6, 3, scale=1.5)}
    for opset in (6, 7, 8, 13):
        old = opset <= 6
        bcast = {"broadcast": 1} if old else {}
        path = lambda name: os.path.join(out_dir, "%s_opset%d.onnx" % (name, opset))
        save(path("mlp"), [
            helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
            helper.make_node("Add", ["h", "b1"], ["hb"], name="fc1_bias", **bcast),
            helper.make_node("Relu", ["hb"], ["r"], name="relu"),
            helper.make_node("Gemm", ["r", "w2", "b2"], ["z"], name="fc2", transB=1, alpha=0.75,
                             beta=1.5, **bcast),
            helper.make_node("Softmax", ["z"], ["y"], name="softmax"),
        ], mlp, [1, 6], [1, 4], opset)

        bn_attrs = {"epsilon": 1e-3, "momentum": 0.9}
        if old:
            bn_attrs["is_test"] = 1
        elif opset < 9:
            bn_attrs["spatial"] = 1
        drop = {"is_test": 1} if old else ({"ratio": 0.25} if opset < 12 else {})
        save(path("bn"), [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["g"], name="fc1", **bcast),
            helper.make_node("BatchNormalization", ["g", "gamma", "beta", "mean", "var"], ["n"],
                             name="bn", **bn_attrs),
            helper.make_node("Sigmoid", ["n"], ["s"], name="sigmoid"),
            helper.make_node("Dropout", ["s"], ["d"], name="drop", **drop),
            helper.make_node("MatMul", ["d", "w2"], ["m"], name="fc2"),
            helper.make_node("Tanh", ["m"], ["y"], name="tanh"),
        ], bn, [1, 5], [1, 3], opset)

        inits = dict(conv)
        if old:  # Caffe2 style: a (C,) bias broadcast from axis 1
            add = helper.make_node("Add", ["c", "bc"], ["cb"], name="conv_bias", broadcast=1,
                                   axis=1)
        else:
            inits["bc"] = conv["bc"].reshape(3, 1, 1)
            add = helper.make_node("Add", ["c", "bc"], ["cb"], name="conv_bias")
        save(path("conv"), [
            helper.make_node("Conv", ["x", "wc"], ["c"], name="conv", kernel_shape=[2, 2]),
            add,
            helper.make_node("Relu", ["cb"], ["r"], name="relu"),
            helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
            helper.make_node("Gemm", ["f", "wf", "bf"], ["z"], name="fc", **bcast),
            helper.make_node("Softmax", ["z"], ["y"], name="softmax"),
        ], inits, [1, 2, 4, 4], [1, 4], opset)

        save(path("acts"), [
            helper.make_node("MatMul", ["x", "w1"], ["a1"], name="fc1"),
            helper.make_node("HardSigmoid", ["a1"], ["h1"], name="hard_sigmoid", alpha=0.25,
                             beta=0.4),
            helper.make_node("MatMul", ["h1", "w2"], ["a2"], name="fc2"),
            helper.make_node("LeakyRelu", ["a2"], ["h2"], name="leaky", alpha=0.1),
            helper.make_node("MatMul", ["h2", "w3"], ["a3"], name="fc3"),
            helper.make_node("Elu", ["a3"], ["h3"], name="elu", alpha=0.5),
            helper.make_node("MatMul", ["h3", "w4"], ["a4"], name="fc4"),
            helper.make_node("Selu", ["a4"], ["y"], name="selu"),
        ], acts, [1, 4], [1, 3], opset)


def main(argv):
    if len(argv) >= 5 and (len(argv) - 2) % 3 == 0 and argv[1] == "forward":
        for k in range(2, len(argv), 3):
            y = forward(onnx.load(argv[k]), np.load(argv[k + 1]))
            np.save(argv[k + 2], y.astype(np.float32))
    elif len(argv) == 3 and argv[1] == "twins":
        twins(argv[2])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
