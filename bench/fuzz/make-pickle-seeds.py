#!/usr/bin/python3
"""Write the seeds of the state_dict_pickle fuzz target: real data.pkl files.

    /usr/bin/python3 bench/fuzz/make-pickle-seeds.py [OUT_DIR]

OUT_DIR defaults to bench/fuzz/corpus/state_dict_pickle. Needs Debian's
python3-torch and python3-numpy (the seeds in the repository came from torch
1.13). Each tiny checkpoint is written by torch.save in the zip format and
its data.pkl taken out; tests/panns/make_checkpoint.py adds its evil_model and
evil_extra variants (their data.pkl: calls of posix.system, never loaded) and
its legacy variant, which is not a zip: its whole file is the seed (a pickle
of the legacy format, refused early). Small on purpose: libFuzzer mutates
best from short inputs, and the corpus stays in the repository.
"""
import collections
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'corpus', 'state_dict_pickle')


def linear(n_in, n_out, seed):
    g = torch.Generator().manual_seed(seed)
    return collections.OrderedDict([('weight', torch.randn(n_out, n_in, generator=g)),
                                    ('bias', torch.zeros(n_out))])


def checkpoints():
    model = linear(3, 2, 1)
    model['bn.num_batches_tracked'] = torch.tensor(7)
    shared = torch.arange(12, dtype=torch.float32)
    yield 'model-ordereddict', {'model': model}
    yield 'plain-dict', {'fc.weight': torch.ones(2, 2), 'fc.bias': torch.zeros(2)}
    yield 'training-extras', {'iteration': 1234, 'model': linear(2, 1, 2),
                              'sampler': {'indexes_per_class': [np.array([3, 1, 4], dtype=np.int64),
                                                                np.array([1.5, 2.5])],
                                          'queue': [], 'pointers_of_classes': [0, 0]}}
    # Views share one storage: an offset, a transpose (strides), a scalar.
    yield 'shared-views', {'model': collections.OrderedDict([
        ('whole', shared), ('matrix', shared.view(3, 4)), ('transposed', shared.view(3, 4).t()),
        ('tail', shared[8:]), ('scalar', shared[5])])}
    yield 'float64-int64', {'model': collections.OrderedDict([
        ('mean', torch.tensor([0.25, -1.5], dtype=torch.float64)),
        ('counts', torch.tensor([[1, 2], [3, 4]], dtype=torch.int64))])}
    yield 'empty', {'model': collections.OrderedDict()}
    yield 'empty-tensor', {'model': collections.OrderedDict([('none', torch.zeros(0, 3))])}


def data_pkl(path):
    with zipfile.ZipFile(path) as z:
        return z.read(next(n for n in z.namelist() if n.endswith('/data.pkl')))


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        made = []
        for name, ckpt in checkpoints():
            torch.save(ckpt, os.path.join(tmp, name + '.pth'))
            made.append(name)
        for variant in ('evil_model', 'evil_extra', 'legacy'):
            subprocess.run([sys.executable, os.path.join(HERE, '..', '..', 'tests', 'panns', 'make_checkpoint.py'),
                            os.path.join(tmp, variant + '.pth'), '--variant', variant],
                           check=True, stdout=subprocess.DEVNULL)
            made.append(variant)
        for name in made:
            path = os.path.join(tmp, name + '.pth')
            seed = data_pkl(path) if zipfile.is_zipfile(path) else open(path, 'rb').read()
            out = os.path.join(OUT, name.replace('_', '-') + ('.pkl' if zipfile.is_zipfile(path) else '.pth'))
            with open(out, 'wb') as f:
                f.write(seed)
            print('%s: %d bytes' % (out, len(seed)))


if __name__ == '__main__':
    main()
