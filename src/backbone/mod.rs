//! Backbones `G`: each maps a normalised 3-channel image to its last feature map `I_X`.
//! One enum, one `build`: pipelines never match on architectures themselves.
pub mod blocks;
pub mod efficientnet_lite;
pub mod efficientnet_v2;
pub mod imagenet;
pub mod mobilenet_v2;
pub mod pretrained;
pub mod resnet;

use crate::error::{Error, Result};
use efficientnet_lite::{EfficientNetLite, EfficientNetLiteConfig};
use efficientnet_v2::{EfficientNetV2, EfficientNetV2Config};
use mobilenet_v2::{MobileNetV2, MobileNetV2Config};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BackboneKind {
    #[serde(rename = "resnet18")]
    Resnet18,
    #[serde(rename = "resnet50")]
    Resnet50,
    /// ResNet with one basic block per stage and 16 base channels: the same block
    /// code as ResNet-18, small enough for tests and quick CPU runs.
    #[serde(rename = "resnet-tiny")]
    ResnetTiny,
    #[serde(rename = "efficientnet-v2-s")]
    EfficientnetV2S,
    #[serde(rename = "efficientnet-v2-m")]
    EfficientnetV2M,
    #[serde(rename = "efficientnet-v2-l")]
    EfficientnetV2L,
    /// EfficientNetV2 block code at a few channels (the parity fixture's architecture).
    #[serde(rename = "efficientnet-v2-tiny")]
    EfficientnetV2Tiny,
    #[serde(rename = "efficientnet-lite0")]
    EfficientnetLite0,
    #[serde(rename = "efficientnet-lite1")]
    EfficientnetLite1,
    #[serde(rename = "efficientnet-lite2")]
    EfficientnetLite2,
    #[serde(rename = "efficientnet-lite-tiny")]
    EfficientnetLiteTiny,
    #[serde(rename = "mobilenet-v2")]
    MobilenetV2,
    #[serde(rename = "mobilenet-v2-tiny")]
    MobilenetV2Tiny,
}

/// The architecture families, each in its own file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    ResNet,
    EfficientNetV2,
    EfficientNetLite,
    MobileNetV2,
}

/// Per-channel statistics (R, G, B, in [0, 1] units) the pretrained weights were trained on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputNorm {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl InputNorm {
    pub const IMAGENET: InputNorm = InputNorm {
        mean: crate::data::image::IMAGENET_MEAN,
        std: crate::data::image::IMAGENET_STD,
    };
    /// TensorFlow's edge models (EfficientNet-Lite): `(x - 127) / 128` in 0..255 units.
    pub const INCEPTION_127: InputNorm = InputNorm {
        mean: [127.0 / 255.0; 3],
        std: [128.0 / 255.0; 3],
    };

    /// `[N, 1, H, W]` gray in [0, 1] -> `[N, 3, H, W]`: the plane replicated to R, G, B
    /// (broadcasting) and normalised per channel. Differentiable; for ImageNet statistics it
    /// is exactly `data::image::normalise_imagenet`.
    ///
    /// The replication is kept rather than folded into a 1-channel stem: folding changes the
    /// order of the float sums, so it is equal only up to rounding (DESIGN.md section 1).
    pub fn apply(&self, x: &Tensor) -> Tensor {
        let stats = |v: &[f32; 3]| {
            Tensor::from_slice(v)
                .view([1, 3, 1, 1])
                .to_device(x.device())
                .to_kind(x.kind())
        };
        (x - stats(&self.mean)) / stats(&self.std)
    }
}

impl BackboneKind {
    pub const ALL: [BackboneKind; 13] = [
        BackboneKind::Resnet18,
        BackboneKind::Resnet50,
        BackboneKind::ResnetTiny,
        BackboneKind::EfficientnetV2S,
        BackboneKind::EfficientnetV2M,
        BackboneKind::EfficientnetV2L,
        BackboneKind::EfficientnetV2Tiny,
        BackboneKind::EfficientnetLite0,
        BackboneKind::EfficientnetLite1,
        BackboneKind::EfficientnetLite2,
        BackboneKind::EfficientnetLiteTiny,
        BackboneKind::MobilenetV2,
        BackboneKind::MobilenetV2Tiny,
    ];

