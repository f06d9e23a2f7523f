//! Jute binary-archive primitives (ZooKeeper's serialization format), usable by any protocol
//! crate that speaks Jute: big-endian `int`/`long`, one-byte `boolean`, length-prefixed
//! `buffer`/`ustring` with `-1` meaning null, and count-prefixed `vector<T>`.
//!
//! Parsers are nom-style (`fn(&[u8]) -> IResult<&[u8], T>`) and *streaming*: running out of
//! input yields [`nom::Err::Incomplete`], malformed values (negative lengths other than `-1`)
//! yield [`nom::Err::Error`]. Nothing here allocates: strings and buffers borrow the input and
//! vectors are validated once and then re-parsed lazily by [`JuteVec::iter`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use nom::error::{Error, ErrorKind};
use nom::{Err, IResult, Needed};

/// A Jute `ustring` that may be null (`-1` length on the wire).
pub type UString<'a> = Option<JuteStr<'a>>;

/// A Jute `buffer` that may be null (`-1` length on the wire). Empty and null are distinct.
pub type Buffer<'a> = Option<&'a [u8]>;

/// Error kind used when a length prefix is negative but not `-1`.
pub const BAD_LENGTH: ErrorKind = ErrorKind::LengthValue;
/// Error kind used when a vector count is negative but not `-1`.
pub const BAD_COUNT: ErrorKind = ErrorKind::Count;

fn fail<T>(i: &[u8], kind: ErrorKind) -> IResult<&[u8], T> {
    Err(Err::Error(Error::new(i, kind)))
}

fn need<T>(have: usize, want: usize) -> IResult<&'static [u8], T> {
    Err(Err::Incomplete(Needed::new(want.saturating_sub(have))))
}

/// The Jute `int` at byte offset `at` of `buf`, if the buffer holds it: a peek for splitters
/// and plausibility checks, which look at fields before a whole record is present.
#[inline]
pub fn int_at(buf: &[u8], at: usize) -> Option<i32> {
    buf.get(at..)?
        .first_chunk::<4>()
        .map(|b| i32::from_be_bytes(*b))
}

/// The Jute `long` at byte offset `at` of `buf`, if the buffer holds it (see [`int_at`]).
#[inline]
pub fn long_at(buf: &[u8], at: usize) -> Option<i64> {
    buf.get(at..)?
        .first_chunk::<8>()
        .map(|b| i64::from_be_bytes(*b))
}

/// Parses a Jute `int` (4 bytes, big-endian, signed).
#[inline]
pub fn parse_int(i: &[u8]) -> IResult<&[u8], i32> {
    match i.split_first_chunk::<4>() {
        Some((b, rest)) => Ok((rest, i32::from_be_bytes(*b))),
        None => need(i.len(), 4),
    }
}

/// Parses a Jute `long` (8 bytes, big-endian, signed).
#[inline]
pub fn parse_long(i: &[u8]) -> IResult<&[u8], i64> {
    match i.split_first_chunk::<8>() {
        Some((b, rest)) => Ok((rest, i64::from_be_bytes(*b))),
        None => need(i.len(), 8),
    }
}

/// Parses a Jute `boolean` (1 byte). Any non-zero byte is `true`, as in the Java reader.
#[inline]
pub fn parse_bool(i: &[u8]) -> IResult<&[u8], bool> {
    match i.split_first() {
        Some((b, rest)) => Ok((rest, *b != 0)),
        None => need(0, 1),
    }
}

/// Parses a Jute `buffer`: `int n` then `n` bytes; `n == -1` is null, other negatives are invalid.
///
/// A length larger than the remaining input is reported as incomplete without allocating.
#[inline]
pub fn parse_buffer(i: &[u8]) -> IResult<&[u8], Buffer<'_>> {
    let (rest, n) = parse_int(i)?;
    if n == -1 {
        return Ok((rest, None));
    }
    let Ok(n) = usize::try_from(n) else {
        return fail(i, BAD_LENGTH);
    };
    if rest.len() < n {
        return need(rest.len(), n);
    }
    let (data, rest) = rest.split_at(n);
    Ok((rest, Some(data)))
}

