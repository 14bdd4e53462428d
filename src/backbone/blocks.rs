//! Blocks shared by the mobile families (MobileNetV2, EfficientNet-Lite, EfficientNetV2):
//! conv-BN-activation, squeeze-excitation, stochastic depth, MBConv and Fused-MBConv.
//!
//! Each family names its layers as its reference implementation does, so the blocks take
//! already-built layers (pub fields) and own only the forward pass, written once here.
use tch::{nn, Kind, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Identity,
    Relu6,
    Silu,
}

impl Act {
    /// In place as torchvision's `inplace=True`: one large allocation fewer per layer (and
    /// one activation less kept for backward). `x` is a BatchNorm output, which BatchNorm's
    /// backward does not read, and ReLU6's backward reads only its own output, so this holds
    /// in training too. SiLU's backward reads its input, so it is in place only without a
    /// gradient.
    pub fn apply(self, mut x: Tensor) -> Tensor {
        match (self, !x.requires_grad()) {
            (Act::Identity, _) => x,
            (Act::Relu6, _) => x.relu6_(),
            (Act::Silu, true) => x.silu_(),
            (Act::Silu, false) => x.silu(),
        }
    }
}

/// How a convolution pads: PyTorch's symmetric `(k - 1) / 2`, or TensorFlow's "SAME"
/// (output `ceil(n / s)`, the odd pixel going after), which the TF-trained Lite weights need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Symmetric,
    TfSame,
}

/// BatchNorm hyper-parameters in PyTorch's convention (`momentum` weighs the new batch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BnConfig {
    pub eps: f64,
    pub momentum: f64,
}

impl BnConfig {
    /// `nn.BatchNorm2d` defaults (torchvision's MobileNetV2).
    pub const TORCH: BnConfig = BnConfig {
        eps: 1e-5,
        momentum: 0.1,
    };
    /// torchvision's EfficientNetV2: `partial(nn.BatchNorm2d, eps=1e-3)`.
    pub const TORCH_EPS3: BnConfig = BnConfig {
        eps: 1e-3,
        momentum: 0.1,
    };
    /// TensorFlow's EfficientNet (`batch_norm_momentum=0.99`, eps 1e-3), as ported to PyTorch.
    pub const TF: BnConfig = BnConfig {
        eps: 1e-3,
        momentum: 0.01,
    };
}

/// One convolution (no bias) followed by BN and an activation.
#[derive(Clone, Copy, Debug)]
pub struct ConvSpec {
    pub c_in: i64,
    pub c_out: i64,
    pub k: i64,
    pub stride: i64,
    pub groups: i64,
    pub act: Act,
    pub padding: Padding,
    pub bn: BnConfig,
}

impl ConvSpec {
    pub fn new(c_in: i64, c_out: i64, k: i64, stride: i64, act: Act, bn: BnConfig) -> Self {
        ConvSpec {
            c_in,
            c_out,
            k,
            stride,
            groups: 1,
            act,
            padding: Padding::Symmetric,
            bn,
        }
    }

    /// A depthwise `k x k` convolution on `c` channels.
    pub fn depthwise(c: i64, k: i64, stride: i64, act: Act, bn: BnConfig) -> Self {
        ConvSpec {
            groups: c,
            ..ConvSpec::new(c, c, k, stride, act, bn)
        }
    }

    pub fn padding(self, padding: Padding) -> Self {
        ConvSpec { padding, ..self }
    }
}

#[derive(Debug)]
pub struct ConvBnAct {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
    spec: ConvSpec,
}

impl ConvBnAct {
    /// Convolution weight under `conv`, BN under `bn` (names differ between families).
    pub fn new(conv: nn::Path, bn: nn::Path, spec: ConvSpec) -> Self {
        let padding = match spec.padding {
            Padding::Symmetric => (spec.k - 1) / 2,
            Padding::TfSame => 0,
        };
        let conv_cfg = nn::ConvConfig {
            stride: spec.stride,
            padding,
            groups: spec.groups,
            bias: false,
            // torchvision's init for these families (kaiming normal, fan out).
            ws_init: nn::Init::Kaiming {
                dist: nn::init::NormalOrUniform::Normal,
                fan: nn::init::FanInOut::FanOut,
                non_linearity: nn::init::NonLinearity::ReLU,
            },
            ..Default::default()
        };
        let bn_cfg = nn::BatchNormConfig {
            eps: spec.bn.eps,
            momentum: spec.bn.momentum,
            ..Default::default()
        };
        ConvBnAct {
            conv: nn::conv2d(conv, spec.c_in, spec.c_out, spec.k, conv_cfg),
            bn: nn::batch_norm2d(bn, spec.c_out, bn_cfg),
            spec,
        }
    }

