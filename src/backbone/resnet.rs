//! ResNet (He et al. 2016) in torchvision's layout and parameter names
//! (`conv1`, `bn1`, `layer{1..4}.{i}.conv{1,2,3}`, `downsample.{0,1}`), classifier left out:
//! DID reads the last feature map.
use tch::nn::{self, ModuleT};
use tch::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    Basic,
    Bottleneck,
}

impl Block {
    fn expansion(self) -> i64 {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// A ResNet variant as data: block type, blocks per stage, base width.
#[derive(Clone, Debug)]
pub struct ResNetConfig {
    pub block: Block,
    pub layers: [usize; 4],
    pub width: i64,
}

impl ResNetConfig {
    pub fn resnet18() -> Self {
        ResNetConfig {
            block: Block::Basic,
            layers: [2, 2, 2, 2],
            width: 64,
        }
    }
    pub fn resnet50() -> Self {
        ResNetConfig {
            block: Block::Bottleneck,
            layers: [3, 4, 6, 3],
            width: 64,
        }
    }
    pub fn tiny() -> Self {
        ResNetConfig {
            block: Block::Basic,
            layers: [1, 1, 1, 1],
            width: 16,
        }
    }
}

fn conv(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: k / 2,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, k, cfg)
}

fn bn(p: nn::Path, c: i64) -> nn::BatchNorm {
    nn::batch_norm2d(p, c, Default::default())
}

#[derive(Debug)]
struct Residual {
    convs: Vec<(nn::Conv2D, nn::BatchNorm)>,
    downsample: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl Residual {
    fn new(p: &nn::Path, block: Block, c_in: i64, planes: i64, stride: i64) -> Self {
        let c_out = planes * block.expansion();
        // torchvision puts the stride on the 3x3 conv of a bottleneck (ResNet v1.5).
        let shapes: Vec<(i64, i64, i64, i64)> = match block {
            Block::Basic => vec![(c_in, planes, 3, stride), (planes, planes, 3, 1)],
            Block::Bottleneck => vec![
                (c_in, planes, 1, 1),
                (planes, planes, 3, stride),
                (planes, c_out, 1, 1),
            ],
        };
        let convs = shapes
            .into_iter()
            .enumerate()
            .map(|(i, (ci, co, k, s))| {
                (
                    conv(p / format!("conv{}", i + 1), ci, co, k, s),
                    bn(p / format!("bn{}", i + 1), co),
                )
            })
            .collect();
        let downsample = (stride != 1 || c_in != c_out).then(|| {
            let d = p / "downsample";
            (conv(&d / "0", c_in, c_out, 1, stride), bn(&d / "1", c_out))
        });
        Residual { convs, downsample }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let shortcut = match &self.downsample {
            Some((c, b)) => x.apply(c).apply_t(b, train),
            None => x.shallow_clone(),
        };
        // ReLU and the residual sum in place, as torchvision: they act on BatchNorm outputs,
        // which BatchNorm's backward does not read, and ReLU's backward reads only its output.
        let last = self.convs.len() - 1;
        let mut y = x.shallow_clone();
        for (i, (c, b)) in self.convs.iter().enumerate() {
            y = y.apply(c).apply_t(b, train);
            if i != last {
                y = y.relu_();
            }
        }
        let _ = y.g_add_(&shortcut);
        y.relu_()
    }
}

#[derive(Debug)]
pub struct ResNet {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    stages: Vec<Vec<Residual>>,
    out_channels: i64,
}

impl ResNet {
    pub fn new(p: &nn::Path, cfg: &ResNetConfig) -> Self {
        let conv1 = nn::conv2d(
            p / "conv1",
            3,
            cfg.width,
            7,
            nn::ConvConfig {
                stride: 2,
                padding: 3,
                bias: false,
                ..Default::default()
            },
        );
        let bn1 = bn(p / "bn1", cfg.width);
        let mut c_in = cfg.width;
        let mut stages = Vec::new();
        for (s, &n) in cfg.layers.iter().enumerate() {
            let planes = cfg.width << s;
            let stride = if s == 0 { 1 } else { 2 };
            let lp = p / format!("layer{}", s + 1);
            let blocks = (0..n)
                .map(|i| {
                    let b = Residual::new(
                        &(&lp / i),
                        cfg.block,
                        c_in,
                        planes,
                        if i == 0 { stride } else { 1 },
                    );
                    c_in = planes * cfg.block.expansion();
                    b
                })
                .collect();
            stages.push(blocks);
        }
        ResNet {
            conv1,
            bn1,
            stages,
            out_channels: c_in,
        }
    }

