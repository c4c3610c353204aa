//! Weighted undirected graphs and their Laplacians `L = Bᵀ Y B` (paper eq. 5).
//!
//! `B` is the edge–node incidence matrix (row e has +1 at `a`, −1 at `b` for edge e = (a, b)),
//! `Y = diag(g)` the edge conductances. `L` is positive semi-definite when all g ≥ 0; the paper
//! uses it with the sign of the Laplace operator Δ = −L (docs/MODEL.md §1.1). Conductances may be
//! negative (gain elements). The time-stepping path only ever uses the sparse [`Csr`] form.

use faer::Mat;
use rand::Rng;

/// One undirected edge with conductance `g`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Edge {
    /// First endpoint.
    pub a: usize,
    /// Second endpoint.
    pub b: usize,
    /// Conductance (may be negative).
    pub g: f64,
}

/// An undirected weighted graph on nodes `0..n`.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// Number of nodes.
    pub n: usize,
    /// Edge list; parallel edges are allowed and add up.
    pub edges: Vec<Edge>,
}

impl Graph {
    /// Builds a graph, rejecting self-loops, unknown nodes and non-finite conductances.
    pub fn new(n: usize, edges: Vec<Edge>) -> crate::Result<Self> {
        if let Some((i, why)) = Self::first_bad_edge(n, &edges) {
            return Err(crate::Error::Invalid(format!("edge {i} {why}")));
        }
        Ok(Self { n, edges })
    }

    /// The first edge that does not fit `n` nodes: its index and what is wrong with it.
    pub fn first_bad_edge(n: usize, edges: &[Edge]) -> Option<(usize, String)> {
        edges.iter().enumerate().find_map(|(i, e)| {
            let why = if e.a >= n || e.b >= n {
                format!("({}, {}) names a node outside 0..{n}", e.a, e.b)
            } else if e.a == e.b {
                format!("is a self-loop at node {}", e.a)
            } else if !e.g.is_finite() {
                format!("has a non-finite conductance {}", e.g)
            } else {
                return None;
            };
            Some((i, why))
        })
    }

    /// Graph with no edges.
    pub fn empty(n: usize) -> Self {
        Self { n, edges: vec![] }
    }

    /// Path graph 0 − 1 − … − (n−1) with unit-free conductance `g` (Neumann ends).
    pub fn path(n: usize, g: f64) -> Self {
        let edges = (1..n).map(|i| Edge { a: i - 1, b: i, g }).collect();
        Self { n, edges }
    }

    /// A random connected graph: a random spanning tree plus `extra` random edges, conductances
    /// uniform in [0.2, 1.2], a fraction `neg_frac` of them negated (gain elements).
    pub fn random_connected(n: usize, extra: usize, neg_frac: f64, rng: &mut impl Rng) -> Self {
        let mut edges = Vec::with_capacity(n + extra);
        let draw_g = |rng: &mut dyn rand::RngCore| {
            let g: f64 = rng.gen_range(0.2..1.2);
            if rng.gen::<f64>() < neg_frac {
                -g
            } else {
                g
            }
        };
        for i in 1..n {
            let j = rng.gen_range(0..i);
            edges.push(Edge {
                a: j,
                b: i,
                g: draw_g(rng),
            });
        }
        while edges.len() < n - 1 + extra {
            let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
            if a != b {
                edges.push(Edge {
                    a,
                    b,
                    g: draw_g(rng),
                });
            }
        }
        Self { n, edges }
    }

    /// Dense incidence matrix B (edges × nodes).
    pub fn incidence(&self) -> Mat<f64> {
        let mut b = Mat::zeros(self.edges.len(), self.n);
        for (k, e) in self.edges.iter().enumerate() {
            b[(k, e.a)] = 1.0;
            b[(k, e.b)] = -1.0;
        }
        b
    }

    /// Dense Laplacian `BᵀYB` (for small graphs and checks).
    pub fn laplacian_dense(&self) -> Mat<f64> {
        let mut l = Mat::zeros(self.n, self.n);
        for e in &self.edges {
            l[(e.a, e.a)] += e.g;
            l[(e.b, e.b)] += e.g;
            l[(e.a, e.b)] -= e.g;
            l[(e.b, e.a)] -= e.g;
        }
        l
    }

