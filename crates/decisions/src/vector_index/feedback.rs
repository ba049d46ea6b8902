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
//!
//! Each candidate is also taken as itself moved towards its nearest fellow candidates
//! ([`neighbourhoods`]), over a pool of 100 instead of 50: held-out 0.706 -> 0.766, synonym set
//! 0.669 -> 0.762, development set 0.747 -> 0.803 (settings chosen there only). Cost, `bench
//! decide` at 100,000 memories on the 2-core machine: memory tier p50 0.37 -> 0.97-1.05 ms, p99
//! 1.07 -> 1.3-1.7 ms (the pool's ~5,000 pairwise dot products and the larger graph search).

use super::kernel::{Scored, dot, normalize};
use serde::{Deserialize, Serialize};

/// How recall uses feedback; `memories: 0` turns it off (recall is then plain search).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Feedback {
    /// The best hits of the first search whose centroid moves the query.
    pub memories: usize,
    /// The centroid's weight against the query's (both unit length).
    pub weight: f32,
    /// Candidates of the first search ranked again (at least the number of results asked for).
    pub pool: usize,
    /// Each candidate is ranked as itself moved towards the centroid of this many of its nearest
    /// fellow candidates (0: as itself).
    pub neighbours: usize,
    /// That centroid's weight against the candidate's own vector (both unit length).
    pub neighbour_weight: f32,
}

impl Default for Feedback {
    /// Chosen on the corpus's development set only: 3 memories, weight 1.0 (2 memories or 4 did
    /// worse there); a pool of 100, each candidate moved towards its 4 nearest fellow candidates
    /// with weight 1.0 (development set: pool 50 without neighbours 0.747; pool 100 with 4
    /// neighbours 0.800, the best of pools 30/50/100, 3-7 neighbours, weights 1-2).
    fn default() -> Self {
        Self { memories: 3, weight: 1.0, pool: 100, neighbours: 4, neighbour_weight: 1.0 }
    }
}

impl Feedback {
    pub(crate) fn is_off(&self) -> bool {
        self.memories == 0 || self.weight == 0.0
    }
}

/// Ranks `candidates` (found for `query`, best first) by the query moved towards the centroid of
/// the best `feedback.memories` of them, weighted by their similarity, each candidate taken as
/// itself moved towards its nearest fellow candidates (see [`neighbourhoods`]). Returns the best
/// `k`, the most similar candidate always among them (last if the ranking alone would drop it);
/// each keeps its similarity to `query` itself as its score, so thresholds on similarity (the
/// reuse of a past decision) keep their meaning. `vector_of` gives a candidate's unit vector.
pub(crate) fn rerank<'a>(
    query: &[f32],
    candidates: Vec<Scored>,
    k: usize,
    feedback: &Feedback,
    vector_of: impl Fn(usize) -> Option<&'a [f32]>,
) -> Vec<Scored> {
    let vectors: Vec<Option<&[f32]>> = candidates.iter().map(|c| vector_of(c.slot)).collect();
    // The neighbourhoods cost the pool's size squared: a caller asking for thousands of results
    // gets them ranked without.
    let neighbours = if vectors.len() <= MAX_NEIGHBOURHOOD_POOL { feedback.neighbours } else { 0 };
    let expanded = neighbourhoods(&vectors, neighbours, feedback.neighbour_weight);
    let by = |q: &[f32]| -> Vec<(f32, usize)> {
        let mut order: Vec<(f32, usize)> =
            expanded.iter().enumerate().map(|(i, e)| (e.as_deref().map_or(f32::MIN, |e| dot(q, e)), i)).collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(candidates[a.1].slot.cmp(&candidates[b.1].slot)));
        order
    };
    let mut moved = vec![0.0f32; query.len()];
    for &(score, i) in by(query).iter().take(feedback.memories) {
        let Some(vector) = expanded[i].as_deref() else { continue };
        for (m, v) in moved.iter_mut().zip(vector) {
            *m += score.max(0.0) * v;
        }
    }
    normalize(&mut moved);
    for (m, q) in moved.iter_mut().zip(query) {
        *m = q + feedback.weight * *m;
    }
    normalize(&mut moved);
    let most_similar = candidates.iter().copied().max_by(|a, b| a.score.total_cmp(&b.score));
    let mut best: Vec<Scored> = by(&moved).into_iter().take(k).map(|(_, i)| candidates[i]).collect();
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

/// Largest candidate pool whose members are moved towards their neighbours (~125,000 dot
/// products, a few ms); the API asks for at most 50 results, the default pool is 100.
const MAX_NEIGHBOURHOOD_POOL: usize = 500;

