#!/usr/bin/python3
"""Rewrite a PyTorch checkpoint in the zip format mer reads.

    /usr/bin/python3 scripts/panns-convert-checkpoint.py IN.pth OUT.pth [--trust]

mer reads `torch.save` checkpoints in the zip format (PyTorch >= 1.6) without
Python. A file in the legacy format (or one you want stripped of its training
extras) is converted once with Debian's python3-torch (apt-get install
python3-torch): OUT.pth holds {'model': state_dict}, every tensor on the CPU.

The legacy format is a pickle: loading it can run code. The script first
loads with weights_only=True, which refuses anything but tensors and
containers; a file that also holds other objects (numpy arrays in a training
script's sampler state) needs --trust, which loads it fully: use it only for
files from a source you trust, such as the PANNs release on Zenodo.
"""
import argparse
import collections
import sys

import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--trust", action="store_true", help="load objects other than tensors too (runs the pickle)")
    args = parser.parse_args()
    try:
        loaded = torch.load(args.source, map_location="cpu", weights_only=True)
    except Exception as error:  # the safe loader refused something in the file
        if not args.trust:
            sys.exit(f"{args.source}: holds more than tensors ({error}); rerun with --trust if you trust its source")
        loaded = torch.load(args.source, map_location="cpu")
    state = loaded["model"] if isinstance(loaded, dict) and "model" in loaded else loaded
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        sys.exit(f"{args.source}: no state dict (a dict of tensors, or one under 'model') in it")
    torch.save({"model": collections.OrderedDict(state)}, args.target)
    print(f"{args.target}: {len(state)} tensors", file=sys.stderr)


if __name__ == "__main__":
    main()