/// Parses a Jute `ustring` (same wire form as a buffer; the bytes are *not* validated as UTF-8
/// because Java writers emit CESU-8 surrogates and C clients send arbitrary bytes).
#[inline]
pub fn parse_ustring(i: &[u8]) -> IResult<&[u8], UString<'_>> {
    let (rest, b) = parse_buffer(i)?;
    Ok((rest, b.map(JuteStr)))
}

/// Parses a Jute `vector<T>`: validates every element once and returns a lazy borrowed view.
pub fn parse_vector<'a, T: JuteDecode<'a>>(i: &'a [u8]) -> IResult<&'a [u8], JuteVec<'a, T>> {
    let (start, count) = parse_int(i)?;
    if count == -1 {
        return Ok((start, JuteVec::null()));
    }
    let Ok(n) = u32::try_from(count) else {
        return fail(i, BAD_COUNT);
    };
    // Every element type is at least one byte, so a count above the remaining length can never
    // be satisfied: fail early instead of looping.
    if n as usize > start.len() {
        return need(start.len(), n as usize);
    }
    let mut rest = start;
    for _ in 0..n {
        let (r, _) = T::decode(rest)?;
        if r.len() == rest.len() {
            // A zero-width element would make the count meaningless; refuse rather than spin.
            return fail(rest, BAD_COUNT);
        }
        rest = r;
    }
    let raw = &start[..start.len() - rest.len()];
    Ok((
        rest,
        JuteVec {
            raw,
            len: Some(n),
            _t: PhantomData,
        },
    ))
}

/// A Jute `ustring` as raw bytes borrowed from the frame.
///
/// Displayed lossily (invalid UTF-8 becomes U+FFFD); use [`JuteStr::as_bytes`] for the exact
/// wire bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct JuteStr<'a>(pub &'a [u8]);

impl<'a> JuteStr<'a> {
    /// The exact bytes as they appeared on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The string if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.0).ok()
    }

    /// The string with invalid sequences replaced by U+FFFD (borrows when already valid).
    pub fn to_string_lossy(&self) -> Cow<'a, str> {
        // Paths are nearly always valid: `from_utf8` checks them a word at a time, where
        // `from_utf8_lossy` walks them byte by byte (4% of `--count-requests` on small reads).
        match std::str::from_utf8(self.0) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(self.0),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty (not null: null is `None` at the field level).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> From<&'a str> for JuteStr<'a> {
    fn from(s: &'a str) -> Self {
        JuteStr(s.as_bytes())
    }
}

impl<'a> From<&'a [u8]> for JuteStr<'a> {
    fn from(s: &'a [u8]) -> Self {
        JuteStr(s)
    }
}

impl fmt::Display for JuteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for JuteStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl PartialEq<str> for JuteStr<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for JuteStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// A borrowed, already-validated Jute `vector<T>`; elements are decoded on iteration.
///
/// Holding the raw element bytes instead of a `Vec` keeps decoding allocation-free and means a
/// hostile count can never drive an allocation.
pub struct JuteVec<'a, T> {
    raw: &'a [u8],
    len: Option<u32>,
    _t: PhantomData<fn() -> T>,
}

impl<'a, T> JuteVec<'a, T> {
    /// The null vector (count `-1` on the wire).
    pub const fn null() -> Self {
        JuteVec {
            raw: &[],
            len: None,
            _t: PhantomData,
        }
    }

    /// Whether the vector was null on the wire.
    pub fn is_null(&self) -> bool {
        self.len.is_none()
    }

    /// Number of elements (0 for null).
    pub fn len(&self) -> usize {
        self.len.unwrap_or(0) as usize
    }

    /// Whether there are no elements (true for null and for empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The concatenated element bytes (without the count).
    pub fn raw_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The wire count: `-1` for null.
    pub fn wire_count(&self) -> i32 {
        match self.len {
            // Counts come from an i32 on the wire, so they always fit back.
            Some(n) => i32::try_from(n).unwrap_or(i32::MAX),
            None => -1,
        }
    }
}

