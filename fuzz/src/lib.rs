//! Helpers shared by the fuzz targets in `fuzz_targets/`.
//!
//! Input layouts are documented on each target; the seed script (`fuzz/seed.sh`) writes seeds
//! in the same layouts.

use zk_proto::OpCode;

/// Deterministic chunk sizes for feeding a stream piecewise, derived from a few input bytes so
/// libFuzzer can steer them.
pub struct Chunker {
    state: u64,
}

impl Chunker {
    /// A chunker seeded from `seed` (any length; empty is fine).
    pub fn new(seed: &[u8]) -> Chunker {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for &b in seed {
            state = (state ^ b as u64).wrapping_mul(0x100_0000_01B3);
        }
        Chunker { state: state | 1 }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The next chunk size: mostly small (1–16 bytes), sometimes larger, never zero.
    pub fn next_size(&mut self) -> usize {
        let r = self.next_u64();
        match r % 8 {
            0 => 1,
            1..=4 => 1 + (r >> 8) as usize % 16,
            5 | 6 => 1 + (r >> 8) as usize % 512,
            _ => 1 + (r >> 8) as usize % 65_536,
        }
    }

    /// Splits `data` into consecutive chunks of [`Chunker::next_size`] bytes.
    pub fn split<'a>(&mut self, data: &'a [u8]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let n = self.next_size().min(rest.len());
            let (a, b) = rest.split_at(n);
            out.push(a);
            rest = b;
        }
        out
    }
}

/// Selector byte for a reply's request opcode, as used by `zk_reply` and `zk_roundtrip`:
/// `0..ALL.len()` picks `OpCode::ALL[i]`, `0xFE` means untyped (`None`), `0xFF` takes a raw
/// big-endian i32 from the next four bytes, anything else is `None` too. Returns the opcode
/// and the remaining input.
pub fn reply_opcode(data: &[u8]) -> Option<(Option<i32>, &[u8])> {
    let (&sel, rest) = data.split_first()?;
    if (sel as usize) < OpCode::ALL.len() {
        return Some((Some(OpCode::ALL[sel as usize].as_i32()), rest));
    }
    if sel == 0xFF {
        let (raw, rest) = rest.split_first_chunk::<4>()?;
        return Some((Some(i32::from_be_bytes(*raw)), rest));
    }
    Some((None, rest))
}
