"""A MobileNetV3-Large as many community implementations write it, for mnv3's parity tests.

It differs from torchvision's mobilenet_v3_large in ways that matter to a checkpoint:
  - 14 bottlenecks (one [5, 960, 160, SE, HS, 1] row where torchvision has two);
  - squeeze-excitation with two bias-free nn.Linear layers, a squeeze of exp // 4 (no rounding
    to a multiple of 8), ReLU between them and hard-sigmoid after;
  - every BatchNorm with PyTorch's default eps (1e-5);
  - state_dict names: each bottleneck keeps its layers in one nn.Sequential called `conv`, where
    conv, BatchNorm and activation modules each take an index and the SE module one more
    (features.N.conv.K.*, SE FCs at features.N.conv.K.fc.0 / fc.2); stem features.0.0/1, last
    conv features.15.0/1, classifier.0 and classifier.3;
  - global pooling is a mean over H and W (no avgpool module).
models/seed-large.json describes the same network in mnv3's table format.
"""
import torch
from torch import nn

# kernel, exp, out, SE, activation, stride
TABLE = [
    (3, 16, 16, False, "RE", 1),
    (3, 64, 24, False, "RE", 2),
    (3, 72, 24, False, "RE", 1),
    (5, 72, 40, True, "RE", 2),
    (5, 120, 40, True, "RE", 1),
    (5, 120, 40, True, "RE", 1),
    (3, 240, 80, False, "HS", 2),
    (3, 200, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 480, 112, True, "HS", 1),
    (3, 672, 112, True, "HS", 1),
    (5, 672, 160, True, "HS", 2),
    (5, 960, 160, True, "HS", 1),
]


def activation(kind):
    return {"RE": nn.ReLU, "HS": nn.Hardswish}[kind]()


class LinearSqueezeExcite(nn.Module):
    """mean over H, W -> Linear (no bias) -> ReLU -> Linear (no bias) -> hard-sigmoid -> channel scale."""

    def __init__(self, channels, divisor=4):
        super().__init__()
        squeeze = channels // divisor
        self.fc = nn.Sequential(nn.Linear(channels, squeeze, bias=False), nn.ReLU(),
                                nn.Linear(squeeze, channels, bias=False), nn.Hardsigmoid())

    def forward(self, x):
        scale = self.fc(x.mean((2, 3)))
        return x * scale[:, :, None, None]


class SequentialBottleneck(nn.Module):
    def __init__(self, cin, kernel, exp, cout, se, act, stride):
        super().__init__()
        layers = []
        if exp != cin:
            layers += [nn.Conv2d(cin, exp, 1, bias=False), nn.BatchNorm2d(exp), activation(act)]
        layers += [nn.Conv2d(exp, exp, kernel, stride, kernel // 2, groups=exp, bias=False), nn.BatchNorm2d(exp),
                   activation(act)]
        if se:
            layers.append(LinearSqueezeExcite(exp))
        layers += [nn.Conv2d(exp, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.residual else y


def conv_bn_hswish(cin, cout, kernel, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.Hardswish())


class SeedMobileNetV3Large(nn.Module):
    def __init__(self, num_classes=1000, stem=16, head=960, hidden=1280):
        super().__init__()
        blocks = [conv_bn_hswish(3, stem, 3, 2)]
        cin = stem
        for kernel, exp, cout, se, act, stride in TABLE:
            blocks.append(SequentialBottleneck(cin, kernel, exp, cout, se, act, stride))
            cin = cout
        blocks.append(conv_bn_hswish(cin, head, 1, 1))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Linear(head, hidden), nn.Hardswish(), nn.Dropout(0.2),
                                        nn.Linear(hidden, num_classes))

    def pool(self, x):
        return x.mean((2, 3), keepdim=True)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))
