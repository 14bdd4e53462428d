//! The three networks of MTCNN (Zhang et al., 2016, "Joint Face Detection and Alignment using
//! Multi-task Cascaded Convolutional Networks"), with facenet-pytorch 2.6.0's layer names so
//! its `pnet.pt`, `rnet.pt` and `onet.pt` state dicts map one to one.
//!
//! Inputs are NCHW RGB already normalised as `(x - 127.5) / 128`. Heads return softmax
//! probabilities (column 1: face) and box offsets relative to the input window.
use tch::{nn, Tensor};

fn conv(p: &nn::Path, name: &str, c_in: i64, c_out: i64, k: i64) -> nn::Conv2D {
    nn::conv2d(p / name, c_in, c_out, k, Default::default())
}

/// PReLU with one slope per channel (PyTorch's `nn.PReLU(c)`, key `<name>.weight`).
fn prelu(p: &nn::Path, name: &str, c: i64) -> Tensor {
    (p / name).var("weight", &[c], nn::Init::Const(0.25))
}

fn pool(x: &Tensor, k: i64, s: i64) -> Tensor {
    // Caffe's pooling rounds the output size up; facenet keeps that with `ceil_mode=True`.
    x.max_pool2d([k, k], [s, s], [0, 0], [1, 1], true)
}

/// Flattens the last conv map in (W, H, C) order: the weights come from Caffe via a
/// transposed layout, so facenet permutes `(0, 3, 2, 1)` before its first dense layer.
fn flatten_whc(x: &Tensor) -> Tensor {
    x.permute([0, 3, 2, 1]).contiguous().flatten(1, -1)
}

/// The proposal net: fully convolutional, one 12x12 window per output cell (stride 2).
#[derive(Debug)]
pub struct PNet {
    conv1: nn::Conv2D,
    prelu1: Tensor,
    conv2: nn::Conv2D,
    prelu2: Tensor,
    conv3: nn::Conv2D,
    prelu3: Tensor,
    conv4_1: nn::Conv2D,
    conv4_2: nn::Conv2D,
}

/// P-Net maps: `reg` is `[N, 4, h, w]`, `prob` is `[N, 2, h, w]`.
#[derive(Debug)]
pub struct PNetOut {
    pub reg: Tensor,
    pub prob: Tensor,
}

impl PNet {
    pub fn new(p: &nn::Path) -> PNet {
        PNet {
            conv1: conv(p, "conv1", 3, 10, 3),
            prelu1: prelu(p, "prelu1", 10),
            conv2: conv(p, "conv2", 10, 16, 3),
            prelu2: prelu(p, "prelu2", 16),
            conv3: conv(p, "conv3", 16, 32, 3),
            prelu3: prelu(p, "prelu3", 32),
            conv4_1: conv(p, "conv4_1", 32, 2, 1),
            conv4_2: conv(p, "conv4_2", 32, 4, 1),
        }
    }

    pub fn forward(&self, x: &Tensor) -> PNetOut {
        let x = x.apply(&self.conv1).prelu(&self.prelu1);
        let x = pool(&x, 2, 2);
        let x = x.apply(&self.conv2).prelu(&self.prelu2);
        let x = x.apply(&self.conv3).prelu(&self.prelu3);
        PNetOut {
            prob: x.apply(&self.conv4_1).softmax(1, tch::Kind::Float),
            reg: x.apply(&self.conv4_2),
        }
    }
}

/// The refinement net on 24x24 crops.
#[derive(Debug)]
pub struct RNet {
    conv1: nn::Conv2D,
    prelu1: Tensor,
    conv2: nn::Conv2D,
    prelu2: Tensor,
    conv3: nn::Conv2D,
    prelu3: Tensor,
    dense4: nn::Linear,
    prelu4: Tensor,
    dense5_1: nn::Linear,
    dense5_2: nn::Linear,
}

/// R-Net heads: `reg` `[N, 4]`, `prob` `[N, 2]`.
#[derive(Debug)]
pub struct RNetOut {
    pub reg: Tensor,
    pub prob: Tensor,
}

