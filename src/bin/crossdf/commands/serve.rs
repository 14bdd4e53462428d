//! `crossdf serve`: the detector as an HTTP API with a web page.
use super::detect::options;
use super::FacesArg;
use anyhow::Context;
use crossdf::detector::Detector;
use crossdf::face::mtcnn::Mtcnn;
use crossdf::serve::{serve, Engine, Limits};
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint file, or a run folder (its best.safetensors, else last)
    #[arg(long)]
    model: PathBuf,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// P(fake) at or above this is called fake
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Evenly spaced frames per uploaded video
    #[arg(long, default_value_t = 16)]
    frames: usize,
    #[arg(long, value_enum, default_value = "all")]
    faces: FacesArg,
    #[arg(long, default_value_t = 40.0)]
    min_face: f32,
    #[arg(long, default_value_t = 0.9)]
    min_prob: f32,
    /// Largest upload in MiB, enforced while it streams to disk
    #[arg(long, default_value_t = 512)]
    max_upload_mib: u64,
    /// Requests admitted at once (uploading, waiting or being scored); more get 503
    #[arg(long, default_value_t = 4)]
    queue: usize,
    /// Seconds from a request's arrival to its answer; slower requests get 503
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

pub fn run(a: Args, device: crossdf::device::DeviceSpec) -> anyhow::Result<()> {
    let device = device.resolve()?;
    let engine = Engine {
        detector: Detector::load(&a.model, device)?,
        finder: Box::new(Mutex::new(
            Mtcnn::load(device).context("loading the MTCNN face detector")?,
        )),
        device,
        options: crossdf::detect::DetectOptions {
            heatmaps: true,
            ..options(a.threshold, a.frames, a.faces, a.min_face, a.min_prob)
        },
    };
    let limits = Limits {
        max_upload: a.max_upload_mib << 20,
        queue: a.queue,
        timeout: std::time::Duration::from_secs(a.timeout),
    };
    serve(engine, limits, &a.addr, |addr| {
        eprintln!(
            "crossdf serving {} on http://{addr}/ (API: POST /api/detect)",
            a.model.display()
        )
    })?;
    Ok(())
}
