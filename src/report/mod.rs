//! Reports of an experiment: the results table (as the paper's Tables I and III),
//! `summary.json` with every number labelled, `summary.md`, and ROC plots ([`roc`]).
#[cfg(test)]
mod analysis_tests;
pub mod attention;
pub mod confusion;
pub mod inspect;
pub mod model_report;
pub mod plot;
pub mod roc;
pub mod tsne;

mod experiment;

pub use experiment::*;

#[cfg(test)]
mod tests;
