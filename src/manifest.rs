//! The dataset manifest (DESIGN.md section 3): one face image per line, the contract
//! between `prepare`, `train`, `eval` and the reports.
//!
//! Parsing is done by hand on `serde_json::Value` / CSV rows rather than through a
//! derived `Deserialize`, so that every malformed line gets a message that says what
//! is wrong in the user's terms (missing field, bad label value, unknown split).
use crate::error::{Error, Result};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The columns every manifest has, in the order they are written.
pub const FIELDS: [&str; 5] = ["path", "label", "domain", "video", "split"];

/// The domain name of real faces; every other domain is a forgery method.
pub const REAL_DOMAIN: &str = "real";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Split::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown split `{s}` (allowed: train, val, test)"))
    }
}

/// One face image of the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// As written in the manifest; see [`Manifest::resolve`].
    pub path: PathBuf,
    /// 0 real, 1 fake.
    pub label: u8,
    /// `"real"` or the forgery method's name.
    pub domain: String,
    /// Group for video-level metrics.
    pub video: String,
    pub split: Split,
    /// Fields this crate does not know, kept so a rewrite loses nothing.
    pub extra: Map<String, Value>,
}

impl Record {
    pub fn new(
        path: impl Into<PathBuf>,
        label: u8,
        domain: impl Into<String>,
        video: impl Into<String>,
        split: Split,
    ) -> Self {
        Record {
            path: path.into(),
            label,
            domain: domain.into(),
            video: video.into(),
            split,
            extra: Map::new(),
        }
    }

    /// The rules that hold across fields; shared by reading and writing.
    fn check(&self) -> Result<(), String> {
        if self.path.as_os_str().is_empty() {
            return Err("empty path".into());
        }
        if self.video.is_empty() {
            return Err("empty video id".into());
        }
        if self.label > 1 {
            return Err(format!(
                "label must be 0 (real) or 1 (fake), got {}",
                self.label
            ));
        }
        if self.label == 0 && self.domain != REAL_DOMAIN {
            return Err(format!(
                "label 0 (real) needs domain \"{REAL_DOMAIN}\", got \"{}\"",
                self.domain
            ));
        }
        if self.label == 1 && self.domain == REAL_DOMAIN {
            return Err(format!(
                "label 1 (fake) cannot have domain \"{REAL_DOMAIN}\""
            ));
        }
        if self.domain.is_empty() {
            return Err("empty domain (a fake needs its forgery method's name)".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    JsonLines,
    Csv,
}

fn format_of(path: &Path) -> Result<Format> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("jsonl") | Some("json") => Ok(Format::JsonLines),
        Some("csv") => Ok(Format::Csv),
        _ => Err(Error::invalid(format!(
            "{}: unknown manifest format (expected a .jsonl, .json or .csv file)",
            path.display()
        ))),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The file it came from, or where it will be written; relative record paths resolve against its folder.
    pub path: PathBuf,
    pub records: Vec<Record>,
    /// Line of each record in the file it was read from (empty for a manifest built in code).
    lines: Vec<usize>,
}

impl Manifest {
    pub fn new(path: impl Into<PathBuf>, records: Vec<Record>) -> Self {
        Manifest {
            path: path.into(),
            records,
            lines: Vec::new(),
        }
    }

    /// Reads a manifest and stops at the first malformed line.
    pub fn read(path: impl AsRef<Path>) -> Result<Manifest> {
        let (m, mut errors) = parse(path.as_ref(), true)?;
        if errors.is_empty() {
            Ok(m)
        } else {
            Err(errors.swap_remove(0))
        }
    }

    /// Reads every line, returning the good records and one error per bad line, so a
    /// user can fix a file in one pass. The outer error is for an unreadable file.
    pub fn read_all_errors(path: impl AsRef<Path>) -> Result<(Manifest, Vec<Error>)> {
        parse(path.as_ref(), false)
    }

    /// The folder relative record paths are relative to.
    pub fn base_dir(&self) -> &Path {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        }
    }

    pub fn resolve(&self, rec: &Record) -> PathBuf {
        if rec.path.is_absolute() {
            rec.path.clone()
        } else {
            self.base_dir().join(&rec.path)
        }
    }

    /// The 1-based line of record `i`: where it was read from, or else where
    /// [`Manifest::write`] would put it in this manifest's format.
    pub fn line_of(&self, i: usize) -> usize {
        if self.lines.len() == self.records.len() {
            return self.lines[i];
        }
        match format_of(&self.path) {
            Ok(Format::Csv) => i + 2,
            _ => i + 1,
        }
    }

    /// One error per record whose image file does not exist.
    pub fn check_files(&self) -> Vec<Error> {
        self.records
            .par_iter()
            .enumerate()
            .filter_map(|(i, rec)| {
                let file = self.resolve(rec);
                (!file.is_file()).then(|| Error::Line {
                    path: self.path.clone(),
                    line: self.line_of(i),
                    msg: format!("image file not found: {}", file.display()),
                })
            })
            .collect()
    }

    /// Writes JSON Lines, or CSV for a `.csv` path, atomically; record paths are written unchanged.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let format = format_of(path)?;
        for (i, rec) in self.records.iter().enumerate() {
            rec.check()
                .map_err(|m| Error::invalid(format!("record {i} ({}): {m}", rec.path.display())))?;
            if rec.path.to_str().is_none() {
                return Err(Error::invalid(format!(
                    "record {i}: path is not UTF-8: {}",
                    rec.path.display()
                )));
            }
            if let Some(k) = rec.extra.keys().find(|k| FIELDS.contains(&k.as_str())) {
                return Err(Error::invalid(format!(
                    "record {i}: extra field `{k}` shadows a manifest column"
                )));
            }
        }
        match format {
            Format::JsonLines => write_jsonl(path, &self.records),
            Format::Csv => write_csv(path, &self.records),
        }
    }

