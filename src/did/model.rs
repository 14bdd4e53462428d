//! The DID model: `G -> A_df -> (I_df, I_os)`, `A_dom(I_os) -> I_dom`, `T(I_df, I_os)`,
//! `C(I_df)`, `C_bar(I_dom)`. The paper's ablations are switches of this one model.
use super::attention::Attention;
use super::heads::{Classifier, DomainClassifier};
use super::mi::{MiArch, MiEstimator};
use crate::backbone::{Backbone, BackboneKind};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

/// Which parts exist: the full method, the paper's two ablations (Table III) and the
/// BCE baseline (Table II: backbone + classifier on `I_X`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    Did,
    NoDom,
    NoMi,
    Bce,
}

impl Variant {
    pub const ALL: [Variant; 4] = [Variant::Did, Variant::Bce, Variant::NoDom, Variant::NoMi];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Did => "did",
            Variant::NoDom => "no-dom",
            Variant::NoMi => "no-mi",
            Variant::Bce => "bce",
        }
    }
    pub fn has_a_df(self) -> bool {
        self != Variant::Bce
    }
    pub fn has_dom(self) -> bool {
        matches!(self, Variant::Did | Variant::NoMi)
    }
    pub fn has_mi(self) -> bool {
        matches!(self, Variant::Did | Variant::NoDom)
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Variant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown variant `{s}`; expected did, bce, no-dom or no-mi"
                ))
            })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub backbone: BackboneKind,
    pub variant: Variant,
    /// Side of the square gray input face.
    pub size: i64,
    /// r of the attention channel branch.
    pub reduction: i64,
    pub dropout: f64,
    /// Keep `G` as loaded (eval-mode BatchNorm, no gradient): only the DID parts train.
    /// Not the paper's setting (it fine-tunes `G`); it lets a CPU train on pretrained
    /// features in minutes, since the backward pass through `G` is most of a step.
    pub freeze_backbone: bool,
    /// Keep the stem and the first N blocks of `G` as loaded (0: all of `G` learns). The
    /// first blocks see the full-resolution image and cost most of the backward pass on a
    /// CPU; their ImageNet filters (edges, gradients) are generic enough to keep.
    pub frozen_blocks: usize,
    /// Layers of the MI estimator `T` (see [`MiArch`]; `paper` by default).
    pub t_arch: MiArch,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            backbone: BackboneKind::Resnet50,
            variant: Variant::Did,
            size: 224,
            reduction: 16,
            dropout: 0.5,
            freeze_backbone: false,
            frozen_blocks: 0,
            t_arch: MiArch::Paper,
        }
    }
}

/// Everything one training forward produces; parts a variant lacks are `None`.
#[derive(Debug)]
pub struct DidOutput {
    pub logit: Tensor,
    /// GAP of the features `C` sees (I_df, or I_X for the baseline) [N, c].
    pub pooled: Tensor,
    pub m_df: Option<Tensor>,
    pub m_dom: Option<Tensor>,
    pub domain_logits: Option<Tensor>,
    /// GAP of I_dom [N, c], for domain t-SNE.
    pub dom_pooled: Option<Tensor>,
    /// GAP of I_os [N, c] (models with C_bar), what pseudo-domains cluster.
    pub os_pooled: Option<Tensor>,
    pub t_joint: Option<Tensor>,
    pub t_marg: Option<Tensor>,
}

#[derive(Debug)]
pub struct DidModel {
    pub config: ModelConfig,
    pub num_domains: i64,
    g: Backbone,
    a_df: Option<Attention>,
    a_dom: Option<Attention>,
    t: Option<MiEstimator>,
    c: Classifier,
    c_bar: Option<DomainClassifier>,
}

impl DidModel {
    /// Builds under `root`: the backbone under `backbone.` (its own learning-rate group),
    /// the rest under `a_df.`, `a_dom.`, `t.`, `c.`, `c_bar.`.
    /// `num_domains` is k+1 (real plus k forgery methods).
    pub fn new(root: &nn::Path, config: &ModelConfig, num_domains: i64) -> Result<Self> {
        if config.size < 32 {
            return Err(Error::invalid(format!(
                "input size {} is too small (at least 32)",
                config.size
            )));
        }
        let v = config.variant;
        if v.has_dom() && num_domains < 2 {
            return Err(Error::invalid(format!(
                "variant {v} needs at least 2 domains (real + one forgery method), got {num_domains}"
            )));
        }
        let mut g = Backbone::build(&(root / "backbone"), config.backbone);
        g.freeze_blocks(config.frozen_blocks)?;
        let c_ch = g.out_channels();
        let hw = g.feature_size(config.size);
        let attn = |name: &str| Attention::new(&(root / name), c_ch, hw, config.reduction);
        Ok(DidModel {
            config: config.clone(),
            num_domains,
            a_df: v.has_a_df().then(|| attn("a_df")),
            a_dom: v.has_dom().then(|| attn("a_dom")),
            t: v.has_mi()
                .then(|| MiEstimator::new(&(root / "t"), c_ch, config.t_arch)),
            c: Classifier::new(&(root / "c"), c_ch, config.dropout),
            c_bar: v
                .has_dom()
                .then(|| DomainClassifier::new(&(root / "c_bar"), c_ch, num_domains)),
            g,
        })
    }

