//! Faces in photos and frames: detections (box, score, five landmarks) and their alignment
//! into fixed-size crops.
pub mod align;
pub mod extract;
pub mod mtcnn;

pub use align::{
    align, align_or_crop, similarity_transform, template, Aligned, Landmarks, Similarity,
};
pub use mtcnn::{Mtcnn, MtcnnConfig};

/// One detected face, in photo pixels (MTCNN's output, also the interim fixture's format).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    /// `[x1, y1, x2, y2]`.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    pub prob: f32,
    /// Left eye, right eye, nose, left and right mouth corners (image left/right).
    pub landmarks: Landmarks,
}

impl Detection {
    /// The shorter side of the box, the usual "face size".
    pub fn min_side(&self) -> f32 {
        (self.bbox[2] - self.bbox[0]).min(self.bbox[3] - self.bbox[1])
    }
}

/// Anything that finds faces in frames: MTCNN in the command line, simpler stand-ins in
/// tests. Batched because a network detector is much faster on a batch of frames.
pub trait FaceDetector: Send + Sync {
    /// One list of detections per frame, in frame order.
    fn detect_batch(&self, frames: &[image::RgbImage]) -> crate::Result<Vec<Vec<Detection>>>;
}

/// MTCNN behind a lock: tch tensors are not `Sync`, and one call at a time keeps libtorch's
/// own threads busy anyway (the prepare jobs still decode, align and write in parallel).
impl FaceDetector for std::sync::Mutex<Mtcnn> {
    fn detect_batch(&self, frames: &[image::RgbImage]) -> crate::Result<Vec<Vec<Detection>>> {
        let mtcnn = self
            .lock()
            .map_err(|_| crate::Error::invalid("MTCNN: a detector call panicked earlier"))?;
        mtcnn.detect_batch(frames)
    }
}