    pub fn split(&self, split: Split) -> impl Iterator<Item = &Record> + '_ {
        self.records.iter().filter(move |r| r.split == split)
    }

    /// Domain index map: "real" is always 0, then the fake domains sorted by name.
    pub fn domain_names(&self) -> Vec<String> {
        let fakes: BTreeSet<&str> = self
            .records
            .iter()
            .map(|r| r.domain.as_str())
            .filter(|d| *d != REAL_DOMAIN)
            .collect();
        std::iter::once(REAL_DOMAIN)
            .chain(fakes)
            .map(String::from)
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        let mut videos: BTreeMap<Split, BTreeSet<&str>> = BTreeMap::new();
        let mut splits_of: HashMap<&str, BTreeSet<Split>> = HashMap::new();
        for r in &self.records {
            *s.counts
                .entry((r.split, r.label, r.domain.clone()))
                .or_default() += 1;
            *s.images.entry(r.split).or_default() += 1;
            videos.entry(r.split).or_default().insert(&r.video);
            splits_of.entry(&r.video).or_default().insert(r.split);
        }
        s.videos = videos.into_iter().map(|(k, v)| (k, v.len())).collect();
        s.total_images = self.records.len();
        s.total_videos = splits_of.len();
        s.videos_in_several_splits = splits_of.values().filter(|v| v.len() > 1).count();
        s
    }
}

