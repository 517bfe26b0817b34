#!/usr/bin/python3
"""The PyTorch side of bench/pytorch_compare.py: the CIFAR zoo and one timed configuration.

Imported by nothing; run by pytorch_compare.py in a fresh process per configuration,
so that the driver itself stays small (Linux carries ru_maxrss across fork and
execve: a driver holding libtorch would put a floor under every child's peak RSS).

    /usr/bin/python3 bench/pytorch_zoo.py --describe --models resnet20,wrn_16_2
        one JSON line: parameters, MACs (one image) and state_dict keys and shapes
    /usr/bin/python3 bench/pytorch_zoo.py --worker --model resnet20 --mode train --layout cl
        one JSON line: images/s of the timed repeats, peak RSS, torch's thread setup

The models are the RepDistiller/mdistiller CIFAR definitions (../shared/MODELS.md
section 3), written here for this comparison; pytorch_compare.py checks their
parameter counts and MACs against `retort models` and their state_dict keys and
shapes against ../shared/reference/cifar_zoo_state_dict_keys.json.
"""

import argparse
import json
import resource
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.stderr.write("PyTorch is not importable by %s: install Debian's build with "
                     "`sudo apt-get install python3-torch` and use /usr/bin/python3.\n" % sys.executable)
    sys.exit(2)


# ----------------------------------------------------------------------------------------
# The zoo (MODELS.md section 3), CIFAR versions, written for this comparison.

def global_pool(x):
    # The reference pools with a fixed kernel equal to the final map at 32x32 input
    # (AvgPool2d(8), avg_pool2d(out, 4), AvgPool2d(2, ceil_mode=True)); a pool over the
    # whole map is the same operation there and what retort does at any size.
    return F.avg_pool2d(x, kernel_size=tuple(x.shape[-2:])).flatten(1)


def bn(c):
    return nn.BatchNorm2d(c)


class CifarBasicBlock(nn.Module):
    """fb.resnet.torch basic block, post-activation, 1x1 projection shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = bn(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = bn(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), bn(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x if self.downsample is None else self.downsample(x)
        return F.relu(out)


class CifarResNet(nn.Module):
    """resnet8..110 (widths 16; 16, 32, 64) and resnet8x4/resnet32x4 (32; 64, 128, 256)."""

    def __init__(self, depth, widths, classes, in_ch=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_ch, widths[0], 3, 1, 1, bias=False)
        self.bn1 = bn(widths[0])
        self.relu = nn.ReLU(inplace=True)
        cin = widths[0]
        for s, (w, stride) in enumerate(zip(widths[1:], (1, 2, 2)), 1):
            blocks = []
            for i in range(n):
                blocks.append(CifarBasicBlock(cin, w, stride if i == 0 else 1))
                cin = w
            setattr(self, "layer%d" % s, nn.Sequential(*blocks))
        self.fc = nn.Linear(widths[3], classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(global_pool(x))


class WrnBlock(nn.Module):
    """Pre-activation WRN block; a width-changing block's shortcut takes the pre-activated input."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = bn(cin)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = bn(cout)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.equal = cin == cout
        self.convShortcut = None if self.equal else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x):
        if self.equal:
            a = self.relu1(self.bn1(x))
            r = self.conv2(self.relu2(self.bn2(self.conv1(a))))
            return torch.add(x, r)
        x = self.relu1(self.bn1(x))
        r = self.conv2(self.relu2(self.bn2(self.conv1(x))))
        return torch.add(self.convShortcut(x), r)


