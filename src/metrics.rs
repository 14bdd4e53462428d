//! Detection metrics (DESIGN.md section 2): AUC (Mann-Whitney, ties count 1/2), EER
//! (interpolated on the ROC), AP, accuracy at 0.5, at frame and video level.
//!
//! Label 1 = fake is the positive class; a higher score means "more fake".
//! Degenerate inputs (empty, one class, non-finite scores) are errors, never a number,
//! so a broken evaluation cannot print a plausible-looking AUC.
use crate::error::{Error, Result};
use crate::interval::{self, Intervals};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

/// Checks the inputs and returns (n_real, n_fake); `what` names the metric in messages.
fn check(scores: &[f64], labels: &[u8], what: &str, need_both: bool) -> Result<(usize, usize)> {
    if scores.len() != labels.len() {
        return Err(Error::invalid(format!(
            "{what}: {} scores but {} labels",
            scores.len(),
            labels.len()
        )));
    }
    if scores.is_empty() {
        return Err(Error::invalid(format!("{what}: no scores (empty input)")));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::invalid(format!(
            "{what}: score at index {i} is {}",
            scores[i]
        )));
    }
    let mut counts = [0usize; 2];
    for (i, &l) in labels.iter().enumerate() {
        match l {
            0 | 1 => counts[l as usize] += 1,
            _ => {
                return Err(Error::invalid(format!(
                    "{what}: label at index {i} is {l}; labels must be 0 (real) or 1 (fake)"
                )))
            }
        }
    }
    let [n_real, n_fake] = counts;
    if need_both && (n_real == 0 || n_fake == 0) {
        let only = if n_real == 0 {
            format!("{n_fake} fake (1)")
        } else {
            format!("{n_real} real (0)")
        };
        return Err(Error::invalid(format!(
            "{what} needs both real (0) and fake (1) labels; got only {only}"
        )));
    }
    Ok((n_real, n_fake))
}

/// Area under the ROC curve: the probability that a random fake scores above a random
/// real, ties counting 1/2 (Mann-Whitney U from average ranks, O(n log n)).
pub fn auc(scores: &[f64], labels: &[u8]) -> Result<f64> {
    let (n_real, n_fake) = check(scores, labels, "AUC", true)?;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the 1-based ranks of the fakes, tied groups sharing their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let fakes = order[i..=j].iter().filter(|&&k| labels[k] == 1).count();
        rank_sum += avg_rank * fakes as f64;
        i = j + 1;
    }
    let nf = n_fake as f64;
    let u = rank_sum - nf * (nf + 1.0) / 2.0;
    Ok(u / (nf * n_real as f64))
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RocPoint {
    pub fpr: f64,
    pub tpr: f64,
    /// Scores `>= threshold` count as fake; the first point's threshold is +inf.
    pub threshold: f64,
}

/// Confusion counts at each distinct score, highest first: (score, true pos, false pos).
fn cumulative_counts(scores: &[f64], labels: &[u8]) -> Vec<(f64, usize, usize)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut out: Vec<(f64, usize, usize)> = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] == 1 {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_group = k + 1 == order.len() || scores[order[k + 1]] != scores[i];
        if last_of_group {
            out.push((scores[i], tp, fp));
        }
    }
    out
}

