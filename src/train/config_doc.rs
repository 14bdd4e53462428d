//! `train --print-config`: every field of [`TrainConfig`] as TOML, each under a comment that
//! says what it does and where its default comes from, so a user edits a file instead of
//! reading the source. A test keeps the comments complete as fields are added.
use super::TrainConfig;

/// `table.key` (`key` at the top level) and its comment.
const DOCS: &[(&str, &str)] = &[
    ("seed", "Seed of weights, batch order, augmentation and online forgeries."),
    ("weights", "Initial backbone weights: a registry name (`crossdf weights list`) or a .pth / .safetensors state dict in the backbone's reference names. Without it G starts from random weights."),
    ("domains", "Domain labels of C_bar: labels (the forgery methods, the paper) | cluster (pseudo-domains found by k-means on GAP(I_os), K by silhouette) | cluster:K | none (no domain labels: trains as no-dom)."),
    ("model.backbone", "G: resnet18 | resnet50 (paper) | efficientnet-v2-s|m|l | efficientnet-lite0|1|2 | mobilenet-v2."),
    ("model.variant", "did (the paper's method) | no-dom (no A_dom, C_bar) | no-mi (no T) | bce (G + C only)."),
    ("model.size", "Side of the square gray input face, in pixels (paper: 224)."),
    ("model.reduction", "r of the attention networks' channel branch (paper: 16)."),
    ("model.dropout", "Dropout before the classifiers C and C_bar."),
    ("model.freeze_backbone", "Keep G as loaded (no gradient, eval-mode BatchNorm); not the paper's setting."),
    ("model.frozen_blocks", "Keep G's stem and first N blocks as loaded (0: all of G learns); about 2x faster CPU steps at 3 for MobileNetV2."),
    ("model.t_arch", "MI estimator T: paper (3x3 convs on 2c channels) | reduced (a 1x1 reduction first; crossdf's cheaper default in the demo)."),
    ("loss.alpha", "Weight of BCE in L_cls = alpha BCE + (1 - alpha) L_AUC (paper: 0.5)."),
    ("loss.gamma", "Margin of the AUC loss, 0 < gamma <= 1 (paper: 0.15)."),
    ("loss.p", "Exponent of the AUC loss, p > 1 (paper: 2)."),
    ("loss.lambda_cls", "Weight of L_cls in the total loss (paper: 1)."),
    ("loss.lambda_dom", "Weight of the domain loss L_dom on C_bar (paper: 1)."),
    ("loss.lambda_dec", "Weight of the decomposition (mutual information) loss L_dec (paper: 0.01)."),
    ("optim.lr", "Adam learning rate of the backbone G (paper: 1e-5)."),
    ("optim.head_lr_factor", "A_df, A_dom, T, C and C_bar learn this many times faster than G (paper: 10)."),
    ("optim.weight_decay", "Adam's L2 weight decay (paper: 5e-4)."),
    ("optim.t_weight_decay", "Weight decay of T alone; unset means weight_decay, as the paper. 0.0 lets T learn at lambda_dec = 0.01."),
    ("optim.ema", "Decay of a moving average of the weights (timm's ModelEma; a warm-up caps it at (1 + n) / (10 + n) after n steps: 0.973 after 330, 0.99 after 890) that validation, best and detect use; unset: the raw weights, as the paper."),
    ("optim.beta1", "Adam's beta1."),
    ("optim.beta2", "Adam's beta2."),
    ("optim.eps", "Adam's epsilon."),
    ("data.batch", "Training batch: half real, half fake (paper: 15)."),
    ("data.workers", "Threads that decode and augment training images."),
    ("data.prefetch", "Batches prepared ahead of the model."),
    ("data.balance", "class (every batch holds both classes) | class-domain (fakes spread over methods too)."),
    ("data.eval_batch", "Batch when scoring validation and test images."),
    ("data.eval_flip", "Score each validation / test / detected face and its mirror image and average the two P(fake) (not in the paper)."),
    ("data.cache", "Decode the training images once and keep them in memory."),
    ("data.on_error", "An unreadable training image: skip (left out, listed in skipped.jsonl) | fail (stop before the first step)."),
    ("data.max_unreadable", "With skip: the share of the split that may be unreadable before training refuses."),
    ("data.augment.hflip_prob", "Probability of a horizontal flip."),
    ("data.augment.jitter_prob", "Probability of a brightness / contrast jitter."),
    ("data.augment.brightness", "Additive brightness shift in [0, 1] units, drawn from this range."),
    ("data.augment.contrast", "Contrast factor around the mean, drawn from this range."),
    ("data.augment.downscale_prob", "Probability of scaling the face down and back up (a face filmed small)."),
    ("data.augment.downscale", "Side factor of the scaled-down face, drawn from [low, high] in (0, 1]."),
    ("data.augment.blur_prob", "Probability of a Gaussian blur."),
    ("data.augment.blur_sigma", "Blur sigma in pixels, drawn from this range."),
    ("data.augment.jpeg_prob", "Probability of a JPEG re-compression."),
    ("data.augment.jpeg_quality", "JPEG quality, drawn from this inclusive range (1..=100)."),
    ("data.online.methods", "synth methods that forge the real training faces afresh every step, one domain each (`crossdf synth --help`); empty: only the manifest's fakes."),
    ("data.online.margin", "Alignment margin of the crops (as prepare --margin)."),
    ("data.online.keep_manifest_fakes", "With online methods: keep the manifest's own fakes in training too."),
    ("data.online.shares", "Fake slots per round for each online method, in the order of methods (empty: one each); with balance = class_domain, share 2 makes twice the fakes of share 1."),
    ("data.online.size", "Side at which online fakes are made (crops cached there, every face then resized to model.size as eval does); unset: at model.size."),
    ("schedule.epochs", "Epochs; validation and checkpoints once per epoch (the paper gives none; 10)."),
    ("schedule.steps_per_epoch", "Steps per epoch (paper: 6000)."),
    ("schedule.log_every", "Every this many steps a line of loss terms goes to train_log.jsonl."),
    ("schedule.lr", "constant (the paper) | cosine (down to 0 at the last step)."),
    ("schedule.warmup_steps", "Steps of linear learning-rate warm-up (paper: none)."),
];

