//! Deep Information Decomposition (Yang et al., CrossDF): the model, its parts and its losses.
pub mod attention;
pub mod heads;
pub mod loss;
pub mod mi;
pub mod model;

pub use loss::{LossConfig, LossTerms};
pub use mi::MiArch;
pub use model::{DidModel, DidOutput, ModelConfig, Variant};
