//! Video frames through FFmpeg's command-line tools: `ffprobe` (JSON) for the size and frame
//! count, `ffmpeg` for raw RGB24 frames over a pipe.
//!
//! Subprocesses rather than libav bindings: no bindgen, no ABI coupling to one FFmpeg
//! release, and a crashing decoder on a broken file cannot take the process down with it.
//! Frame `n` is the `n`-th decoded frame (0-based), as FFmpeg's `select` filter counts them.
use crate::error::{Error, Result};
use image::RgbImage;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// What `ffprobe` says about the first video stream.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Size of the decoded frames (after FFmpeg's automatic rotation).
    pub width: u32,
    pub height: u32,
    /// Number of frames (the container's count, else counted packets).
    pub frames: u64,
    pub fps: Option<f64>,
    pub duration: Option<f64>,
}

/// Which frames of a video to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameSelection {
    /// `n` evenly spaced frames (all frames when the video has fewer).
    Even(usize),
    /// Frames 0, k, 2k, ...
    Every(usize),
}

impl Default for FrameSelection {
    /// The paper's protocol: 32 frames per video.
    fn default() -> Self {
        FrameSelection::Even(32)
    }
}

impl FrameSelection {
    /// Frame indices out of `total`, ascending, without repeats.
    ///
    /// `Even(n)` takes the middle frame of each of `n` equal parts, i.e.
    /// `floor((2i + 1) total / 2n)`: symmetric, and it stays off the first and last frames,
    /// which are often fades.
    pub fn indices(&self, total: u64) -> Vec<u64> {
        match *self {
            FrameSelection::Even(n) if n as u64 >= total => (0..total).collect(),
            FrameSelection::Even(n) => {
                let n = n as u64;
                (0..n).map(|i| (2 * i + 1) * total / (2 * n)).collect()
            }
            FrameSelection::Every(k) => (0..total).step_by(k.max(1)).collect(),
        }
    }
}

fn tool_error(path: &Path, tool: &str, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::invalid(format!(
            "{}: cannot run `{tool}`: it is not installed (scripts/setup.sh installs Debian's \
             ffmpeg; or install FFmpeg so that ffmpeg and ffprobe are on PATH)",
            path.display()
        ))
    } else {
        Error::io(path, e)
    }
}

/// The last non-empty lines of a tool's stderr, for an error message.
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    match lines[start..].join("; ") {
        s if s.is_empty() => "no message".into(),
        s => s,
    }
}

fn ffprobe(path: &Path, extra: &[&str], entries: &str) -> Result<Value> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(extra)
        .args(["-show_entries", entries, "-of", "json"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| tool_error(path, "ffprobe", e))?;
    if !out.status.success() {
        return Err(Error::invalid(format!(
            "{}: not a readable video (ffprobe: {})",
            path.display(),
            tail(&out.stderr)
        )));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::json(
            format!("{}: ffprobe printed unreadable JSON", path.display()),
            e,
        )
    })
}

/// A number that ffprobe prints as a string ("472", "19.69", "24000/1001", "N/A").
fn number(v: Option<&Value>) -> Option<f64> {
    let s = match v? {
        Value::Number(n) => return n.as_f64(),
        Value::String(s) => s,
        _ => return None,
    };
    let x = match s.split_once('/') {
        Some((a, b)) => a.parse::<f64>().ok()? / b.parse::<f64>().ok()?,
        None => s.parse().ok()?,
    };
    x.is_finite().then_some(x)
}

/// Reads the first video stream's size, rotation and frame count.
pub fn probe(path: &Path) -> Result<VideoInfo> {
    if !path.is_file() {
        return Err(Error::invalid(format!(
            "{}: no such video file",
            path.display()
        )));
    }
    let v = ffprobe(
        path,
        &[],
        "stream=width,height,nb_frames,avg_frame_rate,duration:stream_tags=rotate:\
         stream_side_data=rotation:format=duration",
    )?;
    let Some(stream) = v["streams"].as_array().and_then(|s| s.first()) else {
        return Err(Error::invalid(format!(
            "{}: no video stream (ffprobe found none)",
            path.display()
        )));
    };
    let dim = |k: &str| {
        number(stream.get(k))
            .filter(|&x| x >= 1.0)
            .map(|x| x as u32)
    };
    let (Some(mut width), Some(mut height)) = (dim("width"), dim("height")) else {
        return Err(Error::invalid(format!(
            "{}: the video stream has no frame size",
            path.display()
        )));
    };
    // Phones store portrait video as landscape plus a rotation; ffmpeg turns the frames
    // upright when decoding, so the output size swaps for a quarter turn.
    let rotation = stream["side_data_list"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| number(d.get("rotation")))
        .or_else(|| number(stream["tags"].get("rotate")))
        .unwrap_or(0.0);
    if (rotation.abs().round() as i64) % 180 == 90 {
        std::mem::swap(&mut width, &mut height);
    }
    let fps = number(stream.get("avg_frame_rate")).filter(|&f| f > 0.0);
    let duration = number(stream.get("duration")).or_else(|| number(v["format"].get("duration")));
    let frames = match number(stream.get("nb_frames")).filter(|&n| n >= 1.0) {
        Some(n) => n as u64,
        // Matroska/WebM carry no frame count: count the packets (no decoding needed).
        None => {
            let c = ffprobe(path, &["-count_packets"], "stream=nb_read_packets")?;
            let n = c["streams"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|s| number(s.get("nb_read_packets")))
                .unwrap_or(0.0);
            n as u64
        }
    };
    if frames == 0 {
        return Err(Error::invalid(format!(
            "{}: the video stream has no frames",
            path.display()
        )));
    }
    Ok(VideoInfo {
        width,
        height,
        frames,
        fps,
        duration,
    })
}

