//! `crossdf train`: DID (or an ablation, or the BCE baseline) on a manifest.
use anyhow::Context;
use crossdf::backbone::BackboneKind;
use crossdf::data::loader::Balance;
use crossdf::did::Variant;
use crossdf::manifest::Manifest;
use crossdf::train::{self, TrainConfig, TrainOptions};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Manifest whose `train` split is trained on
    #[arg(long, required_unless_present = "print_config")]
    train: Option<PathBuf>,
    /// Manifest whose `val` split chooses the `best` checkpoint (default: the --train manifest)
    #[arg(long)]
    val: Option<PathBuf>,
    /// Run folder: config.toml, train_log.jsonl, epochs.jsonl, best/last.safetensors
    #[arg(long, required_unless_present = "print_config")]
    out: Option<PathBuf>,
    /// Print every config field as commented TOML (the defaults, or --config and the flags
    /// applied to them) and exit: a starting point for --config
    #[arg(long)]
    print_config: bool,
    /// TOML file with any subset of the config (defaults are the paper's); flags override it
    #[arg(long)]
    config: Option<PathBuf>,
    /// Continue the run in --out from last.safetensors
    #[arg(long)]
    resume: bool,
    /// did | no-dom | no-mi | bce
    #[arg(long)]
    variant: Option<Variant>,
    /// Domain labels of C_bar: labels (forgery methods) | cluster | cluster:K (pseudo-domains
    /// from k-means, for fakes without method labels) | none (trains as no-dom)
    #[arg(long)]
    domains: Option<crossdf::train::pseudo::Domains>,
    /// resnet18 | resnet50 | efficientnet-v2-{s,m,l} | efficientnet-lite{0,1,2} | mobilenet-v2
    /// (and the small test variants resnet-tiny, efficientnet-v2-tiny, efficientnet-lite-tiny,
    /// mobilenet-v2-tiny)
    #[arg(long)]
    backbone: Option<BackboneKind>,
    /// Initial backbone weights: a state dict in the backbone's reference names (torchvision's
    /// resnet50 / efficientnet_v2_l .pth) or a registry name (`crossdf weights list`);
    /// the classifier head in it is ignored
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Keep the backbone as loaded (no gradient, eval-mode BatchNorm); only DID's parts learn
    #[arg(long)]
    freeze_backbone: bool,
    /// Keep the backbone's stem and first N blocks as loaded (0: the whole backbone learns)
    #[arg(long)]
    frozen_blocks: Option<usize>,
    /// Weight of BCE in L_cls = alpha BCE + (1 - alpha) L_AUC
    #[arg(long)]
    alpha: Option<f64>,
    #[arg(long)]
    size: Option<i64>,
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    steps_per_epoch: Option<usize>,
    /// Backbone learning rate (heads learn head_lr_factor times faster)
    #[arg(long)]
    lr: Option<f64>,
    /// Validate, save and detect with a moving average of the weights of this decay (e.g. 0.99;
    /// a warm-up caps it at (1 + n) / (10 + n) after n steps)
    #[arg(long)]
    ema: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    workers: Option<usize>,
    /// Spread the fake half of each batch over forgery methods too
    #[arg(long)]
    domain_balanced: bool,
    /// Turn training augmentation off
    #[arg(long)]
    no_augment: bool,
    /// An unreadable training image: leave it out and list it in RUN/skipped.jsonl (skip,
    /// the default; more than data.max_unreadable of the split is still an error) or stop (fail)
    #[arg(long, value_enum)]
    on_error: Option<super::OnErrorArg>,
}

pub fn run(a: Args, device: crossdf::device::DeviceSpec) -> anyhow::Result<()> {
    let mut cfg = match (&a.config, a.resume, &a.out) {
        (Some(p), _, _) => TrainConfig::from_toml_file(p)?,
        // A resumed run keeps the config it was started with (a run killed before it wrote
        // one has nothing to keep: it starts from the flags, and the trainer says so).
        (None, true, Some(out)) if out.join("config.toml").exists() => {
            TrainConfig::from_toml_file(&out.join("config.toml"))?
        }
        _ => TrainConfig::default(),
    };
    macro_rules! set {
        ($field:expr, $v:expr) => {
            if let Some(v) = $v {
                $field = v;
            }
        };
    }
    set!(cfg.model.variant, a.variant);
    if let Some(d) = a.domains {
        cfg.domains = d;
        // No domain labels means no C_bar: did becomes no-dom, no-mi becomes bce.
        if d == crossdf::train::pseudo::Domains::None {
            cfg.model.variant = match cfg.model.variant {
                Variant::NoMi | Variant::Bce => Variant::Bce,
                _ => Variant::NoDom,
            };
        }
    }
    set!(cfg.data.on_error, a.on_error.map(Into::into));
    set!(cfg.model.backbone, a.backbone);
    set!(cfg.model.size, a.size);
    set!(cfg.model.frozen_blocks, a.frozen_blocks);
    set!(cfg.loss.alpha, a.alpha);
    set!(cfg.data.batch, a.batch);
    set!(cfg.data.workers, a.workers);
    set!(cfg.schedule.epochs, a.epochs);
    set!(cfg.schedule.steps_per_epoch, a.steps_per_epoch);
    set!(cfg.optim.lr, a.lr);
    if a.ema.is_some() {
        cfg.optim.ema = a.ema;
    }
    set!(cfg.seed, a.seed);
    if let Some(w) = a.weights {
        // A registry name (`crossdf weights list`) stands for its cached file.
        cfg.weights = Some(if w.is_file() {
            w
        } else {
            let name = w.to_string_lossy();
            crossdf::backbone::pretrained::resolve(&name, Some(cfg.model.backbone))?.0
        });
    }
    if a.freeze_backbone {
        cfg.model.freeze_backbone = true;
    }
    if a.domain_balanced {
        cfg.data.balance = Balance::ClassDomain;
    }
    if a.no_augment {
        cfg.data.augment = crossdf::data::augment::AugmentConfig::none();
    }
    if a.print_config {
        print!("{}", train::config_doc::commented_toml(&cfg));
        return Ok(());
    }
    let (Some(train_path), Some(out)) = (a.train, a.out) else {
        anyhow::bail!("--train and --out are required unless --print-config is given");
    };
    let device = device.resolve()?;
    let train_m = Manifest::read(&train_path)?;
    let val_m = match &a.val {
        Some(p) => Manifest::read(p)?,
        None => train_m.clone(),
    };
    let has_val = val_m.split(crossdf::manifest::Split::Val).next().is_some();
    if !has_val {
        eprintln!(
            "warning: {} has no `val` records: no validation, no `best` checkpoint (only `last`)",
            val_m.path.display()
        );
    }
    let opts = TrainOptions {
        config: cfg,
        out: out.clone(),
        resume: a.resume,
        device,
        progress: std::io::stderr().is_terminal(),
    };
    let summary = train::train(&opts, &train_m, has_val.then_some(&val_m))
        .with_context(|| format!("training into {}", out.display()))?;
    println!("trained {} steps into {}", summary.steps, out.display());
    if let Some(auc) = summary.best_val_auc {
        println!("best checkpoint: frame-level val AUC {auc:.4} (rule: best val frame AUC)");
    }
    Ok(())
}
