#!/usr/bin/python3
"""Export MERT (m-a-p/MERT-v1-95M or -330M) for features.torchscript.

    python3 scripts/export/mert.py m-a-p/MERT-v1-95M models/mert-v1-95m.pt

Run where Hugging Face `transformers` (and its `nnAudio` requirement for
MERT's remote code) can download the model; mer itself needs neither.
MERT's code comes with the weights (trust_remote_code=True): read it first,
as with any TorchScript file mer loads.

The model runs with output_hidden_states: its forward returns 13 hidden
states for 95M (the CNN feature projection, then 12 transformer layers) and
25 for 330M, each (batch, frames, width) at 75 frames a second. The
positional convolution's weight norm is folded into a plain weight before
tracing (weight_norm's hooks do not trace). Input: 24 kHz mono, each chunk
normalised to zero mean and unit variance as MERT's processor does
(do_normalize): mer.json says normalize: true, so mer does the same.

The export is traced on 5-s inputs; frames follow the input's length, so
other chunk lengths work. MERT-v1 is CC-BY-NC-4.0: non-commercial use.
"""
import json
import sys

import torch


class Hidden(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, waveforms):
        out = self.model(waveforms, output_hidden_states=True)
        return list(out.hidden_states)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    from transformers import AutoModel
    name, out = sys.argv[1], sys.argv[2]
    model = AutoModel.from_pretrained(name, trust_remote_code=True).eval()
    conv = model.encoder.pos_conv_embed.conv
    try:
        torch.nn.utils.remove_weight_norm(conv)
    except ValueError:
        pass   # saved without weight norm
    wrapped = Hidden(model).eval()
    example = torch.randn(2, 24000 * 5)
    with torch.no_grad():
        traced = torch.jit.trace(wrapped, example, strict=False)
        layers = wrapped(example)
    about = {'sample_rate': 24000, 'layers': len(layers), 'width': int(layers[0].shape[-1]), 'frames': True,
             'normalize': True, 'source': name}
    traced.save(out, _extra_files={'mer.json': json.dumps(about)})
    check = torch.jit.load(out)
    x = torch.randn(1, 24000 * 3)
    with torch.no_grad():
        diff = max((a - b).abs().max().item() for a, b in zip(check(x), wrapped(x)))
    print(f'{out}: {about}; exported vs eager on a 3-s input, max |diff| {diff:.2e}')


if __name__ == '__main__':
    main()
