//! The numeric inner loops: dot product, normalisation and top-k selection.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Lanes summed independently. Floating-point addition is not associative, so the compiler will
/// only vectorise a dot product whose partial sums are already separate; 16 lanes fill two AVX
/// registers (or four SSE2 ones) and hide the add latency.
const LANES: usize = 16;

/// Dot product of two equal-length slices (extra elements of the longer one are ignored).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let a_chunks = a.chunks_exact(LANES);
    let b_chunks = b.chunks_exact(LANES);
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0.0f32; LANES];
    for (x, y) in a_chunks.zip(b_chunks) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    // Pairwise reduction, fixed order.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        let (lo, hi) = acc.split_at_mut(width);
        for (l, h) in lo.iter_mut().zip(hi.iter()) {
            *l += *h;
        }
    }
    acc[0] + tail
}

/// Scales `v` to unit length in place; a zero vector stays zero.
pub(crate) fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if norm > 0.0 {
        for x in v.iter_mut() {
            *x = (f64::from(*x) / norm) as f32;
        }
    }
}

/// A candidate: a score and the slot it belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored {
    pub score: f32,
    pub slot: usize,
}

/// Min-first order on score (then slot), so a `BinaryHeap<Scored>` keeps the worst of the best k
/// at the top, ready to be evicted.
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.slot.cmp(&other.slot))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scored {}

/// Keeps the k best-scoring candidates seen.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Scored>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        Self { k, heap: BinaryHeap::with_capacity(k.saturating_add(1).min(4096)) }
    }

    #[inline]
    pub(crate) fn push(&mut self, candidate: Scored) {
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate.score > worst.score
        {
            *worst = candidate;
        }
    }

    /// The kept candidates, best first.
    pub(crate) fn into_sorted(self) -> Vec<Scored> {
        // `into_sorted_vec` is ascending in `Ord`, and `Ord` is reversed on score: best first.
        self.heap.into_sorted_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_naive_sum_for_every_tail_length() {
        for len in [0, 1, 7, 15, 16, 17, 33, 384, 385] {
            let a: Vec<f32> = (0..len).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
            let b: Vec<f32> = (0..len).map(|i| ((i * 5 % 13) as f32 - 6.0) / 4.0).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            assert!((f64::from(dot(&a, &b)) - naive).abs() < 1e-3, "len {len}");
        }
    }

    #[test]
    fn normalize_gives_unit_length_and_keeps_zero() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = vec![0.0; 4];
        normalize(&mut z);
        assert_eq!(z, [0.0; 4]);
    }

    #[test]
    fn top_k_keeps_the_best_in_descending_order() {
        let mut top = TopK::new(3);
        for (slot, score) in [0.1, 0.9, -0.5, 0.7, 0.3, 0.95].into_iter().enumerate() {
            top.push(Scored { score, slot });
        }
        let got: Vec<usize> = top.into_sorted().iter().map(|s| s.slot).collect();
        assert_eq!(got, [5, 1, 3]);
        assert!(TopK::new(0).into_sorted().is_empty());
    }
}
