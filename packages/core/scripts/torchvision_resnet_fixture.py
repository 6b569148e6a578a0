#!/usr/bin/python3
"""Reference numbers for src/nets/resnet-imagenet.test.ts, from torchvision itself.

Writes two committed fixtures under src/nets/fixtures/:

- torchvision_resnet_specs.json: named_parameters() / named_buffers() (names and torch shapes,
  no values) and the parameter count of torchvision's resnet18 … resnet152 and wide_resnet50_2.
- torchvision_resnet.json: two small nets with torchvision's own blocks, _make_layer and
  forward (one BasicBlock net, one Bottleneck net with width_per_group < 64), seeded weights
  and running statistics, a seeded input, and their outputs in eval mode and in training mode
  (batch statistics) with the running statistics after that training pass.

The small nets are torchvision.models.resnet.ResNet with the stage widths (64, 128, 256, 512)
replaced (and the stem as wide as stage 1, as torchvision's 64): a subclass maps the planes
_make_layer is called with, and conv1 / bn1 / fc are rebuilt at the new widths. Nothing else
is reimplemented. Weights and inputs are drawn in float32; the forward runs in float64 so the
reference carries no float32 rounding of its own.

Tensors are stored in PyTorch layout (NCHW input, [cout, cin, kh, kw] kernels, [out, in] fc) as
base64 little-endian float32.

Run: /usr/bin/python3 packages/core/scripts/torchvision_resnet_fixture.py (torch 1.13,
torchvision 0.14: Debian's python3-torch / python3-torchvision).
"""
import base64
import json
import os

import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'src', 'nets', 'fixtures')

STAGE_OF_PLANES = {64: 0, 128: 1, 256: 2, 512: 3}


def small_resnet(block, layers, widths, num_classes, width_per_group=64):
    """torchvision's ResNet with stage widths `widths` (planes; Bottleneck outputs 4x)."""

    class SmallResNet(ResNet):
        def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
            stage = STAGE_OF_PLANES[planes]
            if stage == 0:
                self.inplanes = widths[0]  # the stem's width (torchvision: 64)
            return super()._make_layer(block, widths[stage], blocks, stride, dilate)

    net = SmallResNet(block, layers, num_classes=num_classes, width_per_group=width_per_group)
    # Rebuilt in place: assigning an existing submodule keeps its position, so
    # named_parameters() order stays torchvision's (conv1, bn1, layer1 … layer4, fc).
    net.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    net.bn1 = nn.BatchNorm2d(widths[0])
    net.fc = nn.Linear(widths[3] * block.expansion, num_classes)
    return net


def encode(t):
    a = t.detach().cpu().numpy().astype('<f4')
    return {'shape': list(a.shape), 'data': base64.b64encode(a.tobytes()).decode('ascii')}


def seeded_values(net, gen):
    """Weights and running statistics away from torchvision's init (γ ≠ 1, β ≠ 0, stats ≠ 0/1)."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() == 4:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            elif p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) * (1.0 / p.shape[1]) ** 0.5)
            elif name.endswith('weight'):
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
        for name, b in net.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(torch.randn(b.shape, generator=gen) * 0.2)
            elif name.endswith('running_var'):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)


def case(name, block, layers, widths, width_per_group, num_classes, hw, seed):
    gen = torch.Generator().manual_seed(seed)
    net = small_resnet(block, layers, widths, num_classes, width_per_group)
    seeded_values(net, gen)  # float32 values
    x = torch.randn((2, 3, hw[0], hw[1]), generator=gen)
    params = {n: encode(p) for n, p in net.named_parameters()}
    buffers = {n: encode(b) for n, b in net.named_buffers() if not n.endswith('num_batches_tracked')}
    net = net.double()
    xd = x.double()
    with torch.no_grad():
        net.eval()
        y_eval = net(xd)
        net.train()
        y_train = net(xd)
    after = {n: encode(b) for n, b in net.named_buffers() if not n.endswith('num_batches_tracked')}
    print(f'{name}: {sum(p.numel() for p in net.parameters())} parameters, input {list(x.shape)}, '
          f'max |y| eval {y_eval.abs().max().item():.3f}, train {y_train.abs().max().item():.3f}')
    return {
        'name': name,
        'block': 'basic' if block is BasicBlock else 'bottleneck',
        'layers': layers,
        'widths': widths,
        'widthPerGroup': width_per_group,
        'numClasses': num_classes,
        'paramNames': list(params),
        'params': params,
        'buffers': buffers,
        'input': encode(x),
        'evalOutput': encode(y_eval),
        'trainOutput': encode(y_train),
        'buffersAfterTrain': after,
    }


def specs():
    out = {}
    for name in ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'wide_resnet50_2']:
        net = getattr(torchvision.models, name)(weights=None)
        out[name] = {
            'count': sum(p.numel() for p in net.parameters()),
            'params': [[n, list(p.shape)] for n, p in net.named_parameters()],
            'buffers': [[n, list(b.shape)] for n, b in net.named_buffers()],
        }
        print(f'{name}: {out[name]["count"]} parameters, {len(out[name]["params"])} tensors')
    return out


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    meta = {'torch': torch.__version__, 'torchvision': torchvision.__version__,
            'script': 'packages/core/scripts/torchvision_resnet_fixture.py'}
    cases = [
        # layer1 without downsample (4 → 4, two blocks), layer3's downsample for stride alone
        # (8 → 8); even and odd sizes through every stride-2 layer (40 → 20 → 10 → 5 → 3 → 2).
        case('basic [2,1,1,1] widths [4,8,8,16]', BasicBlock, [2, 1, 1, 1], [4, 8, 8, 16], 64, 5, (40, 36), 1),
        # Bottleneck, width_per_group 24: conv1/conv2 width int(planes · 24/64) = 3, 3, 6, 6.
        case('bottleneck [1,2,1,1] widths [8,8,16,16] widthPerGroup 24', Bottleneck, [1, 2, 1, 1],
             [8, 8, 16, 16], 24, 7, (45, 37), 2),
    ]
    with open(os.path.join(OUT, 'torchvision_resnet.json'), 'w') as f:
        json.dump({**meta, 'cases': cases}, f)
    with open(os.path.join(OUT, 'torchvision_resnet_specs.json'), 'w') as f:
        json.dump({**meta, 'nets': specs()}, f)


if __name__ == '__main__':
    main()
