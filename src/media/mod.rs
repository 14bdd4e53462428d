//! Media files that hold faces: videos, decoded with FFmpeg.
pub mod video;

pub use video::{decode_frames, probe, read_frames, DecodeReport, FrameSelection, VideoInfo};
