//! An exponential moving average of the weights (as timm's `ModelEmaV2`): validation,
//! `best` and `detect` use the average, training steps the raw weights. On the demo's short
//! schedule every run peaked at its last epoch, which says the raw weights are noisy rather
//! than over-fitted; the average is the cheaper cure (one `lerp_` per tensor per step).
use crate::error::{Error, Result};
use std::collections::HashMap;
use tch::{nn::VarStore, Tensor};

/// With an average, a checkpoint's `model.<name>` tensors are the average (what validation
/// scored, and what `eval` and `detect` load); `last.safetensors` keeps the raw weights that
/// training continues from under this prefix.
pub const RAW: &str = "raw.";

pub struct Ema {
    decay: f64,
    /// Every variable of the store, buffers (BatchNorm statistics) included, by name.
    shadow: Vec<(String, Tensor, Tensor)>,
}

impl Ema {
    /// Starts the average at the current weights.
    pub fn new(vs: &VarStore, decay: f64) -> Self {
        let mut shadow: Vec<_> = vs
            .variables()
            .into_iter()
            .map(|(name, var)| {
                let avg = var.detach().copy();
                (name, var, avg)
            })
            .collect();
        shadow.sort_by(|a, b| a.0.cmp(&b.0));
        Ema { decay, shadow }
    }

    /// The decay after `steps` updates: timm's warm-up `(1 + n) / (10 + n)` caps it early,
    /// so the first weights (ImageNet's, before any step on faces) fade within a few steps.
    pub fn decay_at(&self, steps: usize) -> f64 {
        Ema::capped_decay(self.decay, steps)
    }

    /// `decay` under the warm-up cap after `steps` updates. The cap passes 0.99 only after
    /// 890 steps: a shorter run averages over a shorter horizon than its `decay` says.
    pub fn capped_decay(decay: f64, steps: usize) -> f64 {
        let n = steps as f64;
        decay.min((1.0 + n) / (10.0 + n))
    }

    /// One update after optimizer step number `steps` (counted from 1).
    pub fn update(&mut self, steps: usize) {
        let w = 1.0 - self.decay_at(steps);
        let _guard = tch::no_grad_guard();
        for (_, var, avg) in &mut self.shadow {
            if avg.is_floating_point() {
                let _ = avg.lerp_(var, w);
            } else {
                avg.copy_(var);
            }
        }
    }

    /// The raw weights under `raw.<name>` (for `last.safetensors`).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.shadow
            .iter()
            .map(|(n, var, _)| (format!("{RAW}{n}"), var.detach()))
            .collect()
    }

    /// The average as `model.<name>` entries: what `best.safetensors` holds.
    pub fn model_tensors(&self) -> Vec<(String, Tensor)> {
        self.shadow
            .iter()
            .map(|(n, _, avg)| (format!("model.{n}"), avg.shallow_clone()))
            .collect()
    }

    /// Resumes from a checkpoint: the average from `model.<name>`, the raw weights (into the
    /// model's variables) from `raw.<name>`.
    pub fn load(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        path: &std::path::Path,
    ) -> Result<()> {
        let _guard = tch::no_grad_guard();
        for (n, var, avg) in &mut self.shadow {
            let get = |key: String| {
                tensors.get(&key).ok_or_else(|| {
                    Error::invalid(format!(
                        "{}: no {key}: the run was saved without optim.ema (resume it with \
                         its own config, or train afresh)",
                        path.display()
                    ))
                })
            };
            avg.f_copy_(get(format!("model.{n}"))?)?;
            var.shallow_clone().f_copy_(get(format!("{RAW}{n}"))?)?;
        }
        Ok(())
    }

    /// Runs `f` with the average in the model's variables, then puts the raw weights back.
    pub fn with_average<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let raw: Vec<Tensor> = {
            let _guard = tch::no_grad_guard();
            self.shadow
                .iter()
                .map(|(_, var, avg)| {
                    let keep = var.detach().copy();
                    var.shallow_clone().copy_(avg);
                    keep
                })
                .collect()
        };
        let out = f();
        let _guard = tch::no_grad_guard();
        for ((_, var, _), keep) in self.shadow.iter().zip(raw) {
            var.shallow_clone().copy_(&keep);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device, Kind};

    #[test]
    fn warm_up_caps_the_decay_until_it_passes_it() {
        // The demo's 330 steps: 331 / 340, below the configured 0.99.
        assert_eq!(Ema::capped_decay(0.99, 330), 331.0 / 340.0);
        // (1 + 890) / (10 + 890) = 0.99 exactly; after that the configured decay holds.
        assert!((Ema::capped_decay(0.99, 890) - 0.99).abs() < 1e-12);
        assert_eq!(Ema::capped_decay(0.99, 2000), 0.99);
        assert_eq!(Ema::capped_decay(0.5, 0), 0.1);
    }

    #[test]
    fn average_follows_the_hand_computed_recursion_and_swaps_back() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().zeros("w", &[2]);
        let mut ema = Ema::new(&vs, 0.5);
        let mut expect = [0.0f64; 2];
        for step in 1..=4usize {
            let _ = tch::no_grad(|| w.shallow_clone().fill_(step as f64 * 2.0));
            ema.update(step);
            // decay_at: min(0.5, (1 + n) / (10 + n)) = 2/11, 3/12, 4/13, 5/14.
            let d = 0.5f64.min((1.0 + step as f64) / (10.0 + step as f64));
            for e in &mut expect {
                *e = d * *e + (1.0 - d) * step as f64 * 2.0;
            }
        }
        let avg = &ema.model_tensors()[0].1;
        let got: Vec<f64> = Vec::<f64>::try_from(avg.to_kind(Kind::Double)).unwrap();
        for (g, e) in got.iter().zip(expect) {
            assert!((g - e).abs() < 1e-6, "{g} vs {e}");
        }
        let seen = ema
            .with_average(|| Ok(Vec::<f64>::try_from(w.to_kind(Kind::Double)).unwrap()))
            .unwrap();
        assert_eq!(seen, got);
        assert_eq!(
            Vec::<f64>::try_from(w.to_kind(Kind::Double)).unwrap(),
            [8.0, 8.0]
        );
    }

    #[test]
    fn state_round_trips_and_a_missing_average_names_the_file() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().zeros("w", &[3]);
        let mut ema = Ema::new(&vs, 0.9);
        let _ = tch::no_grad(|| w.shallow_clone().fill_(1.0));
        ema.update(1);
        let state: HashMap<String, Tensor> = ema
            .state()
            .into_iter()
            .chain(ema.model_tensors())
            .map(|(n, t)| (n, t.copy()))
            .collect();
        let _ = tch::no_grad(|| w.shallow_clone().fill_(5.0));
        let mut other = Ema::new(&vs, 0.9);
        other
            .load(&state, std::path::Path::new("last.safetensors"))
            .unwrap();
        assert!(other.model_tensors()[0].1.equal(&ema.model_tensors()[0].1));
        // The raw weights come back into the variables, not the average.
        assert_eq!(
            Vec::<f64>::try_from(w.to_kind(Kind::Double)).unwrap(),
            [1.0; 3]
        );
        let e = other
            .load(
                &HashMap::new(),
                std::path::Path::new("runs/x/last.safetensors"),
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("runs/x/last.safetensors") && e.contains("model.w"),
            "{e}"
        );
    }
}
