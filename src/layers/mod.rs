//! Generic layers shared by backbones and DID heads.
pub mod grl;
pub mod prelu;

pub use grl::grad_reverse;
pub use prelu::PRelu;

use tch::Tensor;

/// `x` [N, C, H, W] with channels-last strides (same shape and values): libtorch's CPU
/// convolutions and pooling run faster on this layout, and keep it for their outputs.
pub fn channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}