/// Counts of a manifest; `Display` prints an aligned table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Images per (split, label, domain).
    pub counts: BTreeMap<(Split, u8, String), usize>,
    /// Images per split.
    pub images: BTreeMap<Split, usize>,
    /// Distinct videos per split.
    pub videos: BTreeMap<Split, usize>,
    pub total_images: usize,
    pub total_videos: usize,
    /// Videos that appear in more than one split (a leak between train and test).
    pub videos_in_several_splits: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dw = self
            .counts
            .keys()
            .map(|k| k.2.chars().count())
            .chain(std::iter::once("domain".len()))
            .max()
            .unwrap_or(6);
        writeln!(
            f,
            "{:<5}  {:>5}  {:<dw$}  {:>8}",
            "split", "label", "domain", "images"
        )?;
        for ((split, label, domain), n) in &self.counts {
            writeln!(f, "{split:<5}  {label:>5}  {domain:<dw$}  {n:>8}")?;
        }
        writeln!(f)?;
        writeln!(f, "{:<5}  {:>8}  {:>8}", "split", "images", "videos")?;
        for (split, n) in &self.images {
            let v = self.videos.get(split).copied().unwrap_or(0);
            writeln!(f, "{split:<5}  {n:>8}  {v:>8}")?;
        }
        write!(
            f,
            "{:<5}  {:>8}  {:>8}",
            "total", self.total_images, self.total_videos
        )?;
        if self.videos_in_several_splits > 0 {
            write!(
                f,
                "\nwarning: {} video(s) appear in more than one split",
                self.videos_in_several_splits
            )?;
        }
        Ok(())
    }
}

fn parse(path: &Path, stop_first: bool) -> Result<(Manifest, Vec<Error>)> {
    let format = format_of(path)?;
    let mut m = Manifest::new(path, Vec::new());
    let mut errors = Vec::new();
    let mut push = |line: usize, r: Result<Record, String>| match r {
        Ok(rec) => {
            m.records.push(rec);
            m.lines.push(line);
            true
        }
        Err(msg) => {
            errors.push(Error::Line {
                path: path.to_path_buf(),
                line,
                msg,
            });
            !stop_first
        }
    };
    match format {
        Format::JsonLines => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            // Editors on Windows start UTF-8 files with a byte-order mark; JSON has no place for it.
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            for (i, line) in text.lines().enumerate() {
                if !line.trim().is_empty() && !push(i + 1, record_from_json(line)) {
                    break;
                }
            }
        }
        Format::Csv => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let mut lines = LineCounter::new(&bytes);
            let mut rdr = csv::Reader::from_reader(&bytes[..]);
            let header = match rdr.headers() {
                Ok(h) => h.clone(),
                Err(e) => {
                    let line = lines.line_at(e.position().map_or(0, |p| p.byte()));
                    return Err(Error::Line {
                        path: path.to_path_buf(),
                        line,
                        msg: csv_kind_message(e.kind()),
                    });
                }
            };
            let columns = csv_columns(&header).map_err(|msg| Error::Line {
                path: path.to_path_buf(),
                line: lines.line_at(header.position().map_or(0, |p| p.byte())),
                msg,
            })?;
            for row in rdr.records() {
                let (byte, rec) = match row {
                    Ok(row) => (
                        row.position().map_or(0, |p| p.byte()),
                        record_from_csv(&header, &columns, &row),
                    ),
                    Err(e) => (
                        e.position().map_or(0, |p| p.byte()),
                        Err(csv_kind_message(e.kind())),
                    ),
                };
                if !push(lines.line_at(byte), rec) {
                    break;
                }
            }
        }
    }
    Ok((m, errors))
}

fn json_error_message(e: &serde_json::Error) -> String {
    // serde_json appends "at line 1 column N", which reads wrong for one line of a bigger file.
    let mut s = e.to_string();
    if let Some(i) = s.rfind(" at line ") {
        s.truncate(i);
    }
    format!("bad JSON at column {}: {s}", e.column())
}

fn take_string(obj: &mut Map<String, Value>, key: &str) -> Result<String, String> {
    match obj.remove(key) {
        None => Err(format!("missing field `{key}`")),
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(format!("field `{key}` must be a string, got {v}")),
    }
}

fn record_from_json(line: &str) -> Result<Record, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| json_error_message(&e))?;
    let Value::Object(mut obj) = value else {
        return Err(format!("expected a JSON object, got {value}"));
    };
    let path = take_string(&mut obj, "path")?;
    let label = match obj.remove("label") {
        None => return Err("missing field `label`".into()),
        Some(v) => match v.as_u64() {
            Some(l @ (0 | 1)) => l as u8,
            _ => return Err(format!("label must be 0 (real) or 1 (fake), got {v}")),
        },
    };
    let domain = take_string(&mut obj, "domain")?;
    let video = take_string(&mut obj, "video")?;
    let split = take_string(&mut obj, "split")?.parse::<Split>()?;
    let rec = Record {
        path: path.into(),
        label,
        domain,
        video,
        split,
        extra: obj,
    };
    rec.check()?;
    Ok(rec)
}

