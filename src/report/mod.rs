//! Reports of an experiment: the results table (as the paper's Tables I and III),
//! `summary.json` with every number labelled, `summary.md`, and ROC plots ([`roc`]).
#[cfg(test)]
mod analysis_tests;
pub mod attention;
pub mod confusion;
pub mod inspect;
pub mod model_report;
pub mod plot;
pub mod roc;
pub mod tsne;

use crate::error::Result;
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
    pub variant: String,
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

#[derive(Debug, Clone, Serialize)]
pub struct ExperimentSummary {
    pub title: String,
    pub seed: u64,
    pub device: String,
    pub seen_methods: Vec<String>,
    pub held_out_methods: Vec<String>,
    pub checkpoint_rule: String,
    pub counts: Vec<SetCounts>,
    pub results: Vec<VariantResult>,
    /// Seconds spent per phase ("benchmark", "total", ...).
    pub wall_seconds: BTreeMap<String, f64>,
    /// Free-form lines on the setup (backbone, steps, why), printed under the table.
    pub notes: Vec<String>,
}

/// A Markdown table of `level` metrics: rows = variants, columns = intra / cross AUC and
/// EER. Every header names level, split and checkpoint so a copied column stays labelled.
pub fn results_table(rows: &[VariantResult], level: Level) -> String {
    let pick = |r: &VariantResult, cross: bool| {
        let pair = if cross { &r.cross } else { &r.intra };
        pair.iter()
            .find(|m| m.level == level)
            .map(|m| (m.split.clone(), m.metrics))
    };
    let split = rows
        .first()
        .and_then(|r| pick(r, false))
        .map(|(s, _)| s)
        .unwrap_or_else(|| "test".into());
    let lvl = match level {
        Level::Frame => "frame",
        Level::Video => "video",
    };
    let tag = format!("{lvl}, {split}, {CHECKPOINT_RULE}");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| variant | intra AUC ({tag}) | intra EER ({tag}) | cross AUC ({tag}) | cross EER ({tag}) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    for r in rows {
        let cell = |cross: bool| match pick(r, cross) {
            Some((_, m)) => (format!("{:.4}", m.auc), format!("{:.4}", m.eer)),
            None => ("-".into(), "-".into()),
        };
        let (ia, ie) = cell(false);
        let (ca, ce) = cell(true);
        let _ = writeln!(s, "| {} | {ia} | {ie} | {ca} | {ce} |", r.variant);
    }
    s
}

/// One honest sentence comparing `a` with `b` on cross-domain frame AUC, or `None` when
/// either variant is missing.
pub fn compare_cross_auc(rows: &[VariantResult], a: &str, b: &str) -> Option<String> {
    let auc = |name: &str| {
        rows.iter()
            .find(|r| r.variant == name)
            .map(|r| r.cross[0].metrics.auc)
    };
    let (x, y) = (auc(a)?, auc(b)?);
    let d = x - y;
    let verdict = if d > 0.0 {
        format!("{a} beats {b} by {d:.4}")
    } else if d < 0.0 {
        format!("{a} does NOT beat {b}: it is {:.4} lower", -d)
    } else {
        format!("{a} and {b} are equal")
    };
    Some(format!(
        "cross-domain frame AUC (test, {CHECKPOINT_RULE}): {a} {x:.4} vs {b} {y:.4}: {verdict}"
    ))
}

/// The whole `summary.md`: setup, counts, the frame- and video-level tables, the comparison.
pub fn summary_markdown(s: &ExperimentSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", s.title);
    let _ = writeln!(
        out,
        "Seed {}, device {}. Trained on real + {}; held out (never trained or validated on): {}.",
        s.seed,
        s.device,
        s.seen_methods.join(", "),
        s.held_out_methods.join(", ")
    );
    let _ = writeln!(
        out,
        "Checkpoint: {} of each run (validation = val split of real + seen methods); \
         intra = test split of real + seen methods, cross = test split of real + held-out methods.\n",
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
    let _ = writeln!(out, "\n## Results, frame level\n");
    out.push_str(&results_table(&s.results, Level::Frame));
    let _ = writeln!(
        out,
        "\n## Results, video level (mean frame score per method and identity)\n"
    );
    out.push_str(&results_table(&s.results, Level::Video));
    out.push('\n');
    if let Some(line) = compare_cross_auc(&s.results, "did", "bce") {
        let _ = writeln!(out, "{line}\n");
    }
    let _ = writeln!(out, "## Runs\n");
    let _ = writeln!(
        out,
        "| variant | best epoch | val frame AUC | train s | test s |\n|---|---:|---:|---:|---:|"
    );
    for r in &s.results {
        let val = r
            .best_val_auc
            .map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
        let _ = writeln!(
            out,
            "| {} | {} | {val} | {:.0} | {:.0} |",
            r.variant, r.best_epoch, r.train_seconds, r.test_seconds
        );
    }
    let _ = writeln!(out, "\nWall time (s):");
    for (k, v) in &s.wall_seconds {
        let _ = writeln!(out, "- {k}: {v:.0}");
    }
    let _ = writeln!(
        out,
        "\nROC curves (frame level, test split): `roc_intra.png`, `roc_cross.png`."
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

#[cfg(test)]
mod tests;
