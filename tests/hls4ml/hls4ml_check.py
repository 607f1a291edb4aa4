#!/usr/bin/python3
"""hwprune's exports read by the real hls4ml, bit for bit.

For every case: build a small model with the hwprune CLI (train, optionally prune and apply
an hls4ml config), export it (`hwprune convert`: plain Keras JSON + H5, ONNX) with its hls4ml
YAML, convert that with hls4ml (Vivado backend), build the C simulation with g++
(`hls_model.compile()`), run it on N inputs and compare with `hwprune predict --integer` on
the same inputs: the logits (the input of the final softmax, read with hls4ml's trace) must be
equal bit for bit, and the argmax after hls4ml's table softmax is reported. The QKeras flavour
(QDense/QActivation) needs the qkeras package, which hls4ml cannot import here: its H5 is
checked instead (every weight on its quantizer's grid, equal to the plain export's).

A case is one entry of CASES; every case must run (a refusal by `hwprune predict --integer`
fails the test with hwprune's own message).

hls4ml is imported from $HWPRUNE_HLS4ML, else from $HWPRUNE_SHARED_DIR/peers/hls4ml-py
(default ../shared beside the source tree); without it the script exits 77 (CTest: skipped)
saying so.

usage: hls4ml_check.py --hwprune BIN --work DIR [--source DIR] [--samples N] [--cases a,b]
"""
import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field

import numpy as np
import yaml

SKIP = 77


@dataclass
class Case:
    name: str
    seed: str  # 'mlp:<hidden>' (a builtin, trained) or a key of SEEDS (a .hwp written here)
    precision: str = 'ap_fixed<16,6>'
    prune: tuple = ()  # hwprune prune arguments (empty: not pruned)
    convert: tuple = ()  # hwprune convert arguments (--rf, --strategy, --io-type, ...)
    hls_config: dict = None  # HLSConfig applied with `hwprune convert --hls-config` first
    strategy: str = None  # expected Strategy of every Dense/Conv in the exported YAML
    yaml_strategy: str = None  # written over the exported YAML's Strategy (see the table)
    formats: tuple = ('keras', 'onnx')
    weight_bits: int = None  # widest weight precision expected of every Dense in the YAML


CASES = [
    Case('latency-rf1', 'mlp:16,8', strategy='Latency'),
    Case('pruned-rf2-resource', 'mlp:16,8', prune=('--rf', '2', '--objective', 'dsp'),
         convert=('--rf', '2'), yaml_strategy='Resource'),
    Case('pruned-rf2-unrolled', 'mlp:16,8', prune=('--rf', '2', '--objective', 'dsp'),
         convert=('--rf', '2'), strategy='resource_unrolled'),
    Case('w8-acc-result', 'mlp:16,8', precision='ap_fixed<8,3>',
         hls_config={'LayerType': {'Dense': {'Precision': {
             'accum': 'ap_fixed<24,10>', 'result': 'ap_fixed<12,5,AP_RND,AP_SAT>'}}}}),
    Case('batchnorm-folded', 'dense-bn'),
    # Joint pruning and precision: weights of 4 and 6 bits in each layer; the export gives
    # each layer its widest live width (hls4ml's granularity is the layer).
    Case('joint-widths-4-6', 'mlp:16,8', prune=('--objective', 'dsp-lut', '--ranking', 'saliency',
                                                '--widths', '0,4,6'),
         formats=('keras',), weight_bits=6),
    # CNNs: hls4ml's g++ build takes them at io_stream (docs/interop.md).
    Case('conv1d-stream', 'conv1d', convert=('--io-type', 'io_stream'), formats=('keras',)),
    Case('conv2d-maxpool-stream', 'conv2d', convert=('--io-type', 'io_stream'),
         formats=('keras',)),
    Case('conv2d-same-stream', 'conv2d-same', precision='ap_fixed<12,5>',
         convert=('--io-type', 'io_stream'), formats=('keras',)),
    # Average pooling: io_stream takes only valid padding with the stride equal to the pool;
    # io_parallel also strides and "same" padding (edge windows divide by their valid count).
    Case('conv2d-avgpool-stream', 'conv2d-avg', convert=('--io-type', 'io_stream'),
         formats=('keras',)),
    Case('conv2d-avgpool-parallel', 'conv2d-avg', formats=('keras',)),
    Case('conv2d-avgpool-same-parallel', 'conv2d-avg-same', precision='ap_fixed<12,5>',
         formats=('keras',)),
] + [Case(f'act-{a}'.replace(':', '-alpha'), f'act:{a}',
          # hls4ml's ONNX front end has no HardSigmoid at this commit ("to be repaired")
          formats=('keras',) if a == 'hard_sigmoid' else ('keras', 'onnx'))
     for a in ('sigmoid', 'tanh', 'hard_sigmoid', 'leaky_relu', 'elu', 'elu:0.7', 'selu')]