    /// Sparse Laplacian in CSR form.
    pub fn laplacian(&self) -> Csr {
        let mut triplets: Vec<(usize, usize, f64)> = Vec::with_capacity(4 * self.edges.len());
        for e in &self.edges {
            triplets.push((e.a, e.a, e.g));
            triplets.push((e.b, e.b, e.g));
            triplets.push((e.a, e.b, -e.g));
            triplets.push((e.b, e.a, -e.g));
        }
        Csr::from_triplets(self.n, triplets)
    }
}

/// A square sparse matrix in compressed-sparse-row form (duplicates summed).
#[derive(Clone, Debug, Default)]
pub struct Csr {
    /// Dimension.
    pub n: usize,
    /// Row pointers (length n + 1).
    pub row_ptr: Vec<usize>,
    /// Column indices.
    pub col: Vec<usize>,
    /// Values.
    pub val: Vec<f64>,
}

impl Csr {
    /// Builds from (row, col, value) triplets, summing duplicates.
    pub fn from_triplets(n: usize, mut t: Vec<(usize, usize, f64)>) -> Self {
        t.sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut row_ptr = vec![0usize; n + 1];
        let (mut col, mut val) = (Vec::with_capacity(t.len()), Vec::with_capacity(t.len()));
        let mut last: Option<(usize, usize)> = None;
        for (r, c, v) in t {
            if last == Some((r, c)) {
                *val.last_mut().unwrap() += v;
            } else {
                col.push(c);
                val.push(v);
                row_ptr[r + 1] += 1;
                last = Some((r, c));
            }
        }
        for i in 0..n {
            row_ptr[i + 1] += row_ptr[i];
        }
        Self {
            n,
            row_ptr,
            col,
            val,
        }
    }

    /// `y = A x`.
    pub fn mul_vec(&self, x: &[f64], y: &mut [f64]) {
        for (i, yi) in y.iter_mut().enumerate().take(self.n) {
            let mut s = 0.0;
            for k in self.row_ptr[i]..self.row_ptr[i + 1] {
                s += self.val[k] * x[self.col[k]];
            }
            *yi = s;
        }
    }

    /// Entries of row `i` as (column, value).
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        (self.row_ptr[i]..self.row_ptr[i + 1]).map(move |k| (self.col[k], self.val[k]))
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.val.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn laplacian_equals_bt_y_b() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let g = Graph::random_connected(12, 10, 0.3, &mut rng);
        let b = g.incidence();
        let y = Mat::from_fn(g.edges.len(), g.edges.len(), |i, j| {
            if i == j {
                g.edges[i].g
            } else {
                0.0
            }
        });
        let btyb = b.transpose() * &y * &b;
        let l = g.laplacian_dense();
        assert!((&btyb - &l).norm_max() < 1e-14);
        // Sparse and dense agree; rows sum to zero.
        let csr = g.laplacian();
        let x: Vec<f64> = (0..12).map(|i| (i as f64).sin()).collect();
        let mut y1 = vec![0.0; 12];
        csr.mul_vec(&x, &mut y1);
        for i in 0..12 {
            let y2: f64 = (0..12).map(|j| l[(i, j)] * x[j]).sum();
            assert!((y1[i] - y2).abs() < 1e-13);
            assert!(csr.row(i).map(|(_, v)| v).sum::<f64>().abs() < 1e-13);
        }
    }

    #[test]
    fn rejects_self_loops_and_unknown_nodes() {
        let e = |a, b, g| Edge { a, b, g };
        assert!(Graph::new(3, vec![e(0, 0, 1.0)])
            .unwrap_err()
            .to_string()
            .contains("self-loop"));
        assert!(Graph::new(3, vec![e(0, 3, 1.0)])
            .unwrap_err()
            .to_string()
            .contains("outside"));
        assert!(Graph::new(3, vec![e(0, 1, f64::INFINITY)])
            .unwrap_err()
            .to_string()
            .contains("non-finite"));
    }
}
