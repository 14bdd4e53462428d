//! TensorBoard event files next to the JSON Lines logs (`RUN/tensorboard/`), written by the
//! `syntaxdot-summary` crate: `train/<term>` (loss terms, beta, learning rates) at every log
//! line and `val/<level>_<metric>` (frame / video AUC, EER, AP, ACC) at every epoch.
//!
//! The JSON Lines files are the record; the event file is derived from them. A resumed run
//! rebuilds it from the (truncated) logs, so TensorBoard never shows the steps of the
//! attempt that was cut off.
use crate::error::{Error, Result};
use serde_json::Value;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use syntaxdot_summary::SummaryWriter;

pub struct Board {
    writer: SummaryWriter<BufWriter<File>>,
    dir: PathBuf,
}

impl Board {
    /// A fresh event file in `run/tensorboard/` (older ones are removed), replaying the run's
    /// logs so far.
    pub fn create(run: &Path, log: &Path, epochs: &Path) -> Result<Self> {
        let dir = run.join("tensorboard");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        let writer =
            SummaryWriter::from_prefix(dir.join("crossdf")).map_err(|e| Error::io(&dir, e))?;
        let mut board = Board { writer, dir };
        for (path, is_epoch) in [(log, false), (epochs, true)] {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            for line in text.lines() {
                let v: Value = serde_json::from_str(line)
                    .map_err(|e| Error::json(format!("{}: bad log line", path.display()), e))?;
                if is_epoch {
                    board.epoch(&v)?;
                } else {
                    board.train(&v)?;
                }
            }
        }
        Ok(board)
    }

    fn scalar(&mut self, tag: &str, step: i64, value: f64) -> Result<()> {
        self.writer
            .write_scalar(tag, step, value as f32)
            .map_err(|e| Error::io(&self.dir, e))
    }

    /// One line of `train_log.jsonl`: every number but the step and epoch.
    pub fn train(&mut self, line: &Value) -> Result<()> {
        let step = line["step"].as_i64().unwrap_or(0);
        if let Some(fields) = line.as_object() {
            for (k, v) in fields {
                if let (false, Some(x)) = (k == "step" || k == "epoch", v.as_f64()) {
                    self.scalar(&format!("train/{k}"), step, x)?;
                }
            }
        }
        Ok(())
    }

    /// One line of `epochs.jsonl`: the validation metrics of each level.
    pub fn epoch(&mut self, line: &Value) -> Result<()> {
        let step = line["step"].as_i64().unwrap_or(0);
        for point in line["val"].as_array().into_iter().flatten() {
            let level = point["level"].as_str().unwrap_or("frame");
            for metric in ["auc", "eer", "ap", "acc"] {
                if let Some(x) = point["metrics"][metric].as_f64() {
                    self.scalar(&format!("val/{level}_{metric}"), step, x)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32C (Castagnoli), bit by bit: independent of the crate's table-driven one.
    fn crc32c(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    /// TFRecord's masked CRC.
    fn masked(bytes: &[u8]) -> u32 {
        let c = crc32c(bytes);
        (c.rotate_right(15)).wrapping_add(0xa282_ead8)
    }

    fn varint(b: &[u8], i: &mut usize) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = b[*i];
            *i += 1;
            v |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        v
    }

    /// The (tag, step, value) scalars of one event file, checking every record's framing.
    fn read_scalars(path: &Path) -> Vec<(String, i64, f32)> {
        let data = std::fs::read(path).unwrap();
        let (mut at, mut out) = (0, Vec::new());
        while at < data.len() {
            let len_bytes = &data[at..at + 8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap());
            assert_eq!(crc, masked(len_bytes), "length checksum");
            let rec = &data[at + 12..at + 12 + len];
            let crc = u32::from_le_bytes(data[at + 12 + len..at + 16 + len].try_into().unwrap());
            assert_eq!(crc, masked(rec), "data checksum");
            at += 16 + len;
            // Event: 1 wall_time (double), 2 step (varint), 5 summary (bytes).
            let (mut i, mut step, mut summary) = (0, 0i64, None);
            while i < rec.len() {
                let key = varint(rec, &mut i);
                match (key >> 3, key & 7) {
                    (1, 1) => i += 8,
                    (2, 0) => step = varint(rec, &mut i) as i64,
                    (_, 2) => {
                        let n = varint(rec, &mut i) as usize;
                        if key >> 3 == 5 {
                            summary = Some(&rec[i..i + n]);
                        }
                        i += n;
                    }
                    other => panic!("unexpected field {other:?}"),
                }
            }
            // Summary: 1 value { 1 tag (string), 2 simple_value (float) }.
            if let Some(s) = summary {
                let mut i = 0;
                while i < s.len() {
                    assert_eq!(varint(s, &mut i), (1 << 3) | 2);
                    let n = varint(s, &mut i) as usize;
                    let v = &s[i..i + n];
                    i += n;
                    let (mut j, mut tag, mut value) = (0, String::new(), f32::NAN);
                    while j < v.len() {
                        let key = varint(v, &mut j);
                        match (key >> 3, key & 7) {
                            (1, 2) => {
                                let m = varint(v, &mut j) as usize;
                                tag = String::from_utf8(v[j..j + m].to_vec()).unwrap();
                                j += m;
                            }
                            (2, 5) => {
                                value = f32::from_le_bytes(v[j..j + 4].try_into().unwrap());
                                j += 4;
                            }
                            (_, 2) => {
                                let m = varint(v, &mut j) as usize;
                                j += m;
                            }
                            other => panic!("unexpected value field {other:?}"),
                        }
                    }
                    out.push((tag, step, value));
                }
            }
        }
        out
    }

    fn event_file(run: &Path) -> PathBuf {
        let files: Vec<_> = std::fs::read_dir(run.join("tensorboard"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    }

    #[test]
    fn scalars_round_trip_through_tensorboards_format_and_resume_rebuilds() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        let (log, epochs) = (run.join("train_log.jsonl"), run.join("epochs.jsonl"));
        let mut b = Board::create(run, &log, &epochs).unwrap();
        b.train(&serde_json::json!({"step": 1, "epoch": 1, "loss": 0.75, "beta": 0.0}))
            .unwrap();
        b.epoch(&serde_json::json!({"step": 10, "val": [
            {"level": "frame", "metrics": {"auc": 0.875, "eer": 0.25, "n": 9}},
            {"level": "video", "metrics": {"auc": 0.5}}]}))
            .unwrap();
        drop(b);
        let mut got = read_scalars(&event_file(run));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let want = [
            ("train/beta", 1, 0.0),
            ("train/loss", 1, 0.75),
            ("val/frame_auc", 10, 0.875),
            ("val/frame_eer", 10, 0.25),
            ("val/video_auc", 10, 0.5),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for ((t, s, v), (wt, ws, wv)) in got.iter().zip(want) {
            assert_eq!((t.as_str(), *s, *v), (wt, ws, wv));
        }
        // A resume replays the logs as they stand into one fresh file.
        std::fs::write(&log, "{\"step\": 1, \"epoch\": 1, \"loss\": 0.5}\n").unwrap();
        drop(Board::create(run, &log, &epochs).unwrap());
        assert_eq!(
            read_scalars(&event_file(run)),
            vec![("train/loss".to_string(), 1, 0.5)]
        );
    }
}
