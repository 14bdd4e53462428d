//! Domain confusion of `C_bar`: rows are the manifest's domains of the test images, columns
//! the domain `C_bar` picked among those it was trained on. A held-out method has a row but
//! no column, so the table shows which seen method it is mistaken for.
use super::plot::draw_err;
use crate::error::{Error, Result};
use image::RgbImage;
use plotters::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// `counts[r][c]`: images of domain `rows[r]` that `C_bar` called `cols[c]`.
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    /// `truth[i]` is a domain name, `pred[i]` an index into `model_domains`.
    pub fn new(truth: &[String], pred: &[usize], model_domains: &[String]) -> Result<Self> {
        if truth.len() != pred.len() {
            return Err(Error::invalid(format!(
                "{} domain labels but {} predictions",
                truth.len(),
                pred.len()
            )));
        }
        let mut rows: Vec<String> = model_domains.to_vec();
        for t in truth {
            if !rows.contains(t) {
                rows.push(t.clone());
            }
        }
        let mut counts = vec![vec![0; model_domains.len()]; rows.len()];
        for (t, &p) in truth.iter().zip(pred) {
            if p >= model_domains.len() {
                return Err(Error::invalid(format!(
                    "predicted domain {p} is outside the model's {} domains",
                    model_domains.len()
                )));
            }
            let r = rows.iter().position(|x| x == t).expect("row added above");
            counts[r][p] += 1;
        }
        // Rows of trained domains absent from this split carry no information.
        let keep: Vec<bool> = counts.iter().map(|c| c.iter().sum::<usize>() > 0).collect();
        let mut k = keep.iter();
        rows.retain(|_| *k.next().unwrap());
        let mut k = keep.iter();
        counts.retain(|_| *k.next().unwrap());
        Ok(Confusion {
            rows,
            cols: model_domains.to_vec(),
            counts,
        })
    }

    /// Share of each row's images per column.
    pub fn row_fractions(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|r| {
                let n = r.iter().sum::<usize>().max(1) as f64;
                r.iter().map(|&c| c as f64 / n).collect()
            })
            .collect()
    }

    pub fn to_csv(&self) -> String {
        let mut s = String::from("true\\predicted");
        for c in &self.cols {
            let _ = write!(s, ",{c}");
        }
        s.push('\n');
        for (r, row) in self.rows.iter().zip(&self.counts) {
            s.push_str(r);
            for c in row {
                let _ = write!(s, ",{c}");
            }
            s.push('\n');
        }
        s
    }

    /// A heat map of row fractions with the counts written in each cell.
    pub fn render(&self, title: &str) -> Result<RgbImage> {
        let cell = 118u32;
        let (left, top) = (150u32, 60u32);
        let w = left + cell * self.cols.len() as u32 + 20;
        let h = top + cell * self.rows.len() as u32 + 50;
        let frac = self.row_fractions();
        super::plot::render(w, h, |root| {
            let font = ("sans-serif", 14).into_font();
            root.draw(&Text::new(title, (10, 10), ("sans-serif", 18)))
                .map_err(draw_err)?;
            let cmap = plotters::style::colors::colormaps::ViridisRGB;
            for (ci, c) in self.cols.iter().enumerate() {
                let x = (left + cell * ci as u32) as i32;
                root.draw(&Text::new(
                    c.as_str(),
                    (x + 4, top as i32 - 20),
                    font.clone(),
                ))
                .map_err(draw_err)?;
            }
            for (ri, r) in self.rows.iter().enumerate() {
                let y = (top + cell * ri as u32) as i32;
                root.draw(&Text::new(
                    r.as_str(),
                    (10, y + cell as i32 / 2 - 7),
                    font.clone(),
                ))
                .map_err(draw_err)?;
                for (ci, &f) in frac[ri].iter().enumerate() {
                    let x = (left + cell * ci as u32) as i32;
                    let color = cmap.get_color(f as f32);
                    root.draw(&Rectangle::new(
                        [(x, y), (x + cell as i32 - 2, y + cell as i32 - 2)],
                        color.filled(),
                    ))
                    .map_err(draw_err)?;
                    let text_color = if f > 0.6 { &BLACK } else { &WHITE };
                    root.draw(&Text::new(
                        format!("{}", self.counts[ri][ci]),
                        (x + 8, y + cell as i32 / 2 - 7),
                        font.clone().color(text_color),
                    ))
                    .map_err(draw_err)?;
                }
            }
            root.draw(&Text::new(
                "rows: true domain; columns: C_bar's choice; colour: row share",
                (10, h as i32 - 28),
                font,
            ))
            .map_err(draw_err)?;
            Ok(())
        })
    }
}