    pub fn name(self) -> &'static str {
        use BackboneKind::*;
        match self {
            Resnet18 => "resnet18",
            Resnet50 => "resnet50",
            ResnetTiny => "resnet-tiny",
            EfficientnetV2S => "efficientnet-v2-s",
            EfficientnetV2M => "efficientnet-v2-m",
            EfficientnetV2L => "efficientnet-v2-l",
            EfficientnetV2Tiny => "efficientnet-v2-tiny",
            EfficientnetLite0 => "efficientnet-lite0",
            EfficientnetLite1 => "efficientnet-lite1",
            EfficientnetLite2 => "efficientnet-lite2",
            EfficientnetLiteTiny => "efficientnet-lite-tiny",
            MobilenetV2 => "mobilenet-v2",
            MobilenetV2Tiny => "mobilenet-v2-tiny",
        }
    }

    pub fn family(self) -> Family {
        use BackboneKind::*;
        match self {
            Resnet18 | Resnet50 | ResnetTiny => Family::ResNet,
            EfficientnetV2S | EfficientnetV2M | EfficientnetV2L | EfficientnetV2Tiny => {
                Family::EfficientNetV2
            }
            EfficientnetLite0 | EfficientnetLite1 | EfficientnetLite2 | EfficientnetLiteTiny => {
                Family::EfficientNetLite
            }
            MobilenetV2 | MobilenetV2Tiny => Family::MobileNetV2,
        }
    }

    /// The normalisation the family's pretrained weights expect.
    pub fn input_norm(self) -> InputNorm {
        match self.family() {
            Family::EfficientNetLite => InputNorm::INCEPTION_127,
            _ => InputNorm::IMAGENET,
        }
    }
}

