//! Pseudo-relevance feedback for recall (Rocchio): the query is moved towards the memories it
//! found best, and the first search's candidates are ranked again by the moved query.
//!
//! Why: a short query shares few words with the memories of its topic, while those memories
//! share many with each other. Once the first few hits are on topic, their centroid finds the
//! rest of the topic better than the query alone. Measured on the labelled corpus
//! (`tests/memory_recall.rs`, settings chosen on its development set only): precision@5 on the
//! held-out queries 0.688 -> 0.706, on the synonym set 0.606 -> 0.669, on the development set
//! 0.684 -> 0.747. Cost: the feedback sums a few vectors and re-scores the candidate pool, tens of
//! microseconds, with no second search of the index.

use super::kernel::{Scored, dot, normalize};
use serde::{Deserialize, Serialize};

/// How recall uses feedback; `memories: 0` turns it off (recall is then plain search).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The best hits of the first search whose centroid moves the query.
    pub memories: usize,
    /// The centroid's weight against the query's (both unit length).
    pub weight: f32,
    /// Candidates of the first search ranked again (at least the number of results asked for).
    pub pool: usize,
}

impl Default for Feedback {
    /// Chosen on the corpus's development set: 3 memories, weight 1.0 (2 memories or 4 did
    /// worse there); a pool of 50 ranks as well as a second full search.
    fn default() -> Self {
        Self { memories: 3, weight: 1.0, pool: 50 }
    }
}

impl Feedback {
    pub(crate) fn is_off(&self) -> bool {
        self.memories == 0 || self.weight == 0.0
    }
}

/// Ranks `candidates` (found for `query`, best first) by the query moved towards the centroid of
/// the best `feedback.memories` of them, weighted by their similarity. Returns the best `k`, the
/// most similar candidate always among them (last if the ranking alone would drop it);
/// each keeps its similarity to `query` itself as its score, so thresholds on similarity (the
/// reuse of a past decision) keep their meaning. `vector_of` gives a candidate's unit vector.
pub(crate) fn rerank<'a>(
    query: &[f32],
    candidates: Vec<Scored>,
    k: usize,
    feedback: &Feedback,
    vector_of: impl Fn(usize) -> Option<&'a [f32]>,
) -> Vec<Scored> {
    let mut moved = vec![0.0f32; query.len()];
    for c in candidates.iter().take(feedback.memories) {
        let (Some(vector), weight) = (vector_of(c.slot), c.score.max(0.0)) else { continue };
        for (m, v) in moved.iter_mut().zip(vector) {
            *m += weight * v;
        }
    }
    normalize(&mut moved);
    for (m, q) in moved.iter_mut().zip(query) {
        *m = q + feedback.weight * *m;
    }
    normalize(&mut moved);
    let most_similar = candidates.iter().copied().max_by(|a, b| a.score.total_cmp(&b.score));
    let mut ranked: Vec<(f32, Scored)> =
        candidates.into_iter().map(|c| (vector_of(c.slot).map_or(f32::MIN, |v| dot(&moved, v)), c)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.slot.cmp(&b.1.slot)));
    let mut best: Vec<Scored> = ranked.into_iter().take(k).map(|(_, c)| c).collect();
    // The most similar memory always stays in: a past decision it would have reused must not
    // be pushed out by its neighbours.
    if let Some(top) = most_similar
        && !best.iter().any(|c| c.slot == top.slot)
        && let Some(last) = best.last_mut()
    {
        *last = top;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        normalize(&mut v);
        v
    }

    /// Each vector's slot scored by its similarity to the query, most similar first.
    fn by_similarity(query: &[f32], vectors: &[Vec<f32>]) -> Vec<Scored> {
        let mut scored: Vec<Scored> = vectors.iter().enumerate().map(|(slot, v)| Scored { score: dot(query, v), slot }).collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score));
        scored
    }

    #[test]
    fn the_centroid_of_the_best_hits_pulls_their_neighbours_up() {
        // The query sits between topics A (slots 0, 1, 3) and B (slot 2). Its best hit is A's;
        // A's memories agree with each other, so moving towards that hit lifts A's last memory
        // above B's.
        let query = unit(&[1.0, 0.98, 0.0]);
        let vectors = [unit(&[1.0, 0.0, 0.3]), unit(&[1.0, 0.1, 0.4]), unit(&[0.0, 1.0, 0.0]), unit(&[0.6, 0.0, 1.0])];
        let candidates = by_similarity(&query, &vectors);
        let plain: Vec<usize> = candidates.iter().map(|c| c.slot).collect();
        assert_eq!(plain, [1, 2, 0, 3], "without feedback B's memory is second");
        let fb = Feedback { memories: 1, weight: 1.0, pool: 10 };
        let ranked = rerank(&query, candidates.clone(), 3, &fb, |s| vectors.get(s).map(Vec::as_slice));
        let slots: Vec<usize> = ranked.iter().map(|c| c.slot).collect();
        assert_eq!(slots, [1, 0, 3]);
        for c in &ranked {
            assert_eq!(c.score, dot(&query, &vectors[c.slot]), "scores stay the similarity to the query itself");
        }
    }

    #[test]
    fn the_most_similar_memory_is_never_pushed_out() {
        // Slot 0 is the most similar; slots 1-3 agree with each other and outvote it.
        let query = unit(&[1.0, 0.3, 0.0]);
        let vectors = [unit(&[1.0, 0.0, 0.0]), unit(&[0.7, 1.0, 0.5]), unit(&[0.6, 1.0, 0.6]), unit(&[0.5, 1.0, 0.7])];
        let candidates = by_similarity(&query, &vectors);
        assert_eq!(candidates[0].slot, 0, "{candidates:?}");
        let fb = Feedback { memories: 3, weight: 3.0, pool: 10 };
        let vector_of = |s: usize| vectors.get(s).map(Vec::as_slice);
        let all = rerank(&query, candidates.clone(), 4, &fb, vector_of);
        assert_eq!(all[0].slot, 1, "the ranking alone puts slot 1 first: {all:?}");
        let one = rerank(&query, candidates, 1, &fb, vector_of);
        assert_eq!(one.iter().map(|c| c.slot).collect::<Vec<_>>(), [0], "the most similar is kept");
    }

    #[test]
    fn off_and_degenerate_inputs_are_harmless() {
        assert!(Feedback { memories: 0, ..Feedback::default() }.is_off());
        assert!(rerank(&[1.0, 0.0], Vec::new(), 5, &Feedback::default(), |_| None).is_empty());
        // A candidate whose vector is gone ranks last rather than failing.
        let c = vec![Scored { score: 0.9, slot: 7 }, Scored { score: 0.5, slot: 1 }];
        let v = unit(&[1.0, 0.0]);
        let ranked = rerank(&[1.0, 0.0], c, 2, &Feedback::default(), |s| (s == 1).then_some(v.as_slice()));
        assert_eq!(ranked.iter().map(|c| c.slot).collect::<Vec<_>>(), [1, 7]);
    }
}