    /// Conv and BN under `p/0`, `p/1`: torchvision's `Conv2dNormActivation`.
    pub fn torchvision(p: &nn::Path, spec: ConvSpec) -> Self {
        ConvBnAct::new(p / "0", p / "1", spec)
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let x = match self.spec.padding {
            Padding::Symmetric => x.shallow_clone(),
            Padding::TfSame => tf_same_pad(x, self.spec.k, self.spec.stride),
        };
        self.spec
            .act
            .apply(x.apply(&self.conv).apply_t(&self.bn, train))
    }

    pub fn c_out(&self) -> i64 {
        self.spec.c_out
    }
}

/// Zero padding so that a `k x k` convolution with stride `s` gives `ceil(n / s)` outputs.
pub fn tf_same_pad(x: &Tensor, k: i64, s: i64) -> Tensor {
    let size = x.size();
    let total = |n: i64| (((n + s - 1) / s - 1) * s + k - n).max(0);
    let (ph, pw) = (total(size[size.len() - 2]), total(size[size.len() - 1]));
    if ph == 0 && pw == 0 {
        return x.shallow_clone();
    }
    x.constant_pad_nd([pw / 2, pw - pw / 2, ph / 2, ph - ph / 2])
}

/// Squeeze-and-excitation (Hu et al. 2018) as torchvision's `SqueezeExcitation` with SiLU:
/// `x * sigmoid(fc2(silu(fc1(GAP(x)))))`, `fc1`/`fc2` being 1x1 convs with bias.
#[derive(Debug)]
pub struct SqueezeExcite {
    fc1: nn::Conv2D,
    fc2: nn::Conv2D,
}

impl SqueezeExcite {
    pub fn new(p: &nn::Path, c: i64, c_squeeze: i64) -> Self {
        SqueezeExcite {
            fc1: nn::conv2d(p / "fc1", c, c_squeeze, 1, Default::default()),
            fc2: nn::conv2d(p / "fc2", c_squeeze, c, 1, Default::default()),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let s = x
            .mean_dim([2i64, 3].as_slice(), true, x.kind())
            .apply(&self.fc1)
            .silu()
            .apply(&self.fc2)
            .sigmoid();
        x * s
    }
}

/// Stochastic depth, "row" mode (Huang et al. 2016): in training each sample's residual
/// branch is dropped with probability `p` and the survivors are scaled by `1 / (1 - p)`.
pub fn drop_path(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p <= 0.0 {
        return x.shallow_clone();
    }
    let keep = 1.0 - p;
    let n = x.size()[0];
    let mask = Tensor::rand([n, 1, 1, 1], (x.kind(), x.device()))
        .lt(keep)
        .to_kind(x.kind());
    x * mask / keep
}

/// Inverted residual (MobileNetV2 / EfficientNet's MBConv): optional 1x1 expansion, depthwise
/// conv, optional SE, linear 1x1 projection; `residual` is `Some(drop-path probability)` when
/// the block adds its input back (stride 1, same channels).
#[derive(Debug)]
pub struct MbConv {
    pub expand: Option<ConvBnAct>,
    pub dw: ConvBnAct,
    pub se: Option<SqueezeExcite>,
    pub project: ConvBnAct,
    pub residual: Option<f64>,
}

impl MbConv {
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = match &self.expand {
            Some(e) => e.forward_t(x, train),
            None => x.shallow_clone(),
        };
        y = self.dw.forward_t(&y, train);
        if let Some(se) = &self.se {
            y = se.forward(&y);
        }
        y = self.project.forward_t(&y, train);
        add_residual(y, x, self.residual, train)
    }
}

/// Fused-MBConv (EfficientNetV2): the expansion and depthwise convs fused into one `k x k`
/// conv; with expansion 1 that conv maps straight to the output and `project` is absent.
#[derive(Debug)]
pub struct FusedMbConv {
    pub fused: ConvBnAct,
    pub project: Option<ConvBnAct>,
    pub residual: Option<f64>,
}

impl FusedMbConv {
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = self.fused.forward_t(x, train);
        if let Some(p) = &self.project {
            y = p.forward_t(&y, train);
        }
        add_residual(y, x, self.residual, train)
    }
}

fn add_residual(mut y: Tensor, x: &Tensor, residual: Option<f64>, train: bool) -> Tensor {
    match residual {
        Some(p) if train || y.requires_grad() || x.requires_grad() => drop_path(&y, p, train) + x,
        Some(_) => {
            y += x;
            y
        }
        None => y,
    }
}

