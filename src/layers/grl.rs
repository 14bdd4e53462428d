//! Gradient reversal layer (Ganin & Lempitsky 2015): identity forward, `-beta * grad` backward.
//! No custom autograd op is needed: the detached part carries the value, the
//! difference `x - x.detach()` is zero forward but carries the scaled gradient.
use tch::Tensor;

pub fn grad_reverse(x: &Tensor, beta: f64) -> Tensor {
    let d = x.detach();
    &d + (x - &d) * (-beta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn forward_is_identity_and_gradient_is_scaled_by_minus_beta() {
        let x = Tensor::from_slice(&[0.5f32, -2.0, 3.25]).set_requires_grad(true);
        let y = grad_reverse(&x, 0.3);
        assert_eq!(Vec::<f32>::try_from(&y).unwrap(), vec![0.5, -2.0, 3.25]);
        // d/dx sum(w * y) = w without the layer; with it, -beta * w.
        let w = Tensor::from_slice(&[1.0f32, 2.0, -4.0]);
        (y * &w).sum(Kind::Float).backward();
        let g = Vec::<f32>::try_from(&x.grad()).unwrap();
        for (gi, wi) in g.iter().zip([1.0f32, 2.0, -4.0]) {
            assert!((gi - (-0.3 * wi)).abs() < 1e-6, "{gi} vs {}", -0.3 * wi);
        }
    }
}
