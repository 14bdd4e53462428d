//! A contact sheet for eyeballing forgeries: one row per (real, fake) pair, with a third
//! column showing the luma difference, since the detector sees only luma.
use image::imageops::{overlay, resize, FilterType};
use image::{Rgb, RgbImage};

use super::blend::luma;

/// Gap between cells, in pixels.
const GAP: u32 = 2;
/// Luma differences are amplified by this much in the third column.
const DIFF_GAIN: f32 = 4.0;

/// Rows of `real | fake | 4 x |luma(fake) - luma(real)|`, each cell resized to `cell` x `cell`,
/// on a dark background with 2-pixel gaps. Pairs of different sizes get a blank difference cell.
pub fn contact_sheet(rows: &[(RgbImage, RgbImage)], cell: u32) -> RgbImage {
    let cell = cell.max(1);
    let width = 3 * cell + 4 * GAP;
    let height = rows.len() as u32 * (cell + GAP) + GAP;
    let mut sheet = RgbImage::from_pixel(width, height, Rgb([32, 32, 32]));
    for (r, (real, fake)) in rows.iter().enumerate() {
        let y = (GAP + r as u32 * (cell + GAP)) as i64;
        let diff = if real.dimensions() == fake.dimensions() {
            RgbImage::from_fn(real.width(), real.height(), |x, y| {
                let v = (luma(fake.get_pixel(x, y)) - luma(real.get_pixel(x, y))).abs() * DIFF_GAIN;
                let v = v.round().min(255.0) as u8;
                Rgb([v, v, v])
            })
        } else {
            RgbImage::new(1, 1)
        };
        for (c, img) in [real, fake, &diff].into_iter().enumerate() {
            let x = (GAP + c as u32 * (cell + GAP)) as i64;
            overlay(
                &mut sheet,
                &resize(img, cell, cell, FilterType::Triangle),
                x,
                y,
            );
        }
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_lays_out_cells_and_the_difference() {
        let real = RgbImage::from_pixel(8, 8, Rgb([100, 100, 100]));
        let fake = RgbImage::from_pixel(8, 8, Rgb([110, 110, 110]));
        let sheet = contact_sheet(&[(real.clone(), fake.clone()), (real, fake)], 4);
        assert_eq!(sheet.dimensions(), (3 * 4 + 4 * GAP, 2 * (4 + GAP) + GAP));
        let cell = |col: u32, row: u32| {
            *sheet.get_pixel(GAP + col * (4 + GAP) + 1, GAP + row * (4 + GAP) + 1)
        };
        assert_eq!(cell(0, 1), Rgb([100, 100, 100]));
        assert_eq!(cell(1, 0), Rgb([110, 110, 110]));
        assert_eq!(cell(2, 1), Rgb([40, 40, 40]));
        assert_eq!(*sheet.get_pixel(0, 0), Rgb([32, 32, 32]));
    }
}
