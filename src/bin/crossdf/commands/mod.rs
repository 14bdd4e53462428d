//! One file per subcommand: each turns its arguments into library calls.
pub mod bench;
pub mod demo;
pub mod detect;
pub mod eval;
pub mod faces;
pub mod manifest;
pub mod metrics;
pub mod prepare;
pub mod report;
pub mod serve;
pub mod synth;
pub mod train;
pub mod weights;
pub mod weights_check;

/// `--faces`: which faces of a frame to keep (shared by prepare, faces, detect, serve).
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FacesArg {
    /// The largest face only
    Largest,
    /// Every face found
    All,
}

impl From<FacesArg> for crossdf::face::select::Faces {
    fn from(a: FacesArg) -> Self {
        match a {
            FacesArg::Largest => crossdf::face::select::Faces::Largest,
            FacesArg::All => crossdf::face::select::Faces::All,
        }
    }
}

/// A checkpoint scored on one split of a manifest (`eval`, `report`).
#[derive(clap::Args)]
pub struct ModelOnData {
    /// Checkpoint file, or a run folder (its best.safetensors, else last)
    #[arg(long)]
    pub model: std::path::PathBuf,
    /// Manifest of the faces to score
    #[arg(long)]
    pub data: std::path::PathBuf,
    /// train | val | test
    #[arg(long, default_value = "test")]
    pub split: crossdf::manifest::Split,
    /// Faces per forward pass (CPU scoring is fastest near 16; a GPU wants more)
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Also score each face's mirror image and average (default: as the model was trained,
    /// its data.eval_flip)
    #[arg(long)]
    pub flip: Option<bool>,
}

impl ModelOnData {
    /// The device, the loaded checkpoint and the manifest.
    pub fn load(
        &self,
        device: crossdf::device::DeviceSpec,
    ) -> anyhow::Result<(
        tch::Device,
        crossdf::detector::Detector,
        crossdf::manifest::Manifest,
    )> {
        let device = device.resolve()?;
        let det = crossdf::detector::Detector::load(&self.model, device)?;
        let manifest = crossdf::manifest::Manifest::read(&self.data)?;
        Ok((device, det, manifest))
    }

    pub fn score_options(
        &self,
        det: &crossdf::detector::Detector,
        on_error: crossdf::data::loader::OnError,
    ) -> crossdf::score::ScoreOptions {
        crossdf::score::ScoreOptions {
            size: det.config.model.size as u32,
            batch: self.batch,
            workers: self.workers,
            on_error,
            flip: self.flip.unwrap_or(det.config.data.eval_flip),
        }
    }
}

/// `--on-error skip|fail`, shared by the commands that read many images.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OnErrorArg {
    Skip,
    Fail,
}

impl From<OnErrorArg> for crossdf::data::loader::OnError {
    fn from(a: OnErrorArg) -> Self {
        match a {
            OnErrorArg::Skip => crossdf::data::loader::OnError::Skip,
            OnErrorArg::Fail => crossdf::data::loader::OnError::Fail,
        }
    }
}
