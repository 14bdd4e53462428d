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
