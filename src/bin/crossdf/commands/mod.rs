//! One file per subcommand: each turns its arguments into library calls.
pub mod bench;
pub mod demo;
pub mod eval;
pub mod manifest;
pub mod metrics;
pub mod synth;
pub mod train;
pub mod weights;
pub mod weights_check;