/// Index of each required column in the CSV header.
fn csv_columns(header: &csv::StringRecord) -> Result<[usize; 5], String> {
    let mut idx = [0; 5];
    for (slot, name) in idx.iter_mut().zip(FIELDS) {
        *slot = header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                format!(
                    "missing column `{name}` in the CSV header (expected {})",
                    FIELDS.join(",")
                )
            })?;
    }
    Ok(idx)
}

fn record_from_csv(
    header: &csv::StringRecord,
    columns: &[usize; 5],
    row: &csv::StringRecord,
) -> Result<Record, String> {
    let get = |i: usize| row.get(columns[i]).unwrap_or("");
    let label = match get(1).trim() {
        "0" => 0,
        "1" => 1,
        other => return Err(format!("label must be 0 (real) or 1 (fake), got `{other}`")),
    };
    let mut extra = Map::new();
    for (i, (name, value)) in header.iter().zip(row.iter()).enumerate() {
        if !columns.contains(&i) {
            extra.insert(name.to_string(), Value::String(value.to_string()));
        }
    }
    let rec = Record {
        path: get(0).into(),
        label,
        domain: get(2).to_string(),
        video: get(3).to_string(),
        split: get(4).trim().parse()?,
        extra,
    };
    rec.check()?;
    Ok(rec)
}

fn csv_kind_message(kind: &csv::ErrorKind) -> String {
    match kind {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} columns as in the header, got {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        other => format!("bad CSV: {other:?}"),
    }
}

/// Maps the byte offsets of CSV records to 1-based line numbers in one pass. The csv
/// crate's line count ignores blank lines and its record offsets point before them,
/// so both would name the wrong line after a blank one.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// Offsets normally only grow; an earlier one restarts the count.
    fn line_at(&mut self, byte: u64) -> usize {
        let mut byte = usize::try_from(byte).map_or(self.bytes.len(), |b| b.min(self.bytes.len()));
        // A record never starts with a line break: those belong to skipped blank lines.
        while byte < self.bytes.len() && matches!(self.bytes[byte], b'\n' | b'\r') {
            byte += 1;
        }
        if byte < self.pos {
            (self.pos, self.line) = (0, 1);
        }
        self.line += self.bytes[self.pos..byte]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = byte;
        self.line
    }
}

#[derive(serde::Serialize)]
struct JsonRecord<'a> {
    path: &'a str,
    label: u8,
    domain: &'a str,
    video: &'a str,
    split: Split,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

fn write_jsonl(path: &Path, records: &[Record]) -> Result<()> {
    crate::fsutil::write_atomic_with(path, |w| {
        for r in records {
            let out = JsonRecord {
                path: r.path.to_str().unwrap_or_default(),
                label: r.label,
                domain: &r.domain,
                video: &r.video,
                split: r.split,
                extra: &r.extra,
            };
            serde_json::to_writer(&mut *w, &out)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

fn write_csv(path: &Path, records: &[Record]) -> Result<()> {
    // Extra columns: the union over records, in sorted order; a record without one writes "".
    let extra: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.extra.keys().map(String::as_str))
        .collect();
    crate::fsutil::write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(FIELDS.iter().copied().chain(extra.iter().copied()))?;
        for r in records {
            let label = r.label.to_string();
            let fixed = [
                r.path.to_str().unwrap_or_default(),
                &label,
                &r.domain,
                &r.video,
                r.split.as_str(),
            ];
            let extras = extra.iter().map(|k| match r.extra.get(*k) {
                None => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            });
            let fields: Vec<String> = fixed.iter().map(|s| s.to_string()).chain(extras).collect();
            out.write_record(&fields)?;
        }
        out.flush()
    })
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