/// How a decode ended: which wanted frames never came out, and what ffmpeg complained about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodeReport {
    pub decoded: usize,
    pub missing: Vec<u64>,
    /// ffmpeg's last error lines when it exited with a failure (frames before it are kept).
    pub error: Option<String>,
}

/// The `select` filter expression keeping exactly `indices` (ascending).
fn select_expr(indices: &[u64], all: u64) -> Option<String> {
    if indices.len() as u64 >= all {
        return None;
    }
    // Every k-th frame has a short closed form; otherwise one term per frame.
    if indices.len() >= 2 {
        let k = indices[1] - indices[0];
        if indices[0] == 0
            && k > 0
            && indices.windows(2).all(|w| w[1] - w[0] == k)
            && indices.len() as u64 == all.div_ceil(k)
        {
            return Some(format!("not(mod(n\\,{k}))"));
        }
    }
    Some(
        indices
            .iter()
            .map(|i| format!("eq(n\\,{i})"))
            .collect::<Vec<_>>()
            .join("+"),
    )
}

/// Decodes the frames `indices` (ascending) of a probed video and hands each to `each` as it
/// arrives, so only one frame is held at a time. An error from `each` stops ffmpeg and is
/// returned. A video that dies part-way keeps the frames before the damage: see the report.
pub fn decode_frames(
    path: &Path,
    info: &VideoInfo,
    indices: &[u64],
    mut each: impl FnMut(u64, RgbImage) -> Result<()>,
) -> Result<DecodeReport> {
    if indices.is_empty() {
        return Ok(DecodeReport::default());
    }
    if indices.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::invalid("frame indices must be strictly ascending"));
    }
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-hide_banner", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", "-an", "-sn"]);
    // The scale is a no-op for a correct probe; it guarantees the pipe carries frames of
    // exactly the size read below, so a surprise (odd rotation metadata) cannot shear them.
    let size = format!("scale={}:{}", info.width, info.height);
    let filter = match select_expr(indices, info.frames) {
        Some(expr) => format!("select='{expr}',{size}"),
        None => size,
    };
    cmd.args(["-vf", &filter]);
    // Passthrough timing: never duplicate or drop frames to reach a frame rate.
    cmd.args([
        "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| tool_error(path, "ffmpeg", e))?;
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let frame_bytes = info.width as usize * info.height as usize * 3;
    let mut report = DecodeReport::default();
    let mut failure = None;
    for &index in indices {
        let mut buf = vec![0u8; frame_bytes];
        match stdout.read_exact(&mut buf) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                failure = Some(Error::io(path, e));
                break;
            }
        }
        let img = RgbImage::from_raw(info.width, info.height, buf).expect("buffer of frame size");
        report.decoded += 1;
        if let Err(e) = each(index, img) {
            failure = Some(e);
            break;
        }
    }
    if failure.is_some() {
        let _ = child.kill();
    }
    drop(stdout);
    let status = child.wait().map_err(|e| Error::io(path, e))?;
    let err_text = err_reader.join().unwrap_or_default();
    if let Some(e) = failure {
        return Err(e);
    }
    report.missing = indices[report.decoded..].to_vec();
    if !status.success() {
        let msg = tail(&err_text);
        if report.decoded == 0 {
            return Err(Error::invalid(format!(
                "{}: ffmpeg could not decode the video: {msg}",
                path.display()
            )));
        }
        report.error = Some(msg);
    }
    Ok(report)
}

/// Probes and decodes the selected frames of a video into memory (for short clips and tests;
/// [`decode_frames`] streams).
pub fn read_frames(
    path: &Path,
    selection: FrameSelection,
) -> Result<(VideoInfo, Vec<(u64, RgbImage)>)> {
    let info = probe(path)?;
    let mut frames = Vec::new();
    let report = decode_frames(path, &info, &selection.indices(info.frames), |i, img| {
        frames.push((i, img));
        Ok(())
    })?;
    if let Some(e) = report.error {
        return Err(Error::invalid(format!("{}: {e}", path.display())));
    }
    Ok((info, frames))
}

#[cfg(test)]
#[path = "video_tests.rs"]
mod tests;
