#!/usr/bin/env python3
"""Eager-PyTorch twin of `crossdf bench train|infer` (src/bench.rs): the same DID model
(DESIGN.md section 1, layer for layer as src/did and src/backbone build it), the same
synthetic batch, loss and Adam step, timed the same way (median of the timed steps after
warm-up), written as JSON with crossdf's keys. Weights are random: this measures speed only.

Run through scripts/bench-pytorch, which builds the venv. Written the way a PyTorch user
would write it (torchvision-style modules, torch.optim.Adam, an autograd.Function GRL), since
the question it answers is how crossdf compares with ordinary PyTorch on the same libtorch.
"""
import argparse
import json
import resource
import sys
import time
import warnings

# The venv has no NumPy (nothing here needs it); keep torch's import-time note quiet.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NUM_DOMAINS = 4  # as src/bench.rs: real + 3 methods


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---- backbones: torchvision's layer names, so state dicts line up with crossdf's ----

class Bottleneck(nn.Module):
    def __init__(self, c_in, planes, stride):
        super().__init__()
        c_out = planes * 4
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        # Stride on the 3x3 conv (torchvision's "v1.5"), as crossdf's Residual.
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet50(nn.Module):
    out_channels, downsamples = 2048, 5

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        c_in = 64
        for s, n in enumerate([3, 4, 6, 3]):
            blocks = []
            for i in range(n):
                blocks.append(Bottleneck(c_in, 64 << s, 2 if s > 0 and i == 0 else 1))
                c_in = (64 << s) * 4
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x)), inplace=True), 3, 2, 1)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def conv_bn(c_in, c_out, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, *([nn.ReLU6(inplace=True)] if act else []))


class InvertedResidual(nn.Module):
    def __init__(self, c_in, c_out, stride, t):
        super().__init__()
        hidden = c_in * t
        layers = [conv_bn(c_in, hidden, 1)] if t != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    out_channels = 1280
    # (t, c, n, s): torchvision's inverted_residual_setting, as MobileNetV2Config::v2.
    SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
               (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self):
        super().__init__()
        layers, c_in = [conv_bn(3, 32, 3, 2)], 32
        for t, c, n, s in self.SETTING:
            for j in range(n):
                layers.append(InvertedResidual(c_in, c, s if j == 0 else 1, t))
                c_in = c
        layers.append(conv_bn(c_in, self.out_channels, 1))
        self.features = nn.Sequential(*layers)
        self.downsamples = 1 + sum(s == 2 for *_, s in self.SETTING)

    def forward(self, x):
        return self.features(x)


BACKBONES = {"resnet50": ResNet50, "mobilenet-v2": MobileNetV2}


# ---- DID parts (src/did) ----

class Attention(nn.Module):
    """A_df / A_dom: sigmoid(channel logits) * sigmoid(spatial logits)."""

    def __init__(self, c, hw, reduction=16, spatial_hidden=16):
        super().__init__()
        hidden = max(c // reduction, 1)
        self.c_adp = nn.Conv2d(c, 1, 1)
        self.spatial_conv1 = nn.Conv2d(3, spatial_hidden, 3, padding=1)
        self.spatial_act = nn.PReLU()
        self.spatial_conv2 = nn.Conv2d(spatial_hidden, 1, 3, padding=1)
        # Depthwise conv spanning the whole map: a learned weighted sum per channel (s-ADP).
        self.s_adp = nn.Conv2d(c, c, hw, groups=c, bias=False)
        self.channel_conv1 = nn.Conv2d(3 * c, hidden, 1)
        self.channel_act = nn.PReLU()
        self.channel_conv2 = nn.Conv2d(hidden, c, 1)

    def forward(self, x):
        s = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True), self.c_adp(x)], 1)
        a_s = self.spatial_conv2(self.spatial_act(self.spatial_conv1(s)))
        ch = torch.cat([x.mean((2, 3), keepdim=True), x.amax((2, 3), keepdim=True),
                        self.s_adp(x)], 1)
        a_c = self.channel_conv2(self.channel_act(self.channel_conv1(ch)))
        return a_c.sigmoid() * a_s.sigmoid()


