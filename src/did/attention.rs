//! Attention networks `A_df` / `A_dom` (Fig. 3 of the paper, as DESIGN.md section 1 reads it):
//! a spatial map from cross-channel pooling and a channel map from cross-spatial pooling,
//! multiplied into `M` in [0,1]^{c x h x w}.
use crate::layers::PRelu;
use tch::nn::{self, Module};
use tch::Tensor;

/// Hidden channels of the spatial branch (the paper leaves this open).
const SPATIAL_HIDDEN: i64 = 16;

#[derive(Debug)]
pub struct Attention {
    c_adp: nn::Conv2D,
    spatial_conv1: nn::Conv2D,
    spatial_act: PRelu,
    spatial_conv2: nn::Conv2D,
    s_adp: nn::Conv2D,
    channel_conv1: nn::Conv2D,
    channel_act: PRelu,
    channel_conv2: nn::Conv2D,
    hw: i64,
}

impl Attention {
    /// `channels` x `hw` x `hw` is the shape of the feature map it attends over;
    /// `reduction` is r of the channel branch (16 in the paper's reading).
    pub fn new(p: &nn::Path, channels: i64, hw: i64, reduction: i64) -> Self {
        let pad1 = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        let hidden = (channels / reduction).max(1);
        Attention {
            c_adp: nn::conv2d(p / "c_adp", channels, 1, 1, Default::default()),
            spatial_conv1: nn::conv2d(p / "spatial_conv1", 3, SPATIAL_HIDDEN, 3, pad1),
            spatial_act: PRelu::new(p / "spatial_act"),
            spatial_conv2: nn::conv2d(p / "spatial_conv2", SPATIAL_HIDDEN, 1, 3, pad1),
            // Depthwise conv whose kernel covers the whole map: a learned weighted sum per channel.
            s_adp: nn::conv2d(
                p / "s_adp",
                channels,
                channels,
                hw,
                nn::ConvConfig {
                    groups: channels,
                    bias: false,
                    ..Default::default()
                },
            ),
            channel_conv1: nn::conv2d(
                p / "channel_conv1",
                3 * channels,
                hidden,
                1,
                Default::default(),
            ),
            channel_act: PRelu::new(p / "channel_act"),
            channel_conv2: nn::conv2d(p / "channel_conv2", hidden, channels, 1, Default::default()),
            hw,
        }
    }

    /// Returns `M` with the shape of `x` ([N, c, h, w]), values in [0, 1].
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let (_, _, h, w) = x.size4().expect("attention input must be [N, c, h, w]");
        assert!(
            h == self.hw && w == self.hw,
            "attention built for {0}x{0} feature maps, got {h}x{w}: use the model's input size",
            self.hw
        );
        let c_gap = x.mean_dim(1, true, x.kind());
        let c_gmp = x.amax(1, true);
        let c_adp = self.c_adp.forward(x);
        let a_s = Tensor::cat(&[c_gap, c_gmp, c_adp], 1)
            .apply(&self.spatial_conv1)
            .apply(&self.spatial_act)
            .apply(&self.spatial_conv2);
        let s_gap = x.mean_dim([2, 3].as_slice(), true, x.kind());
        let s_gmp = x.amax([2, 3].as_slice(), true);
        let s_adp = self.s_adp.forward(x);
        let a_c = Tensor::cat(&[s_gap, s_gmp, s_adp], 1)
            .apply(&self.channel_conv1)
            .apply(&self.channel_act)
            .apply(&self.channel_conv2);
        a_c.sigmoid() * a_s.sigmoid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn map_has_input_shape_and_unit_range() {
        let vs = nn::VarStore::new(Device::Cpu);
        let a = Attention::new(&vs.root(), 32, 5, 16);
        let x = Tensor::randn([3, 32, 5, 5], (Kind::Float, Device::Cpu)) * 10.0;
        let m = a.forward(&x);
        assert_eq!(m.size(), vec![3, 32, 5, 5]);
        let lo = m.min().double_value(&[]);
        let hi = m.max().double_value(&[]);
        assert!(
            (0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi),
            "{lo} {hi}"
        );
    }
}
