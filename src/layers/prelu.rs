//! PReLU with one learned slope, as `torch.nn.PReLU()` (weight init 0.25).
use tch::{nn, Tensor};

#[derive(Debug)]
pub struct PRelu {
    weight: Tensor,
}

impl PRelu {
    pub fn new(p: nn::Path) -> Self {
        PRelu {
            weight: p.var("weight", &[1], nn::Init::Const(0.25)),
        }
    }
}

impl nn::Module for PRelu {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.prelu(&self.weight)
    }
}