class Head(nn.Module):
    """C (out 1, dropout) and C_bar (out k+1, no dropout): GAP -> FC 512 -> ReLU -> FC."""

    def __init__(self, c, out, dropout):
        super().__init__()
        self.fc1, self.fc2, self.dropout = nn.Linear(c, 512), nn.Linear(512, out), dropout

    def forward(self, x):
        h = F.dropout(F.relu(self.fc1(x.mean((2, 3)))), self.dropout, self.training)
        return self.fc2(h)


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, beta):
        ctx.beta = beta
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.beta * g, None


T_LAYERS = {"paper": [(3, 512), (3, 256), (3, 128)],
            "reduced": [(1, 128), (3, 128), (3, 64)]}  # crossdf's MiArch


class MiEstimator(nn.Module):
    def __init__(self, c, arch):
        super().__init__()
        convs, c_in = [], 2 * c
        for k, c_out in T_LAYERS[arch]:
            convs += [nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU(inplace=True)]
            c_in = c_out
        self.convs, self.fc = nn.Sequential(*convs), nn.Linear(c_in, 1)

    def forward(self, i_df, i_os, beta):
        a, b = GradReverse.apply(i_df, beta), GradReverse.apply(i_os, beta)
        # Joint pairs (i, i) and marginal pairs (i, i+1 mod B) in one batch, as crossdf.
        x = torch.cat([torch.cat([a, b], 1), torch.cat([a, b.roll(-1, 0)], 1)], 0)
        t = self.fc(self.convs(x).mean((2, 3))).squeeze(1)
        return t.chunk(2)


class Did(nn.Module):
    def __init__(self, backbone, variant, size, t_arch, dropout=0.5):
        super().__init__()
        self.backbone = BACKBONES[backbone]()
        c = self.backbone.out_channels
        hw = size
        for _ in range(self.backbone.downsamples):
            hw = (hw + 1) // 2
        self.full = variant == "did"
        if self.full:
            self.a_df, self.a_dom = Attention(c, hw), Attention(c, hw)
            self.t = MiEstimator(c, t_arch)
            self.c_bar = Head(c, NUM_DOMAINS, 0.0)
        self.c = Head(c, 1, dropout)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def i_x(self, gray):
        # [N,1,S,S] broadcasts against the RGB statistics: the gray plane replicated to 3
        # channels and normalised in one op, as crossdf's InputNorm::apply.
        return self.backbone((gray - self.mean) / self.std)

    def forward(self, gray, beta):
        i_x = self.i_x(gray)
        if not self.full:
            return self.c(i_x).squeeze(1), None, None, None
        m_df = self.a_df(i_x)
        i_df, i_os = m_df * i_x, (1 - m_df) * i_x
        dom_logits = self.c_bar(self.a_dom(i_os) * i_os)
        t_joint, t_marg = self.t(i_df, i_os, beta)
        return self.c(i_df).squeeze(1), dom_logits, t_joint, t_marg

    def score(self, gray):
        """Test-time path: G, A_df, C only (DidModel::score)."""
        i_x = self.i_x(gray)
        feats = self.a_df(i_x) * i_x if self.full else i_x
        return self.c(feats).squeeze(1).sigmoid()


def init_like_tch(model):
    """The initial values crossdf's layers get (tch 0.24 defaults; kaiming normal fan-out in
    MobileNetV2's conv-BN blocks), not PyTorch's, which cut the activations' variance about
    6x per conv in eval mode. Only speed is measured, but equal numbers rule out value
    effects such as denormals (none were found with either init)."""
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if isinstance(m, nn.Conv2d) and name.startswith("backbone.features."):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            else:
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            if isinstance(m, nn.Conv2d) and m.bias is not None:
                nn.init.zeros_(m.bias)  # nn.Linear's default bias init is already tch's
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.0, 1.0)
            nn.init.zeros_(m.bias)


