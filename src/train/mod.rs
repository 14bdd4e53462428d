//! Training: configuration, optimiser, beta schedule, checkpoints, the loop.
pub mod checkpoint;
pub mod config;
pub mod config_doc;
pub mod ema;
pub mod optim;
pub mod pseudo;
pub mod schedule;
pub mod tensorboard;
pub mod trainer;

pub use config::TrainConfig;
pub use trainer::{train, TrainOptions, TrainSummary};