/// The ImageNet classifier of every family: global average pool, dropout, linear.
#[derive(Debug)]
pub struct PoolLinear {
    linear: nn::Linear,
    dropout: f64,
}

impl PoolLinear {
    pub fn new(p: nn::Path, c_in: i64, num_classes: i64, dropout: f64) -> Self {
        PoolLinear {
            linear: nn::linear(p, c_in, num_classes, Default::default()),
            dropout,
        }
    }

    /// Logits [N, classes] from a feature map [N, C, h, w].
    pub fn forward_t(&self, features: &Tensor, train: bool) -> Tensor {
        features
            .mean_dim([2i64, 3].as_slice(), false, Kind::Float)
            .dropout(self.dropout, train)
            .apply(&self.linear)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn tf_same_pad_puts_the_odd_pixel_after() {
        // n = 5, k = 3, s = 2: out 3, total pad (3-1)*2+3-5 = 2 -> 1 before, 1 after.
        // n = 6, k = 3, s = 2: out 3, total pad (3-1)*2+3-6 = 1 -> 0 before, 1 after.
        // n = 6, k = 5, s = 1: total pad 4 -> 2 and 2.
        let x = Tensor::ones([1, 1, 5, 6], (Kind::Float, Device::Cpu));
        let y = tf_same_pad(&x, 3, 2);
        assert_eq!(y.size(), vec![1, 1, 7, 7]);
        let row0 = Vec::<f32>::try_from(y.get(0).get(0).get(0)).unwrap();
        let row1 = Vec::<f32>::try_from(y.get(0).get(0).get(1)).unwrap();
        assert_eq!(row0, vec![0.0; 7]);
        assert_eq!(row1, vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
        assert_eq!(tf_same_pad(&x, 5, 1).size(), vec![1, 1, 9, 10]);
        assert_eq!(tf_same_pad(&x, 1, 1).size(), vec![1, 1, 5, 6]);
    }

    #[test]
    fn drop_path_is_identity_in_eval_and_unbiased_in_training() {
        let x = Tensor::ones([4000, 1, 1, 1], (Kind::Float, Device::Cpu));
        assert!(drop_path(&x, 0.3, false).equal(&x));
        tch::manual_seed(1);
        let y = drop_path(&x, 0.3, true);
        let v = Vec::<f32>::try_from(y.flatten(0, -1)).unwrap();
        // Each sample is either dropped (0) or kept and scaled by 1/0.7.
        assert!(v.iter().all(|&a| a == 0.0 || (a - 1.0 / 0.7).abs() < 1e-6));
        let kept = v.iter().filter(|&&a| a > 0.0).count() as f64 / v.len() as f64;
        assert!((kept - 0.7).abs() < 0.03, "kept fraction {kept}");
    }

    #[test]
    fn squeeze_excite_scales_each_channel_by_a_sigmoid_gate() {
        let vs = nn::VarStore::new(Device::Cpu);
        let se = SqueezeExcite::new(&vs.root(), 2, 1);
        // fc1 = [1, 1] (bias 0), fc2 = [[2], [-1]] (bias [0, 1]): the gate of channel c is
        // sigmoid(w2_c * silu(mean_0 + mean_1) + b2_c).
        tch::no_grad(|| {
            for (k, v) in vs.variables() {
                let vals: Vec<f32> = match k.as_str() {
                    "fc1.weight" => vec![1.0, 1.0],
                    "fc1.bias" => vec![0.0],
                    "fc2.weight" => vec![2.0, -1.0],
                    "fc2.bias" => vec![0.0, 1.0],
                    _ => unreachable!("{k}"),
                };
                let mut v = v;
                v.copy_(&Tensor::from_slice(&vals).view_as(&v));
            }
        });
        let x = Tensor::from_slice(&[1.0f32, 3.0, 0.5, 0.5]).view([1, 2, 1, 2]);
        let y = Vec::<f32>::try_from(se.forward(&x).flatten(0, -1)).unwrap();
        let s = 2.0f32 + 0.5; // mean 2 and 0.5
        let silu = s / (1.0 + (-s).exp());
        let sig = |z: f32| 1.0 / (1.0 + (-z).exp());
        let (g0, g1) = (sig(2.0 * silu), sig(-silu + 1.0));
        let want = [g0, 3.0 * g0, 0.5 * g1, 0.5 * g1];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{y:?} vs {want:?}");
        }
    }
}
