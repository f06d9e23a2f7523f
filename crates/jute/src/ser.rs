//! serde helpers the protocol crates share (feature `serde`).

use serde::{Serialize, Serializer};

/// A 64-bit value as ZooKeeper's logs print zxids, session ids and digests: the string `0x…`
/// of its unsigned form, lower-case, without leading zeros.
///
/// Written from a stack buffer: no `core::fmt`, no allocation (zab-dump prints several on every
/// line).
///
/// ```
/// use zkwire_jute::ser::Hex;
/// let mut buf = [0; 18];
/// assert_eq!(Hex(0x1_0000_002a).as_str(&mut buf), "0x10000002a");
/// assert_eq!(Hex::of(-1).as_str(&mut buf), "0xffffffffffffffff");
/// assert_eq!(serde_json::to_string(&Hex(0)).unwrap(), r#""0x0""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hex(pub u64);

impl Hex {
    /// The unsigned form of a signed wire value (Jute's `long`).
    pub fn of(v: i64) -> Hex {
        Hex(v as u64)
    }

    /// The `0x…` text, written into `buf`.
    pub fn as_str(self, buf: &mut [u8; 18]) -> &str {
        // Every byte of `buf` is made ASCII (the first two here, the rest by `as_bytes`), so
        // the whole buffer, a fixed length, is checked and then cut: checking the digits
        // alone, of varying length, took twice as long.
        buf[..2].copy_from_slice(b"00");
        let start = buf.len() - self.as_bytes(buf).len();
        std::str::from_utf8(buf).map_or("0x?", |s| s.get(start..).unwrap_or("0x?"))
    }

    /// The `0x…` text as bytes, written into `buf` (for a byte buffer: no UTF-8 check).
    pub fn as_bytes(self, buf: &mut [u8; 18]) -> &[u8] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        // All sixteen digits (a loop of fixed length, unrolled), then `0x` just before the
        // first significant one: no loop of variable length, no copy.
        for (i, d) in buf[2..].iter_mut().enumerate() {
            *d = DIGITS[((self.0 >> (60 - 4 * i)) & 0xf) as usize];
        }
        let width = (64 - self.0.leading_zeros()).div_ceil(4).max(1) as usize;
        let start = 16 - width;
        buf[start..start + 2].copy_from_slice(b"0x");
        &buf[start..]
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0; 18];
        s.serialize_str(self.as_str(&mut buf))
    }
}

/// `#[serde(serialize_with = "…")]` helper: a Jute `long` as [`Hex`].
pub fn hex64<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    Hex::of(*v).serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_matches_lower_hex_formatting() {
        let mut buf = [0; 18];
        for v in [0u64, 1, 0xf, 0x10, 0xdead_beef, 1 << 63, u64::MAX] {
            assert_eq!(Hex(v).as_str(&mut buf), format!("0x{v:x}"));
            // A buffer used before for anything, not UTF-8 even, is written over.
            let mut used = [0xff; 18];
            assert_eq!(Hex(v).as_str(&mut used), format!("0x{v:x}"));
        }
    }
}
