//! Binary masks (0 / 255) from landmark polygons, and the random ways the methods deform them.
use image::{GrayImage, Luma};
use imageproc::distance_transform::Norm;
use imageproc::drawing::draw_polygon_mut;
use imageproc::geometric_transformations::{warp, Interpolation, Projection};
use imageproc::morphology::{dilate, erode};
use imageproc::point::Point;

use super::geometry::{ellipse_hull, Frame};

/// A `width` x `height` mask with the polygon filled in.
pub(crate) fn fill(width: u32, height: u32, poly: &[Point<i32>]) -> GrayImage {
    let mut mask = GrayImage::new(width, height);
    if poly.len() >= 3 {
        draw_polygon_mut(&mut mask, poly, Luma([255]));
    }
    mask
}

/// The hull of ellipses around `points`, filled: the face-shaped regions every method uses.
pub(crate) fn hull_mask(
    width: u32,
    height: u32,
    points: &[[f32; 2]],
    rx: f32,
    ry: f32,
    frame: &Frame,
) -> GrayImage {
    fill(width, height, &ellipse_hull(points, rx, ry, frame))
}

/// Dilates by `by` pixels when positive, erodes when negative (Euclidean disk).
pub(crate) fn grow(mask: &GrayImage, by: f32) -> GrayImage {
    let k = by.abs().round().min(255.0) as u8;
    match (k, by > 0.0) {
        (0, _) => mask.clone(),
        (_, true) => dilate(mask, Norm::L2, k),
        (_, false) => erode(mask, Norm::L2, k),
    }
}

/// The mask moved by `projection` (nearest neighbour, so it stays binary).
pub(crate) fn transform(mask: &GrayImage, projection: &Projection) -> GrayImage {
    warp(mask, projection, Interpolation::Nearest, Luma([0]))
}

/// Pixelwise maximum of two masks.
pub(crate) fn union(a: &GrayImage, b: &GrayImage) -> GrayImage {
    let mut out = a.clone();
    for (o, p) in out.pixels_mut().zip(b.pixels()) {
        o.0[0] = o.0[0].max(p.0[0]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> GrayImage {
        let poly = [
            Point::new(10, 10),
            Point::new(19, 10),
            Point::new(19, 19),
            Point::new(10, 19),
        ];
        fill(30, 30, &poly)
    }

    fn count(m: &GrayImage) -> usize {
        m.pixels().filter(|p| p.0[0] == 255).count()
    }

    #[test]
    fn fill_covers_the_polygon_inclusive() {
        let m = square();
        assert_eq!(count(&m), 100);
        assert_eq!(m.get_pixel(10, 10).0[0], 255);
        assert_eq!(m.get_pixel(20, 15).0[0], 0);
    }

    #[test]
    fn grow_dilates_and_erodes() {
        let m = square();
        // 10x10 grown by an L2 disk of radius 1: each side gains a 10-pixel row, corners stay out.
        assert_eq!(count(&grow(&m, 1.0)), 140);
        assert_eq!(count(&grow(&m, -1.0)), 64);
        assert_eq!(grow(&m, 0.2), m);
    }

    #[test]
    fn union_is_max() {
        let a = square();
        let b = transform(&a, &Projection::translate(5.0, 0.0));
        assert_eq!(count(&b), 100);
        assert_eq!(count(&union(&a, &b)), 150);
    }
}