def did_loss(out, labels, domains, gamma=0.15, p=2.0, alpha=0.5, l_dom=1.0, l_dec=0.01):
    """src/did/loss.rs with the paper's defaults (LossConfig::default)."""
    logit, dom_logits, tj, tm = out
    bce = F.binary_cross_entropy_with_logits(logit, labels)
    if dom_logits is None:  # bce baseline: alpha = 1, no other terms
        return bce
    s = logit.sigmoid()
    pairs = labels.unsqueeze(1) * (1 - labels).unsqueeze(0)  # fake i, real j
    e = (gamma - (s.unsqueeze(1) - s.unsqueeze(0))).relu().pow(p) * pairs
    auc = e.sum() / pairs.sum().clamp_min(1)
    mi = -F.softplus(-tj).mean() - F.softplus(tm).mean()
    return alpha * bce + (1 - alpha) * auc + l_dom * F.cross_entropy(dom_logits, domains) \
        - l_dec * mi


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["train", "infer"])
    ap.add_argument("--backbone", default="resnet50", choices=sorted(BACKBONES))
    ap.add_argument("--variant", default="did", choices=["did", "bce"])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--t-arch", default="paper", choices=sorted(T_LAYERS))
    ap.add_argument("--batch", type=int, help="default: 15 for train, 32 for infer")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--adam", default="default", choices=["default", "foreach", "fused"],
                    help="torch.optim.Adam implementation (default: torch's choice, the "
                         "per-tensor loop on CPU)")
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args()
    if a.steps < 1:
        sys.exit("--steps must be at least 1")
    batch = a.batch or (15 if a.mode == "train" else 32)
    if a.threads:
        torch.set_num_threads(a.threads)
    rss_import = peak_rss_mib()

    torch.manual_seed(0)
    model = Did(a.backbone, a.variant, a.size, a.t_arch)
    init_like_tch(model)
    x = torch.rand(batch, 1, a.size, a.size)
    labels = (torch.arange(batch) % 2).float()  # half real, half fake
    domains = torch.arange(batch) % NUM_DOMAINS
    # Two lr groups and coupled weight decay, as crossdf's Adam with OptimConfig::default.
    g_params = list(model.backbone.parameters())
    head_params = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
    impl = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[a.adam]
    opt = torch.optim.Adam([{"params": g_params, "lr": 1e-5},
                            {"params": head_params, "lr": 1e-4}],
                           betas=(0.9, 0.999), eps=1e-8, weight_decay=5e-4, **impl)
    model.train(a.mode == "train")

    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        if a.mode == "train":
            loss = did_loss(model(x, 0.5), labels, domains)
            opt.zero_grad()
            loss.backward()
            opt.step()
        else:
            with torch.no_grad():
                model.score(x)
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)

    median = sorted(times)[len(times) // 2]  # same pick as src/bench.rs for even counts
    parts = {}
    for n, p in model.named_parameters():
        parts[n.split(".")[0]] = parts.get(n.split(".")[0], 0) + p.numel()
    r = {
        "mode": a.mode,
        "model": {"backbone": a.backbone, "variant": a.variant, "size": a.size,
                  "reduction": 16, "dropout": 0.5, "freeze_backbone": False,
                  "t_arch": a.t_arch},
        "batch": batch,
        "device": "Cpu",
        "threads": torch.get_num_threads(),
        "warmup": a.warmup,
        "steps": a.steps,
        "median_images_per_s": batch / median,
        "step_seconds": times,
        "peak_rss_mib": peak_rss_mib(),
        # Not in crossdf's JSON: what the interpreter and `import torch` cost before any
        # model exists, so RSS can be compared net of Python.
        "rss_after_import_mib": rss_import,
        "framework": f"pytorch {torch.__version__} eager",
        "adam": a.adam,
        "parameters": {"total": sum(parts.values()), **parts},
    }
    print(f"{a.mode} {a.backbone} {a.variant} (T {a.t_arch}) {a.size}x{a.size} batch {batch} "
          f"on cpu ({r['threads']} threads): median {r['median_images_per_s']:.1f} images/s "
          f"over {a.steps} steps after {a.warmup} warm-up; peak RSS {r['peak_rss_mib']:.0f} MiB "
          f"(PyTorch {torch.__version__}, {r['parameters']['total']} parameters)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=2)


if __name__ == "__main__":
    main()
