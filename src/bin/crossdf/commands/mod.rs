//! One file per subcommand: each turns its arguments into library calls.
pub mod bench;
pub mod demo;
pub mod eval;
pub mod faces;
pub mod manifest;
pub mod metrics;
pub mod prepare;
pub mod synth;
pub mod train;
pub mod weights;