    /// `I_X`; conv1 and the first `frozen` residual blocks (counted across the stages) run
    /// frozen ([`super::run_blocks`]).
    pub fn features(&self, x: &Tensor, train: bool, frozen: usize) -> Tensor {
        let stem = |x: &Tensor, t| {
            x.apply(&self.conv1)
                .apply_t(&self.bn1, t)
                .relu_()
                .max_pool2d([3, 3], [2, 2], [1, 1], [1, 1], false)
        };
        let blocks: Vec<&Residual> = self.stages.iter().flatten().collect();
        super::run_blocks(x, train, frozen, stem, &blocks, |b, y, t| b.forward_t(y, t))
    }

    pub fn blocks(&self) -> usize {
        self.stages.iter().map(Vec::len).sum()
    }

    pub fn out_channels(&self) -> i64 {
        self.out_channels
    }

    /// conv1 and the max pool halve the side, then stages 2..4 halve it again.
    pub fn feature_size(&self, input: i64) -> i64 {
        let half = |n: i64| (n - 1) / 2 + 1;
        (0..5).fold(input, |n, _| half(n))
    }
}

impl ModuleT for ResNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.features(x, train, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn names(cfg: &ResNetConfig) -> Vec<(String, Vec<i64>)> {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = ResNet::new(&vs.root(), cfg);
        let _ = net;
        let mut v: Vec<_> = vs
            .variables()
            .into_iter()
            .map(|(k, t)| (k, t.size()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn resnet50_matches_torchvision_names_and_shapes() {
        let v = names(&ResNetConfig::resnet50());
        let get = |n: &str| v.iter().find(|(k, _)| k == n).map(|(_, s)| s.clone());
        assert_eq!(get("conv1.weight"), Some(vec![64, 3, 7, 7]));
        assert_eq!(
            get("layer1.0.downsample.0.weight"),
            Some(vec![256, 64, 1, 1])
        );
        assert_eq!(get("layer2.0.conv2.weight"), Some(vec![128, 128, 3, 3]));
        assert_eq!(get("layer4.2.conv3.weight"), Some(vec![2048, 512, 1, 1]));
        assert_eq!(get("layer4.2.bn3.running_var"), Some(vec![2048]));
        assert!(get("layer1.1.downsample.0.weight").is_none());
        // torchvision resnet50 without fc: 53 convs + 53 BNs (4 tensors each, plus
        // num_batches_tracked, which tch does not keep).
        let convs = v
            .iter()
            .filter(|(k, s)| k.ends_with("weight") && s.len() == 4)
            .count();
        assert_eq!(convs, 53);
        assert!(
            v.iter().all(|(k, _)| !k.contains("__")),
            "tch renamed a duplicate"
        );
    }

    #[test]
    fn feature_map_shape_and_size_formula() {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = ResNet::new(&vs.root(), &ResNetConfig::tiny());
        for side in [64i64, 97, 224] {
            let x = Tensor::randn([2, 3, side, side], (Kind::Float, Device::Cpu));
            let y = net.features(&x, false, 0);
            let f = net.feature_size(side);
            assert_eq!(y.size(), vec![2, net.out_channels(), f, f], "input {side}");
        }
        assert_eq!(net.feature_size(224), 7);
    }
}