impl std::fmt::Display for BackboneKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BackboneKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        BackboneKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = BackboneKind::ALL.iter().map(|k| k.name()).collect();
                Error::invalid(format!(
                    "unknown backbone `{s}`; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

#[derive(Debug)]
enum Arch {
    ResNet(resnet::ResNet),
    V2(EfficientNetV2),
    Lite(EfficientNetLite),
    MobileNetV2(MobileNetV2),
}

/// A built backbone: `features` returns `I_X` of shape [N, out_channels, h, w]; built with
/// [`Backbone::build_classifier`] it also has its ImageNet head for `logits`.
#[derive(Debug)]
pub struct Backbone {
    pub kind: BackboneKind,
    net: Arch,
    head: Option<blocks::PoolLinear>,
    /// Leading blocks kept as loaded ([`Backbone::freeze_blocks`]).
    frozen: usize,
}

/// Runs `stem`, then `blocks` through `block`. With `frozen > 0` the stem and the first
/// `frozen` blocks run without gradient and in eval mode: their weights and BatchNorm
/// statistics stay as loaded, and the backward pass through the full-resolution layers,
/// the costliest part of a CPU training step, is skipped.
fn run_blocks<B>(
    x: &Tensor,
    train: bool,
    frozen: usize,
    stem: impl Fn(&Tensor, bool) -> Tensor,
    blocks: &[B],
    block: impl Fn(&B, &Tensor, bool) -> Tensor,
) -> Tensor {
    let frozen = frozen.min(blocks.len());
    let mut y = if frozen == 0 {
        stem(x, train)
    } else {
        tch::no_grad(|| {
            blocks[..frozen]
                .iter()
                .fold(stem(x, false), |y, b| block(b, &y, false))
        })
    };
    for b in &blocks[frozen..] {
        y = block(b, &y, train);
    }
    y
}

impl Backbone {
    /// Builds `kind` under `p` with parameter names of its reference implementation
    /// (torchvision; EfficientNet-PyTorch for Lite), so state dicts map one to one.
    /// No classifier: DID reads `I_X` only.
    pub fn build(p: &nn::Path, kind: BackboneKind) -> Self {
        use BackboneKind::*;
        let net = match kind {
            Resnet18 => Arch::ResNet(resnet::ResNet::new(p, &resnet::ResNetConfig::resnet18())),
            Resnet50 => Arch::ResNet(resnet::ResNet::new(p, &resnet::ResNetConfig::resnet50())),
            ResnetTiny => Arch::ResNet(resnet::ResNet::new(p, &resnet::ResNetConfig::tiny())),
            EfficientnetV2S | EfficientnetV2M | EfficientnetV2L | EfficientnetV2Tiny => {
                Arch::V2(EfficientNetV2::new(p, &v2_config(kind)))
            }
            EfficientnetLite0 | EfficientnetLite1 | EfficientnetLite2 | EfficientnetLiteTiny => {
                Arch::Lite(EfficientNetLite::new(p, &lite_config(kind)))
            }
            MobilenetV2 => Arch::MobileNetV2(MobileNetV2::new(p, &MobileNetV2Config::v2())),
            MobilenetV2Tiny => Arch::MobileNetV2(MobileNetV2::new(p, &MobileNetV2Config::tiny())),
        };
        Backbone {
            kind,
            net,
            head: None,
            frozen: 0,
        }
    }

    /// As [`Backbone::build`], plus the classifier under the reference name (`fc`,
    /// `classifier.1` or `_fc`) with `num_classes` outputs (1000 for ImageNet weights).
    pub fn build_classifier(p: &nn::Path, kind: BackboneKind, num_classes: i64) -> Self {
        let mut b = Backbone::build(p, kind);
        let (path, dropout) = match kind.family() {
            Family::ResNet => (p / "fc", 0.0),
            Family::EfficientNetV2 => (p / "classifier" / 1, v2_config(kind).dropout),
            Family::MobileNetV2 => (p / "classifier" / 1, 0.2),
            Family::EfficientNetLite => (p / "_fc", lite_config(kind).dropout),
        };
        b.head = Some(blocks::PoolLinear::new(
            path,
            b.out_channels(),
            num_classes,
            dropout,
        ));
        b
    }

    /// `[N, 1, H, W]` gray in [0, 1] -> the 3-channel input this backbone's weights expect.
    pub fn normalise(&self, x_gray: &Tensor) -> Tensor {
        self.kind.input_norm().apply(x_gray)
    }

    /// The last feature map. The input is laid out channels-last first: libtorch's CPU
    /// convolutions then keep that layout throughout, measured 15-28% faster for MobileNetV2
    /// and ResNet-50 training and scoring on 2 cores (`crossdf bench`), same numbers.
    pub fn features(&self, x: &Tensor, train: bool) -> Tensor {
        self.features_as_given(&crate::layers::channels_last(x), train)
    }

    fn features_as_given(&self, x: &Tensor, train: bool) -> Tensor {
        let f = self.frozen;
        match &self.net {
            Arch::ResNet(n) => n.features(x, train, f),
            Arch::V2(n) => n.features(x, train, f),
            Arch::Lite(n) => n.features(x, train, f),
            Arch::MobileNetV2(n) => n.features(x, train, f),
        }
    }

    /// Number of blocks after the stem (inverted residuals, MBConvs or residual blocks).
    pub fn blocks(&self) -> usize {
        match &self.net {
            Arch::ResNet(n) => n.blocks(),
            Arch::V2(n) => n.blocks(),
            Arch::Lite(n) => n.blocks(),
            Arch::MobileNetV2(n) => n.blocks(),
        }
    }

    /// Keeps the stem and the first `n` blocks as loaded in training (0: every layer
    /// learns). Their parameters get no gradient, so the optimizer leaves them alone.
    pub fn freeze_blocks(&mut self, n: usize) -> Result<()> {
        if n > self.blocks() {
            return Err(Error::invalid(format!(
                "cannot freeze {n} blocks of {}: it has {}",
                self.kind,
                self.blocks()
            )));
        }
        self.frozen = n;
        Ok(())
    }

    /// Class logits of a normalised 3-channel input; only for a backbone built with its head.
    pub fn logits(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let head = self.head.as_ref().ok_or_else(|| {
            Error::invalid(format!(
                "backbone {} was built without its classifier head",
                self.kind
            ))
        })?;
        Ok(head.forward_t(&self.features(x, train), train))
    }

    pub fn out_channels(&self) -> i64 {
        match &self.net {
            Arch::ResNet(n) => n.out_channels(),
            Arch::V2(n) => n.out_channels(),
            Arch::Lite(n) => n.out_channels(),
            Arch::MobileNetV2(n) => n.out_channels(),
        }
    }

    /// Side of `I_X` for a square input of side `input`: every stride-2 layer of these
    /// families gives `ceil(n / 2)` (symmetric `(k-1)/2` padding and TF "SAME" alike).
    pub fn feature_size(&self, input: i64) -> i64 {
        let downsamples = match &self.net {
            Arch::ResNet(_) => 5,
            Arch::V2(n) => n.downsamples(),
            Arch::Lite(n) => n.downsamples(),
            Arch::MobileNetV2(n) => n.downsamples(),
        };
        (0..downsamples).fold(input, |n, _| (n + 1) / 2)
    }
}

fn v2_config(kind: BackboneKind) -> EfficientNetV2Config {
    match kind {
        BackboneKind::EfficientnetV2S => EfficientNetV2Config::s(),
        BackboneKind::EfficientnetV2M => EfficientNetV2Config::m(),
        BackboneKind::EfficientnetV2L => EfficientNetV2Config::l(),
        _ => EfficientNetV2Config::tiny(),
    }
}

fn lite_config(kind: BackboneKind) -> EfficientNetLiteConfig {
    match kind {
        BackboneKind::EfficientnetLite0 => EfficientNetLiteConfig::lite0(),
        BackboneKind::EfficientnetLite1 => EfficientNetLiteConfig::lite1(),
        BackboneKind::EfficientnetLite2 => EfficientNetLiteConfig::lite2(),
        _ => EfficientNetLiteConfig::tiny(),
    }
}

#[cfg(test)]
#[path = "backbone_tests.rs"]
mod tests;
