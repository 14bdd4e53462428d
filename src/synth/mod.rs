//! Synthetic cross-domain deepfake benchmark: real aligned faces turned into forgeries by
//! procedural methods, one forgery domain per method.
pub mod build;
pub mod methods;
pub mod photos;
pub mod sources;

pub use build::{
    assign_splits, build, build_with_progress, SplitCounts, SynthOptions, SynthSummary,
};
pub use photos::{registry_faces, SourceFace};
