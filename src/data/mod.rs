//! From image files to model-ready batches: decoding and gray conversion, training
//! augmentations, and the threaded loaders (class-balanced training stream, in-order evaluation).
pub mod augment;
pub mod image;
pub mod loader;
pub mod online;
mod pipeline;
mod sampler;

pub use augment::{augment, AugmentConfig};
pub use loader::{
    Balance, Batch, EvalBatch, EvalLoader, EvalLoaderConfig, OnError, Sample, SampleCounts,
    Skipped, TrainLoader, TrainLoaderConfig,
};