/// ROC with one point per distinct score, from (0,0) to (1,1).
pub fn roc_curve(scores: &[f64], labels: &[u8]) -> Result<Vec<RocPoint>> {
    let (n_real, n_fake) = check(scores, labels, "ROC", true)?;
    let mut points = vec![RocPoint {
        fpr: 0.0,
        tpr: 0.0,
        threshold: f64::INFINITY,
    }];
    points.extend(
        cumulative_counts(scores, labels)
            .into_iter()
            .map(|(s, tp, fp)| RocPoint {
                fpr: fp as f64 / n_real as f64,
                tpr: tp as f64 / n_fake as f64,
                threshold: s,
            }),
    );
    Ok(points)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Eer {
    /// The rate where false positives and false negatives are equal.
    pub eer: f64,
    /// Score threshold at that point, interpolated like the rate.
    pub threshold: f64,
}

/// Equal error rate: walks the ROC until FPR - FNR changes sign and interpolates
/// linearly between the two bracketing points.
pub fn eer(scores: &[f64], labels: &[u8]) -> Result<Eer> {
    check(scores, labels, "EER", true)?;
    let roc = roc_curve(scores, labels)?;
    // d = FPR - FNR rises from -1 at (0,0) to +1 at (1,1).
    let d = |p: &RocPoint| p.fpr - (1.0 - p.tpr);
    let i = roc
        .iter()
        .position(|p| d(p) >= 0.0)
        .expect("the ROC ends at (1,1) where FPR - FNR = 1");
    let (a, b) = (roc[i - 1], roc[i]);
    if d(&b) == 0.0 {
        return Ok(Eer {
            eer: b.fpr,
            threshold: b.threshold,
        });
    }
    let t = -d(&a) / (d(&b) - d(&a));
    // Against the (0,0) start there is no finite threshold to interpolate from: the
    // top score group alone crosses, so its score is the threshold.
    let threshold = if a.threshold.is_finite() {
        a.threshold + t * (b.threshold - a.threshold)
    } else {
        b.threshold
    };
    Ok(Eer {
        eer: a.fpr + t * (b.fpr - a.fpr),
        threshold,
    })
}

/// Average precision as scikit-learn defines it: sum over distinct thresholds of
/// (R_n - R_{n-1}) P_n, tied scores forming one threshold (no interpolation).
pub fn average_precision(scores: &[f64], labels: &[u8]) -> Result<f64> {
    let (_, n_fake) = check(scores, labels, "AP", true)?;
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for (_, tp, fp) in cumulative_counts(scores, labels) {
        let recall = tp as f64 / n_fake as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    Ok(ap)
}

/// Fraction right when a score `>= 0.5` means fake.
pub fn accuracy(scores: &[f64], labels: &[u8]) -> Result<f64> {
    check(scores, labels, "accuracy", false)?;
    let right = scores
        .iter()
        .zip(labels)
        .filter(|(&s, &l)| (s >= 0.5) == (l == 1))
        .count();
    Ok(right as f64 / scores.len() as f64)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub n: usize,
    pub n_real: usize,
    pub n_fake: usize,
    pub auc: f64,
    pub eer: f64,
    pub eer_threshold: f64,
    pub ap: f64,
    pub acc: f64,
}

impl Metrics {
    pub fn compute(scores: &[f64], labels: &[u8]) -> Result<Metrics> {
        let (n_real, n_fake) = check(scores, labels, "AUC", true)?;
        let e = eer(scores, labels)?;
        Ok(Metrics {
            n: scores.len(),
            n_real,
            n_fake,
            auc: auc(scores, labels)?,
            eer: e.eer,
            eer_threshold: e.threshold,
            ap: average_precision(scores, labels)?,
            acc: accuracy(scores, labels)?,
        })
    }
}

/// One scored face: what `eval`/`detect` write and `metrics` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub score: f64,
    pub label: u8,
    pub video: String,
}

/// Mean frame score of one video.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoScore {
    pub video: String,
    pub score: f64,
    pub label: u8,
    pub frames: usize,
}

/// Averages frame scores per video, videos in order of first appearance. A video whose
/// frames disagree on the label is an error: its mean would mix two classes.
pub fn video_level(records: &[ScoreRecord]) -> Result<Vec<VideoScore>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<VideoScore> = Vec::new();
    let mut sums: Vec<f64> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if !r.score.is_finite() {
            return Err(Error::invalid(format!("score at index {i} is {}", r.score)));
        }
        if r.label > 1 {
            return Err(Error::invalid(format!(
                "label at index {i} is {}; labels must be 0 (real) or 1 (fake)",
                r.label
            )));
        }
        let k = *index.entry(&r.video).or_insert_with(|| {
            out.push(VideoScore {
                video: r.video.clone(),
                score: 0.0,
                label: r.label,
                frames: 0,
            });
            sums.push(0.0);
            out.len() - 1
        });
        if out[k].label != r.label {
            return Err(Error::invalid(format!(
                "video `{}` has frames with both labels 0 and 1",
                r.video
            )));
        }
        sums[k] += r.score;
        out[k].frames += 1;
    }
    for (v, s) in out.iter_mut().zip(sums) {
        v.score = s / v.frames as f64;
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Frame,
    Video,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Level::Frame => "frame-level",
            Level::Video => "video-level",
        })
    }
}

/// Metrics that say what they were measured on, so a report can never mix levels up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledMetrics {
    pub level: Level,
    pub split: String,
    /// How the checkpoint was chosen, e.g. "best(val AUC)".
    pub checkpoint_rule: String,
    pub metrics: Metrics,
    /// 95% intervals of AUC and EER from a bootstrap over identities ([`crate::interval`]);
    /// None where fewer than two identities were scored.
    pub ci: Option<Intervals>,
}

impl fmt::Display for LabelledMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.metrics;
        let (auc_ci, eer_ci) = match &self.ci {
            Some(c) => (format!(" {}", c.auc), format!(" {}", c.eer)),
            None => (String::new(), String::new()),
        };
        write!(
            f,
            "{}  split={}  checkpoint={}  n={} (real {}, fake {})  AUC={:.4}{auc_ci}  EER={:.4}{eer_ci}  AP={:.4}  ACC={:.4}",
            self.level, self.split, self.checkpoint_rule, m.n, m.n_real, m.n_fake, m.auc, m.eer, m.ap, m.acc
        )?;
        if let Some(c) = &self.ci {
            write!(
                f,
                "  (95% CI, bootstrap over {} identities)",
                c.auc.clusters
            )?;
        }
        Ok(())
    }
}

