//! Which detections of a frame become faces: the detector's score and size thresholds, then
//! the largest face (the paper's choice) or all of them. `prepare` and `detect` share it so
//! a face scored at detection time passes the same filter as the faces trained on.
use super::Detection;

/// Which faces of a frame to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Faces {
    /// The largest box (the paper's choice).
    Largest,
    /// Every face that passes the thresholds.
    All,
}

/// The thresholds; defaults are `prepare`'s.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    pub faces: Faces,
    /// Detections below this score are ignored.
    pub min_prob: f32,
    /// Faces whose shorter box side is below this (frame pixels) are "too small".
    pub min_face: f32,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            faces: Faces::Largest,
            min_prob: 0.9,
            min_face: 40.0,
        }
    }
}

/// Why a frame gave no face.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejected {
    NoFace,
    /// Faces were found, the largest (shorter side, pixels) below `min_face`.
    TooSmall {
        largest: f32,
    },
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::NoFace => f.write_str("no face detected"),
            Rejected::TooSmall { largest } => {
                write!(
                    f,
                    "largest face {largest:.0} px, below the minimum face size"
                )
            }
        }
    }
}

fn area(d: &Detection) -> f32 {
    (d.bbox[2] - d.bbox[0]) * (d.bbox[3] - d.bbox[1])
}

impl Selection {
    /// The kept faces (largest first when `All`), or why there is none.
    pub fn select(&self, dets: Vec<Detection>) -> Result<Vec<Detection>, Rejected> {
        let scored: Vec<Detection> = dets
            .into_iter()
            .filter(|d| d.prob >= self.min_prob)
            .collect();
        if scored.is_empty() {
            return Err(Rejected::NoFace);
        }
        let largest = scored.iter().map(Detection::min_side).fold(0.0, f32::max);
        let mut kept: Vec<Detection> = scored
            .into_iter()
            .filter(|d| d.min_side() >= self.min_face)
            .collect();
        if kept.is_empty() {
            return Err(Rejected::TooSmall { largest });
        }
        kept.sort_by(|a, b| area(b).total_cmp(&area(a)));
        if self.faces == Faces::Largest {
            kept.truncate(1);
        }
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(side: f32, prob: f32) -> Detection {
        Detection {
            bbox: [10.0, 10.0, 10.0 + side, 10.0 + side * 1.2],
            prob,
            landmarks: [[0.0; 2]; 5],
        }
    }

    #[test]
    fn keeps_the_largest_confident_face_or_says_why_not() {
        let s = Selection::default();
        let got = s
            .select(vec![det(50.0, 0.99), det(120.0, 0.95), det(300.0, 0.5)])
            .unwrap();
        assert_eq!(got, vec![det(120.0, 0.95)]);
        assert_eq!(s.select(vec![det(300.0, 0.5)]), Err(Rejected::NoFace));
        assert_eq!(
            s.select(vec![det(30.0, 0.99), det(20.0, 0.99)]),
            Err(Rejected::TooSmall { largest: 30.0 })
        );
        let all = Selection {
            faces: Faces::All,
            ..s
        };
        let got = all
            .select(vec![det(50.0, 0.99), det(120.0, 0.95), det(30.0, 0.99)])
            .unwrap();
        assert_eq!(got, vec![det(120.0, 0.95), det(50.0, 0.99)]);
    }
}
