//! Seeded draws: a hash that is the same on every platform and Rust version, so every
//! "random" choice of the mock (`fail_rate`, `replies`) is reproducible from its seed. Plain
//! functions over bytes; nothing here knows about scripts or requests.

/// FNV-1a, 64 bit. std's hasher promises neither stability across platforms nor across Rust
/// versions, and seeded tests need both.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(0xcbf2_9ce4_8422_2325, bytes)
}

fn fnv1a_from(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A number in `[0, 1)` fixed by `seed` and `parts`: FNV-1a over the seed's and each part's
/// bytes (parts separated), finished with SplitMix64 to spread FNV's weak low bits.
pub(crate) fn unit_draw(seed: u64, parts: &[&[u8]]) -> f64 {
    let mut h = fnv1a(&seed.to_le_bytes());
    for p in parts {
        h = fnv1a_from(h, p);
        h = fnv1a_from(h, &[0xff]);
    }
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_stable_and_spread() {
        assert_eq!(unit_draw(7, &[b"a"]), unit_draw(7, &[b"a"]));
        assert_ne!(unit_draw(7, &[b"a"]), unit_draw(8, &[b"a"]));
        let below = (0..10_000u64)
            .filter(|n| unit_draw(1, &[&n.to_le_bytes()]) < 0.3)
            .count();
        assert!((2_700..3_300).contains(&below), "{below}");
    }

    #[test]
    fn fnv1a_reference_values() {
        // The published FNV-1a test vectors: a change here would change every seeded draw.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