/// Frame-level and video-level metrics of one scores table, in that order, each with its
/// identity-bootstrap intervals.
pub fn frame_and_video(
    records: &[ScoreRecord],
    split: &str,
    checkpoint_rule: &str,
) -> Result<[LabelledMetrics; 2]> {
    levels(records, split, checkpoint_rule, true)
}

/// As [`frame_and_video`] without the intervals: for choosing a checkpoint every epoch,
/// where only the point estimate is compared.
pub fn frame_and_video_points(
    records: &[ScoreRecord],
    split: &str,
    checkpoint_rule: &str,
) -> Result<[LabelledMetrics; 2]> {
    levels(records, split, checkpoint_rule, false)
}

fn levels(
    records: &[ScoreRecord],
    split: &str,
    checkpoint_rule: &str,
    with_ci: bool,
) -> Result<[LabelledMetrics; 2]> {
    let label = |level, metrics, ci| LabelledMetrics {
        level,
        split: split.to_string(),
        checkpoint_rule: checkpoint_rule.to_string(),
        metrics,
        ci,
    };
    let scores: Vec<f64> = records.iter().map(|r| r.score).collect();
    let labels: Vec<u8> = records.iter().map(|r| r.label).collect();
    let frame = Metrics::compute(&scores, &labels)?;
    let videos = video_level(records)?;
    let vs: Vec<f64> = videos.iter().map(|v| v.score).collect();
    let vl: Vec<u8> = videos.iter().map(|v| v.label).collect();
    let video =
        Metrics::compute(&vs, &vl).map_err(|e| Error::invalid(format!("video level: {e}")))?;
    let video_records: Vec<ScoreRecord> = videos
        .into_iter()
        .map(|v| ScoreRecord {
            path: None,
            score: v.score,
            label: v.label,
            video: v.video,
        })
        .collect();
    let ci = |r: &[ScoreRecord]| with_ci.then(|| interval::intervals(r)).flatten();
    Ok([
        label(Level::Frame, frame, ci(records)),
        label(Level::Video, video, ci(&video_records)),
    ])
}

/// Reads JSON Lines `{"score": s, "label": 0|1, "video": "id"}`; other fields are
/// ignored except `path`. Without `video` the line number is the id (one image, one group).
pub fn read_scores(path: impl AsRef<Path>) -> Result<Vec<ScoreRecord>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    // A UTF-8 byte-order mark before the first line is not part of the JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec = score_from_json(line, i + 1).map_err(|msg| Error::Line {
            path: path.to_path_buf(),
            line: i + 1,
            msg,
        })?;
        out.push(rec);
    }
    Ok(out)
}

fn score_from_json(line: &str, line_no: usize) -> Result<ScoreRecord, String> {
    use serde_json::Value;
    let value: Value = serde_json::from_str(line).map_err(|e| {
        let mut s = e.to_string();
        if let Some(i) = s.rfind(" at line ") {
            s.truncate(i);
        }
        format!("bad JSON at column {}: {s}", e.column())
    })?;
    let Value::Object(obj) = value else {
        return Err(format!("expected a JSON object, got {value}"));
    };
    let score = match obj.get("score") {
        None => return Err("missing field `score`".into()),
        Some(v) => v
            .as_f64()
            .filter(|s| s.is_finite())
            .ok_or_else(|| format!("score must be a finite number, got {v}"))?,
    };
    let label = match obj.get("label") {
        None => return Err("missing field `label`".into()),
        Some(v) => match v.as_u64() {
            Some(l @ (0 | 1)) => l as u8,
            _ => return Err(format!("label must be 0 (real) or 1 (fake), got {v}")),
        },
    };
    let video = match obj.get("video") {
        None | Some(Value::Null) => line_no.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(v) => return Err(format!("field `video` must be a non-empty string, got {v}")),
    };
    let path = match obj.get("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => return Err(format!("field `path` must be a string, got {v}")),
    };
    Ok(ScoreRecord {
        path,
        score,
        label,
        video,
    })
}

/// Writes JSON Lines that [`read_scores`] reads back exactly, atomically.
pub fn write_scores(path: impl AsRef<Path>, records: &[ScoreRecord]) -> Result<()> {
    if let Some(i) = records.iter().position(|r| !r.score.is_finite()) {
        return Err(Error::invalid(format!(
            "score at index {i} is {}; JSON cannot hold it",
            records[i].score
        )));
    }
    crate::fsutil::write_atomic_with(path.as_ref(), |w| {
        for r in records {
            serde_json::to_writer(&mut *w, r)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
