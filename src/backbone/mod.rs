//! Backbones `G`: each maps a normalised 3-channel image to its last feature map `I_X`.
//! One enum, one `build`: pipelines never match on architectures themselves.
pub mod resnet;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackboneKind {
    Resnet18,
    Resnet50,
    /// ResNet with one basic block per stage and 16 base channels: the same block
    /// code as ResNet-18, small enough for tests and quick CPU runs.
    ResnetTiny,
}

impl BackboneKind {
    pub const ALL: [BackboneKind; 3] = [
        BackboneKind::Resnet18,
        BackboneKind::Resnet50,
        BackboneKind::ResnetTiny,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BackboneKind::Resnet18 => "resnet18",
            BackboneKind::Resnet50 => "resnet50",
            BackboneKind::ResnetTiny => "resnet-tiny",
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

/// A built backbone: `features` returns `I_X` of shape [N, out_channels, h, w].
#[derive(Debug)]
pub struct Backbone {
    pub kind: BackboneKind,
    net: resnet::ResNet,
}

impl Backbone {
    /// Builds `kind` under `p` with parameter names of its reference implementation
    /// (torchvision for ResNets), so state dicts map one to one.
    pub fn build(p: &nn::Path, kind: BackboneKind) -> Self {
        let cfg = match kind {
            BackboneKind::Resnet18 => resnet::ResNetConfig::resnet18(),
            BackboneKind::Resnet50 => resnet::ResNetConfig::resnet50(),
            BackboneKind::ResnetTiny => resnet::ResNetConfig::tiny(),
        };
        Backbone {
            kind,
            net: resnet::ResNet::new(p, &cfg),
        }
    }

    pub fn features(&self, x: &Tensor, train: bool) -> Tensor {
        self.net.features(x, train)
    }

    pub fn out_channels(&self) -> i64 {
        self.net.out_channels()
    }

    /// Side of `I_X` for a square input of side `input`.
    pub fn feature_size(&self, input: i64) -> i64 {
        self.net.feature_size(input)
    }
}
