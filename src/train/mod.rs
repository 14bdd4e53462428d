//! Training: configuration, optimiser, beta schedule, checkpoints, the loop.
pub mod checkpoint;
pub mod config;
pub mod optim;
pub mod schedule;
pub mod trainer;

pub use config::TrainConfig;
pub use trainer::{train, TrainOptions, TrainSummary};