/// Keys that the default config leaves out (they are `None`): shown commented out.
const UNSET: &[(&str, &str)] = &[
    ("weights", "\"mobilenet_v2\""),
    ("optim.t_weight_decay", "0.0"),
    ("optim.ema", "0.99"),
    ("data.online.size", "224"),
];

fn doc(key: &str) -> Option<&'static str> {
    DOCS.iter().find(|(k, _)| *k == key).map(|(_, d)| *d)
}

fn comment(out: &mut String, text: &str) {
    for line in textwrap(text, 88) {
        out.push_str("# ");
        out.push_str(&line);
        out.push('\n');
    }
}

/// Greedy word wrap (comments only; no crate needed for that).
fn textwrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("starts with one line");
        if !last.is_empty() && last.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

fn unset_lines(out: &mut String, table: &str, cfg_text: &str) {
    for (key, example) in UNSET {
        let (t, k) = key.rsplit_once('.').unwrap_or(("", key));
        // Set when the key has a line in its own table (`size` is also a key of [model]).
        let mut current = "";
        let set = cfg_text.lines().any(|l| {
            let l = l.trim();
            if l.starts_with('[') && l.ends_with(']') {
                current = l.trim_matches(|c| c == '[' || c == ']');
            }
            current == t && l.starts_with(&format!("{k} ="))
        });
        if t == table && !set {
            comment(out, doc(key).unwrap_or(""));
            out.push_str(&format!("# {k} = {example}\n"));
        }
    }
}

/// `cfg` as TOML with a comment above every key (and the unset optional keys commented out).
pub fn commented_toml(cfg: &TrainConfig) -> String {
    let plain = cfg.to_toml();
    let mut out = String::from(
        "# crossdf training config: every field, with the paper's defaults (Yang et al., \
         section IV-A)\n# where it gives one. `crossdf train --config FILE` reads any subset; \
         flags override it.\n\n",
    );
    let mut table = String::new();
    unset_lines(&mut out, "", &plain);
    for line in plain.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') && !line.starts_with(' ') {
            table = trimmed.trim_matches(|c| c == '[' || c == ']').to_string();
            out.push_str(line);
            out.push('\n');
            unset_lines(&mut out, &table, &plain);
            continue;
        }
        if let Some((key, _)) = line.split_once(" = ").filter(|_| !line.starts_with(' ')) {
            let full = if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            };
            if let Some(d) = doc(&full) {
                comment(&mut out, d);
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                let full = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_table() {
                    keys(v, &full, out);
                } else {
                    out.push(full);
                }
            }
        }
    }

    #[test]
    fn every_field_is_documented_and_the_file_reads_back() {
        let mut cfg = TrainConfig::default();
        let text = commented_toml(&cfg);
        let back: TrainConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, cfg);
        // Set the optional fields too, so their keys are checked.
        cfg.weights = Some("w.safetensors".into());
        cfg.optim.t_weight_decay = Some(0.0);
        cfg.optim.ema = Some(0.99);
        cfg.data.online.size = Some(224);
        let mut all = Vec::new();
        keys(&toml::Value::try_from(&cfg).unwrap(), "", &mut all);
        assert!(all.len() > 40, "{all:?}");
        for k in &all {
            assert!(doc(k).is_some(), "no comment for `{k}`");
        }
        for (k, _) in DOCS {
            assert!(
                all.contains(&k.to_string()),
                "comment for a field that is gone: {k}"
            );
        }
        // Each key's comment sits right above it; unset keys are commented out.
        assert!(text.contains("# Adam learning rate of the backbone G (paper: 1e-5).\nlr = "));
        assert!(text.contains("# weights = \"mobilenet_v2\"\n"));
        assert!(text.contains("# t_weight_decay = 0.0\n"));
        assert!(text.contains("# ema = 0.99\n"));
        assert!(text.contains("# size = 224\n"));
        let set = commented_toml(&cfg);
        assert!(set.contains("\nt_weight_decay = 0.0\n") && !set.contains("# t_weight_decay"));
        assert_eq!(toml::from_str::<TrainConfig>(&set).unwrap(), cfg);
    }
}

#[cfg(test)]
mod example_tests {
    use crate::train::TrainConfig;

    /// `examples/ffpp-to-celebdf.toml` is the paper's setting: the defaults on EfficientNetV2-L.
    #[test]
    fn the_papers_recipe_is_the_defaults_on_efficientnet_v2_l() {
        let c: TrainConfig = toml::from_str(include_str!("../../examples/ffpp-to-celebdf.toml"))
            .expect("the example parses");
        let mut want = TrainConfig::default();
        want.model.backbone = crate::backbone::BackboneKind::EfficientnetV2L;
        assert_eq!(c, want);
        c.validate().unwrap();
    }
}
