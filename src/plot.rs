//! PNG figures: line plots and space-time heat maps (plotters, bitmap backend, embedded font).

use crate::error::{Error, Result};
use plotters::coord::types::RangedCoordf64;
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

/// Writes a line plot with a marker at every point; `log_y` draws y on a logarithmic axis
/// (non-positive values are dropped). A single point (a one-epoch run) gets a unit-wide axis.
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<()> {
    prepare(path)?;
    let pts: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0))
                .copied()
                .collect()
        })
        .collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts.iter().flatten() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Err(plot_err(path, "no finite points"));
    }
    if x1 - x0 < 1e-9 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    if log_y {
        let (lo, hi) = (y0 / 1.25, y1 * 1.25);
        let mut chart = chart_builder(&root, title)
            .build_cartesian_2d(
                x0..x1,
                (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
            )
            .map_err(|e| plot_err(path, e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .y_label_formatter(&|v| format!("{}", *v as f32))
            .draw()
            .map_err(|e| plot_err(path, e))?;
        draw_series(path, &mut chart, series, pts)
    } else {
        let pad = ((y1 - y0) * 0.05).max(1e-12);
        let mut chart = chart_builder(&root, title)
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(|e| plot_err(path, e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .draw()
            .map_err(|e| plot_err(path, e))?;
        draw_series(path, &mut chart, series, pts)
    }?;
    root.present().map_err(|e| plot_err(path, e))
}

/// Tick values for a log axis over [lo, hi]: 1-2-5 multiples of each decade, or every integer
/// multiple when that gives fewer than three ticks.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = lo.log10().floor() as i32..=hi.log10().ceil() as i32;
    let pick = |mult: &[f64]| -> Vec<f64> {
        decades
            .clone()
            .flat_map(|k| mult.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| (lo..=hi).contains(v))
            .collect()
    };
    let coarse = pick(&[1.0, 2.0, 5.0]);
    if coarse.len() >= 3 {
        coarse
    } else {
        pick(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    }
}

fn chart_builder<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, BitMapBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70);
    b
}

/// Lines with circle markers and a legend, on any coordinate system.
fn draw_series<'a, Y>(
    path: &Path,
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, Y>>,
    series: &[Series],
    pts: Vec<Vec<(f64, f64)>>,
) -> Result<()>
where
    Y: Ranged<ValueType = f64>,
{
    for (i, (s, p)) in series.iter().zip(pts).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(p.clone(), color.stroke_width(2)))
            .map_err(|e| plot_err(path, e))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(p.into_iter().map(|q| Circle::new(q, 3, color.filled())))
            .map_err(|e| plot_err(path, e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| plot_err(path, e))
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