N_FEATURES, N_CLASSES = 16, 5


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def check_run(cmd, what):
    r = run(cmd)
    if r.returncode != 0:
        raise RuntimeError(f'{what}: {" ".join(map(str, cmd))}: {r.stderr.strip() or r.stdout}')
    return r


# ---- seed models written here as .hwp files (docs/model-format.md) ----------------------

def glorot(rng, shape):
    fan_in, fan_out = int(np.prod(shape[:-1])), shape[-1]
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, size=shape).astype(np.float32)


def write_hwp(path, name, input_shape, layers, rng):
    """layers: dicts of the model.json layer entry; Dense/Conv/BatchNorm weights are made."""
    members, entries, shape = {}, [], list(input_shape)
    for l in layers:
        l = dict(l)
        weights = {}
        if l['type'] in ('Dense', 'Conv1D', 'Conv2D'):
            k = l['units'] if l['type'] == 'Dense' else l['filters']
            kshape = [shape[-1], k] if l['type'] == 'Dense' else list(l['kernel_size']) + [shape[-1], k]
            weights = {'kernel': glorot(rng, kshape), 'bias': rng.uniform(-0.1, 0.1, k).astype(np.float32)}
            l.setdefault('use_bias', True)
            if l['type'] != 'Dense':
                l.setdefault('strides', [1] * len(l['kernel_size']))
                l.setdefault('padding', 'valid')
                if l['padding'] == 'same':
                    shape = list(shape[:-1]) + [k]
                else:
                    shape = [s - kk + 1 for s, kk in zip(shape[:-1], l['kernel_size'])] + [k]
            else:
                shape = [k]
        elif l['type'] == 'BatchNormalization':
            c = shape[-1]
            weights = {'gamma': rng.uniform(0.5, 1.5, c), 'beta': rng.uniform(-0.2, 0.2, c),
                       'moving_mean': rng.uniform(-0.5, 0.5, c), 'moving_variance': rng.uniform(0.5, 2, c)}
            weights = {k: v.astype(np.float32) for k, v in weights.items()}
            l.setdefault('epsilon', 1e-3)
            l.setdefault('momentum', 0.99)
        elif l['type'].startswith(('MaxPooling', 'AveragePooling')):
            l.setdefault('strides', l['pool_size'])
            l.setdefault('padding', 'valid')
            if l['padding'] == 'same':
                shape = [-(-s // st) for s, st in zip(shape[:-1], l['strides'])] + [shape[-1]]
            else:
                shape = [(s - p) // st + 1 for s, p, st in
                         zip(shape[:-1], l['pool_size'], l['strides'])] + [shape[-1]]
        elif l['type'] == 'Flatten':
            shape = [int(np.prod(shape))]
        l['weights'] = {}
        # float (`hwprune train --precision` sets them)
        l['precision'] = {k: 'float' for k in ('weight', 'bias', 'accum', 'result')}
        for key, v in weights.items():
            member = f'weights/{l["name"]}/{key}.npy'
            members[member] = v
            l['weights'][key] = member
        entries.append(l)
    model = {'format': 'hwprune-model', 'version': 1, 'name': name, 'task': 'classification',
             'class_names': [str(i) for i in range(N_CLASSES)],
             'input': {'shape': list(input_shape), 'precision': 'float'},
             'layers': entries, 'metadata': {}}
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('model.json', json.dumps(model, indent=1))
        for member, v in members.items():
            buf = io.BytesIO()
            np.save(buf, v)
            z.writestr(member, buf.getvalue())


def dense_relu(name, units):
    return [{'name': name, 'type': 'Dense', 'units': units},
            {'name': f'{name}_relu', 'type': 'Activation', 'activation': 'relu'}]


def seed_layers(seed):
    """(input shape, layers) of a seed that is not a builtin."""
    head = [{'name': 'output', 'type': 'Dense', 'units': N_CLASSES},
            {'name': 'softmax', 'type': 'Activation', 'activation': 'softmax'}]
    if seed == 'dense-bn':
        layers = []
        for i, u in ((1, 16), (2, 8)):
            layers += [{'name': f'fc{i}', 'type': 'Dense', 'units': u},
                       {'name': f'bn{i}', 'type': 'BatchNormalization'},
                       {'name': f'relu{i}', 'type': 'Activation', 'activation': 'relu'}]
        return [N_FEATURES], layers + head
    if seed == 'conv1d':
        return [16, 1], ([{'name': 'conv1', 'type': 'Conv1D', 'filters': 4, 'kernel_size': [3]},
                          {'name': 'relu1', 'type': 'Activation', 'activation': 'relu'},
                          {'name': 'flatten', 'type': 'Flatten'}] + head)
    if seed == 'conv2d':
        return [6, 6, 1], ([{'name': 'conv1', 'type': 'Conv2D', 'filters': 4, 'kernel_size': [3, 3]},
                            {'name': 'relu1', 'type': 'Activation', 'activation': 'relu'},
                            {'name': 'pool1', 'type': 'MaxPooling2D', 'pool_size': [2, 2]},
                            {'name': 'flatten', 'type': 'Flatten'}] + head)
    if seed == 'conv2d-avg':
        return [6, 6, 1], ([{'name': 'conv1', 'type': 'Conv2D', 'filters': 4, 'kernel_size': [3, 3]},
                            {'name': 'relu1', 'type': 'Activation', 'activation': 'relu'},
                            {'name': 'pool1', 'type': 'AveragePooling2D', 'pool_size': [2, 2]},
                            {'name': 'flatten', 'type': 'Flatten'}] + head)
    if seed == 'conv2d-avg-same':
        # no ReLU: negative means; 6x6 -> pool 3x3 stride 2 "same": 3x3, windows of 9, 6, 4
        return [6, 6, 2], ([{'name': 'conv1', 'type': 'Conv2D', 'filters': 4, 'kernel_size': [3, 3],
                             'padding': 'same'},
                            {'name': 'pool1', 'type': 'AveragePooling2D', 'pool_size': [3, 3],
                             'strides': [2, 2], 'padding': 'same'},
                            {'name': 'flatten', 'type': 'Flatten'}] + head)
    if seed == 'conv2d-same':
        return [6, 6, 2], ([{'name': 'conv1', 'type': 'Conv2D', 'filters': 4, 'kernel_size': [3, 3],
                             'padding': 'same'},
                            {'name': 'relu1', 'type': 'Activation', 'activation': 'relu'},
                            {'name': 'pool1', 'type': 'MaxPooling2D', 'pool_size': [2, 2]},
                            {'name': 'conv2', 'type': 'Conv2D', 'filters': 4, 'kernel_size': [2, 2]},
                            {'name': 'relu2', 'type': 'Activation', 'activation': 'relu'},
                            {'name': 'flatten', 'type': 'Flatten'}] + head)
    if seed.startswith('act:'):
        act, _, alpha = seed[4:].partition(':')
        layer = {'name': 'act1', 'type': 'Activation', 'activation': act}
        if alpha:
            layer['alpha'] = float(alpha)
        return [N_FEATURES], ([{'name': 'fc1', 'type': 'Dense', 'units': 16}, layer]
                              + dense_relu('fc2', 8) + head)
    raise ValueError(f'unknown seed {seed}')


# ---- data and the hwprune side -----------------------------------------------------------

def make_data(work, input_shape, rows, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, *input_shape)).astype(np.float32)
    flat = x.reshape(rows, -1)
    w = np.random.default_rng(99).normal(size=(flat.shape[1], N_CLASSES))
    y = np.argmax(flat @ w + 0.3 * rng.normal(size=(rows, N_CLASSES)), axis=1).astype(np.int64)
    tag = 'x'.join(map(str, input_shape))
    xp, yp = os.path.join(work, f'X_{tag}.npy'), os.path.join(work, f'y_{tag}.npy')
    np.save(xp, x)
    np.save(yp, y)
    return xp, yp


class Hwprune:
    def __init__(self, binary, work, samples):
        self.bin, self.work, self.samples = binary, work, samples
        self.cache = {}

    def model(self, case):
        """The .hwp of a case (trained/pruned/configured), cached by what made it."""
        key = (case.seed, case.precision)
        if key not in self.cache:
            if case.seed.startswith('mlp:'):
                shape = [N_FEATURES]
                src = case.seed
            else:
                shape, layers = seed_layers(case.seed)
                src = os.path.join(self.work, re.sub(r'\W', '_', case.seed) + '_seed.hwp')
                write_hwp(src, re.sub(r'\W', '_', case.seed), shape, layers, np.random.default_rng(7))
            x, y = make_data(self.work, shape, 2000)
            out = os.path.join(self.work, re.sub(r'\W', '_', f'{case.seed}_{case.precision}') + '.hwp')
            check_run([self.bin, 'train', '--model', src, '--data', f'npy:{x},labels={y}',
                       '--precision', case.precision, '--epochs', '3', '--out', out], 'train')
            self.cache[key] = (out, shape)
        path, shape = self.cache[key]
        if case.prune:
            pkey = key + case.prune
            if pkey not in self.cache:
                x, y = make_data(self.work, shape, 2000)
                out = path[:-4] + '_pruned.hwp'
                check_run([self.bin, 'prune', '--model', path, '--data', f'npy:{x},labels={y}',
                           *case.prune, '--epochs-per-step', '1', '--out', out], 'prune')
                self.cache[pkey] = (out, shape)
            path, shape = self.cache[pkey]
        return path, shape

    def predict_integer(self, model, x_path, out):
        """(raw int64 (n, outputs), output frac bits) or a refusal message (str)."""
        r = run([self.bin, 'predict', '--model', model, '--data', f'npy:{x_path}', '--split', 'all',
                 '--integer', '--out', out])
        if r.returncode != 0:
            if 'integer model' in r.stderr:
                return r.stderr.strip().splitlines()[-1]
            raise RuntimeError(f'predict --integer: {r.stderr.strip()}')
        m = re.search(r'raw (ap_u?fixed<(\d+),(-?\d+)[^>]*>)', r.stdout + r.stderr)
        frac = int(m.group(2)) - int(m.group(3))
        return np.load(out), frac


def standardise(model_path, x):
    """The model's input standardisation, in float32 as Standardisation::apply computes it."""
    z = np.load(model_path)
    if 'input/mean' not in z.files:
        return x
    mean, scale = z['input/mean'].astype(np.float32), z['input/scale'].astype(np.float32)
    flat = x.reshape(len(x), -1)
    if mean.size == 1:
        return ((x - mean[0]) / scale[0]).astype(np.float32)
    return ((flat - mean) / scale).astype(np.float32).reshape(x.shape)


# ---- the hls4ml side ---------------------------------------------------------------------

def find_hls4ml(source):
    env = os.environ.get('HWPRUNE_HLS4ML')
    shared = os.environ.get('HWPRUNE_SHARED_DIR') or os.path.join(source, '..', 'shared')
    candidates = [env] if env else [os.path.join(shared, 'peers', 'hls4ml-py')]
    for c in candidates:
        if c and os.path.isdir(os.path.join(c, 'hls4ml')):
            return os.path.abspath(c)
    return None


def hls4ml_run(hls4ml, yml, fmt, prj, x, override_strategy=None):
    """(softmax input, softmax output) of hls4ml's C simulation on x."""
    cfg = hls4ml.converters.parse_yaml_config(yml)
    cfg['OutputDir'] = prj
    if override_strategy:
        for name, lc in cfg['HLSConfig']['LayerName'].items():
            if 'Strategy' in lc:
                lc['Strategy'] = override_strategy
    here = os.getcwd()
    os.chdir(os.path.dirname(yml))  # hls4ml resolves the model paths against the cwd
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            if fmt == 'keras':
                model = hls4ml.converters.keras_v2_to_hls(cfg)
            else:
                model = hls4ml.converters.onnx_to_hls(cfg)
            for layer in model.get_layers():  # trace every layer: the softmax input is one
                layer.set_attr('trace', True)
            model.compile()
            y, trace = model.trace(np.ascontiguousarray(x.reshape(len(x), -1)))
    finally:
        os.chdir(here)
    softmax = [l for l in model.get_layers() if l.class_name == 'Softmax']
    if not softmax:
        return y, y
    logits = softmax[0].get_input_node().name
    return trace[logits].reshape(len(x), -1), y


def check_qkeras_h5(h5_path, json_path, plain_h5):
    """Every QDense/QConv weight on its quantizer's grid and equal to the plain export's."""
    import h5py
    arch = json.load(open(json_path))
    bad = []
    with h5py.File(h5_path, 'r') as f, h5py.File(plain_h5, 'r') as p:
        for layer in arch['config']['layers']:
            c = layer['config']
            if not layer['class_name'].startswith('QConv') and layer['class_name'] != 'QDense':
                continue
            for key, qkey in (('kernel', 'kernel_quantizer'), ('bias', 'bias_quantizer')):
                q = c.get(qkey)
                ds = f'{c["name"]}/{c["name"]}/{key}:0'
                if not q or ds not in f:
                    continue
                v = f[ds][()].astype(np.float64)
                qc = q['config']
                frac = qc['bits'] - qc['integer'] - (1 if qc['keep_negative'] else 0)
                scaled = v * 2.0 ** frac
                if not np.array_equal(scaled, np.round(scaled)):
                    bad.append(f'{ds} off the 2^-{frac} grid')
                if not np.array_equal(v, p[ds][()].astype(np.float64)):
                    bad.append(f'{ds} differs from the plain export')
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--hwprune', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--source', default=os.path.join(os.path.dirname(__file__), '..', '..'))
    ap.add_argument('--samples', type=int, default=500)
    ap.add_argument('--cases', default='')
    a = ap.parse_args()
    start = time.time()

    root = find_hls4ml(a.source)
    if root is None:
        print('SKIPPED: hls4ml not found: set HWPRUNE_HLS4ML to a folder holding the hls4ml '
              'package (docs/interop.md says which commit), or put it at '
              '../shared/peers/hls4ml-py beside the source tree (HWPRUNE_SHARED_DIR overrides '
              '../shared)')
        return SKIP
    sys.path[:0] = [root]
    import hls4ml
    print(f'hls4ml {hls4ml.__version__} from {root}')

    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    hw = Hwprune(os.path.abspath(a.hwprune), os.path.abspath(a.work), a.samples)
    cases = [c for c in CASES if not a.cases or c.name in a.cases.split(',')]
    rows, failures = [], []
    for case in cases:
        t0 = time.time()
        d = os.path.join(hw.work, case.name)
        os.makedirs(d)
        try:
            model, shape = hw.model(case)
            if case.hls_config:
                cfg = os.path.join(d, 'config.yml')
                yaml.safe_dump({'HLSConfig': case.hls_config}, open(cfg, 'w'))
                configured = os.path.join(d, 'configured.hwp')
                check_run([hw.bin, 'convert', model, configured, '--hls-config', cfg], 'convert')
                model = configured
            x_raw, _ = make_data(d, shape, a.samples, seed=5)
            x_raw_arr = np.load(x_raw)
            expected = hw.predict_integer(model, x_raw, os.path.join(d, 'raw.npy'))
            if isinstance(expected, str):
                rows.append((case.name, '-', 'refused', expected))
                failures.append(f'{case.name}: hwprune predict --integer refused it: {expected}')
                continue
            raw, frac = expected
            x = standardise(model, x_raw_arr)
            for fmt in case.formats:
                out = os.path.join(d, 'm.json' if fmt == 'keras' else 'm.onnx')
                check_run([hw.bin, 'convert', model, out, *case.convert], f'convert {fmt}')
                yml = out[:-len(os.path.splitext(out)[1])] + (
                    '_json_hls4ml.yml' if fmt == 'keras' else '_onnx_hls4ml.yml')
                if case.weight_bits:
                    weights = {n: lc['Precision']['weight'] for n, lc in
                               yaml.safe_load(open(yml))['HLSConfig']['LayerName'].items()
                               if isinstance(lc.get('Precision'), dict)
                               and 'weight' in lc['Precision']}
                    wide = {n: w for n, w in weights.items()
                            if int(re.match(r'ap_u?fixed<(\d+)', w).group(1)) > case.weight_bits}
                    if not weights or wide:
                        failures.append(f'{case.name}/{fmt}: weight precisions {wide or "none"}, '
                                        f'expected at most {case.weight_bits} bits')
                if case.strategy:
                    got = {lc.get('Strategy') for lc in yaml.safe_load(open(yml))['HLSConfig']
                           ['LayerName'].values() if 'ReuseFactor' in lc}
                    if got != {case.strategy}:
                        failures.append(f'{case.name}/{fmt}: YAML strategies {got}, '
                                        f'expected {case.strategy}')
                try:
                    logits, probs = hls4ml_run(hls4ml, yml, fmt, os.path.join(d, f'prj_{fmt}'), x,
                                               case.yaml_strategy)
                except Exception as e:  # noqa: BLE001 - reported in the table
                    msg = f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'
                    rows.append((case.name, fmt, 'no', msg))
                    failures.append(f'{case.name}/{fmt}: hls4ml: {msg}')
                    continue
                hls_raw = logits.astype(np.float64) * 2.0 ** frac
                equal = np.sum(np.all(hls_raw == raw, axis=1))
                agree = np.sum(np.argmax(probs, axis=1) == np.argmax(raw, axis=1))
                result = f'{equal}/{len(raw)} equal, argmax {agree}/{len(raw)}'
                if equal != len(raw):
                    failures.append(f'{case.name}/{fmt}: {len(raw) - equal} of {len(raw)} '
                                    'logit rows differ from hwprune predict --integer')
                rows.append((case.name, fmt, 'yes', result))
            if 'keras' in case.formats:
                q = os.path.join(d, 'q.json')
                check_run([hw.bin, 'convert', model, q, '--keras-flavour', 'qkeras'], 'convert qkeras')
                bad = check_qkeras_h5(q[:-5] + '_weights.h5', q, os.path.join(d, 'm_weights.h5'))
                rows.append((case.name, 'qkeras', 'h5', 'weights on grid' if not bad else bad[0]))
                failures += [f'{case.name}/qkeras: {b}' for b in bad]
        except Exception as e:  # noqa: BLE001
            rows.append((case.name, '-', 'error', str(e).splitlines()[0]))
            failures.append(f'{case.name}: {e}')
        finally:
            print(f'{case.name}: {time.time() - t0:.0f} s', file=sys.stderr)

    w = max(len(r[0]) for r in rows)
    print(f'{"case":<{w}}  {"format":<6}  {"converts":<8}  result')
    for r in rows:
        print(f'{r[0]:<{w}}  {r[1]:<6}  {r[2]:<8}  {r[3]}')
    print(f'wall time {time.time() - start:.0f} s')
    for f in failures:
        print(f'FAIL: {f}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