impl RNet {
    pub fn new(p: &nn::Path) -> RNet {
        RNet {
            conv1: conv(p, "conv1", 3, 28, 3),
            prelu1: prelu(p, "prelu1", 28),
            conv2: conv(p, "conv2", 28, 48, 3),
            prelu2: prelu(p, "prelu2", 48),
            conv3: conv(p, "conv3", 48, 64, 2),
            prelu3: prelu(p, "prelu3", 64),
            dense4: nn::linear(p / "dense4", 576, 128, Default::default()),
            prelu4: prelu(p, "prelu4", 128),
            dense5_1: nn::linear(p / "dense5_1", 128, 2, Default::default()),
            dense5_2: nn::linear(p / "dense5_2", 128, 4, Default::default()),
        }
    }

    pub fn forward(&self, x: &Tensor) -> RNetOut {
        let x = pool(&x.apply(&self.conv1).prelu(&self.prelu1), 3, 2);
        let x = pool(&x.apply(&self.conv2).prelu(&self.prelu2), 3, 2);
        let x = x.apply(&self.conv3).prelu(&self.prelu3);
        let x = flatten_whc(&x).apply(&self.dense4).prelu(&self.prelu4);
        RNetOut {
            prob: x.apply(&self.dense5_1).softmax(1, tch::Kind::Float),
            reg: x.apply(&self.dense5_2),
        }
    }
}

/// The output net on 48x48 crops; also predicts the five landmarks.
#[derive(Debug)]
pub struct ONet {
    conv1: nn::Conv2D,
    prelu1: Tensor,
    conv2: nn::Conv2D,
    prelu2: Tensor,
    conv3: nn::Conv2D,
    prelu3: Tensor,
    conv4: nn::Conv2D,
    prelu4: Tensor,
    dense5: nn::Linear,
    prelu5: Tensor,
    dense6_1: nn::Linear,
    dense6_2: nn::Linear,
    dense6_3: nn::Linear,
}

/// O-Net heads: `reg` `[N, 4]`, `landmarks` `[N, 10]` (five x, then five y, as fractions of
/// the crop), `prob` `[N, 2]`.
#[derive(Debug)]
pub struct ONetOut {
    pub reg: Tensor,
    pub landmarks: Tensor,
    pub prob: Tensor,
}

impl ONet {
    pub fn new(p: &nn::Path) -> ONet {
        ONet {
            conv1: conv(p, "conv1", 3, 32, 3),
            prelu1: prelu(p, "prelu1", 32),
            conv2: conv(p, "conv2", 32, 64, 3),
            prelu2: prelu(p, "prelu2", 64),
            conv3: conv(p, "conv3", 64, 64, 3),
            prelu3: prelu(p, "prelu3", 64),
            conv4: conv(p, "conv4", 64, 128, 2),
            prelu4: prelu(p, "prelu4", 128),
            dense5: nn::linear(p / "dense5", 1152, 256, Default::default()),
            prelu5: prelu(p, "prelu5", 256),
            dense6_1: nn::linear(p / "dense6_1", 256, 2, Default::default()),
            dense6_2: nn::linear(p / "dense6_2", 256, 4, Default::default()),
            dense6_3: nn::linear(p / "dense6_3", 256, 10, Default::default()),
        }
    }

    pub fn forward(&self, x: &Tensor) -> ONetOut {
        let x = pool(&x.apply(&self.conv1).prelu(&self.prelu1), 3, 2);
        let x = pool(&x.apply(&self.conv2).prelu(&self.prelu2), 3, 2);
        let x = pool(&x.apply(&self.conv3).prelu(&self.prelu3), 2, 2);
        let x = x.apply(&self.conv4).prelu(&self.prelu4);
        let x = flatten_whc(&x).apply(&self.dense5).prelu(&self.prelu5);
        ONetOut {
            prob: x.apply(&self.dense6_1).softmax(1, tch::Kind::Float),
            reg: x.apply(&self.dense6_2),
            landmarks: x.apply(&self.dense6_3),
        }
    }
}
