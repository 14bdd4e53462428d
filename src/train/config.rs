//! The training configuration: every field defaults to the paper's setting (section IV-A)
//! where the paper gives one; a TOML file overrides any subset, CLI flags override the file.
use super::optim::OptimConfig;
use super::schedule::LrSchedule;
use crate::data::augment::AugmentConfig;
use crate::data::loader::{Balance, OnError, TrainLoaderConfig};
use crate::data::online::OnlineConfig;
use crate::did::{LossConfig, ModelConfig};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Paper: 15.
    pub batch: usize,
    /// Decode + augment (+ online forgery) threads feeding the model. libtorch keeps one
    /// intra-op thread per core all the same: the workers sleep while a batch waits, and the
    /// model step is what a run waits on. On 2 cores with 1 worker, 60 demo did steps plus a
    /// validation pass took 25.4 s with 2 intra-op threads against 36.4 s with 1
    /// (`OMP_NUM_THREADS=1`) and 33.3 s with passive OpenMP waits.
    pub workers: usize,
    /// Batches prepared ahead of the model.
    pub prefetch: usize,
    /// `class` (every batch holds both classes) or `class-domain` (fakes spread over methods too).
    pub balance: Balance,
    pub augment: AugmentConfig,
    /// Batch size when scoring validation / test images.
    pub eval_batch: usize,
    /// Score each validation / test / detected face and its mirror image and average the two
    /// P(fake) (test-time augmentation; the paper does not).
    pub eval_flip: bool,
    /// Decode the training images once and keep them in memory (see [`TrainLoaderConfig::cache`]).
    pub cache: bool,
    /// Online forgeries of the real training faces (off unless methods are named).
    pub online: OnlineConfig,
    /// An unreadable training image: `skip` leaves it out (listed in `skipped.jsonl`; needs
    /// `cache`, which finds them up front), `fail` stops before the first step.
    pub on_error: OnError,
    /// With `skip`: the share of the split that may be unreadable before training refuses.
    pub max_unreadable: f64,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            batch: 15,
            workers: 2,
            prefetch: 4,
            balance: Balance::Class,
            augment: AugmentConfig::default(),
            eval_batch: 16,
            eval_flip: false,
            cache: true,
            online: OnlineConfig::default(),
            on_error: OnError::Skip,
            max_unreadable: 0.05,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Not given by the paper; 10 is our default.
    pub epochs: usize,
    /// Paper: 6000 iterations per epoch. Validation and checkpoints happen once per epoch.
    pub steps_per_epoch: usize,
    /// Every this many steps a line of loss terms goes to `train_log.jsonl`.
    pub log_every: usize,
    /// `constant` (the paper) or `cosine` (down to 0 at the last step).
    pub lr: LrSchedule,
    /// Steps of linear learning-rate warm-up before `lr` takes over (paper: none).
    pub warmup_steps: usize,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            epochs: 10,
            steps_per_epoch: 6000,
            log_every: 20,
            lr: LrSchedule::Constant,
            warmup_steps: 0,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub seed: u64,
    /// Initial weights of the backbone `G` (a `.pth`/`.safetensors` state dict in the
    /// backbone's reference names, e.g. torchvision's; its classifier is ignored). Without
    /// it `G` starts from random weights. A resumed run takes its weights from the checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<std::path::PathBuf>,
    /// Where `C_bar`'s domain labels come from ([`super::pseudo`]).
    pub domains: super::pseudo::Domains,
    pub model: ModelConfig,
    pub loss: LossConfig,
    pub optim: OptimConfig,
    pub data: DataConfig,
    pub schedule: ScheduleConfig,
}

impl TrainConfig {
    /// How this model's faces are scored: its input size and the data settings for scoring.
    pub fn score_options(&self, on_error: OnError) -> crate::score::ScoreOptions {
        crate::score::ScoreOptions {
            size: self.model.size as u32,
            batch: self.data.eval_batch,
            workers: self.data.workers,
            on_error,
            flip: self.data.eval_flip,
        }
    }