impl<'a, T: JuteDecode<'a>> JuteVec<'a, T> {
    /// Iterates over the elements, decoding each one from the borrowed bytes.
    pub fn iter(&self) -> JuteVecIter<'a, T> {
        JuteVecIter {
            rest: self.raw,
            remaining: self.len(),
            _t: PhantomData,
        }
    }

    /// Collects the elements into a `Vec` (allocates; convenience for non-hot paths).
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }
}

impl<T> Clone for JuteVec<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for JuteVec<'_, T> {}

impl<T> Default for JuteVec<'_, T> {
    /// The empty (non-null) vector.
    fn default() -> Self {
        JuteVec {
            raw: &[],
            len: Some(0),
            _t: PhantomData,
        }
    }
}

impl<T> PartialEq for JuteVec<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.raw == other.raw
    }
}

impl<T> Eq for JuteVec<'_, T> {}

impl<'a, T: JuteDecode<'a> + fmt::Debug> fmt::Debug for JuteVec<'a, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_null() {
            f.write_str("null")
        } else {
            f.debug_list().entries(self.iter()).finish()
        }
    }
}

impl<'a, T: JuteDecode<'a>> IntoIterator for JuteVec<'a, T> {
    type Item = T;
    type IntoIter = JuteVecIter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T: JuteDecode<'a>> IntoIterator for &JuteVec<'a, T> {
    type Item = T;
    type IntoIter = JuteVecIter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a [`JuteVec`].
pub struct JuteVecIter<'a, T> {
    rest: &'a [u8],
    remaining: usize,
    _t: PhantomData<fn() -> T>,
}

impl<'a, T: JuteDecode<'a>> Iterator for JuteVecIter<'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if self.remaining == 0 {
            return None;
        }
        match T::decode(self.rest) {
            Ok((rest, v)) => {
                self.rest = rest;
                self.remaining -= 1;
                Some(v)
            }
            // Unreachable for vectors built by `parse_vector`; stop instead of panicking.
            Err(_) => {
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<'a, T: JuteDecode<'a>> ExactSizeIterator for JuteVecIter<'a, T> {}

/// A type that can be decoded from Jute bytes (records, primitives, vector elements).
pub trait JuteDecode<'a>: Sized {
    /// Decodes one value from the front of `i`.
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self>;
}

impl<'a> JuteDecode<'a> for i32 {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_int(i)
    }
}

impl<'a> JuteDecode<'a> for i64 {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_long(i)
    }
}

impl<'a> JuteDecode<'a> for bool {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_bool(i)
    }
}

impl<'a> JuteDecode<'a> for Option<JuteStr<'a>> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_ustring(i)
    }
}

impl<'a> JuteDecode<'a> for Option<&'a [u8]> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_buffer(i)
    }
}

impl<'a, T: JuteDecode<'a>> JuteDecode<'a> for JuteVec<'a, T> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_vector(i)
    }
}

/// Where encoders write: a `Vec<u8>`, or with the `bytes` feature any [`bytes::BufMut`]
/// (`BytesMut`, a `Vec`, a chain of buffers…), so a proxy or an async client encodes straight
/// into its send buffer.
///
/// **`Vec<u8>` is always an `Output`**, whatever the features: without the `bytes` feature
/// through its own `impl Output for Vec<u8>`, with it through the blanket
/// `impl<B: BufMut + ?Sized> Output for B` (a `Vec<u8>` is a `BufMut`), which replaces that
/// impl. Documentation built with all features lists only the blanket impl; code that encodes
/// into a `Vec<u8>` compiles either way.
///
/// ```
/// use zkwire_jute::jute::{write_int, Output};
///
/// let mut out: Vec<u8> = Vec::new();
/// write_int(&mut out, 7);
/// out.write_bytes(b"ok");
/// assert_eq!(out, [0, 0, 0, 7, b'o', b'k']);
/// ```
pub trait Output {
    /// Appends `bytes`.
    fn write_bytes(&mut self, bytes: &[u8]);
}

