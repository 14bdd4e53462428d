//! Decorrelation module: the MI estimator `T` behind a gradient reversal layer and the
//! Jensen-Shannon lower bound of MI(I_df; I_os) (Hjelm et al. 2019).
use crate::layers::grad_reverse;
use tch::nn::{self, Module};
use tch::Tensor;

#[derive(Debug)]
pub struct MiEstimator {
    convs: Vec<nn::Conv2D>,
    fc: nn::Linear,
}

impl MiEstimator {
    /// `channels` is c of I_df and I_os; T sees their 2c-channel concatenation.
    pub fn new(p: &nn::Path, channels: i64) -> Self {
        let widths = [2 * channels, 512, 256, 128];
        let pad1 = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        let convs = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| nn::conv2d(p / format!("conv{}", i + 1), w[0], w[1], 3, pad1))
            .collect();
        MiEstimator {
            convs,
            fc: nn::linear(p / "fc", 128, 1, Default::default()),
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
    /// Returns (t_joint, t_marg), each [B].
    pub fn forward(&self, i_df: &Tensor, i_os: &Tensor, beta: f64) -> (Tensor, Tensor) {
        let a = grad_reverse(i_df, beta);
        let b = grad_reverse(i_os, beta);
        let b_marg = b.roll([-1], [0]);
        let x = Tensor::cat(
            &[Tensor::cat(&[&a, &b], 1), Tensor::cat(&[&a, &b_marg], 1)],
            0,
        );
        let t = self.t(&x);
        let n = i_df.size()[0];
        (t.narrow(0, 0, n), t.narrow(0, n, n))
    }
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
        let t = MiEstimator::new(&vs.root(), 4);
        let opts = (Kind::Float, Device::Cpu);
        let i_df = Tensor::randn([3, 4, 2, 2], opts).set_requires_grad(true);
        let i_os = Tensor::randn([3, 4, 2, 2], opts);
        let (tj, tm) = t.forward(&i_df, &i_os, 0.5);
        assert_eq!(tj.size(), vec![3]);
        // Marginal pair 0 is (I_df[0], I_os[1]): the joint score of a batch whose I_os is rolled.
        let (tj_rolled, _) = t.forward(&i_df, &i_os.roll([-1], [0]), 0.5);
        assert!(tm.allclose(&tj_rolled, 1e-5, 1e-6, false));
        // The gradient reaching I_df is -beta times the one without the GRL.
        let bound = jsd_bound(&tj, &tm);
        let g_rev = tch::Tensor::run_backward(&[&bound], &[&i_df], true, false)[0].shallow_clone();
        let (tj0, tm0) = t.forward(&i_df, &i_os, -1.0); // -beta = 1: plain gradient
        let g_plain = tch::Tensor::run_backward(&[&jsd_bound(&tj0, &tm0)], &[&i_df], false, false)
            [0]
        .shallow_clone();
        assert!(g_rev.allclose(&(g_plain * -0.5), 1e-5, 1e-6, false));
    }
}
