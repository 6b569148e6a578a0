"""Records HyperPPO's MLP_GHN on a few architectures, for src/hyperppo/mlp-ghn.test.ts.

Run by hand, not by CI (needs Debian's python3-torch):

    git --git-dir=/work/.mirror/hegde95+HyperPPO/repo archive HEAD hyper | tar -x -C /tmp/hyperppo
    python3 packages/rl/scripts/hyperppo-ghn-fixture.py /tmp/hyperppo

It builds the reference's MLP_GHN (hegde95/HyperPPO hyper/ghn_modules.py) as hyperActor configures
it (weight_norm, layernorm, no virtual edges) but small (hid 8, max_shape 16x16, so the fixture
stays small and an observation of 20 > 16 exercises the tiling), with seeded torch-default init,
and records its parameters, the shape indicators, every generated policy parameter (torch layout
[out, in]) and each generated policy's output on a fixed batch of observations.
"""
import json
import os
import sys

import torch

sys.path.insert(0, sys.argv[1])
from hyper.ghn_modules import MLP_GHN, MlpNetwork  # noqa: E402

OBS, ACT, HID, W = 20, 3, 8, 16
ARCHS = [[4], [16, 8], [8, 4, 16], [12, 16, 4, 8], [20]]

torch.manual_seed(0)
ghn = MLP_GHN(max_shape=(W, W, 1, 1), num_classes=2 * ACT, num_observations=OBS, weight_norm=True,
              ve=False, layernorm=True, hid=HID, device='cpu', debug_level=0)
ghn.train()

def shape_ind(arch):
    v = [0.0]
    for h in arch:
        v += [float(h), float(h)]
    v += [float(ACT), float(ACT)]
    return v

nets = [MlpNetwork(fc_layers=a, inp_dim=OBS, out_dim=ACT) for a in ARCHS]
inds = torch.tensor([x for a in ARCHS for x in shape_ind(a)]).view(-1, 1)
with torch.no_grad():
    ghn(nets, shape_ind=inds)
    x = torch.randn(5, OBS, generator=torch.Generator().manual_seed(1))
    outputs = [n(x).tolist() for n in nets]

params = {k: {'shape': list(v.shape), 'values': v.detach().reshape(-1).tolist()}
          for k, v in ghn.state_dict().items() if not k.startswith('default_')}
policies = [{'hidden': a, 'params': [{'name': name, 'shape': list(p.shape), 'values': p.detach().reshape(-1).tolist()}
                                     for name, p in n.classifier.named_parameters()]}
            for a, n in zip(ARCHS, nets)]
out = {
    'source': 'hegde95/HyperPPO hyper/ghn_modules.py MLP_GHN, torch ' + torch.__version__,
    'config': {'observationSize': OBS, 'actionSize': ACT, 'hidden': HID, 'maxWidth': W},
    'ghn': params,
    'x': x.tolist(),
    'policies': policies,
    'outputs': outputs,
}
path = os.path.join(os.path.dirname(__file__), '..', 'src', 'testing', 'fixtures', 'hyperppo-ghn.json')
with open(path, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print('wrote', os.path.normpath(path))
