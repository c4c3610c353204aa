//! MNIST-format data sets (IDX, gzip) kept as bytes until a batch is formed.
//!
//! The bundled copy lives in `data/mnist/` with its SHA-256 sums (`SHA256SUMS`, sums of the .gz
//! files); every load verifies them when the directory has such a file. Fashion-MNIST is read
//! from Debian's `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist) or any directory.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

mod augment;
pub use augment::draw_shift;

/// Images (row-major 28×28 bytes) and labels.
#[derive(Clone, Debug)]
pub struct Split {
    /// Pixel bytes, `len × pixels`.
    pub images: Vec<u8>,
    /// Class labels (0, 1, …; the model needs an output per class).
    pub labels: Vec<u8>,
    /// Pixels per image.
    pub pixels: usize,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixel bytes of example `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * self.pixels..(i + 1) * self.pixels]
    }

    /// Examples `range` as a new split.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Split {
        Split {
            images: self.images[range.start * self.pixels..range.end * self.pixels].to_vec(),
            labels: self.labels[range].to_vec(),
            pixels: self.pixels,
        }
    }
}

/// Training, validation (the last `val` training images) and test splits.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Training examples.
    pub train: Split,
    /// Validation examples (held out from the training file).
    pub val: Split,
    /// Test examples.
    pub test: Split,
}

impl Dataset {
    /// Pixels per image (the model's input width).
    pub fn pixels(&self) -> usize {
        self.train.pixels
    }

    /// Number of classes: the largest label in any split, plus one (the model's output width).
    pub fn classes(&self) -> usize {
        [&self.train, &self.val, &self.test]
            .iter()
            .flat_map(|s| s.labels.iter())
            .max()
            .map_or(0, |&m| m as usize + 1)
    }
}

/// The bundled MNIST directory (relative to the crate root).
pub fn bundled_mnist_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/mnist")
}

/// Debian's Fashion-MNIST directory.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

fn read_gz(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| Error::Parse {
            path: path.into(),
            line: None,
            msg: format!("not a valid gzip stream ({e}); the file is corrupt or truncated"),
        })?;
    Ok((raw, out))
}

fn bad(path: &Path, msg: String) -> Error {
    Error::Parse {
        path: path.into(),
        line: None,
        msg,
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses an IDX image file (magic 0x803); returns (bytes, count, pixels per image).
pub fn parse_images(path: &Path, b: &[u8]) -> Result<(Vec<u8>, usize, usize)> {
    if b.len() < 16 || be_u32(b, 0) != 0x803 {
        return Err(bad(
            path,
            "not an IDX image file (magic 0x00000803 expected)".into(),
        ));
    }
    let (n, r, c) = (
        be_u32(b, 4) as usize,
        be_u32(b, 8) as usize,
        be_u32(b, 12) as usize,
    );
    let pixels = r.checked_mul(c).filter(|&p| p > 0);
    let total = pixels.and_then(|p| p.checked_mul(n));
    if total != Some(b.len() - 16) {
        return Err(bad(
            path,
            format!(
                "header says {n}×{r}×{c} pixels but the file holds {} bytes of data (truncated?)",
                b.len() - 16
            ),
        ));
    }
    Ok((b[16..].to_vec(), n, r * c))
}

/// Parses an IDX label file (magic 0x801).
pub fn parse_labels(path: &Path, b: &[u8]) -> Result<Vec<u8>> {
    if b.len() < 8 || be_u32(b, 0) != 0x801 {
        return Err(bad(
            path,
            "not an IDX label file (magic 0x00000801 expected)".into(),
        ));
    }
    let n = be_u32(b, 4) as usize;
    if n.checked_add(8) != Some(b.len()) {
        return Err(bad(
            path,
            format!(
                "header says {n} labels but the file holds {} (truncated?)",
                b.len() - 8
            ),
        ));
    }
    Ok(b[8..].to_vec())
}

fn expected_sums(dir: &Path) -> Result<Option<Vec<(String, String)>>> {
    let p = dir.join("SHA256SUMS");
    if !p.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    Ok(Some(
        text.lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                Some((
                    it.next()?.to_string(),
                    it.next()?.trim_start_matches('*').to_string(),
                ))
            })
            .map(|(h, f)| (f, h))
            .collect(),
    ))
}

fn load_split(dir: &Path, prefix: &str, sums: &Option<Vec<(String, String)>>) -> Result<Split> {
    let mut parts = Vec::new();
    for kind in ["images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"] {
        let name = format!("{prefix}-{kind}");
        let path = dir.join(&name);
        let (raw, bytes) = read_gz(&path)?;
        if let Some(list) = sums {
            let want = list
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, h)| h.clone());
            let got = format!("{:x}", Sha256::digest(&raw));
            match want {
                Some(h) if h != got => {
                    return Err(bad(
                        &path,
                        format!("SHA-256 mismatch: expected {h}, got {got}"),
                    ))
                }
                None => return Err(bad(&path, "no entry in SHA256SUMS".into())),
                _ => {}
            }
        }
        parts.push((path, bytes));
    }
    let (images, n, pixels) = parse_images(&parts[0].0, &parts[0].1)?;
    let labels = parse_labels(&parts[1].0, &parts[1].1)?;
    if labels.len() != n {
        return Err(bad(
            &parts[1].0,
            format!("{} labels for {n} images", labels.len()),
        ));
    }
    Ok(Split {
        images,
        labels,
        pixels,
    })
}

/// Loads `train-*` and `t10k-*` from `dir`, holding out the last `val` training images.
pub fn load_mnist_dir(dir: &Path, val: usize) -> Result<Dataset> {
    let sums = expected_sums(dir)?;
    let full = load_split(dir, "train", &sums)?;
    let test = load_split(dir, "t10k", &sums)?;
    if val >= full.len() {
        return Err(Error::Invalid(format!(
            "validation size {val} ≥ training set size {}",
            full.len()
        )));
    }
    let cut = full.len() - val;
    Ok(Dataset {
        train: full.slice(0..cut),
        val: full.slice(cut..full.len()),
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_mnist_is_canonical() {
        let d = load_mnist_dir(&bundled_mnist_dir(), 10_000).unwrap();
        assert_eq!(
            (d.train.len(), d.val.len(), d.test.len()),
            (50_000, 10_000, 10_000)
        );
        assert_eq!(&d.train.labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
        assert_eq!(&d.test.labels[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
        let mut counts = [0usize; 10];
        d.test.labels.iter().for_each(|&l| counts[l as usize] += 1);
        assert_eq!(
            counts,
            [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
        );
    }

    #[test]
    fn corrupt_and_truncated_files_are_named() {
        let dir = std::env::temp_dir().join(format!("fhn-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ] {
            std::fs::copy(bundled_mnist_dir().join(f), dir.join(f)).unwrap();
        }
        std::fs::copy(
            bundled_mnist_dir().join("SHA256SUMS"),
            dir.join("SHA256SUMS"),
        )
        .unwrap();
        // Truncate the test labels: checksum mismatch names the file.
        let p = dir.join("t10k-labels-idx1-ubyte.gz");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() / 2]).unwrap();
        let e = load_mnist_dir(&dir, 10_000).unwrap_err().to_string();
        assert!(e.contains("t10k-labels-idx1-ubyte.gz"), "{e}");
        // Without checksums the truncated gzip stream itself is reported.
        std::fs::remove_file(dir.join("SHA256SUMS")).unwrap();
        let e = load_mnist_dir(&dir, 10_000).unwrap_err().to_string();
        assert!(
            e.contains("t10k-labels-idx1-ubyte.gz") && e.contains("gzip"),
            "{e}"
        );
        // A label file with a wrong header.
        assert!(parse_labels(Path::new("x"), &[0, 0, 8, 3, 0, 0, 0, 0])
            .unwrap_err()
            .to_string()
            .contains("magic"));
        assert!(parse_images(
            Path::new("x"),
            &[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 7]
        )
        .unwrap_err()
        .to_string()
        .contains("truncated"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(500))]

        /// Arbitrary bytes, and headers with arbitrary sizes over short bodies, never panic.
        #[test]
        fn idx_parsers_never_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            dims in proptest::collection::vec(proptest::num::u32::ANY, 3),
        ) {
            let _ = parse_images(Path::new("x"), &bytes);
            let _ = parse_labels(Path::new("x"), &bytes);
            let mut img: Vec<u8> = [0x803u32, dims[0], dims[1], dims[2]]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect();
            img.extend_from_slice(&bytes);
            if let Ok((data, n, pixels)) = parse_images(Path::new("x"), &img) {
                proptest::prop_assert_eq!(data.len(), n * pixels);
            }
            let mut lab: Vec<u8> = [0x801u32, dims[0]].iter().flat_map(|v| v.to_be_bytes()).collect();
            lab.extend_from_slice(&bytes);
            if let Ok(l) = parse_labels(Path::new("x"), &lab) {
                proptest::prop_assert_eq!(l.len(), dims[0] as usize);
            }
        }
    }
}
