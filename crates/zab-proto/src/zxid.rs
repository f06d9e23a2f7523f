//! zxid helpers (as upstream `org.apache.zookeeper.server.util.ZxidUtils`): a zxid is a signed
//! 64-bit long whose high 32 bits are the leader epoch and whose low 32 bits are a per-epoch
//! counter.
//!
//! The special values `-1` ("none": UPTODATE, REQUEST, REVALIDATE) and `0` ("nothing yet") are
//! ordinary values here; [`Zxid`] only splits and formats.

use std::fmt;

/// Epoch part of a zxid: `zxid >> 32` with an arithmetic shift, as ZooKeeper's `ZxidUtils`
/// does, so `-1` has epoch `-1`.
pub const fn epoch_of(zxid: i64) -> i32 {
    (zxid >> 32) as i32
}

/// Counter part of a zxid: the low 32 bits, unsigned.
pub const fn counter_of(zxid: i64) -> u32 {
    (zxid & 0xffff_ffff) as u32
}

/// Builds a zxid from an epoch and a counter (`ZxidUtils.makeZxid`).
pub const fn make_zxid(epoch: i32, counter: u32) -> i64 {
    ((epoch as i64) << 32) | counter as i64
}

/// A zxid with accessors and formatting.
///
/// `Display` prints `epoch/counter` in decimal (`1/2`, `-1/4294967295` for the `-1` marker);
/// `LowerHex`/`UpperHex` print the unsigned 64-bit value, the form ZooKeeper logs use
/// (`{:#x}` → `0x100000002`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Zxid(pub i64);

impl Zxid {
    /// The "no zxid" marker (`-1`).
    pub const NONE: Zxid = Zxid(-1);

    /// Builds a zxid from its parts.
    pub const fn new(epoch: i32, counter: u32) -> Zxid {
        Zxid(make_zxid(epoch, counter))
    }

    /// The epoch (high 32 bits, arithmetic shift).
    pub const fn epoch(self) -> i32 {
        epoch_of(self.0)
    }

    /// The counter (low 32 bits).
    pub const fn counter(self) -> u32 {
        counter_of(self.0)
    }

    /// The raw wire value.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// `"0x…"` form of the unsigned value, as used in ZooKeeper logs and the test vectors.
    pub fn to_hex(self) -> String {
        format!("{:#x}", self.0 as u64)
    }
}

impl From<i64> for Zxid {
    fn from(v: i64) -> Self {
        Zxid(v)
    }
}

impl From<Zxid> for i64 {
    fn from(z: Zxid) -> Self {
        z.0
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.epoch(), self.counter())
    }
}

impl fmt::LowerHex for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&(self.0 as u64), f)
    }
}

impl fmt::UpperHex for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::UpperHex::fmt(&(self.0 as u64), f)
    }
}

impl<'a> zkwire_jute::JuteDecode<'a> for Zxid {
    fn decode(i: &'a [u8]) -> nom::IResult<&'a [u8], Self> {
        zkwire_jute::jute::parse_long(i).map(|(i, v)| (i, Zxid(v)))
    }
}

impl zkwire_jute::Encode for Zxid {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.0.encode(out);
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Zxid {
    /// The raw wire value, as a number.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_format() {
        let z = Zxid(0x1_0000_0002);
        assert_eq!((z.epoch(), z.counter()), (1, 2));
        assert_eq!(z.to_string(), "1/2");
        assert_eq!(format!("{z:#x}"), "0x100000002");
        assert_eq!(z.to_hex(), "0x100000002");
        assert_eq!(Zxid::new(1, 2), z);
        assert_eq!(Zxid::NONE.epoch(), -1);
        assert_eq!(Zxid::NONE.counter(), u32::MAX);
        assert_eq!(Zxid::NONE.to_hex(), "0xffffffffffffffff");
        assert_eq!(Zxid::new(-1, u32::MAX), Zxid::NONE);
        assert_eq!(make_zxid(3, 5), 0x3_0000_0005);
    }
}
