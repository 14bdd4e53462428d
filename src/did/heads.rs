//! Classifier `C` (real/fake logit from GAP(I_df)) and domain classifier `C_bar`
//! (k+1 domain logits from GAP(I_dom)).
use tch::nn::{self, Module};
use tch::Tensor;

const HIDDEN: i64 = 512;

/// Keeps the features' kind, so a float64 model (the reference test) stays float64.
fn gap(x: &Tensor) -> Tensor {
    x.mean_dim([2, 3].as_slice(), false, x.kind())
}

/// What `C` gives for a batch.
#[derive(Debug)]
pub struct ClassifierOutput {
    /// GAP of its input, [N, c]: what t-SNE plots show.
    pub pooled: Tensor,
    /// Real/fake logit, [N].
    pub logit: Tensor,
}

#[derive(Debug)]
pub struct Classifier {
    fc1: nn::Linear,
    fc2: nn::Linear,
    dropout: f64,
}

impl Classifier {
    pub fn new(p: &nn::Path, channels: i64, dropout: f64) -> Self {
        Classifier {
            fc1: nn::linear(p / "fc1", channels, HIDDEN, Default::default()),
            fc2: nn::linear(p / "fc2", HIDDEN, 1, Default::default()),
            dropout,
        }
    }

    pub fn forward_t(&self, x: &Tensor, train: bool) -> ClassifierOutput {
        let pooled = gap(x);
        let logit = self
            .fc1
            .forward(&pooled)
            .relu()
            .dropout(self.dropout, train)
            .apply(&self.fc2)
            .squeeze_dim(1);
        ClassifierOutput { pooled, logit }
    }
}

#[derive(Debug)]
pub struct DomainClassifier {
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl DomainClassifier {
    pub fn new(p: &nn::Path, channels: i64, num_domains: i64) -> Self {
        DomainClassifier {
            fc1: nn::linear(p / "fc1", channels, HIDDEN, Default::default()),
            fc2: nn::linear(p / "fc2", HIDDEN, num_domains, Default::default()),
        }
    }

    /// Domain logits [N, k+1].
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.fc1.forward(&gap(x)).relu().apply(&self.fc2)
    }
}
