//! The feature hash: FNV-1a (64-bit) over the feature's bytes, finished with MurmurHash3's
//! `fmix64` avalanche. Fixed constants, no seed from the process (unlike std's `RandomState`),
//! explicit little-endian encoding of characters: the same feature hashes the same everywhere.
//! The finisher matters because FNV-1a's low bits, which pick the bucket, mix poorly on short
//! inputs such as 3-character n-grams.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Incremental FNV-1a hasher for one feature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FeatureHash(u64);

impl FeatureHash {
    /// Starts a hash in the namespace of one feature type, so the word "seo" and the character
    /// trigram "seo" are different features.
    pub(crate) fn new(feature_type: u8) -> Self {
        let mut h = Self(FNV_OFFSET);
        h.byte(feature_type);
        h
    }

    fn byte(&mut self, b: u8) {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(FNV_PRIME);
    }

    pub(crate) fn bytes(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.byte(b);
        }
        self
    }

    /// Hashes characters by their scalar value, little-endian: independent of the platform.
    pub(crate) fn chars(mut self, chars: &[char]) -> Self {
        for &c in chars {
            for b in u32::from(c).to_le_bytes() {
                self.byte(b);
            }
        }
        self
    }

    pub(crate) fn finish(self) -> u64 {
        fmix64(self.0)
    }
}

/// MurmurHash3's 64-bit finaliser.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fnv1a(bytes: &[u8]) -> u64 {
        let mut h = FeatureHash(FNV_OFFSET);
        for &b in bytes {
            h.byte(b);
        }
        h.0
    }

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // From the FNV reference test suite (fnv1a64 of "", "a", "foobar").
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn feature_types_are_separate_namespaces() {
        let w = FeatureHash::new(b'w').bytes(b"seo").finish();
        let c = FeatureHash::new(b'c').bytes(b"seo").finish();
        assert_ne!(w, c);
        assert_eq!(w, FeatureHash::new(b'w').bytes(b"seo").finish());
    }
}
