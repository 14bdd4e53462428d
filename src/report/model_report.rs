//! `crossdf report`: everything one trained model shows on one manifest split — ROC
//! curves, metrics per forgery method, `C_bar`'s domain confusion, t-SNE of the features
//! and the attention maps — as files in one folder with a `report.md` that links them.
use super::attention;
use super::confusion::Confusion;
use super::inspect::{self, Inspected};
use super::roc;
use super::tsne;
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, Split, REAL_DOMAIN};
use crate::metrics::{self, LabelledMetrics, Metrics};
use crate::score::ScoreOptions;
use crate::train::pseudo::Domains;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tch::Device;

pub struct ModelReportOptions {
    pub split: Split,
    pub out: PathBuf,
    /// Most points in a t-SNE plot (subsampled evenly per domain).
    pub tsne_max: usize,
    /// Faces per domain in the attention sheet (0: no sheet).
    pub maps_per_domain: usize,
    pub seed: u64,
}

/// Frame-level metrics of one forgery method against all real faces of the split.
#[derive(Debug, Clone, Serialize)]
pub struct DomainMetrics {
    pub domain: String,
    pub metrics: Metrics,
    /// 95% identity-bootstrap intervals of AUC and EER.
    pub ci: Option<crate::interval::Intervals>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub model: String,
    pub variant: String,
    pub backbone: String,
    pub data: String,
    pub levels: [LabelledMetrics; 2],
    /// Frame level, split as `levels`, one entry per fake domain present.
    pub per_domain: Vec<DomainMetrics>,
    pub confusion: Option<Confusion>,
    /// A model trained on pseudo-domains (`--domains cluster`): how C_bar's pseudo-domain of
    /// each fake lines up with its true method, as the adjusted Rand index (the confusion
    /// table above is the same comparison, per cell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pseudo_domain_ari: Option<f64>,
    /// Files written, relative to the report folder.
    pub files: Vec<String>,
    pub skipped: usize,
}

/// ARI of true method against predicted pseudo-domain, over the fakes.
fn pseudo_ari(domains: &[String], pred: &[usize], records: &[metrics::ScoreRecord]) -> f64 {
    let mut names: Vec<&String> = Vec::new();
    let (mut truth, mut given) = (Vec::new(), Vec::new());
    for ((d, &p), r) in domains.iter().zip(pred).zip(records) {
        if r.label != 1 {
            continue;
        }
        let t = names.iter().position(|n| *n == d).unwrap_or_else(|| {
            names.push(d);
            names.len() - 1
        });
        truth.push(t);
        given.push(p);
    }
    crate::train::pseudo::adjusted_rand_index(&truth, &given)
}

/// Metrics of each fake domain's images against the split's reals.
pub fn per_domain(ins: &Inspected) -> Vec<DomainMetrics> {
    let mut names: Vec<&String> = ins.domains.iter().filter(|d| *d != REAL_DOMAIN).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|d| {
            let recs: Vec<metrics::ScoreRecord> = ins
                .records
                .iter()
                .zip(&ins.domains)
                .filter(|(_, dom)| *dom == d || *dom == REAL_DOMAIN)
                .map(|(r, _)| r.clone())
                .collect();
            let (s, l): (Vec<f64>, Vec<u8>) = recs.iter().map(|r| (r.score, r.label)).unzip();
            // A split without reals has no per-method AUC; the table shows what exists.
            Metrics::compute(&s, &l).ok().map(|metrics| DomainMetrics {
                domain: d.clone(),
                metrics,
                ci: crate::interval::intervals(&recs),
            })
        })
        .collect()
}

