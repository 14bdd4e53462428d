//! Adam with coupled weight decay (as `torch.optim.Adam(weight_decay=..)`) and two
//! learning-rate groups. Written here rather than through libtorch's optimizer so that
//! its moments can be saved in the checkpoint and a resumed run continues exactly.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tch::Tensor;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    /// Learning rate of the backbone `G` (paper: 1e-5).
    pub lr: f64,
    /// A_df, A_dom, T, C and C_bar learn this many times faster (paper: 10).
    pub head_lr_factor: f64,
    pub weight_decay: f64,
    /// Weight decay of the MI estimator `T` (parameters under `t.`); `None` (the default)
    /// is `weight_decay`, as the paper. T's only gradient is lambda_dec (0.01) times that of
    /// the bound, which coupled decay (5e-4 theta) outweighs 4-30x on the demo; Adam, blind
    /// to scale, then shrinks T's weights by about lr per step until T is a constant 0 and
    /// the bound sits at -2 ln 2. `Some(0.0)` lets T learn (examples/mi_probe.rs measures it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_weight_decay: Option<f64>,
    /// Decay of an exponential moving average of the weights, which validation, `best` and
    /// `detect` then use (not in the paper); `None`: the raw weights. A warm-up caps it at
    /// `(1 + n) / (10 + n)` after n steps (0.973 after 330, 0.99 only after 890).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ema: Option<f64>,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            lr: 1e-5,
            head_lr_factor: 10.0,
            weight_decay: 5e-4,
            t_weight_decay: None,
            ema: None,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

struct Param {
    name: String,
    var: Tensor,
    m: Tensor,
    v: Tensor,
    head: bool,
    weight_decay: f64,
}

pub struct Adam {
    cfg: OptimConfig,
    params: Vec<Param>,
    /// Number of updates done (Adam's t).
    pub step: i64,
    /// Factor on both rates, set by the learning-rate schedule before each step.
    pub lr_scale: f64,
}

impl Adam {
    /// Takes the trainable variables of `vars` (name -> tensor); names under
    /// `backbone.` get `lr`, all others `lr * head_lr_factor`.
    pub fn new(vars: &std::collections::HashMap<String, Tensor>, cfg: OptimConfig) -> Self {
        let sorted: BTreeMap<_, _> = vars.iter().filter(|(_, t)| t.requires_grad()).collect();
        let params = sorted
            .into_iter()
            .map(|(name, var)| Param {
                name: name.clone(),
                var: var.shallow_clone(),
                m: var.zeros_like(),
                v: var.zeros_like(),
                head: !name.starts_with("backbone."),
                weight_decay: if name.starts_with("t.") {
                    cfg.t_weight_decay.unwrap_or(cfg.weight_decay)
                } else {
                    cfg.weight_decay
                },
            })
            .collect();
        Adam {
            cfg,
            params,
            step: 0,
            lr_scale: 1.0,
        }
    }

    pub fn lr_backbone(&self) -> f64 {
        self.cfg.lr * self.lr_scale
    }

    pub fn lr_heads(&self) -> f64 {
        self.cfg.lr * self.cfg.head_lr_factor * self.lr_scale
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.var.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }

    /// One Adam update with bias correction: g += wd * w; m, v moving averages;
    /// w -= lr * m_hat / (sqrt(v_hat) + eps).
    pub fn step(&mut self) {
        let c = &self.cfg;
        self.step += 1;
        let bc1 = 1.0 - c.beta1.powi(self.step as i32);
        let bc2 = 1.0 - c.beta2.powi(self.step as i32);
        let (lr_backbone, lr_heads) = (self.lr_backbone(), self.lr_heads());
        let _guard = tch::no_grad_guard();
        for p in &mut self.params {
            let g = p.var.grad();
            if !g.defined() {
                continue;
            }
            // In place where libtorch allows, as PyTorch's own Adam does on the CPU: three
            // temporaries per parameter instead of eleven, which on a ResNet-50 is ~1 GB of
            // memory traffic less per step.
            let g = if p.weight_decay != 0.0 {
                &g + &p.var * p.weight_decay
            } else {
                g
            };
            let _ = p.m.lerp_(&g, 1.0 - c.beta1);
            let _ = p.v.lerp_(&g.square(), 1.0 - c.beta2);
            let lr = if p.head { lr_heads } else { lr_backbone };
            if lr == 0.0 {
                continue; // (a warm-up's first step) nothing moves, and -lr may not divide
            }
            // var -= lr / bc1 * m / (sqrt(v / bc2) + eps), with the factor folded into denom.
            let mut denom = p.v.sqrt();
            let _ = denom.g_div_scalar_(bc2.sqrt());
            let _ = denom.g_add_scalar_(c.eps);
            let _ = denom.g_div_scalar_(-lr / bc1);
            let _ = p.var.addcdiv_(&p.m, &denom);
        }
    }

