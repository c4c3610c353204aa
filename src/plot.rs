//! PNG figures: line plots and space-time heat maps (plotters, bitmap backend, embedded font).

use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

fn prepare(path: &Path) -> Result<()> {
    register_font();
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => std::fs::create_dir_all(d).map_err(|e| Error::io(d, e)),
        None => Ok(()),
    }
}

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("plotting {}: {e}", path.display()))
}

/// One named series of (x, y) points.
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points.
    pub points: Vec<(f64, f64)>,
}

/// Writes a line plot; `log_y` plots log10(y) (non-positive values are dropped).
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<()> {
    prepare(path)?;
    let tf = |y: f64| if log_y { y.log10() } else { y };
    let pts: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0))
                .map(|&(x, y)| (x, tf(y)))
                .collect()
        })
        .collect();
    let all = pts.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Err(plot_err(path, "no finite points"));
    }
    let pad = ((y1 - y0) * 0.05).max(1e-12);
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let y_desc = if log_y {
        format!("log10 {y_label}")
    } else {
        y_label.to_string()
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1.max(x0 + 1e-12), (y0 - pad)..(y1 + pad))
        .map_err(|e| plot_err(path, e))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_desc)
        .draw()
        .map_err(|e| plot_err(path, e))?;
    for (i, (s, p)) in series.iter().zip(pts).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(p, color.stroke_width(2)))
            .map_err(|e| plot_err(path, e))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| plot_err(path, e))?;
    root.present().map_err(|e| plot_err(path, e))
}

/// A colour for t ∈ [0, 1] (blue → white → red, diverging).
fn diverging(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let (r, g, b) = if t < 0.5 {
        let s = t / 0.5;
        (0.15 + 0.85 * s, 0.3 + 0.7 * s, 0.75 + 0.25 * s)
    } else {
        let s = (t - 0.5) / 0.5;
        (1.0 - 0.25 * s, 1.0 - 0.8 * s, 1.0 - 0.85 * s)
    };
    RGBColor((r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8)
}

/// Writes a heat map: `rows[t][i]` drawn with time running downwards (paper Fig. 1A). Wider
/// than the image (800 px), every k-th node is drawn (one rectangle per pixel column at most).
pub fn space_time(path: &Path, title: &str, rows: &[Vec<f64>]) -> Result<()> {
    prepare(path)?;
    if rows.is_empty() || rows[0].is_empty() {
        return Err(plot_err(path, "nothing to draw"));
    }
    let (nt, nx) = (rows.len(), rows[0].len());
    let (lo, hi) = rows
        .iter()
        .flatten()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let span = (hi - lo).max(1e-12);
    let stride = nx.div_ceil(800);
    let root = BitMapBackend::new(path, (800, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..nx as f64, nt as f64..0.0)
        .map_err(|e| plot_err(path, e))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("node")
        .y_desc("snapshot (time ↓)")
        .draw()
        .map_err(|e| plot_err(path, e))?;
    chart
        .draw_series(rows.iter().enumerate().flat_map(|(t, row)| {
            row.iter().enumerate().step_by(stride).map(move |(i, &x)| {
                let c = diverging((x - lo) / span);
                let right = (i + stride).min(nx) as f64;
                Rectangle::new([(i as f64, t as f64), (right, t as f64 + 1.0)], c.filled())
            })
        }))
        .map_err(|e| plot_err(path, e))?;
    root.present().map_err(|e| plot_err(path, e))
}