/// Writes the report of `det` on `manifest`'s split into `opts.out`; `log` gets progress.
pub fn write(
    det: &Detector,
    device: Device,
    manifest: &Manifest,
    score: &ScoreOptions,
    opts: &ModelReportOptions,
    log: &dyn Fn(&str),
) -> Result<ModelReport> {
    let records: Vec<_> = manifest.split(opts.split).collect();
    if records.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no records with split \"{}\"",
            manifest.path.display(),
            opts.split
        )));
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    log(&format!("scoring {} images", records.len()));
    let ins = inspect::inspect(det, device, manifest, &records, score)?;
    for s in &ins.skipped {
        log(&format!("skipped {}: {}", s.path.display(), s.reason));
    }
    let split = opts.split.as_str();
    let rule = det.checkpoint_rule();
    let levels = metrics::frame_and_video(&ins.records, split, &rule)?;
    let mut files = Vec::new();
    let out = |name: &str| opts.out.join(name);

    metrics::write_scores(out("scores.jsonl"), &ins.records)?;
    files.push("scores.jsonl".to_string());
    write_roc(&opts.out, &ins, &levels, det, split)?;
    files.push("roc.png".to_string());

    let confusion = match &ins.domain_pred {
        Some(pred) => {
            let c = Confusion::new(&ins.domains, pred, &det.meta.domains)?;
            crate::fsutil::write_atomic(&out("domain_confusion.csv"), c.to_csv().as_bytes())?;
            let title = format!("C_bar domain confusion, split={split}");
            super::plot::write_png(&out("domain_confusion.png"), &c.render(&title)?)?;
            files.push("domain_confusion.png".to_string());
            Some(c)
        }
        None => None,
    };

    let pseudo = matches!(det.config.domains, Domains::Cluster(_));
    let pseudo_domain_ari = match (&ins.domain_pred, pseudo) {
        (Some(pred), true) => Some(pseudo_ari(&ins.domains, pred, &ins.records)),
        _ => None,
    };
    let keep = tsne::subsample(&ins.domains, opts.tsne_max);
    if keep.len() >= 5 {
        let groups: Vec<String> = keep.iter().map(|&i| ins.domains[i].clone()).collect();
        let fake: Vec<bool> = keep.iter().map(|&i| ins.records[i].label == 1).collect();
        let mut sets = vec![("tsne_df.png", "I_df (what C sees)", &ins.features)];
        if let Some(d) = &ins.dom_features {
            sets.push(("tsne_dom.png", "I_dom (what C_bar sees)", d));
        }
        for (file, what, feats) in sets {
            log(&format!("t-SNE of {what}, {} points", keep.len()));
            let f: Vec<Vec<f32>> = keep.iter().map(|&i| feats[i].clone()).collect();
            let title = format!("t-SNE of {what}, split={split}, {} faces", keep.len());
            tsne::write_png(&out(file), &title, &f, &groups, &fake, opts.seed)?;
            files.push(file.to_string());
        }
        // Pseudo-domains: the same I_dom points coloured by C_bar's pseudo-domain instead.
        if let (Some(d), Some(pred), true) = (&ins.dom_features, &ins.domain_pred, pseudo) {
            let by_pred: Vec<String> = keep
                .iter()
                .map(|&i| det.meta.domains.get(pred[i]).cloned().unwrap_or_default())
                .collect();
            let f: Vec<Vec<f32>> = keep.iter().map(|&i| d[i].clone()).collect();
            let title = format!(
                "t-SNE of I_dom coloured by C_bar's pseudo-domain, split={split}, {} faces",
                keep.len()
            );
            let file = "tsne_dom_pseudo.png";
            tsne::write_png(&out(file), &title, &f, &by_pred, &fake, opts.seed)?;
            files.push(file.to_string());
        }
    }

    if opts.maps_per_domain > 0 && det.model.config.variant.has_a_df() {
        let picked = inspect::pick_per_domain(&records, opts.maps_per_domain);
        let maps = inspect::attention_maps(det, device, manifest, &picked, score)?;
        if !maps.is_empty() {
            super::plot::write_png(&out("attention.png"), &attention::sheet(&maps, 160)?)?;
            files.push("attention.png".to_string());
        }
    }

    let report = ModelReport {
        model: det.path.display().to_string(),
        variant: det.config.model.variant.to_string(),
        backbone: det.config.model.backbone.to_string(),
        data: manifest.path.display().to_string(),
        per_domain: per_domain(&ins),
        levels,
        confusion,
        pseudo_domain_ari,
        files,
        skipped: ins.skipped.len(),
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::json("report.json", e))?;
    crate::fsutil::write_atomic(&out("report.json"), json.as_bytes())?;
    crate::fsutil::write_atomic(&out("report.md"), markdown(&report).as_bytes())?;
    Ok(report)
}

fn write_roc(
    dir: &Path,
    ins: &Inspected,
    levels: &[LabelledMetrics; 2],
    det: &Detector,
    split: &str,
) -> Result<()> {
    let frame_scores: Vec<f64> = ins.records.iter().map(|r| r.score).collect();
    let frame_labels: Vec<u8> = ins.records.iter().map(|r| r.label).collect();
    let videos = metrics::video_level(&ins.records)?;
    let vs: Vec<f64> = videos.iter().map(|v| v.score).collect();
    let vl: Vec<u8> = videos.iter().map(|v| v.label).collect();
    let frame = metrics::roc_curve(&frame_scores, &frame_labels)?;
    let video = metrics::roc_curve(&vs, &vl)?;
    let curves = [
        roc::Curve {
            label: "frame level",
            auc: levels[0].metrics.auc,
            points: &frame,
        },
        roc::Curve {
            label: "video level",
            auc: levels[1].metrics.auc,
            points: &video,
        },
    ];
    let title = format!(
        "{} / {}, split={split}, {}",
        det.config.model.variant,
        det.config.model.backbone,
        det.checkpoint_rule()
    );
    roc::write_png(&dir.join("roc.png"), &title, &curves, 640, 520)
}

/// `report.md`: the numbers with their labels, then the pictures.
pub fn markdown(r: &ModelReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# crossdf report\n");
    let _ = writeln!(
        s,
        "Model `{}` ({} / {}), data `{}`.\n",
        r.model, r.variant, r.backbone, r.data
    );
    for l in &r.levels {
        let _ = writeln!(s, "- {l}");
    }
    if r.skipped > 0 {
        let _ = writeln!(
            s,
            "- {} image(s) could not be read and were skipped",
            r.skipped
        );
    }
    let l = &r.levels[0];
    let _ = writeln!(
        s,
        "\n## Per forgery method (frame level, split={}, checkpoint={}, each method's fakes vs all reals)\n",
        l.split, l.checkpoint_rule
    );
    let _ = writeln!(s, "| method | fakes | AUC [95% CI] | EER [95% CI] | AP |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    for d in &r.per_domain {
        let m = &d.metrics;
        let (ca, ce) = match &d.ci {
            Some(c) => (format!(" {}", c.auc), format!(" {}", c.eer)),
            None => (String::new(), String::new()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.4}{ca} | {:.4}{ce} | {:.4} |",
            d.domain, m.n_fake, m.auc, m.eer, m.ap
        );
    }
    let _ = writeln!(
        s,
        "\nIntervals: 95% percentile bootstrap over identities (video ids up to `@`)."
    );
    if let Some(ari) = r.pseudo_domain_ari {
        let _ = writeln!(
            s,
            "\nPseudo-domains (trained without method labels): adjusted Rand index of C_bar's \
             pseudo-domain against the true method over the split's fakes: {ari:.3} (1: the \
             same grouping; 0: chance). The domain confusion and `tsne_dom_pseudo.png` show it \
             per method."
        );
    }
    let _ = writeln!(s);
    for f in &r.files {
        if f.ends_with(".png") {
            let _ = writeln!(s, "![{f}]({f})\n");
        }
    }
    s
}
