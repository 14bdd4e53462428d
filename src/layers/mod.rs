//! Generic layers shared by backbones and DID heads.
pub mod grl;
pub mod prelu;

pub use grl::grad_reverse;
pub use prelu::PRelu;
