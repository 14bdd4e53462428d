//! Decorrelation module: the MI estimator `T` behind a gradient reversal layer and the
//! Jensen-Shannon lower bound of MI(I_df; I_os) (Hjelm et al. 2019).
use crate::layers::grad_reverse;
use tch::nn::{self, Module};
use tch::Tensor;

use serde::{Deserialize, Serialize};

/// The layers of `T`. The paper fixes only "three convolution layers (ReLU after each) and
/// an FC"; DESIGN.md reads them as 3x3 convs 2c -> 512 -> 256 -> 128 (`paper`). On a small
/// backbone that first conv costs more than `G` itself (MobileNetV2, c = 1280: 2560 x 512
/// x 9 multiply-adds per position, for joint and marginal pairs), so `reduced` (our
/// deviation) opens with a 1x1 conv 2c -> 128, then 3x3 convs 128 -> 128 -> 64: still three
/// convs with ReLU, about 1/24 of the weights and multiply-adds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MiArch {
    #[default]
    Paper,
    Reduced,
}

impl MiArch {
    /// (kernel, output channels) of the three convs.
    fn layers(self) -> [(i64, i64); 3] {
        match self {
            MiArch::Paper => [(3, 512), (3, 256), (3, 128)],
            MiArch::Reduced => [(1, 128), (3, 128), (3, 64)],
        }
    }
}

#[derive(Debug)]
pub struct MiEstimator {
    convs: Vec<nn::Conv2D>,
    fc: nn::Linear,
}

impl MiEstimator {
    /// `channels` is c of I_df and I_os; T sees their 2c-channel concatenation.
    pub fn new(p: &nn::Path, channels: i64, arch: MiArch) -> Self {
        let mut c_in = 2 * channels;
        let mut convs = Vec::new();
        for (i, (k, c_out)) in arch.layers().into_iter().enumerate() {
            let cfg = nn::ConvConfig {
                padding: k / 2,
                ..Default::default()
            };
            convs.push(nn::conv2d(
                p / format!("conv{}", i + 1),
                c_in,
                c_out,
                k,
                cfg,
            ));
            c_in = c_out;
        }
        MiEstimator {
            convs,
            fc: nn::linear(p / "fc", c_in, 1, Default::default()),
        }
    }

    fn t(&self, x: &Tensor) -> Tensor {
        let y = self
            .convs
            .iter()
            .fold(x.shallow_clone(), |y, c| y.apply(c).relu());
        self.fc
            .forward(&y.mean_dim([2, 3].as_slice(), false, y.kind()))
            .squeeze_dim(1)
    }

    /// `T` on joint pairs `(I_df[i], I_os[i])` and on marginal pairs
    /// `(I_df[i], I_os[(i+1) mod B])`, both inputs passed through the GRL with `beta`.
    pub fn forward(&self, i_df: &Tensor, i_os: &Tensor, beta: f64) -> TOutput {
        let a = grad_reverse(i_df, beta);
        let b = grad_reverse(i_os, beta);
        let b_marg = b.roll([-1], [0]);
        let x = Tensor::cat(
            &[Tensor::cat(&[&a, &b], 1), Tensor::cat(&[&a, &b_marg], 1)],
            0,
        );
        let t = self.t(&x);
        let n = i_df.size()[0];
        TOutput {
            joint: t.narrow(0, 0, n),
            marginal: t.narrow(0, n, n),
        }
    }
}

/// `T`'s scores of a batch, [B] each.
#[derive(Debug)]
pub struct TOutput {
    /// On joint pairs `(I_df[i], I_os[i])`.
    pub joint: Tensor,
    /// On marginal pairs `(I_df[i], I_os[(i+1) mod B])`.
    pub marginal: Tensor,
}

/// JSD bound: `mean_joint(-softplus(-T)) - mean_marg(softplus(T))`.
pub fn jsd_bound(t_joint: &Tensor, t_marg: &Tensor) -> Tensor {
    (-(-t_joint).softplus()).mean(t_joint.kind()) - t_marg.softplus().mean(t_marg.kind())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn jsd_bound_matches_hand_computation() {
        let j = Tensor::from_slice(&[1.5f32, -0.3, 0.7]);
        let m = Tensor::from_slice(&[-1.0f32, 0.4, 2.0]);
        let v = jsd_bound(&j, &m).double_value(&[]);
        assert!((v - -1.604053).abs() < 1e-5, "{v}");
    }

    #[test]
    fn marginal_pairs_roll_by_one_and_gradients_reverse() {
        let vs = nn::VarStore::new(Device::Cpu);
        let t = MiEstimator::new(&vs.root(), 4, MiArch::Paper);
        let opts = (Kind::Float, Device::Cpu);
        let i_df = Tensor::randn([3, 4, 2, 2], opts).set_requires_grad(true);
        let i_os = Tensor::randn([3, 4, 2, 2], opts);
        let TOutput {
            joint: tj,
            marginal: tm,
        } = t.forward(&i_df, &i_os, 0.5);
        assert_eq!(tj.size(), vec![3]);
        // Marginal pair 0 is (I_df[0], I_os[1]): the joint score of a batch whose I_os is rolled.
        let tj_rolled = t.forward(&i_df, &i_os.roll([-1], [0]), 0.5).joint;
        assert!(tm.allclose(&tj_rolled, 1e-5, 1e-6, false));
        // The gradient reaching I_df is -beta times the one without the GRL.
        let bound = jsd_bound(&tj, &tm);
        let g_rev = tch::Tensor::run_backward(&[&bound], &[&i_df], true, false)[0].shallow_clone();
        let TOutput {
            joint: tj0,
            marginal: tm0,
        } = t.forward(&i_df, &i_os, -1.0); // -beta = 1: plain gradient
        let g_plain = tch::Tensor::run_backward(&[&jsd_bound(&tj0, &tm0)], &[&i_df], false, false)
            [0]
        .shallow_clone();
        assert!(g_rev.allclose(&(g_plain * -0.5), 1e-5, 1e-6, false));
    }

    #[test]
    fn reduced_t_has_three_convs_and_far_fewer_weights() {
        let count = |arch| {
            let vs = nn::VarStore::new(Device::Cpu);
            let t = MiEstimator::new(&vs.root(), 1280, arch);
            let x = Tensor::randn([2, 1280, 4, 4], (Kind::Float, Device::Cpu));
            let TOutput {
                joint: j,
                marginal: m,
            } = t.forward(&x, &x, 0.5);
            assert_eq!((j.size(), m.size()), (vec![2], vec![2]));
            let names: Vec<String> = vs.variables().into_keys().collect();
            assert_eq!(names.iter().filter(|n| n.ends_with(".weight")).count(), 4);
            vs.variables().values().map(|v| v.numel()).sum::<usize>()
        };
        let (paper, reduced) = (count(MiArch::Paper), count(MiArch::Reduced));
        // 2560*512*9 + 512*256*9 + 256*128*9 + ... against 2560*128 + 128*128*9 + 128*64*9 + ...
        assert!(paper > 20 * reduced, "{paper} vs {reduced}");
    }
}