    /// `I_X` for gray faces [N, 1, S, S] in [0, 1], replicated to RGB and normalised with
    /// the statistics the backbone's pretrained weights expect.
    pub fn i_x(&self, x_gray: &Tensor, train: bool) -> Tensor {
        let x = self.g.normalise(x_gray);
        if self.config.freeze_backbone {
            return tch::no_grad(|| self.g.features(&x, false));
        }
        self.g.features(&x, train)
    }

    /// The training forward: all parts of the variant run; `beta` scales the GRL before `T`.
    pub fn forward_t(&self, x_gray: &Tensor, train: bool, beta: f64) -> DidOutput {
        self.forward_parts(x_gray, train, Some(beta))
    }

    /// Every output except `T`'s, in eval mode: what reports look at (maps, domains, features).
    pub fn inspect(&self, x_gray: &Tensor) -> DidOutput {
        self.forward_parts(x_gray, false, None)
    }

    /// `beta: None` skips `T`, which only training needs.
    fn forward_parts(&self, x_gray: &Tensor, train: bool, beta: Option<f64>) -> DidOutput {
        let i_x = self.i_x(x_gray, train);
        let Some(a_df) = &self.a_df else {
            let c = self.c.forward_t(&i_x, train);
            return DidOutput {
                logit: c.logit,
                pooled: c.pooled,
                m_df: None,
                m_dom: None,
                domain_logits: None,
                dom_pooled: None,
                os_pooled: None,
                t_joint: None,
                t_marg: None,
            };
        };
        let m_df = a_df.forward(&i_x);
        let i_df = &m_df * &i_x;
        let i_os = (1.0 - &m_df) * &i_x;
        let c = self.c.forward_t(&i_df, train);
        let (m_dom, domain_logits, dom_pooled, os_pooled) = match (&self.a_dom, &self.c_bar) {
            (Some(a_dom), Some(c_bar)) => {
                let m_dom = a_dom.forward(&i_os);
                let i_dom = &m_dom * &i_os;
                let gap = |t: &Tensor| t.mean_dim([2, 3].as_slice(), false, t.kind());
                let (dom_pooled, os_pooled) = (gap(&i_dom), gap(&i_os));
                (
                    Some(m_dom),
                    Some(c_bar.forward(&i_dom)),
                    Some(dom_pooled),
                    Some(os_pooled),
                )
            }
            _ => (None, None, None, None),
        };
        let (t_joint, t_marg) = match (&self.t, beta) {
            (Some(t), Some(beta)) => {
                let o = t.forward(&i_df, &i_os, beta);
                (Some(o.joint), Some(o.marginal))
            }
            _ => (None, None),
        };
        DidOutput {
            logit: c.logit,
            pooled: c.pooled,
            m_df: Some(m_df),
            m_dom,
            domain_logits,
            dom_pooled,
            os_pooled,
            t_joint,
            t_marg,
        }
    }

    /// The deepfake logit from `I_X`: `C(A_df(I_X) * I_X)` in eval mode (`C(I_X)` for bce).
    fn logit_from_i_x(&self, i_x: &Tensor) -> Tensor {
        let feats = match &self.a_df {
            Some(a_df) => a_df.forward(i_x) * i_x,
            None => i_x.shallow_clone(),
        };
        self.c.forward_t(&feats, false).logit
    }

    /// Grad-CAM of the deepfake logit on `I_X` (the backbone's last map), as the paper's
    /// Fig. 6: ReLU of the channels of `I_X` weighted by their mean gradient. [N, H, W].
    pub fn grad_cam(&self, x_gray: &Tensor) -> Tensor {
        let i_x = tch::no_grad(|| self.i_x(x_gray, false)).set_requires_grad(true);
        let logit = self.logit_from_i_x(&i_x);
        let kind = i_x.kind();
        let grad = Tensor::run_backward(&[logit.sum(kind)], &[&i_x], false, false).remove(0);
        let weights = grad.mean_dim([2i64, 3].as_slice(), true, kind);
        tch::no_grad(|| {
            (weights * i_x.detach())
                .sum_dim_intlist([1i64].as_slice(), false, kind)
                .relu()
        })
    }