    /// Moments as named tensors (`optim.m.<name>`, `optim.v.<name>`) for the checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .flat_map(|p| {
                [
                    (format!("optim.m.{}", p.name), p.m.shallow_clone()),
                    (format!("optim.v.{}", p.name), p.v.shallow_clone()),
                ]
            })
            .collect()
    }

    /// Restores moments saved by `state`; a missing entry is an error naming it.
    pub fn load_state(
        &mut self,
        tensors: &std::collections::HashMap<String, Tensor>,
        step: i64,
    ) -> crate::Result<()> {
        let _guard = tch::no_grad_guard();
        for p in &mut self.params {
            for (key, dst) in [("m", &mut p.m), ("v", &mut p.v)] {
                let name = format!("optim.{key}.{}", p.name);
                let src = tensors.get(&name).ok_or_else(|| {
                    crate::Error::invalid(format!("checkpoint lacks optimizer state `{name}`"))
                })?;
                dst.f_copy_(src)?;
            }
        }
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use tch::Kind;

    #[test]
    fn two_steps_match_hand_computed_adam_with_coupled_decay() {
        let w = Tensor::from_slice(&[1.0f64, -2.0]).set_requires_grad(true);
        let h = Tensor::from_slice(&[0.5f64]).set_requires_grad(true);
        let vars = HashMap::from([
            ("backbone.w".to_string(), w.shallow_clone()),
            ("c.h".to_string(), h.shallow_clone()),
        ]);
        let cfg = OptimConfig {
            lr: 0.1,
            head_lr_factor: 10.0,
            weight_decay: 0.5,
            ..Default::default()
        };
        let mut opt = Adam::new(&vars, cfg.clone());
        // Reference: plain f64 Adam on loss = sum(w^2) + 3h.
        let (mut rw, mut rh) = ([1.0f64, -2.0], 0.5f64);
        let (mut m, mut v) = ([0.0f64; 3], [0.0f64; 3]);
        for t in 1..=2 {
            opt.zero_grad();
            (w.square().sum(Kind::Double) + &h * 3.0)
                .sum(Kind::Double)
                .backward();
            opt.step();
            let grads = [
                2.0 * rw[0] + 0.5 * rw[0],
                2.0 * rw[1] + 0.5 * rw[1],
                3.0 + 0.5 * rh,
            ];
            let mut vals = [rw[0], rw[1], rh];
            for i in 0..3 {
                m[i] = 0.9 * m[i] + 0.1 * grads[i];
                v[i] = 0.999 * v[i] + 0.001 * grads[i] * grads[i];
                let mh = m[i] / (1.0 - 0.9f64.powi(t));
                let vh = v[i] / (1.0 - 0.999f64.powi(t));
                let lr = if i < 2 { 0.1 } else { 1.0 };
                vals[i] -= lr * mh / (vh.sqrt() + 1e-8);
            }
            rw = [vals[0], vals[1]];
            rh = vals[2];
        }
        let got = Vec::<f64>::try_from(&w).unwrap();
        assert!(
            (got[0] - rw[0]).abs() < 1e-9 && (got[1] - rw[1]).abs() < 1e-9,
            "{got:?} {rw:?}"
        );
        assert!((h.double_value(&[0]) - rh).abs() < 1e-9);
    }

    #[test]
    fn t_weight_decay_applies_to_t_only() {
        // Same loss gradient -0.01 on T's weight and C's; decay 0.5 on C, 0 on T. Coupled
        // decay (0.5 * 2 = 1) outweighs the gradient: C's weight shrinks although the loss
        // pulls it up, T's follows the loss.
        let t = Tensor::from_slice(&[2.0f64]).set_requires_grad(true);
        let h = Tensor::from_slice(&[2.0f64]).set_requires_grad(true);
        let vars = HashMap::from([
            ("t.fc.weight".to_string(), t.shallow_clone()),
            ("c.fc.weight".to_string(), h.shallow_clone()),
        ]);
        let cfg = OptimConfig {
            lr: 0.01,
            head_lr_factor: 1.0,
            weight_decay: 0.5,
            t_weight_decay: Some(0.0),
            ..Default::default()
        };
        let mut opt = Adam::new(&vars, cfg);
        let reference = |wd: f64| {
            let (mut w, mut m, mut v) = (2.0f64, 0.0, 0.0);
            for k in 1..=2 {
                let g = -0.01 + wd * w;
                m = 0.9 * m + 0.1 * g;
                v = 0.999 * v + 0.001 * g * g;
                w -= 0.01 * (m / (1.0 - 0.9f64.powi(k)))
                    / ((v / (1.0 - 0.999f64.powi(k))).sqrt() + 1e-8);
            }
            w
        };
        for _ in 0..2 {
            opt.zero_grad();
            ((&t + &h) * -0.01).sum(Kind::Double).backward();
            opt.step();
        }
        let (gt, gh) = (t.double_value(&[0]), h.double_value(&[0]));
        assert!(
            (gt - reference(0.0)).abs() < 1e-12,
            "{gt} {}",
            reference(0.0)
        );
        assert!(
            (gh - reference(0.5)).abs() < 1e-12,
            "{gh} {}",
            reference(0.5)
        );
        assert!(gt > 2.0 && gh < 2.0, "{gt} {gh}");
    }
}
