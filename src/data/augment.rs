//! Data augmentation: random translations of the training images, drawn afresh each epoch.
//! Each example's shift is a pure function of (seed, example index), so every thread count,
//! MPI rank layout, backend and `--resume` sees the same images.

use super::Split;
use crate::error::{Error, Result};

impl Split {
    /// Side of the square images (`pixels` = side²); an error for non-square images.
    pub fn side(&self) -> Result<usize> {
        let side = (self.pixels as f64).sqrt().round() as usize;
        if side == 0 || side * side != self.pixels {
            return Err(Error::Invalid(format!(
                "shifting needs square images, these have {} pixels",
                self.pixels
            )));
        }
        Ok(side)
    }

    /// A copy in which image `i` is translated by (dx, dy) ∈ [−max, max]² pixels, drawn
    /// uniformly from `seed` and `i`; pixels moved in from outside the frame are 0.
    pub fn shifted(&self, max: usize, seed: u64) -> Result<Split> {
        let side = self.side()?;
        if max >= side {
            return Err(Error::Invalid(format!(
                "a shift of {max} pixels moves a {side}×{side} image out of its frame"
            )));
        }
        let mut images = vec![0u8; self.images.len()];
        for (i, out) in images.chunks_exact_mut(self.pixels).enumerate() {
            let (dx, dy) = draw_shift(max, seed, i);
            translate(self.image(i), side, dx, dy, out);
        }
        Ok(Split {
            images,
            labels: self.labels.clone(),
            pixels: self.pixels,
        })
    }
}

/// Example `i`'s shift (columns right, rows down) in [−max, max]².
pub fn draw_shift(max: usize, seed: u64, i: usize) -> (isize, isize) {
    let h = mix(seed ^ mix(i as u64));
    let span = 2 * max as u64 + 1;
    let pick = |bits: u64| (bits % span) as isize - max as isize;
    (pick(h & 0xffff_ffff), pick(h >> 32))
}

/// `src` (side × side, row-major) moved `dx` columns right and `dy` rows down into `out`,
/// which must be zero.
fn translate(src: &[u8], side: usize, dx: isize, dy: isize, out: &mut [u8]) {
    let s = side as isize;
    for r in (0..s).filter(|r| (0..s).contains(&(r - dy))) {
        for c in (0..s).filter(|c| (0..s).contains(&(c - dx))) {
            out[(r * s + c) as usize] = src[((r - dy) * s + c - dx) as usize];
        }
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` 6×6 images, each a distinct 2×2 blob of its own brightness away from the border.
    fn blobs(n: usize) -> Split {
        let mut images = vec![0u8; n * 36];
        for i in 0..n {
            let (r, c) = (2 + i % 2, 2 + (i / 2) % 2);
            for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                images[i * 36 + (r + dr) * 6 + c + dc] = 10 + i as u8;
            }
        }
        Split {
            images,
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
            pixels: 36,
        }
    }

    #[test]
    fn every_image_is_its_own_translation_by_the_drawn_shift() {
        let s = blobs(40);
        let t = s.shifted(1, 7).unwrap();
        assert_eq!(t.labels, s.labels);
        let mut seen = std::collections::HashSet::new();
        for i in 0..s.len() {
            let (dx, dy) = draw_shift(1, 7, i);
            assert!(dx.abs() <= 1 && dy.abs() <= 1);
            seen.insert((dx, dy));
            // The blob stays inside the frame: same mass, at the shifted place.
            let sum = |img: &[u8]| img.iter().map(|&p| p as u32).sum::<u32>();
            assert_eq!(sum(t.image(i)), sum(s.image(i)), "example {i}");
            for r in 0..6isize {
                for c in 0..6isize {
                    let (fr, fc) = (r - dy, c - dx);
                    let want = if (0..6).contains(&fr) && (0..6).contains(&fc) {
                        s.image(i)[(fr * 6 + fc) as usize]
                    } else {
                        0
                    };
                    assert_eq!(t.image(i)[(r * 6 + c) as usize], want, "example {i}");
                }
            }
        }
        assert_eq!(seen.len(), 9, "all nine shifts occur in 40 draws: {seen:?}");
        assert!(seen.contains(&(0, 0)));
    }

    #[test]
    fn shifts_depend_on_the_seed_only_through_the_draw() {
        let s = blobs(20);
        assert_eq!(
            s.shifted(2, 3).unwrap().images,
            s.shifted(2, 3).unwrap().images
        );
        assert_ne!(
            s.shifted(2, 3).unwrap().images,
            s.shifted(2, 4).unwrap().images
        );
        assert_eq!(s.shifted(0, 3).unwrap().images, s.images);
    }

    #[test]
    fn pixels_leave_the_frame_and_zeros_come_in() {
        let s = Split {
            images: (1..=9).collect(),
            labels: vec![0],
            pixels: 9,
        };
        let mut out = vec![0; 9];
        translate(s.image(0), 3, 1, -1, &mut out);
        assert_eq!(out, [0, 4, 5, 0, 7, 8, 0, 0, 0]);
    }

    #[test]
    fn non_square_images_and_shifts_past_the_frame_are_errors() {
        let s = Split {
            images: vec![0; 10],
            labels: vec![0],
            pixels: 10,
        };
        assert!(s.shifted(1, 0).is_err());
        assert!(blobs(1).shifted(6, 0).is_err());
        assert!(blobs(1).shifted(5, 0).is_ok());
    }
}