class WrnGroup(nn.Module):
    def __init__(self, n, cin, cout, stride):
        super().__init__()
        self.layer = nn.Sequential(*[WrnBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1)
                                     for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, depth, k, classes, in_ch=3):
        super().__init__()
        n = (depth - 4) // 6
        w = [16, 16 * k, 32 * k, 64 * k]
        self.conv1 = nn.Conv2d(in_ch, 16, 3, 1, 1, bias=False)
        self.block1 = WrnGroup(n, w[0], w[1], 1)
        self.block2 = WrnGroup(n, w[1], w[2], 2)
        self.block3 = WrnGroup(n, w[2], w[3], 2)
        self.bn1 = bn(w[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(w[3], classes)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return self.fc(global_pool(self.relu(self.bn1(x))))


VGG_CFG = {
    "vgg8": [[64], [128], [256], [512], [512]],
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "vgg13": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "vgg16": [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3],
    "vgg19": [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4],
}


class VGG(nn.Module):
    """VGG-BN for CIFAR; each block's last ReLU runs in forward (sequence indices 0, 3, 6, ...)."""

    def __init__(self, cfg, classes, in_ch=3):
        super().__init__()
        cin = in_ch
        for b, widths in enumerate(cfg):
            seq = []
            for w in widths:
                seq += [nn.Conv2d(cin, w, 3, 1, 1, bias=True), bn(w), nn.ReLU(inplace=True)]
                cin = w
            setattr(self, "block%d" % b, nn.Sequential(*seq[:-1]))
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        h = x.shape[2]
        x = F.max_pool2d(F.relu(self.block0(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.block1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.block2(x)), 2, 2)
        x = F.relu(self.block3(x))
        if h == 64:
            x = F.max_pool2d(x, 2, 2)
        x = F.relu(self.block4(x))
        return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        e = cin * t
        self.res = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, e, 1, 1, 0, bias=False), bn(e), nn.ReLU(inplace=True),  # expansion, even for t = 1
            nn.Conv2d(e, e, 3, stride, 1, groups=e, bias=False), bn(e), nn.ReLU(inplace=True),
            nn.Conv2d(e, cout, 1, 1, 0, bias=False), bn(cout))

    def forward(self, x):
        return x + self.conv(x) if self.res else self.conv(x)


class MobileNetV2(nn.Module):
    """mobilenetv2_T_w(T=6, W=0.5) (`mobile_half`): ReLU, not ReLU6; stem stride 2; last conv 1280."""

    def __init__(self, classes, in_ch=3, t=6, width=0.5):
        super().__init__()
        setting = [(1, 16, 1, 1), (t, 24, 2, 1), (t, 32, 3, 2), (t, 64, 4, 2), (t, 96, 3, 1), (t, 160, 3, 2),
                   (t, 320, 1, 1)]
        cin = int(32 * width)
        self.conv1 = nn.Sequential(nn.Conv2d(in_ch, cin, 3, 2, 1, bias=False), bn(cin), nn.ReLU(inplace=True))
        stages = []
        for tt, c, n, s in setting:
            cout = int(c * width)
            blocks = []
            for i in range(n):
                blocks.append(InvertedResidual(cin, cout, s if i == 0 else 1, tt))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.ModuleList(stages)
        last = int(1280 * width) if width > 1.0 else 1280
        self.conv2 = nn.Sequential(nn.Conv2d(cin, last, 1, 1, 0, bias=False), bn(last), nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(nn.Linear(last, classes))

    def forward(self, x):
        x = self.conv1(x)
        for stage in self.blocks:
            x = stage(x)
        return self.classifier(global_pool(self.conv2(x)))


def channel_shuffle(x, g):
    n, c, h, w = x.shape
    return x.view(n, g, c // g, h, w).permute(0, 2, 1, 3, 4).reshape(n, c, h, w)


class ShuffleV1Block(nn.Module):
    def __init__(self, cin, cout, stride, groups):
        super().__init__()
        mid = int(cout / 4)
        self.g1 = 1 if cin == 24 else groups
        self.stride = stride
        self.conv1 = nn.Conv2d(cin, mid, 1, groups=self.g1, bias=False)
        self.bn1 = bn(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = bn(mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, groups=groups, bias=False)
        self.bn3 = bn(cout)

    def forward(self, x):
        out = channel_shuffle(F.relu(self.bn1(self.conv1(x))), self.g1)
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.stride == 2:
            return F.relu(torch.cat([out, F.avg_pool2d(x, 3, 2, 1)], 1))
        return F.relu(out + x)


class ShuffleV1(nn.Module):
    def __init__(self, classes, in_ch=3, out_planes=(240, 480, 960), blocks=(4, 8, 4), groups=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 24, 1, bias=False)
        self.bn1 = bn(24)
        cin = 24
        for s, (out, n) in enumerate(zip(out_planes, blocks), 1):
            layer = []
            for i in range(n):
                layer.append(ShuffleV1Block(cin, out - (cin if i == 0 else 0), 2 if i == 0 else 1, groups))
                cin = out
            setattr(self, "layer%d" % s, nn.Sequential(*layer))
        self.linear = nn.Linear(out_planes[2], classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(global_pool(x))


class ShuffleV2Basic(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c // 2
        self.conv1 = nn.Conv2d(h, h, 1, bias=False)
        self.bn1 = bn(h)
        self.conv2 = nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False)
        self.bn2 = bn(h)
        self.conv3 = nn.Conv2d(h, h, 1, bias=False)
        self.bn3 = bn(h)

    def forward(self, x):
        h = x.shape[1] // 2
        x1, x2 = x[:, :h], x[:, h:]
        out = F.relu(self.bn1(self.conv1(x2)))
        out = F.relu(self.bn3(self.conv3(self.bn2(self.conv2(out)))))
        return channel_shuffle(torch.cat([x1, out], 1), 2)


class ShuffleV2Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        mid = cout // 2
        self.conv1 = nn.Conv2d(cin, cin, 3, 2, 1, groups=cin, bias=False)
        self.bn1 = bn(cin)
        self.conv2 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn2 = bn(mid)
        self.conv3 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn3 = bn(mid)
        self.conv4 = nn.Conv2d(mid, mid, 3, 2, 1, groups=mid, bias=False)
        self.bn4 = bn(mid)
        self.conv5 = nn.Conv2d(mid, mid, 1, bias=False)
        self.bn5 = bn(mid)

    def forward(self, x):
        left = F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))))
        right = F.relu(self.bn3(self.conv3(x)))
        right = F.relu(self.bn5(self.conv5(self.bn4(self.conv4(right)))))
        return channel_shuffle(torch.cat([left, right], 1), 2)


class ShuffleV2(nn.Module):
    def __init__(self, classes, in_ch=3, out_channels=(116, 232, 464, 1024), blocks=(3, 7, 3)):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 24, 1, bias=False)
        self.bn1 = bn(24)
        cin = 24
        for s, (out, n) in enumerate(zip(out_channels[:3], blocks), 1):
            setattr(self, "layer%d" % s, nn.Sequential(ShuffleV2Down(cin, out), *[ShuffleV2Basic(out) for _ in range(n)]))
            cin = out
        self.conv2 = nn.Conv2d(cin, out_channels[3], 1, 1, 0, bias=False)
        self.bn2 = bn(out_channels[3])
        self.linear = nn.Linear(out_channels[3], classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(global_pool(F.relu(self.bn2(self.conv2(x)))))


class KlBasic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = bn(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), bn(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class KlBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = bn(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = bn(4 * planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != 4 * planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, 4 * planes, 1, stride, bias=False), bn(4 * planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += self.shortcut(x)
        return F.relu(out)


class KuangliuResNet(nn.Module):
    """ResNet18 / ResNet50 of RepDistiller resnetv2.py (kuangliu): 3x3 stem, no max-pool, four stages."""

    def __init__(self, block, blocks, classes, in_ch=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, 64, 3, 1, 1, bias=False)
        self.bn1 = bn(64)
        cin = 64
        for s, (planes, n, stride) in enumerate(zip((64, 128, 256, 512), blocks, (1, 2, 2, 2)), 1):
            layer = []
            for i in range(n):
                layer.append(block(cin, planes, stride if i == 0 else 1))
                cin = planes * block.expansion
            setattr(self, "layer%d" % s, nn.Sequential(*layer))
        self.linear = nn.Linear(512 * block.expansion, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


ZOO = {}
for _d in (8, 14, 20, 32, 44, 56, 110):
    ZOO["resnet%d" % _d] = (lambda d: lambda k, c: CifarResNet(d, (16, 16, 32, 64), k, c))(_d)
ZOO["resnet8x4"] = lambda k, c: CifarResNet(8, (32, 64, 128, 256), k, c)
ZOO["resnet32x4"] = lambda k, c: CifarResNet(32, (32, 64, 128, 256), k, c)
for _d, _w in ((16, 1), (16, 2), (40, 1), (40, 2), (16, 4), (28, 2), (28, 4)):
    ZOO["wrn_%d_%d" % (_d, _w)] = (lambda d, w: lambda k, c: WideResNet(d, w, k, c))(_d, _w)
for _name, _cfg in VGG_CFG.items():
    ZOO[_name] = (lambda cfg: lambda k, c: VGG(cfg, k, c))(_cfg)
ZOO["MobileNetV2"] = lambda k, c: MobileNetV2(k, c)
ZOO["ShuffleV1"] = lambda k, c: ShuffleV1(k, c)
ZOO["ShuffleV2"] = lambda k, c: ShuffleV2(k, c)
ZOO["ResNet18"] = lambda k, c: KuangliuResNet(KlBasic, (2, 2, 2, 2), k, c)
ZOO["ResNet50"] = lambda k, c: KuangliuResNet(KlBottleneck, (3, 4, 6, 3), k, c)

def make_model(name, classes, channels):
    if name not in ZOO:
        raise SystemExit("pytorch_zoo.py: no PyTorch definition for model '%s' (known: %s)"
                         % (name, ", ".join(sorted(ZOO))))
    return ZOO[name](classes, channels)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def count_macs(model, channels, size):
    """Multiply-accumulates of convolutions and linear layers for one image (MODELS.md 1.5)."""
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += out.shape[1] * out.shape[2] * out.shape[3] * (m.in_channels // m.groups) * \
            m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        total[0] += m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, channels, size, size))
    for h in hooks:
        h.remove()
    return total[0]


# ----------------------------------------------------------------------------------------
# The PyTorch worker: one configuration in its own process.

def max_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def worker(a):
    import_rss = max_rss_mib()
    torch.set_num_threads(a.threads)
    torch.backends.mkldnn.enabled = True
    torch.manual_seed(0)
    cl = a.layout == "cl"
    fmt = torch.channels_last if cl else torch.contiguous_format

    student = make_model(a.model, a.classes, a.channels).to(memory_format=fmt)
    teacher = None
    if a.mode == "distill":
        teacher = make_model(a.teacher, a.classes, a.channels).to(memory_format=fmt)
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
    x = torch.randn(a.batch, a.channels, a.size, a.size).contiguous(memory_format=fmt)
    y = torch.randint(0, a.classes, (a.batch,), dtype=torch.int64)
    first_conv = next(m for m in student.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.weight.is_contiguous(memory_format=fmt), "model not in the requested layout"
    assert x.is_contiguous(memory_format=fmt), "input not in the requested layout"

    T, w_ce, w_kd = 4.0, 0.1, 0.9  # retort's kd defaults (CIFAR-100)
    if a.mode == "infer":
        student.eval()
        opt = None
    else:
        student.train()
        opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

    def step():
        if a.mode == "infer":
            with torch.no_grad():
                student(x)
            return
        logits = student(x)
        if a.mode == "train":
            loss = F.cross_entropy(logits, y)
        else:
            with torch.no_grad():
                t_logits = teacher(x)
            kl = F.kl_div(F.log_softmax(logits / T, dim=1), F.softmax(t_logits / T, dim=1), reduction="batchmean")
            loss = w_ce * F.cross_entropy(logits, y) + w_kd * T * T * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    rates = []
    for _ in range(a.inner_repeats):
        t0 = time.perf_counter()
        for _ in range(a.iters):
            step()
        rates.append(a.batch * a.iters / (time.perf_counter() - t0))
    out = {
        "images_per_second": statistics.median(rates),
        "images_per_second_min": min(rates),
        "images_per_second_max": max(rates),
        "rates": rates,
        "peak_rss_mib": max_rss_mib(),
        "import_rss_mib": import_rss,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "mkldnn_enabled": bool(torch.backends.mkldnn.enabled),
        "mkldnn_available": bool(torch.backends.mkldnn.is_available()),
        "parallel_info": torch.__config__.parallel_info(),
    }
    print(json.dumps(out))


def describe(a):
    out = {}
    for name in a.models.split(","):
        model = make_model(name, a.classes, a.channels)
        out[name] = {
            "params": count_params(model),
            "macs": count_macs(model, a.channels, a.size),
            "state_dict": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        }
    print(json.dumps(out))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--describe", action="store_true", help="print parameters, MACs and state_dict shapes")
    p.add_argument("--models", default="", help="comma-separated models (--describe)")
    p.add_argument("--worker", action="store_true", help="time one configuration")
    p.add_argument("--model", help="the model (the student in distill mode)")
    p.add_argument("--teacher", help="the teacher of distill mode")
    p.add_argument("--mode", choices=("train", "infer", "distill"), default="train")
    p.add_argument("--layout", choices=("nchw", "cl"), default="nchw", help="nchw (PyTorch's default) or channels-last")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--inner-repeats", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=100)
    a = p.parse_args(argv)
    if a.describe:
        describe(a)
    elif a.worker:
        if not a.model or (a.mode == "distill") != bool(a.teacher):
            p.error("--worker needs --model, and --teacher exactly in distill mode")
        worker(a)
    else:
        p.error("expected --describe or --worker")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
