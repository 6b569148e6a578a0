"""Records the output of DomainBed's MNIST_CNN (facebookresearch/DomainBed, networks.py, rewritten
here with the same layers: Conv2d 3x3 (64; 128 stride 2; 128; 128; padding 1), each followed by
ReLU then GroupNorm(8, C), then AdaptiveAvgPool2d(1) and a Linear classifier) for the test of
@hypernets/core's DomainBedMnistCnn (src/nets/domainbed-cnn.test.ts).

Weights come from a formula of each entry's coordinates, so the TypeScript test builds the same
ones in its own layout: value = 0.08 * sin(0.37*a + 0.11*b + 0.05*c + 0.23*d + 0.7*p), with
(a, b, c, d) = (kh, kw, cin, cout) for a kernel, (0, 0, 0, j) for entry j of a vector, (i, j) as
(cin=i, cout=j) for the classifier, p the parameter's index in the list below. Inputs: the same
formula with 0.5 + 0.5 * sin(...) over (n, h, w, c).

Run by hand (not by CI), with Debian's python3-torch: /usr/bin/python3 scripts/domainbed-cnn-fixture.py
"""
import json
import math

import torch
import torch.nn.functional as F

NAMES = ["conv1.weight", "conv1.bias", "gn1.weight", "gn1.bias", "conv2.weight", "conv2.bias", "gn2.weight",
         "gn2.bias", "conv3.weight", "conv3.bias", "gn3.weight", "gn3.bias", "conv4.weight", "conv4.bias",
         "gn4.weight", "gn4.bias", "classifier.weight", "classifier.bias"]


def value(a, b, c, d, p):
    return 0.08 * math.sin(0.37 * a + 0.11 * b + 0.05 * c + 0.23 * d + 0.7 * p)


def kernel(cin, cout, p):  # torch layout [cout, cin, kh, kw]
    w = torch.empty(cout, cin, 3, 3)
    for o in range(cout):
        for i in range(cin):
            for y in range(3):
                for x in range(3):
                    w[o, i, y, x] = value(y, x, i, o, p)
    return w


def vector(n, p, base=0.0):
    return torch.tensor([base + value(0, 0, 0, j, p) for j in range(n)])


def main():
    channels, classes, n = 2, 3, 2
    params = {}
    cin = channels
    p = 0
    for k, (cout, _) in enumerate([(64, 1), (128, 2), (128, 1), (128, 1)], start=1):
        params[f"conv{k}.weight"] = kernel(cin, cout, p)
        params[f"conv{k}.bias"] = vector(cout, p + 1)
        params[f"gn{k}.weight"] = vector(cout, p + 2, 1.0)
        params[f"gn{k}.bias"] = vector(cout, p + 3)
        p += 4
        cin = cout
    wc = torch.empty(classes, 128)  # torch Linear [out, in]
    for i in range(128):
        for j in range(classes):
            wc[j, i] = value(i, j, 0, 0, p)
    params["classifier.weight"] = wc
    params["classifier.bias"] = vector(classes, p + 1)
    x = torch.empty(n, channels, 28, 28)
    for s in range(n):
        for y in range(28):
            for xx in range(28):
                for c in range(channels):
                    x[s, c, y, xx] = 0.5 + 0.5 * math.sin(0.37 * s + 0.11 * y + 0.05 * xx + 0.23 * c)
    h = x
    for k, stride in zip(range(1, 5), [1, 2, 1, 1]):
        h = F.conv2d(h, params[f"conv{k}.weight"], params[f"conv{k}.bias"], stride=stride, padding=1)
        h = F.group_norm(F.relu(h), 8, params[f"gn{k}.weight"], params[f"gn{k}.bias"], 1e-5)
    features = F.adaptive_avg_pool2d(h, (1, 1)).flatten(1)
    logits = features @ params["classifier.weight"].T + params["classifier.bias"]
    out = {"channels": channels, "classes": classes, "n": n, "torch": torch.__version__,
           "features": features.tolist(), "logits": logits.tolist()}
    with open("src/nets/fixtures/domainbed-cnn.json", "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