    /// Reads a TOML file; absent fields keep their defaults, unknown ones are errors.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: TrainConfig = toml::from_str(&text).map_err(|source| Error::Toml {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(cfg)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises to TOML")
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(m));
        if self.data.batch < 2 {
            return bad(format!(
                "batch {} must be at least 2 (both classes per batch)",
                self.data.batch
            ));
        }
        if self.schedule.epochs == 0 || self.schedule.steps_per_epoch == 0 {
            return bad("epochs and steps_per_epoch must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.loss.alpha) {
            return bad(format!("alpha {} must be in [0, 1]", self.loss.alpha));
        }
        if !(self.loss.gamma > 0.0 && self.loss.gamma <= 1.0) || self.loss.p <= 1.0 {
            return bad(format!(
                "AUC loss needs 0 < gamma <= 1 and p > 1 (got gamma {}, p {})",
                self.loss.gamma, self.loss.p
            ));
        }
        use super::pseudo::Domains;
        match (self.domains, self.model.variant.has_dom()) {
            (Domains::Cluster(_), false) => {
                return bad(format!(
                "domains {}: variant {} has no C_bar to learn pseudo-domains (use did or no-mi)",
                self.domains, self.model.variant
            ))
            }
            (Domains::None, true) => {
                return bad(format!(
                    "domains none: variant {} trains C_bar on domain labels (use no-dom or bce)",
                    self.model.variant
                ))
            }
            _ => {}
        }
        if let Some(d) = self.optim.ema {
            if !(d > 0.0 && d < 1.0) {
                return bad(format!("optim.ema {d} must be in (0, 1)"));
            }
        }
        if let Some(s) = self.data.online.size.filter(|&s| s < 32) {
            return bad(format!("data.online.size {s} is too small (at least 32)"));
        }
        self.data.online.resolve()?;
        if !self.data.online.shares.is_empty() && self.data.balance != Balance::ClassDomain {
            return bad(
                "data.online.shares weighs the fake domains of balance = \"class_domain\"; \
                 set that balance or drop the shares"
                    .into(),
            );
        }
        self.data.augment.validate()
    }

    pub fn total_steps(&self) -> usize {
        self.schedule.epochs * self.schedule.steps_per_epoch
    }

    /// The training loader's settings (batch, size, workers, balance, augmentation, seed,
    /// online forgeries); `domains` is the model's domain map, which names the online methods.
    pub fn loader_config(&self, domains: &[String]) -> TrainLoaderConfig {
        TrainLoaderConfig {
            batch: self.data.batch,
            size: self.model.size as u32,
            workers: self.data.workers,
            prefetch: self.data.prefetch,
            balance: self.data.balance,
            augment: self.data.augment.clone(),
            seed: self.seed,
            cache: self.data.cache,
            max_unreadable: match self.data.on_error {
                OnError::Skip => self.data.max_unreadable,
                OnError::Fail => 0.0,
            },
            online: self.data.online.clone(),
            online_domains: self
                .data
                .online
                .methods
                .iter()
                .map(|m| domains.iter().position(|d| d == m).unwrap_or(0))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers() {
        let c = TrainConfig::default();
        assert_eq!(c.data.batch, 15);
        assert_eq!(c.optim.lr, 1e-5);
        assert_eq!(c.optim.head_lr_factor, 10.0);
        assert_eq!(c.optim.weight_decay, 5e-4);
        assert_eq!((c.loss.gamma, c.loss.p, c.loss.alpha), (0.15, 2.0, 0.5));
        assert_eq!(
            (c.loss.lambda_cls, c.loss.lambda_dom, c.loss.lambda_dec),
            (1.0, 1.0, 0.01)
        );
        assert_eq!(c.schedule.steps_per_epoch, 6000);
    }

    #[test]
    fn toml_overrides_a_subset_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "seed = 7\n[loss]\nalpha = 0.25\n[model]\nvariant = \"no-mi\"\n",
        )
        .unwrap();
        let c = TrainConfig::from_toml_file(&p).unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.loss.alpha, 0.25);
        assert_eq!(c.loss.gamma, 0.15);
        assert_eq!(c.model.variant, crate::did::Variant::NoMi);
        let back: TrainConfig = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(back, c);
        std::fs::write(&p, "[loss]\nalfa = 0.25\n").unwrap();
        let e = TrainConfig::from_toml_file(&p).unwrap_err().to_string();
        assert!(e.contains("c.toml") && e.contains("alfa"), "{e}");
    }

    #[test]
    fn online_shares_need_domain_balance() {
        let mut c = TrainConfig::default();
        c.data.online.methods = vec!["self_blend".into(), "gan_upsample".into()];
        c.data.online.shares = vec![3, 1];
        c.data.balance = Balance::Class;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("class_domain"), "{e}");
        c.data.balance = Balance::ClassDomain;
        c.validate().unwrap();
    }

    /// The README's recipe is the demo's: it parses, and sets what the demo sets.
    #[test]
    fn readme_recipe_parses_and_matches_the_demo() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("with `recipe.toml`:")
            .expect("README has the recipe");
        let block: String = readme[start..]
            .lines()
            .skip(2)
            .take_while(|l| l.starts_with("    "))
            .map(|l| format!("{}\n", &l[4..]))
            .collect();
        let c: TrainConfig = toml::from_str(&block).unwrap();
        let seen: Vec<String> = crate::demo::SEEN_METHODS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let d = crate::demo::demo_config(crate::did::Variant::Did, false, 0, &seen);
        assert_eq!(c.model, d.model);
        assert_eq!(c.loss, d.loss);
        assert_eq!(c.weights, d.weights);
        assert_eq!(
            (c.optim.lr, c.optim.t_weight_decay, c.optim.ema),
            (d.optim.lr, d.optim.t_weight_decay, d.optim.ema)
        );
        assert_eq!(c.data.online, d.data.online);
        assert_eq!(c.data.augment, d.data.augment);
        assert_eq!(
            (c.data.batch, c.data.eval_batch, c.data.balance),
            (d.data.batch, d.data.eval_batch, d.data.balance)
        );
        assert_eq!(c.data.eval_flip, d.data.eval_flip);
        assert_eq!(
            (c.schedule.epochs, c.schedule.steps_per_epoch),
            (d.schedule.epochs, d.schedule.steps_per_epoch)
        );
    }
}
