//! MobileNetV2 (Sandler et al. 2018) in torchvision's layout and parameter names:
//! `features.0` stem, `features.{i}.conv.*` inverted residuals, the last `features.N` a 1x1
//! conv to 1280 channels (`I_X`); ReLU6 throughout, symmetric padding, BN eps 1e-5.
use super::blocks::{Act, BnConfig, ConvBnAct, ConvSpec, MbConv};
use tch::{nn, Tensor};

/// One row of the paper's Table 2: expansion `t`, channels `c`, repeats `n`, stride `s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    pub t: i64,
    pub c: i64,
    pub n: usize,
    pub s: i64,
}

const fn st(t: i64, c: i64, n: usize, s: i64) -> Stage {
    Stage { t, c, n, s }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MobileNetV2Config {
    pub stem: i64,
    pub stages: Vec<Stage>,
    pub last_channel: i64,
    pub dropout: f64,
}

impl MobileNetV2Config {
    /// Width multiplier 1.0, as torchvision's `mobilenet_v2()`.
    pub fn v2() -> Self {
        MobileNetV2Config {
            stem: 32,
            stages: vec![
                st(1, 16, 1, 1),
                st(6, 24, 2, 2),
                st(6, 32, 3, 2),
                st(6, 64, 4, 2),
                st(6, 96, 3, 1),
                st(6, 160, 3, 2),
                st(6, 320, 1, 1),
            ],
            last_channel: 1280,
            dropout: 0.2,
        }
    }

    /// Reduced variant matching the parity fixture of `scripts/fixtures/backbones.py`.
    pub fn tiny() -> Self {
        MobileNetV2Config {
            stem: 32,
            stages: vec![
                st(1, 8, 1, 1),
                st(4, 16, 2, 2),
                st(3, 16, 2, 2),
                st(3, 24, 1, 2),
                st(2, 24, 2, 1),
            ],
            last_channel: 64,
            dropout: 0.2,
        }
    }
}

#[derive(Debug)]
pub struct MobileNetV2 {
    stem: ConvBnAct,
    blocks: Vec<MbConv>,
    last: ConvBnAct,
    downsamples: usize,
}

const BN: BnConfig = BnConfig::TORCH;

impl MobileNetV2 {
    pub fn new(p: &nn::Path, cfg: &MobileNetV2Config) -> Self {
        let f = p / "features";
        let stem =
            ConvBnAct::torchvision(&(&f / 0), ConvSpec::new(3, cfg.stem, 3, 2, Act::Relu6, BN));
        let mut c_in = cfg.stem;
        let mut blocks = Vec::new();
        for stage in &cfg.stages {
            for j in 0..stage.n {
                let stride = if j == 0 { stage.s } else { 1 };
                let cp = &f / (blocks.len() + 1) / "conv";
                blocks.push(inverted_residual(&cp, c_in, stage.c, stride, stage.t));
                c_in = stage.c;
            }
        }
        let last = ConvBnAct::torchvision(
            &(&f / (blocks.len() + 1)),
            ConvSpec::new(c_in, cfg.last_channel, 1, 1, Act::Relu6, BN),
        );
        let downsamples = 1 + cfg.stages.iter().filter(|s| s.s == 2).count();
        MobileNetV2 {
            stem,
            blocks,
            last,
            downsamples,
        }
    }

    /// `I_X`; the stem and the first `frozen` blocks run frozen ([`super::run_blocks`]).
    pub fn features(&self, x: &Tensor, train: bool, frozen: usize) -> Tensor {
        let stem = |x: &Tensor, t| self.stem.forward_t(x, t);
        let y = super::run_blocks(x, train, frozen, stem, &self.blocks, |b, y, t| {
            b.forward_t(y, t)
        });
        self.last.forward_t(&y, train)
    }

    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    pub fn out_channels(&self) -> i64 {
        self.last.c_out()
    }

    pub fn downsamples(&self) -> usize {
        self.downsamples
    }
}

/// torchvision's `InvertedResidual`: `conv.{0..}` holds the optional expansion
/// (Conv2dNormActivation), the depthwise one, then a bare projection conv and its BN.
fn inverted_residual(cp: &nn::Path, c_in: i64, c_out: i64, stride: i64, t: i64) -> MbConv {
    // torchvision: hidden = int(round(inp * t)) with an integer t.
    let hidden = c_in * t;
    let mut i = 0;
    let expand = (t != 1).then(|| {
        i += 1;
        ConvBnAct::torchvision(&(cp / 0), ConvSpec::new(c_in, hidden, 1, 1, Act::Relu6, BN))
    });
    let dw = ConvBnAct::torchvision(
        &(cp / i),
        ConvSpec::depthwise(hidden, 3, stride, Act::Relu6, BN),
    );
    let project = ConvBnAct::new(
        cp / (i + 1),
        cp / (i + 2),
        ConvSpec::new(hidden, c_out, 1, 1, Act::Identity, BN),
    );
    MbConv {
        expand,
        dw,
        se: None,
        project,
        residual: (stride == 1 && c_in == c_out).then_some(0.0),
    }
}