    /// Test-time score P(fake) [N]: only `G`, `A_df` and `C` run.
    pub fn score(&self, x_gray: &Tensor) -> Tensor {
        self.logit_from_i_x(&self.i_x(x_gray, false)).sigmoid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn build(variant: Variant) -> (nn::VarStore, DidModel) {
        let vs = nn::VarStore::new(Device::Cpu);
        let cfg = ModelConfig {
            backbone: BackboneKind::ResnetTiny,
            variant,
            size: 64,
            ..Default::default()
        };
        let m = DidModel::new(&vs.root(), &cfg, 4).unwrap();
        (vs, m)
    }

    #[test]
    fn shapes_of_every_output() {
        let (_vs, m) = build(Variant::Did);
        let x = Tensor::rand([5, 1, 64, 64], (Kind::Float, Device::Cpu));
        let o = m.forward_t(&x, true, 0.5);
        let (c, hw) = (128, 2);
        assert_eq!(o.logit.size(), vec![5]);
        assert_eq!(o.pooled.size(), vec![5, c]);
        let m_df = o.m_df.unwrap();
        assert_eq!(m_df.size(), vec![5, c, hw, hw]);
        assert!(m_df.min().double_value(&[]) >= 0.0 && m_df.max().double_value(&[]) <= 1.0);
        assert_eq!(o.m_dom.unwrap().size(), vec![5, c, hw, hw]);
        assert_eq!(o.domain_logits.unwrap().size(), vec![5, 4]);
        assert_eq!(o.t_joint.unwrap().size(), vec![5]);
        assert_eq!(o.t_marg.unwrap().size(), vec![5]);
        let s = m.score(&x);
        assert_eq!(s.size(), vec![5]);
    }

    /// Built for 64 px (2x2 maps), the model scores 96 and 32 px inputs (3x3 and 1x1 maps),
    /// with M_df and M_dom of the new map size, and the same score as before at 64 px.
    #[test]
    fn scores_at_input_sizes_other_than_the_built_one() {
        let (_vs, m) = build(Variant::Did);
        let _g = tch::no_grad_guard();
        let x = Tensor::rand([3, 1, 64, 64], (Kind::Float, Device::Cpu));
        let at_64 = m.score(&x);
        for (side, hw) in [(96, 3), (32, 1)] {
            let y = x.upsample_bilinear2d([side, side], false, None, None);
            let o = m.forward_t(&y, false, 0.0);
            assert_eq!(o.m_df.unwrap().size(), vec![3, 128, hw, hw]);
            assert_eq!(o.m_dom.unwrap().size(), vec![3, 128, hw, hw]);
            let s = m.score(&y);
            assert_eq!(s.size(), vec![3]);
            assert!(s.isfinite().all().int64_value(&[]) == 1);
        }
        assert!(m.score(&x).allclose(&at_64, 0.0, 0.0, false));
    }

    /// Grad-CAM's channel weights against central differences: shifting all of channel c
    /// of I_X by eps moves the logit by eps * H * W * w_c.
    #[test]
    fn grad_cam_matches_finite_differences() {
        for variant in [Variant::Did, Variant::Bce] {
            let (mut vs, m) = build(variant);
            vs.set_kind(Kind::Double);
            let x = Tensor::rand([2, 1, 64, 64], (Kind::Double, Device::Cpu));
            let cam = m.grad_cam(&x);
            let _g = tch::no_grad_guard();
            let i_x = m.i_x(&x, false);
            let (c, h, w) = (i_x.size()[1], i_x.size()[2], i_x.size()[3]);
            assert_eq!(cam.size(), vec![2, h, w]);
            // Small enough that a bump almost never crosses a ReLU kink of C (the logit is
            // piecewise linear in I_X there), large enough for float64's rounding.
            let eps = 1e-7;
            let mut weights = Vec::new();
            for ch in 0..c {
                let bump = Tensor::zeros_like(&i_x);
                let _ = bump.narrow(1, ch, 1).fill_(eps);
                let up = m.logit_from_i_x(&(&i_x + &bump));
                let down = m.logit_from_i_x(&(&i_x - &bump));
                weights.push((up - down) / (2.0 * eps * (h * w) as f64));
            }
            let weights = Tensor::stack(&weights, 1).view([2, c, 1, 1]);
            let want = (weights * &i_x)
                .sum_dim_intlist([1i64].as_slice(), false, Kind::Double)
                .relu();
            let err = (&cam - &want).abs().max().double_value(&[]);
            let scale = want.abs().max().double_value(&[]).max(1e-6);
            assert!(err / scale < 1e-5, "{variant:?}: {err} of {scale}");
        }
    }

    #[test]
    fn ablations_have_no_parameters_of_removed_parts() {
        let prefixes = |v| {
            let (vs, _m) = build(v);
            let mut p: Vec<String> = vs
                .variables()
                .keys()
                .map(|k| k.split('.').next().unwrap().to_string())
                .collect();
            p.sort();
            p.dedup();
            p
        };
        assert_eq!(
            prefixes(Variant::Did),
            ["a_df", "a_dom", "backbone", "c", "c_bar", "t"]
        );
        assert_eq!(
            prefixes(Variant::NoMi),
            ["a_df", "a_dom", "backbone", "c", "c_bar"]
        );
        assert_eq!(prefixes(Variant::NoDom), ["a_df", "backbone", "c", "t"]);
        assert_eq!(prefixes(Variant::Bce), ["backbone", "c"]);
    }
}
