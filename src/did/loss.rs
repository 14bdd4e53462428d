//! Losses of the paper: BCE, the WMW (AUC) surrogate, domain cross-entropy, the JSD MI
//! bound, and their weighted sum (4).
use super::mi::jsd_bound;
use super::model::{DidOutput, Variant};
use serde::{Deserialize, Serialize};
use tch::{Reduction, Tensor};

/// Loss weights and the AUC surrogate's shape; defaults are the paper's (section IV-A).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// Weight of BCE in L_cls = alpha BCE + (1 - alpha) L_AUC.
    pub alpha: f64,
    pub gamma: f64,
    pub p: f64,
    pub lambda_cls: f64,
    pub lambda_dom: f64,
    pub lambda_dec: f64,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            alpha: 0.5,
            gamma: 0.15,
            p: 2.0,
            lambda_cls: 1.0,
            lambda_dom: 1.0,
            lambda_dec: 0.01,
        }
    }
}

/// WMW surrogate (Yan et al. 2003) on sigmoid scores: mean over all fake i / real j pairs
/// of `(gamma - (s_i - s_j))^p` where `s_i - s_j < gamma`, else 0. The paper prints a
/// minus sign outside the power; it belongs inside (with p = 2 the printed form would
/// reward violations). 0 for a batch holding one class only.
pub fn auc_loss(scores: &Tensor, labels: &Tensor, gamma: f64, p: f64) -> Tensor {
    let fake = labels.gt(0.5).to_kind(scores.kind());
    let real: Tensor = 1.0 - &fake;
    let pairs = fake.unsqueeze(1) * real.unsqueeze(0);
    let n_pairs = pairs.sum(scores.kind());
    let diff = scores.unsqueeze(1) - scores.unsqueeze(0);
    let e = (gamma - diff).relu().pow_tensor_scalar(p) * &pairs;
    // clamp keeps 0/0 out of the one-class case; the sum is 0 there anyway.
    e.sum(scores.kind()) / n_pairs.clamp_min(1.0)
}

/// One step's loss terms: `total` for backward, the rest as numbers for logs.
#[derive(Debug)]
pub struct LossTerms {
    pub total: Tensor,
    pub bce: f64,
    pub auc: f64,
    pub cls: f64,
    pub dom: Option<f64>,
    /// The JSD bound estimate of MI(I_df; I_os); L_dec = -mi.
    pub mi: Option<f64>,
}

impl LossTerms {
    /// Named values for the JSON log and the progress bar.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        let mut v = vec![
            ("loss", self.total.double_value(&[])),
            ("bce", self.bce),
            ("auc", self.auc),
            ("cls", self.cls),
        ];
        if let Some(d) = self.dom {
            v.push(("dom", d));
        }
        if let Some(mi) = self.mi {
            v.push(("mi", mi));
        }
        v
    }
}

/// L = lambda_cls L_cls + lambda_dom L_dom + lambda_dec L_dec, with the parts `variant` has.
/// The baseline uses BCE only (alpha = 1), as Table II's "+ BCE" rows.
pub fn did_loss(
    out: &DidOutput,
    labels: &Tensor,
    domains: &Tensor,
    variant: Variant,
    cfg: &LossConfig,
) -> LossTerms {
    let bce =
        out.logit
            .binary_cross_entropy_with_logits::<Tensor>(labels, None, None, Reduction::Mean);
    let auc = auc_loss(&out.logit.sigmoid(), labels, cfg.gamma, cfg.p);
    let alpha = if variant == Variant::Bce {
        1.0
    } else {
        cfg.alpha
    };
    let cls = &bce * alpha + &auc * (1.0 - alpha);
    let mut total = &cls * cfg.lambda_cls;
    let mut dom_v = None;
    if let Some(dl) = &out.domain_logits {
        // tch's cross_entropy_for_logits computes in float32 whatever the logits' kind.
        let dom = dl.cross_entropy_loss::<Tensor>(domains, None, Reduction::Mean, -100, 0.0);
        dom_v = Some(dom.double_value(&[]));
        total += dom * cfg.lambda_dom;
    }
    let mut mi_v = None;
    if let (Some(tj), Some(tm)) = (&out.t_joint, &out.t_marg) {
        let mi = jsd_bound(tj, tm);
        mi_v = Some(mi.double_value(&[]));
        total += (-mi) * cfg.lambda_dec;
    }
    LossTerms {
        bce: bce.double_value(&[]),
        auc: auc.double_value(&[]),
        cls: cls.double_value(&[]),
        dom: dom_v,
        mi: mi_v,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_loss_matches_hand_computation() {
        // Only the pair (fake 0.55, real 0.6) violates the margin: (0.15 + 0.05)^2 / 9.
        let s = Tensor::from_slice(&[0.9f32, 0.2, 0.55, 0.6, 0.1, 0.95]);
        let y = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0, 0.0, 1.0]);
        let v = auc_loss(&s, &y, 0.15, 2.0).double_value(&[]);
        assert!((v - 0.0044444).abs() < 1e-6, "{v}");
    }

    #[test]
    fn one_class_batch_gives_zero_loss_and_finite_gradient() {
        let s = Tensor::from_slice(&[0.3f32, 0.7, 0.5]).set_requires_grad(true);
        let y = Tensor::from_slice(&[1.0f32, 1.0, 1.0]);
        let l = auc_loss(&s, &y, 0.15, 2.0);
        assert_eq!(l.double_value(&[]), 0.0);
        l.backward();
        let g = Vec::<f32>::try_from(&s.grad()).unwrap();
        assert!(g.iter().all(|v| v.is_finite() && *v == 0.0));
    }

    #[test]
    fn auc_loss_gradient_pushes_violating_pair_apart() {
        let s = Tensor::from_slice(&[0.5f32, 0.6]).set_requires_grad(true);
        let y = Tensor::from_slice(&[1.0f32, 0.0]);
        auc_loss(&s, &y, 0.15, 2.0).backward();
        let g = Vec::<f32>::try_from(&s.grad()).unwrap();
        // d/ds_i (gamma - s_i + s_j)^2 = -2 (0.25) = -0.5; d/ds_j = +0.5.
        assert!(
            (g[0] + 0.5).abs() < 1e-6 && (g[1] - 0.5).abs() < 1e-6,
            "{g:?}"
        );
    }
}
