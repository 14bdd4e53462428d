//! Attention networks `A_df` / `A_dom` (Fig. 3 of the paper, as DESIGN.md section 1 reads it):
//! a spatial map from cross-channel pooling and a channel map from cross-spatial pooling,
//! multiplied into `M` in [0,1]^{c x h x w}.
//!
//! s-ADP, the learned cross-spatial pooling, is a per-channel weighting of the h x w map the
//! model was built for. At another map size (a model scoring at another input size) the
//! weighting is resampled by area: each weight is spread over the new cells its own cell
//! overlaps, in proportion to the overlap. The total weight per channel is kept exactly, so a
//! constant map pools to the same value at every size; at the built size it is used as learned.
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

    /// s-ADP's weights for an `h` x `w` map: [c, 1, h, w].
    fn s_adp_weight(&self, h: i64, w: i64) -> Tensor {
        let k = &self.s_adp.ws;
        if (h, w) == (self.hw, self.hw) {
            return k.shallow_clone();
        }
        let (ry, rx) = (area_resampler(h, self.hw, k), area_resampler(w, self.hw, k));
        ry.matmul(&k.squeeze_dim(1)).matmul(&rx.tr()).unsqueeze(1)
    }

    /// Returns `M` with the shape of `x` ([N, c, h, w]), values in [0, 1].
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let size = x.size();
        let (h, w) = (size[size.len() - 2], size[size.len() - 1]);
        let c_gap = x.mean_dim(1, true, x.kind());
        let c_gmp = x.amax(1, true);
        let c_adp = self.c_adp.forward(x);
        let a_s = Tensor::cat(&[c_gap, c_gmp, c_adp], 1)
            .apply(&self.spatial_conv1)
            .apply(&self.spatial_act)
            .apply(&self.spatial_conv2);
        let s_gap = x.mean_dim([2, 3].as_slice(), true, x.kind());
        let s_gmp = x.amax([2, 3].as_slice(), true);
        let s_adp = if (h, w) == (self.hw, self.hw) {
            self.s_adp.forward(x)
        } else {
            // A depthwise conv whose kernel covers the whole map is a weighted sum per channel.
            let k = self.s_adp_weight(h, w).squeeze_dim(1).unsqueeze(0);
            (x * k).sum_dim_intlist([2, 3].as_slice(), true, x.kind())
        };
        let a_c = Tensor::cat(&[s_gap, s_gmp, s_adp], 1)
            .apply(&self.channel_conv1)
            .apply(&self.channel_act)
            .apply(&self.channel_conv2);
        a_c.sigmoid() * a_s.sigmoid()
    }
}

/// [new, old]: the share of old cell `a` (of `old` equal cells on [0, 1]) that falls in new
/// cell `i`; every column sums to 1, so resampling with it keeps the total.
fn area_resampler(new: i64, old: i64, like: &Tensor) -> Tensor {
    let mut r = vec![0f32; (new * old) as usize];
    for i in 0..new {
        let (i0, i1) = (i as f64 / new as f64, (i + 1) as f64 / new as f64);
        for a in 0..old {
            let (a0, a1) = (a as f64 / old as f64, (a + 1) as f64 / old as f64);
            let overlap = (i1.min(a1) - i0.max(a0)).max(0.0);
            r[(i * old + a) as usize] = (overlap * old as f64) as f32;
        }
    }
    Tensor::from_slice(&r)
        .view([new, old])
        .to_kind(like.kind())
        .to_device(like.device())
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

    #[test]
    fn s_adp_resampled_is_the_learned_sum_at_the_built_size_and_keeps_its_mass() {
        let vs = nn::VarStore::new(Device::Cpu);
        let a = Attention::new(&vs.root(), 4, 4, 2);
        let x = Tensor::randn([2, 4, 4, 4], (Kind::Float, Device::Cpu));
        // At the built size, the weighted sum by hand equals the conv.
        let by_hand = (&x * a.s_adp.ws.squeeze_dim(1).unsqueeze(0)).sum_dim_intlist(
            [2, 3].as_slice(),
            true,
            Kind::Float,
        );
        let conv = a.s_adp.forward(&x);
        assert!(conv.allclose(&by_hand, 1e-5, 1e-6, false));
        // At 8x8 each weight is split evenly over the 4 cells its cell became.
        let k8 = a.s_adp_weight(8, 8);
        let k4 = a.s_adp.ws.get(2).get(0);
        let expect = k4.get(1).get(3).double_value(&[]) / 4.0;
        assert!((k8.get(2).get(0).get(3).get(7).double_value(&[]) - expect).abs() < 1e-6);
        // At any size the total weight per channel is kept, so a constant map pools alike.
        let mass = a
            .s_adp
            .ws
            .sum_dim_intlist([1, 2, 3].as_slice(), false, Kind::Float);
        for (h, w) in [(8, 8), (2, 3), (7, 5)] {
            let k = a.s_adp_weight(h, w);
            assert_eq!(k.size(), vec![4, 1, h, w]);
            let m = k.sum_dim_intlist([1, 2, 3].as_slice(), false, Kind::Float);
            assert!(m.allclose(&mass, 1e-5, 1e-6, false), "{m} vs {mass}");
            let m = a.forward(&Tensor::randn([1, 4, h, w], (Kind::Float, Device::Cpu)));
            assert_eq!(m.size(), vec![1, 4, h, w]);
        }
    }
}
