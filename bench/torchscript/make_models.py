#!/usr/bin/python3
"""The models bench/torchscript/run.sh times, with random weights (nothing is downloaded).

    /usr/bin/python3 bench/torchscript/make_models.py OUT_DIR

  hubert-base.pt  torchaudio's hubert_base() architecture (95 M parameters, 12
                  transformer layers of 768), scripted with the wrapper
                  scripts/export/torchaudio_ssl.py exports: every layer's
                  hidden states, 16 kHz; mer.json as that script writes it
  cnn-1.pt        the report's CNN from bench/deep/pytorch_deep.py with one output
                  (mer-bench-deep's table has one target), untrained
"""
import importlib.util
import os
import json
import sys

import torch
import torchaudio


def load(relative, name):
    """A module of this repository by its path (scripts/ and bench/ are not packages)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(name, os.path.join(here, '../..', relative))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    hidden = load('scripts/export/torchaudio_ssl.py', 'torchaudio_ssl').Hidden
    model = hidden(torchaudio.models.hubert_base()).eval()
    torch.jit.script(model).save(f'{out}/hubert-base.pt', _extra_files={'mer.json': json.dumps(
        {'sample_rate': 16000, 'layers': 12, 'width': 768, 'frames': True, 'normalize': False})})
    deep = load('bench/deep/pytorch_deep.py', 'pytorch_deep')
    torch.jit.save(torch.jit.script(deep.Cnn(1, 0.3)), f'{out}/cnn-1.pt')


if __name__ == '__main__':
    main()