/// Each vector moved towards the centroid of its `n` most similar others among `vectors` (each
/// weighted by its similarity), with that centroid at `weight` against the vector itself, then
/// scaled to unit length; `None` stays `None`.
///
/// Why: memories of one topic are diverse (in the labelled corpus a memory's 5 nearest others
/// share its topic 56% of the time), so a query close to some of them misses the rest. A
/// candidate whose own words differ from the query's but whose nearest fellow candidates are on
/// the query's topic moves up with them (document expansion, done within the candidate pool so
/// that the index keeps plain vectors and needs no neighbour lists). Cost: n² / 2 dot products
/// for a pool of n (100: ~5,000).
fn neighbourhoods(vectors: &[Option<&[f32]>], n: usize, weight: f32) -> Vec<Option<Vec<f32>>> {
    if n == 0 || weight == 0.0 {
        return vectors.iter().map(|v| v.map(<[f32]>::to_vec)).collect();
    }
    let len = vectors.len();
    let mut similarity = vec![f32::MIN; len * len];
    for i in 0..len {
        for j in i + 1..len {
            if let (Some(a), Some(b)) = (vectors[i], vectors[j]) {
                let s = dot(a, b);
                similarity[i * len + j] = s;
                similarity[j * len + i] = s;
            }
        }
    }
    vectors
        .iter()
        .enumerate()
        .map(|(i, own)| {
            let own = (*own)?;
            let mut nearest: Vec<(f32, usize, &[f32])> =
                (0..len).filter(|&j| j != i).filter_map(|j| Some((similarity[i * len + j], j, vectors[j]?))).collect();
            nearest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut centroid = vec![0.0f32; own.len()];
            for &(s, _, vector) in nearest.iter().take(n) {
                for (c, v) in centroid.iter_mut().zip(vector) {
                    *c += s.max(0.0) * v;
                }
            }
            normalize(&mut centroid);
            let mut moved: Vec<f32> = own.iter().zip(&centroid).map(|(o, c)| o + weight * c).collect();
            normalize(&mut moved);
            Some(moved)
        })
        .collect()
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
        let fb = Feedback { memories: 1, weight: 1.0, pool: 10, neighbours: 0, neighbour_weight: 0.0 };
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
        let fb = Feedback { memories: 3, weight: 3.0, pool: 10, neighbours: 0, neighbour_weight: 0.0 };
        let vector_of = |s: usize| vectors.get(s).map(Vec::as_slice);
        let all = rerank(&query, candidates.clone(), 4, &fb, vector_of);
        assert_eq!(all[0].slot, 1, "the ranking alone puts slot 1 first: {all:?}");
        let one = rerank(&query, candidates, 1, &fb, vector_of);
        assert_eq!(one.iter().map(|c| c.slot).collect::<Vec<_>>(), [0], "the most similar is kept");
    }

    #[test]
    fn a_candidate_moves_up_with_its_nearest_fellow_candidates() {
        // Topic A: slots 0 and 1 close to the query, slot 3 worded apart from the query but close
        // to both. Topic B: slot 2, a little closer to the query than slot 3, and slot 4.
        let query = unit(&[1.0, 0.0, 0.0, 0.0]);
        let vectors = [
            unit(&[1.0, 0.0, 0.5, 0.0]),
            unit(&[1.0, 0.0, 0.6, 0.1]),
            unit(&[0.5, 1.0, 0.0, 0.0]),
            unit(&[0.4, 0.0, 1.0, 0.1]),
            unit(&[0.3, 1.0, 0.0, 0.2]),
        ];
        let candidates = by_similarity(&query, &vectors);
        assert_eq!(candidates.iter().map(|c| c.slot).collect::<Vec<_>>(), [0, 1, 2, 3, 4], "B's memory is third by similarity");
        let vector_of = |s: usize| vectors.get(s).map(Vec::as_slice);
        let alone = Feedback { memories: 1, weight: 0.1, pool: 10, neighbours: 0, neighbour_weight: 0.0 };
        let plain: Vec<usize> = rerank(&query, candidates.clone(), 3, &alone, vector_of).iter().map(|c| c.slot).collect();
        assert_eq!(plain, [0, 1, 2]);
        let with_neighbours = Feedback { neighbours: 1, neighbour_weight: 1.0, ..alone };
        let ranked = rerank(&query, candidates, 3, &with_neighbours, vector_of);
        assert_eq!(ranked.iter().map(|c| c.slot).collect::<Vec<_>>(), [0, 1, 3], "slot 3 rises with topic A");
        for c in &ranked {
            assert_eq!(c.score, dot(&query, &vectors[c.slot]), "scores stay the similarity to the query itself");
        }
    }

    #[test]
    fn neighbourhoods_skip_missing_vectors_and_stay_unit_length() {
        let a = unit(&[1.0, 0.2]);
        let b = unit(&[0.2, 1.0]);
        let moved = neighbourhoods(&[Some(&a), None, Some(&b)], 3, 1.0);
        assert!(moved[1].is_none());
        for v in [&moved[0], &moved[2]] {
            let norm: f32 = v.as_ref().unwrap().iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
        assert_eq!(neighbourhoods(&[Some(&a)], 4, 1.0)[0].as_deref(), Some(&a[..]), "no fellow: the vector itself");
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
