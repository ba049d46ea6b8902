//! Corpus-like synthetic memories for scale tests and benchmarks: each is a corpus memory
//! (a template) with a client, a case number and a few words drawn from the corpus vocabulary,
//! so texts cluster by topic like a real tenant's memories, yet are all distinct.

/// SplitMix64: a tiny deterministic generator, so runs are comparable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

const CLIENTS: &[&str] = &[
    "Acme Health",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella Clinics",
    "Stark Dental",
    "Wayne Logistics",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Pied Piper",
    "Aperture Labs",
    "Cyberdyne",
    "Tyrell",
    "Wonka Foods",
    "Oscorp",
    "Gringotts",
    "Monarch Solar",
    "Dunder Paper",
    "Prestige",
];

/// `n` memory texts built on `templates`.
pub fn memory_texts(templates: &[String], n: usize, seed: u64) -> Vec<String> {
    let vocabulary: Vec<&str> = templates.iter().flat_map(|t| t.split_whitespace()).filter(|w| w.len() > 3).collect();
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let template = &templates[rng.below(templates.len())];
            let client = CLIENTS[rng.below(CLIENTS.len())];
            let extra: Vec<&str> = (0..4).map(|_| vocabulary[rng.below(vocabulary.len())]).collect();
            format!("{template} Client {client}, case {i}: {}.", extra.join(" "))
        })
        .collect()
}
