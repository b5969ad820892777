#!/usr/bin/python3
"""Export PANNs CNN14 (official code and checkpoint) for features.torchscript.

    /usr/bin/python3 scripts/export/panns_cnn14.py --official audioset_tagging_cnn/pytorch \\
        --checkpoint Cnn14_mAP=0.431.pth models/cnn14.pt

Needs the official code (https://github.com/qiuqiangkong/audioset_tagging_cnn,
its pytorch/ folder, and torchlibrosa on the path) and the checkpoint
(docs/panns.md). mer's own features.panns_cnn14 runs the same network
without any of this; the export is for comparing the two paths, or for a
CNN14 fine-tuned in PyTorch. The forward returns CNN14's 2048-d embedding
of (batch, samples) 32 kHz waveforms (batch × 2048); mer.json records the
rate and width.
"""
import argparse
import json
import os
import sys

import torch


class Embedding(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, waveforms):
        return self.model(waveforms)['embedding']


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--official', required=True, help='audioset_tagging_cnn/pytorch (models.py)')
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('out')
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.official))
    import models
    model = models.Cnn14(sample_rate=32000, window_size=1024, hop_size=320, mel_bins=64, fmin=50, fmax=14000,
                         classes_num=527)
    model.load_state_dict(torch.load(args.checkpoint, map_location='cpu')['model'], strict=True)
    wrapped = Embedding(model).eval()
    example = torch.randn(2, 96000) * 0.1
    with torch.no_grad():
        traced = torch.jit.trace(wrapped, example)
    traced.save(args.out, _extra_files={'mer.json': json.dumps({'sample_rate': 32000, 'width': 2048, 'frames': False,
                                                                 'source': 'PANNs Cnn14_mAP=0.431'})})
    print(f'{args.out}: CNN14 embedding, 32 kHz, 2048-d')


if __name__ == '__main__':
    main()