/// A `Vec<u8>` grows to fit (with the `bytes` feature the `BufMut` impl covers it instead).
#[cfg(not(feature = "bytes"))]
impl Output for Vec<u8> {
    fn write_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Any `BufMut` (a `Vec<u8>` is one). Writing past a fixed-size buffer's end panics, as
/// `BufMut::put_slice` does: size it with [`Encode::to_bytes`] first, or use a growable one.
#[cfg(feature = "bytes")]
impl<B: bytes::BufMut + ?Sized> Output for B {
    fn write_bytes(&mut self, bytes: &[u8]) {
        self.put_slice(bytes);
    }
}

/// A type that can be written in Jute binary form.
pub trait Encode {
    /// Appends the Jute encoding of `self` to `out`.
    fn encode<O: Output + ?Sized>(&self, out: &mut O);

    /// Convenience: the encoding as a fresh `Vec`.
    fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Appends the encoding as a frame: a 4-byte big-endian length prefix, then the encoding
    /// (how the client and election ports carry every message after the first).
    ///
    /// # Panics
    /// If the encoding is longer than `i32::MAX` bytes (not representable as a Jute length).
    fn encode_frame<O: Output + ?Sized>(&self, out: &mut O) {
        let body = self.to_bytes();
        let len = i32::try_from(body.len()).expect("Jute frames are limited to i32::MAX bytes");
        write_int(out, len);
        out.write_bytes(&body);
    }
}

/// Writes a Jute `int`.
pub fn write_int<O: Output + ?Sized>(out: &mut O, v: i32) {
    out.write_bytes(&v.to_be_bytes());
}

/// Writes a Jute `long`.
pub fn write_long<O: Output + ?Sized>(out: &mut O, v: i64) {
    out.write_bytes(&v.to_be_bytes());
}

/// Writes a Jute `boolean` as `0x00`/`0x01`.
pub fn write_bool<O: Output + ?Sized>(out: &mut O, v: bool) {
    out.write_bytes(&[u8::from(v)]);
}

/// Writes a Jute `buffer` (`None` → length `-1`).
///
/// # Panics
/// If the buffer is longer than `i32::MAX` bytes (not representable in Jute).
pub fn write_buffer<O: Output + ?Sized>(out: &mut O, v: Buffer<'_>) {
    match v {
        None => write_int(out, -1),
        Some(b) => {
            let n = i32::try_from(b.len()).expect("Jute buffers are limited to i32::MAX bytes");
            write_int(out, n);
            out.write_bytes(b);
        }
    }
}

/// Writes a Jute `ustring` (`None` → length `-1`).
///
/// # Panics
/// If the string is longer than `i32::MAX` bytes.
pub fn write_ustring<O: Output + ?Sized>(out: &mut O, v: UString<'_>) {
    write_buffer(out, v.map(|s| s.0));
}

/// Writes a Jute `vector<T>` from a slice (`None` → count `-1`).
///
/// # Panics
/// If the slice has more than `i32::MAX` elements.
pub fn write_vector<T: Encode, O: Output + ?Sized>(out: &mut O, v: Option<&[T]>) {
    match v {
        None => write_int(out, -1),
        Some(items) => {
            let n = i32::try_from(items.len()).expect("Jute vectors are limited to i32::MAX items");
            write_int(out, n);
            for item in items {
                item.encode(out);
            }
        }
    }
}

impl Encode for i32 {
    fn encode<O: Output + ?Sized>(&self, out: &mut O) {
        write_int(out, *self);
    }
}

impl Encode for i64 {
    fn encode<O: Output + ?Sized>(&self, out: &mut O) {
        write_long(out, *self);
    }
}

impl Encode for bool {
    fn encode<O: Output + ?Sized>(&self, out: &mut O) {
        write_bool(out, *self);
    }
}

impl Encode for JuteStr<'_> {
    fn encode<O: Output + ?Sized>(&self, out: &mut O) {
        write_ustring(out, Some(*self));
    }
}

impl Encode for Option<JuteStr<'_>> {
    fn encode<O: Output + ?Sized>(&self, out: &mut O) {
        write_ustring(out, *self);
    }
}

impl Encode for Option<&[u8]> {
    fn encode<O: Output + ?Sized>(&self, out: &mut O) {
        write_buffer(out, *self);
    }
}

