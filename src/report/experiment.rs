//! The summary of a cross-domain experiment (the demo): per-run results with identity-
//! bootstrap intervals, mean +- sd over seeds per variant, paired comparisons, and the
//! Markdown / JSON that hold them. Every figure printed comes from the run itself.
use crate::error::Result;
use crate::interval::Interval;
use crate::metrics::{LabelledMetrics, Level};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// How the demo picks the checkpoint it tests; never the test split.
pub const CHECKPOINT_RULE: &str = "best(val frame AUC)";

/// One model's test results: the checkpoint chosen on validation, tested within the
/// training methods (`intra`) and on held-out methods (`cross`).
#[derive(Debug, Clone, Serialize)]
pub struct VariantResult {
    /// The variant's label (`did`, `bce`, `did alpha=0.25`, ...): runs with one label are
    /// the same recipe under different seeds.
    pub variant: String,
    pub seed: u64,
    /// The full training configuration of this model.
    pub config: serde_json::Value,
    pub best_epoch: usize,
    pub best_val_auc: Option<f64>,
    /// Frame level, then video level.
    pub intra: [LabelledMetrics; 2],
    pub cross: [LabelledMetrics; 2],
    pub train_seconds: f64,
    pub test_seconds: f64,
}

/// Images of one evaluation set, by domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SetCounts {
    /// What the set is used for, e.g. "train (seen methods)".
    pub name: String,
    pub split: String,
    pub identities: usize,
    pub images: usize,
    /// Images per domain ("real" and each method).
    pub domains: BTreeMap<String, usize>,
}

/// Mean and sample standard deviation over seeds (no sd for a single run: it prints the
/// mean alone).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanSd {
    pub mean: f64,
    pub sd: f64,
    pub n: usize,
}

impl MeanSd {
    pub fn of(values: &[f64]) -> Option<MeanSd> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(MeanSd {
            mean,
            sd: var.sqrt(),
            n,
        })
    }
}

impl std::fmt::Display for MeanSd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.n < 2 {
            write!(f, "{:.4}", self.mean)
        } else {
            write!(f, "{:.4} +- {:.4}", self.mean, self.sd)
        }
    }
}

/// One variant over its seeds, frame level, test split.
#[derive(Debug, Clone, Serialize)]
pub struct Aggregate {
    pub variant: String,
    pub seeds: Vec<u64>,
    pub intra_auc: MeanSd,
    pub intra_eer: MeanSd,
    pub cross_auc: MeanSd,
    pub cross_eer: MeanSd,
}

/// Mean +- sd of every variant's frame-level test metrics, variants in first-seen order.
pub fn aggregate(results: &[VariantResult]) -> Vec<Aggregate> {
    let mut order: Vec<&str> = Vec::new();
    for r in results {
        if !order.contains(&r.variant.as_str()) {
            order.push(&r.variant);
        }
    }
    order
        .into_iter()
        .filter_map(|v| {
            let runs: Vec<&VariantResult> = results.iter().filter(|r| r.variant == v).collect();
            let get = |f: &dyn Fn(&VariantResult) -> f64| {
                MeanSd::of(&runs.iter().map(|r| f(r)).collect::<Vec<_>>())
            };
            Some(Aggregate {
                variant: v.to_string(),
                seeds: runs.iter().map(|r| r.seed).collect(),
                intra_auc: get(&|r| r.intra[0].metrics.auc)?,
                intra_eer: get(&|r| r.intra[0].metrics.eer)?,
                cross_auc: get(&|r| r.cross[0].metrics.auc)?,
                cross_eer: get(&|r| r.cross[0].metrics.eer)?,
            })
        })
        .collect()
}

/// `a - b` in frame AUC on one test set, both averaged over their seeds, paired on the same
/// test images, with the identity-bootstrap interval of the difference.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    /// "intra" (seen methods) or "cross" (held-out methods).
    pub set: String,
    pub difference: f64,
    pub ci: Option<Interval>,
    pub seeds_a: usize,
    pub seeds_b: usize,
}

