//! EfficientNetV2 (Tan & Le 2021) in torchvision's layout and parameter names:
//! `features.0` stem, `features.{1..}` one entry per stage of `{i}.block.{j}` layers,
//! the last `features.N` the final 1x1 conv to 1280 channels, whose output is `I_X`.
use super::blocks::{
    Act, BnConfig, ConvBnAct, ConvSpec, FusedMbConv, MbConv, Padding, SqueezeExcite,
};
use tch::{nn, Tensor};

/// One stage of the table (torchvision's `FusedMBConvConfig` / `MBConvConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    pub fused: bool,
    pub expand: i64,
    pub k: i64,
    pub stride: i64,
    pub c_in: i64,
    pub c_out: i64,
    pub layers: usize,
}

const fn fused(expand: i64, k: i64, stride: i64, c_in: i64, c_out: i64, layers: usize) -> Stage {
    Stage {
        fused: true,
        expand,
        k,
        stride,
        c_in,
        c_out,
        layers,
    }
}

const fn mb(expand: i64, k: i64, stride: i64, c_in: i64, c_out: i64, layers: usize) -> Stage {
    Stage {
        fused: false,
        ..fused(expand, k, stride, c_in, c_out, layers)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EfficientNetV2Config {
    pub stages: Vec<Stage>,
    pub last_channel: i64,
    /// Before the classifier (ImageNet head only).
    pub dropout: f64,
    /// Largest stochastic-depth probability, reached linearly by the last block.
    pub stochastic_depth: f64,
}

impl EfficientNetV2Config {
    pub fn s() -> Self {
        Self::new(
            &[
                fused(1, 3, 1, 24, 24, 2),
                fused(4, 3, 2, 24, 48, 4),
                fused(4, 3, 2, 48, 64, 4),
                mb(4, 3, 2, 64, 128, 6),
                mb(6, 3, 1, 128, 160, 9),
                mb(6, 3, 2, 160, 256, 15),
            ],
            0.2,
        )
    }

    pub fn m() -> Self {
        Self::new(
            &[
                fused(1, 3, 1, 24, 24, 3),
                fused(4, 3, 2, 24, 48, 5),
                fused(4, 3, 2, 48, 80, 5),
                mb(4, 3, 2, 80, 160, 7),
                mb(6, 3, 1, 160, 176, 14),
                mb(6, 3, 2, 176, 304, 18),
                mb(6, 3, 1, 304, 512, 5),
            ],
            0.3,
        )
    }

    pub fn l() -> Self {
        Self::new(
            &[
                fused(1, 3, 1, 32, 32, 4),
                fused(4, 3, 2, 32, 64, 7),
                fused(4, 3, 2, 64, 96, 7),
                mb(4, 3, 2, 96, 192, 10),
                mb(6, 3, 1, 192, 224, 19),
                mb(6, 3, 2, 224, 384, 25),
                mb(6, 3, 1, 384, 640, 7),
            ],
            0.4,
        )
    }

    /// Every block kind (fused with and without expansion, MBConv with SE, residual or not)
    /// at a few channels: the parity fixture of `scripts/fixtures/backbones.py`.
    pub fn tiny() -> Self {
        EfficientNetV2Config {
            last_channel: 64,
            ..Self::new(
                &[
                    fused(1, 3, 1, 8, 8, 1),
                    fused(2, 3, 2, 8, 16, 2),
                    mb(2, 3, 2, 16, 16, 2),
                    mb(3, 3, 2, 16, 24, 1),
                    mb(2, 3, 1, 24, 24, 1),
                ],
                0.2,
            )
        }
    }

    fn new(stages: &[Stage], dropout: f64) -> Self {
        EfficientNetV2Config {
            stages: stages.to_vec(),
            last_channel: 1280,
            dropout,
            stochastic_depth: 0.2,
        }
    }
}

#[derive(Debug)]
enum Block {
    Fused(Box<FusedMbConv>),
    Mb(Box<MbConv>),
}

#[derive(Debug)]
pub struct EfficientNetV2 {
    stem: ConvBnAct,
    blocks: Vec<Block>,
    last: ConvBnAct,
    downsamples: usize,
}

const BN: BnConfig = BnConfig::TORCH_EPS3;

impl EfficientNetV2 {
    pub fn new(p: &nn::Path, cfg: &EfficientNetV2Config) -> Self {
        let f = p / "features";
        let first = cfg.stages[0].c_in;
        let stem = ConvBnAct::torchvision(&(&f / 0), ConvSpec::new(3, first, 3, 2, Act::Silu, BN));
        let total: usize = cfg.stages.iter().map(|s| s.layers).sum();
        let mut blocks = Vec::with_capacity(total);
        for (si, st) in cfg.stages.iter().enumerate() {
            for j in 0..st.layers {
                let (c_in, stride) = if j == 0 {
                    (st.c_in, st.stride)
                } else {
                    (st.c_out, 1)
                };
                let sd = cfg.stochastic_depth * blocks.len() as f64 / total as f64;
                let residual = (stride == 1 && c_in == st.c_out).then_some(sd);
                let bp = &f / (si + 1) / j / "block";
                let b = Stage {
                    c_in,
                    stride,
                    ..*st
                };
                blocks.push(if st.fused {
                    Block::Fused(Box::new(fused_block(&bp, &b, residual)))
                } else {
                    Block::Mb(Box::new(mb_block(&bp, &b, residual)))
                });
            }
        }
        let c_last_in = cfg.stages[cfg.stages.len() - 1].c_out;
        let last = ConvBnAct::torchvision(
            &(&f / (cfg.stages.len() + 1)),
            ConvSpec::new(c_last_in, cfg.last_channel, 1, 1, Act::Silu, BN),
        );
        let downsamples = 1 + cfg.stages.iter().filter(|s| s.stride == 2).count();
        EfficientNetV2 {
            stem,
            blocks,
            last,
            downsamples,
        }
    }

    /// `I_X`; the stem and the first `frozen` blocks run frozen ([`super::run_blocks`]).
    pub fn features(&self, x: &Tensor, train: bool, frozen: usize) -> Tensor {
        let stem = |x: &Tensor, t| self.stem.forward_t(x, t);
        let y = super::run_blocks(x, train, frozen, stem, &self.blocks, |b, y, t| match b {
            Block::Fused(b) => b.forward_t(y, t),
            Block::Mb(b) => b.forward_t(y, t),
        });
        self.last.forward_t(&y, train)
    }

    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    pub fn out_channels(&self) -> i64 {
        self.last.c_out()
    }

    /// Number of stride-2 layers: `I_X` is `input / 2^downsamples`, rounded up.
    pub fn downsamples(&self) -> usize {
        self.downsamples
    }
}

fn fused_block(bp: &nn::Path, b: &Stage, residual: Option<f64>) -> FusedMbConv {
    let mid = b.c_in * b.expand;
    if mid == b.c_in {
        let spec = ConvSpec::new(b.c_in, b.c_out, b.k, b.stride, Act::Silu, BN);
        return FusedMbConv {
            fused: ConvBnAct::torchvision(&(bp / 0), spec),
            project: None,
            residual,
        };
    }
    let expand = ConvSpec::new(b.c_in, mid, b.k, b.stride, Act::Silu, BN);
    let project = ConvSpec::new(mid, b.c_out, 1, 1, Act::Identity, BN);
    FusedMbConv {
        fused: ConvBnAct::torchvision(&(bp / 0), expand),
        project: Some(ConvBnAct::torchvision(&(bp / 1), project)),
        residual,
    }
}

fn mb_block(bp: &nn::Path, b: &Stage, residual: Option<f64>) -> MbConv {
    let mid = b.c_in * b.expand;
    let mut i = 0;
    let mut next = || {
        i += 1;
        bp / (i - 1)
    };
    let expand = (mid != b.c_in)
        .then(|| ConvBnAct::torchvision(&next(), ConvSpec::new(b.c_in, mid, 1, 1, Act::Silu, BN)));
    let dw = ConvBnAct::torchvision(
        &next(),
        ConvSpec::depthwise(mid, b.k, b.stride, Act::Silu, BN).padding(Padding::Symmetric),
    );
    // torchvision squeezes to a quarter of the block's input channels.
    let se = SqueezeExcite::new(&next(), mid, (b.c_in / 4).max(1));
    let project = ConvBnAct::torchvision(
        &next(),
        ConvSpec::new(mid, b.c_out, 1, 1, Act::Identity, BN),
    );
    MbConv {
        expand,
        dw,
        se: Some(se),
        project,
        residual,
    }
}