impl<T> Encode for JuteVec<'_, T> {
    fn encode<O: Output + ?Sized>(&self, out: &mut O) {
        write_int(out, self.wire_count());
        out.write_bytes(self.raw);
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for JuteStr<'_> {
    /// The string, lossily decoded as UTF-8.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string_lossy())
    }
}

#[cfg(feature = "serde")]
impl<'a, T: JuteDecode<'a> + serde::Serialize> serde::Serialize for JuteVec<'a, T> {
    /// A sequence of the elements; `null` for a null vector.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_null() {
            return s.serialize_none();
        }
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_and_incomplete() {
        assert_eq!(parse_int(&[0, 0, 1, 0, 9]), Ok((&[9u8][..], 256)));
        assert!(
            matches!(parse_int(&[0, 0]), Err(Err::Incomplete(Needed::Size(n))) if n.get() == 2)
        );
        assert_eq!(parse_long(&[0xff; 8]).map(|r| r.1), Ok(-1));
        assert_eq!(parse_bool(&[7]).map(|r| r.1), Ok(true));
    }

    #[test]
    fn buffers() {
        assert_eq!(parse_buffer(&[0xff; 4]).map(|r| r.1), Ok(None));
        assert_eq!(parse_buffer(&[0, 0, 0, 0]).map(|r| r.1), Ok(Some(&[][..])));
        assert!(matches!(
            parse_buffer(&[0xff, 0xff, 0xff, 0xfe]),
            Err(Err::Error(_))
        ));
        // A huge length is incomplete, never an allocation.
        assert!(matches!(
            parse_buffer(&[0x7f, 0xff, 0xff, 0xff, 1]),
            Err(Err::Incomplete(_))
        ));
    }

    #[test]
    fn vectors_are_lazy() {
        let mut b = Vec::new();
        write_vector(
            &mut b,
            Some(&[Some(JuteStr::from("a")), None, Some(JuteStr::from("bc"))][..]),
        );
        b.push(0xaa);
        let (rest, v) = parse_vector::<UString<'_>>(&b).unwrap();
        assert_eq!(rest, &[0xaa]);
        assert_eq!(v.len(), 3);
        let items: Vec<_> = v.iter().collect();
        assert_eq!(
            items,
            vec![Some(JuteStr::from("a")), None, Some(JuteStr::from("bc"))]
        );
        let mut again = Vec::new();
        v.encode(&mut again);
        assert_eq!(again, &b[..b.len() - 1]);
        // Absurd counts fail fast.
        assert!(parse_vector::<i32>(&[0x7f, 0xff, 0xff, 0xff, 0, 0]).is_err());
        assert!(matches!(
            parse_vector::<i32>(&[0xff, 0xff, 0xff, 0xfe]),
            Err(Err::Error(_))
        ));
        assert!(parse_vector::<i32>(&[0xff; 4]).unwrap().1.is_null());
    }

    #[test]
    fn lossy_display() {
        let s = JuteStr(b"a\xffb");
        assert_eq!(s.to_string(), "a\u{fffd}b");
        assert_eq!(s.as_str(), None);
        assert_eq!(JuteStr::from("/p").as_str(), Some("/p"));
    }

    #[test]
    fn encode_frame_prefixes_the_length() {
        let mut out = Vec::new();
        Some(JuteStr::from("/a")).encode_frame(&mut out);
        assert_eq!(out, [0, 0, 0, 6, 0, 0, 0, 2, b'/', b'a']);
    }

    #[cfg(feature = "bytes")]
    #[test]
    fn encoders_write_into_any_buf_mut() {
        let value = Some(JuteStr::from("/a"));
        let mut buf = bytes::BytesMut::new();
        value.encode_frame(&mut buf);
        // A chain of two fixed buffers is a BufMut too: the encoding spills into the second.
        let (mut a, mut b) = ([0u8; 3], [0u8; 7]);
        let mut chain = bytes::BufMut::chain_mut(&mut a[..], &mut b[..]);
        value.encode_frame(&mut chain);
        assert_eq!(&buf[..], [&a[..], &b[..]].concat());
    }
}
