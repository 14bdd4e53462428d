//! crossdf: Deep Information Decomposition (DID) for cross-domain deepfake detection.
//!
//! Data flows one way: media -> faces -> manifest -> loader -> model -> scores -> metrics -> reports.

pub mod error;
pub mod fsutil;

pub use error::{Error, Result};
