//! crossdf: Deep Information Decomposition (DID) for cross-domain deepfake detection.
//!
//! Data flows one way: media -> faces -> manifest -> loader -> model -> scores -> metrics -> reports.

pub mod alloc;
pub mod assets;
pub mod data;
pub mod error;
pub mod fsutil;
pub mod interval;
pub mod manifest;
pub mod media;
pub mod metrics;
pub mod prepare;

pub use error::{Error, Result};
pub mod backbone;
pub mod bench;
pub mod demo;
pub mod detect;
pub mod detector;
pub mod device;
pub mod did;
pub mod face;
pub mod heatmap;
pub mod layers;
pub mod report;
pub mod score;
pub mod serve;
pub mod synth;
pub mod train;
pub mod weights;