impl Comparison {
    /// The sentence a reader quotes: a verdict only when the interval excludes 0.
    pub fn sentence(&self) -> String {
        let what = match self.set.as_str() {
            "cross" => "held-out methods (cross)",
            "intra" => "seen methods (intra)",
            other => other,
        };
        let head = format!(
            "{} - {} frame AUC on the test split, {what}, {CHECKPOINT_RULE}, mean of {} vs {} seeds: {:+.4}",
            self.a, self.b, self.seeds_a, self.seeds_b, self.difference
        );
        match &self.ci {
            Some(ci) => {
                let verdict = if !ci.excludes_zero() {
                    "no verdict: the interval includes 0".to_string()
                } else if ci.lo > 0.0 {
                    format!("{} ahead", self.a.to_uppercase())
                } else {
                    format!("{} ahead ({} behind)", self.b.to_uppercase(), self.a)
                };
                format!(
                    "{head}, 95% CI {ci} (paired bootstrap over {} test identities): {verdict}",
                    ci.clusters
                )
            }
            None => format!("{head}; no interval (too few identities): no verdict"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ExperimentSummary {
    pub title: String,
    /// Seed of the benchmark and splits.
    pub seed: u64,
    pub device: String,
    pub seen_methods: Vec<String>,
    pub held_out_methods: Vec<String>,
    pub checkpoint_rule: String,
    pub counts: Vec<SetCounts>,
    pub results: Vec<VariantResult>,
    pub aggregates: Vec<Aggregate>,
    pub comparisons: Vec<Comparison>,
    /// Seconds spent per phase ("benchmark", "total", ...).
    pub wall_seconds: BTreeMap<String, f64>,
    /// Free-form lines on the setup (backbone, steps, why), printed under the table.
    pub notes: Vec<String>,
}

fn tag(level: Level, split: &str) -> String {
    let lvl = match level {
        Level::Frame => "frame",
        Level::Video => "video",
    };
    format!("{lvl}, {split}, {CHECKPOINT_RULE}")
}

/// A Markdown table of `level` metrics: one row per run, intra / cross AUC and EER with
/// their 95% identity-bootstrap intervals. Headers name level, split and checkpoint.
pub fn results_table(rows: &[VariantResult], level: Level) -> String {
    let pick = |r: &VariantResult, cross: bool| {
        let pair = if cross { &r.cross } else { &r.intra };
        pair.iter().find(|m| m.level == level).cloned()
    };
    let split = rows
        .first()
        .and_then(|r| pick(r, false))
        .map(|m| m.split)
        .unwrap_or_else(|| "test".into());
    let t = tag(level, &split);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| variant | seed | intra AUC ({t}) [95% CI] | intra EER | cross AUC ({t}) [95% CI] | cross EER |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let cell = |cross: bool| match pick(r, cross) {
            Some(m) => {
                let (ca, ce) = match m.ci {
                    Some(c) => (format!(" {}", c.auc), format!(" {}", c.eer)),
                    None => (String::new(), String::new()),
                };
                (
                    format!("{:.4}{ca}", m.metrics.auc),
                    format!("{:.4}{ce}", m.metrics.eer),
                )
            }
            None => ("-".into(), "-".into()),
        };
        let (ia, ie) = cell(false);
        let (ca, ce) = cell(true);
        let _ = writeln!(
            s,
            "| {} | {} | {ia} | {ie} | {ca} | {ce} |",
            r.variant, r.seed
        );
    }
    s
}

/// Mean +- sd over seeds per variant (frame level, test split).
pub fn aggregate_table(rows: &[Aggregate]) -> String {
    let t = tag(Level::Frame, "test");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| variant | seeds | intra AUC ({t}) | intra EER | cross AUC ({t}) | cross EER |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    for a in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            a.variant,
            a.seeds.len(),
            a.intra_auc,
            a.intra_eer,
            a.cross_auc,
            a.cross_eer
        );
    }
    s
}

/// The whole `summary.md`: setup, counts, the tables, the comparisons.
pub fn summary_markdown(s: &ExperimentSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", s.title);
    let _ = writeln!(
        out,
        "Benchmark seed {}, device {}. Trained on real + {}; held out (never trained or validated on): {}.",
        s.seed,
        s.device,
        s.seen_methods.join(", "),
        s.held_out_methods.join(", ")
    );
    let _ = writeln!(
        out,
        "Checkpoint: {} of each run (validation = val split of real + seen methods); \
         intra = test split of real + seen methods, cross = test split of real + held-out methods. \
         Intervals are 95% percentile intervals of a bootstrap over test identities \
         (each identity's real and fake images resampled together).\n",
        s.checkpoint_rule
    );
    for n in &s.notes {
        let _ = writeln!(out, "- {n}");
    }
    if !s.notes.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "## Images per set\n");
    let domains: Vec<&String> = {
        let mut d: Vec<&String> = s.counts.iter().flat_map(|c| c.domains.keys()).collect();
        d.sort();
        d.dedup();
        d
    };
    let _ = write!(out, "| set | split | identities | images |");
    for d in &domains {
        let _ = write!(out, " {d} |");
    }
    let _ = write!(out, "\n|---|---|---:|---:|");
    out.push_str(&"---:|".repeat(domains.len()));
    out.push('\n');
    for c in &s.counts {
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            c.name, c.split, c.identities, c.images
        );
        for d in &domains {
            let _ = write!(out, " {} |", c.domains.get(*d).copied().unwrap_or(0));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\n## Over seeds (mean +- sd), frame level\n");
    out.push_str(&aggregate_table(&s.aggregates));
    out.push('\n');
    for c in &s.comparisons {
        let _ = writeln!(out, "- {}", c.sentence());
    }
    let _ = writeln!(out, "\n## Every run, frame level\n");
    out.push_str(&results_table(&s.results, Level::Frame));
    let _ = writeln!(
        out,
        "\n## Every run, video level (mean frame score per method and identity)\n"
    );
    out.push_str(&results_table(&s.results, Level::Video));
    let _ = writeln!(out, "\n## Runs\n");
    let _ = writeln!(
        out,
        "| variant | seed | best epoch | val frame AUC | train s | test s |\n|---|---:|---:|---:|---:|---:|"
    );
    for r in &s.results {
        let val = r
            .best_val_auc
            .map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {val} | {:.0} | {:.0} |",
            r.variant, r.seed, r.best_epoch, r.train_seconds, r.test_seconds
        );
    }
    let _ = writeln!(out, "\nWall time (s):");
    for (k, v) in &s.wall_seconds {
        let _ = writeln!(out, "- {k}: {v:.0}");
    }
    let _ = writeln!(
        out,
        "\nROC curves (frame level, test split, first seed of each variant): `roc_intra.png`, `roc_cross.png`."
    );
    out
}

/// Writes `summary.json` and `summary.md` into `dir`.
pub fn write_summary(dir: &Path, s: &ExperimentSummary) -> Result<()> {
    let json = serde_json::to_vec_pretty(s)
        .map_err(|e| crate::Error::invalid(format!("summary does not serialise: {e}")))?;
    crate::fsutil::write_atomic(&dir.join("summary.json"), &json)?;
    crate::fsutil::write_atomic(&dir.join("summary.md"), summary_markdown(s).as_bytes())
}
