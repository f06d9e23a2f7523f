//! One output line built straight from typed values: the fields of a message, in order, each
//! rendered once in the output's format (JSON, or zktraffic's `k=v` text), then written as a
//! JSON object or as `HH:MM:SS:ffffff Type(k=v, …)`.
//!
//! A line is a list of (key, rendered value) pairs over one reusable byte buffer, so building
//! a line allocates nothing once the buffer has grown. Records are added with
//! [`Line::merge`], which walks their `serde::Serialize` implementation (the protocol crates'
//! log shape) with a flattening serializer: no `serde_json::Value` is built. Keys keep the
//! first position they were given; [`Line::insert`] replaces a value in place, [`Line::merge`]
//! never overrides a key already set (the common keys every tool puts first win).

mod text;

use crate::output::Format;
use serde::ser::{self, Serialize};
use std::fmt::Display;
use std::io::Write;
use std::net::SocketAddr;
use std::ops::Range;
use text::Text;
use zk_proto::records::Stat;
use zkwire_capture::Timestamp;
use zkwire_jute::jute::UString;
use zkwire_jute::ser::Hex;
use zkwire_jute::{JuteStr, JuteVec};

/// A field: where its key and rendered value sit in the line's buffer.
#[derive(Debug, Clone)]
struct Field {
    /// [`key_tag`] of the key: most keys differ in it, so a lookup compares whole keys rarely.
    tag: u64,
    key: Range<usize>,
    value: Range<usize>,
    null: bool,
    /// The key is known to need no JSON escaping: every key written in code, and in a JSON
    /// line a record's key checked once when set.
    plain_key: bool,
}

/// The fields of one message, rendered in one format.
#[derive(Debug)]
pub struct Line {
    format: Format,
    buf: Vec<u8>,
    fields: Vec<Field>,
    /// The text of a map key being serialized (see [`FlattenMap`]), kept from key to key.
    pending_key: Vec<u8>,
    /// Whether `pending_key` is known to need no JSON escaping.
    pending_key_plain: bool,
    /// Keys never rendered (the fields a text line leaves out), with their [`key_tag`]s:
    /// setting one does nothing.
    omitted: Vec<(u64, &'static str)>,
    /// One bit per omitted key ([`tag_bit`]): most keys set are not omitted, and this tells
    /// so without scanning the list.
    omitted_bits: u64,
    /// One bit per key set since the line was cleared ([`tag_bit`]; a removed key keeps its
    /// bit): a key whose bit is clear is new, and is added without a scan of the fields.
    set_bits: u64,
}

/// A bit of a 64-bit set, chosen by a key's tag.
fn tag_bit(tag: u64) -> u64 {
    1 << (tag.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

/// A key's length and three of its bytes (first, middle, last) in one word, to tell most keys
/// apart without comparing them: a few loads, no copy (this runs for every field set).
fn key_tag(key: &[u8]) -> u64 {
    let Some((&last, _)) = key.split_last() else {
        return 0;
    };
    let byte = |i: usize| u64::from(key[i]);
    key.len() as u64 | byte(0) << 32 | byte(key.len() / 2) << 40 | u64::from(last) << 48
}

impl Line {
    /// An empty line for `format`.
    pub fn new(format: Format) -> Line {
        Line {
            format,
            buf: Vec::with_capacity(512),
            fields: Vec::with_capacity(32),
            pending_key: Vec::new(),
            pending_key_plain: false,
            omitted: Vec::new(),
            omitted_bits: 0,
            set_bits: 0,
        }
    }

    /// A line that leaves `keys` out: they are never rendered, so a printer that does not show
    /// them (text leaves out the addresses it writes last, a reply's stat…) does not pay for
    /// them.
    pub fn omitting(mut self, keys: &'static [&'static str]) -> Line {
        self.omitted = keys.iter().map(|k| (key_tag(k.as_bytes()), *k)).collect();
        self.omitted_bits = self
            .omitted
            .iter()
            .fold(0, |bits, (t, _)| bits | tag_bit(*t));
        self
    }

    fn is_omitted(&self, key: &[u8], tag: u64) -> bool {
        self.omitted_bits & tag_bit(tag) != 0
            && self
                .omitted
                .iter()
                .any(|(t, k)| *t == tag && k.as_bytes() == key)
    }

    /// The format values are rendered in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Empties the line, keeping its buffers.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.fields.clear();
        self.set_bits = 0;
    }

    fn position(&self, key: &str) -> Option<usize> {
        let key = key.as_bytes();
        self.position_tagged(key, key_tag(key))
    }

    fn position_tagged(&self, key: &[u8], tag: u64) -> Option<usize> {
        if self.set_bits & tag_bit(tag) == 0 {
            return None;
        }
        self.fields
            .iter()
            .position(|f| f.tag == tag && &self.buf[f.key.clone()] == key)
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// A field's rendered value (in text, a string's own characters).
    pub fn get(&self, key: &str) -> Option<&str> {
        let f = &self.fields[self.position(key)?];
        std::str::from_utf8(&self.buf[f.value.clone()]).ok()
    }

    /// A field's rendered bytes.
    fn get_bytes(&self, key: &str) -> Option<&[u8]> {
        let f = &self.fields[self.position(key)?];
        Some(&self.buf[f.value.clone()])
    }

    /// Removes a field.
    pub fn remove(&mut self, key: &str) {
        if let Some(i) = self.position(key) {
            self.fields.remove(i);
        }
    }

    /// Sets `key` to the value `render` writes: in place when the key is set already. Keys
    /// are names written in code (hence `'static`), which need no JSON escaping.
    fn set(&mut self, key: &'static str, render: impl FnOnce(&mut Vec<u8>) -> bool) {
        let key = key.as_bytes();
        debug_assert!(!any_needs_json_escape(key), "key {key:?} needs escaping");
        let tag = key_tag(key);
        if self.is_omitted(key, tag) {
            return;
        }
        let at = self.position_tagged(key, tag);
        self.set_at((key, true), tag, at, render);
    }

    /// Sets `key` (whether it needs no JSON escaping, its tag `tag`, its field `at` when it is
    /// set already) to what `render` writes.
    fn set_at(
        &mut self,
        (key, plain_key): (&[u8], bool),
        tag: u64,
        at: Option<usize>,
        render: impl FnOnce(&mut Vec<u8>) -> bool,
    ) {
        let start = self.buf.len();
        let null = render(&mut self.buf);
        let value = start..self.buf.len();
        match at {
            Some(i) => {
                self.fields[i].value = value;
                self.fields[i].null = null;
            }
            None => {
                let k = self.buf.len();
                self.buf.extend_from_slice(key);
                self.set_bits |= tag_bit(tag);
                self.fields.push(Field {
                    tag,
                    key: k..self.buf.len(),
                    value,
                    null,
                    plain_key,
                });
            }
        }
    }

    /// Sets a string field.
    pub fn str(&mut self, key: &'static str, v: &str) {
        let format = self.format;
        self.set(key, |buf| {
            match format {
                Format::Json => json_str(buf, v),
                Format::Text => text_str(buf, v),
            }
            false
        });
    }

    /// Sets a string field from anything printable (`0x…` ids, addresses).
    pub fn display(&mut self, key: &'static str, v: impl Display) {
        let format = self.format;
        self.set(key, |buf| {
            match format {
                Format::Json => {
                    let start = buf.len();
                    // Rare: what needs escaping is quoted through serde_json.
                    if display_escaped(buf, &v, any_needs_json_escape, json_str) {
                        buf.insert(start, b'"');
                        buf.push(b'"');
                    }
                }
                Format::Text => text_display(buf, &v),
            }
            false
        });
    }

    /// Sets an address field, `ip:port` (`[ip6]:port`), as a string. IPv4, nearly every
    /// address on the wire, is written digit by digit: through `Display` it was a fifth of the
    /// cost of a printed line.
    pub fn addr(&mut self, key: &'static str, v: SocketAddr) {
        self.plain_str(key, |buf| push_addr(buf, v));
    }

    /// Sets a string field whose text needs no escaping in either format (digits, `.:[]/x`):
    /// written straight into the line, quoted in JSON, bare in text.
    fn plain_str(&mut self, key: &'static str, write: impl FnOnce(&mut Vec<u8>)) {
        let quoted = self.format == Format::Json;
        self.set(key, |buf| {
            if quoted {
                buf.push(b'"');
            }
            write(buf);
            if quoted {
                buf.push(b'"');
            }
            false
        });
    }

    /// Sets a string field of two integers and a separator (a zxid's `epoch/counter`),
    /// written without `core::fmt`; the separator must need no escaping.
    pub fn pair(
        &mut self,
        key: &'static str,
        a: impl itoa::Integer,
        sep: char,
        b: impl itoa::Integer,
    ) {
        self.plain_str(key, |buf| {
            let mut digits = itoa::Buffer::new();
            buf.extend_from_slice(digits.format(a).as_bytes());
            buf.extend_from_slice(sep.encode_utf8(&mut [0; 4]).as_bytes());
            buf.extend_from_slice(digits.format(b).as_bytes());
        });
    }

    /// Sets a `0x…` field (lower-case hex digits, no leading zeros), as a string.
    pub fn hex(&mut self, key: &'static str, v: u64) {
        self.plain_str(key, |buf| write_hex(buf, v));
    }

    /// Sets a capture time as seconds since the epoch, a number with exactly the digits the
    /// capture has: six decimals for microsecond captures, nine for nanosecond ones. Through
    /// `f64` a third of the times gained a seventh digit the capture never had
    /// (`1764741495.5606091`).
    pub fn timestamp(&mut self, key: &'static str, ts: Timestamp) {
        self.set(key, |buf| {
            write_timestamp(buf, ts);
            false
        });
    }

    /// Sets an integer field.
    pub fn int(&mut self, key: &'static str, v: impl itoa::Integer) {
        self.set(key, |buf| {
            buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
            false
        });
    }

    /// Sets a boolean field.
    pub fn bool(&mut self, key: &'static str, v: bool) {
        let format = self.format;
        self.set(key, |buf| {
            buf.extend_from_slice(match (format, v) {
                (Format::Json, true) => b"true",
                (Format::Json, false) => b"false",
                (Format::Text, true) => b"True",
                (Format::Text, false) => b"False",
            });
            false
        });
    }

    /// Sets a list of Jute strings (a `getChildren` reply's children), written straight into
    /// the line as serde would write it (`[a, b]` in text, `["a","b"]` in JSON, a null vector
    /// or element `None`/`null`): through serde a child cost about 200 instructions, and a
    /// reply can list thousands.
    pub fn strings(&mut self, key: &'static str, v: &JuteVec<'_, UString<'_>>) {
        let json = self.format == Format::Json;
        let null: &[u8] = if json { b"null" } else { b"None" };
        self.set(key, |buf| {
            if v.is_null() {
                buf.extend_from_slice(null);
                return true;
            }
            // Room for every child that needs no escaping: each takes at most its length and
            // the four bytes of its length on the wire.
            buf.reserve(v.raw_bytes().len() + 2);
            buf.push(b'[');
            for (i, s) in v.iter().enumerate() {
                // Constant-length writes, so no call to memcpy.
                match (i, json) {
                    (0, _) => {}
                    (_, true) => buf.push(b','),
                    (_, false) => buf.extend_from_slice(b", "),
                }
                match s {
                    None => buf.extend_from_slice(null),
                    Some(s) => jute_str(buf, s.as_bytes(), json),
                }
            }
            buf.push(b']');
            false
        });
    }

    /// Sets a node's `Stat`. In JSON it is written field by field as its serde form writes it
    /// (names, order, `0x…` zxids and session): through serde_json a reply's Stat cost about
    /// 3,800 instructions, a third of a JSON line. Text, which prints no Stat, goes through
    /// serde.
    pub fn stat(&mut self, key: &'static str, s: &Stat) {
        if self.format == Format::Text {
            return self.value(key, s);
        }
        self.set(key, |buf| {
            write_stat_json(buf, s);
            false
        });
    }

    /// Sets a floating-point field (JSON's number form in both formats).
    pub fn f64(&mut self, key: &'static str, v: f64) {
        self.value(key, &v);
    }

    /// Sets a field to any serializable value (lists, maps, records).
    pub fn value<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) {
        let format = self.format;
        self.set(key, |buf| render_value(format, buf, v));
    }

    /// Sets a field to a value already rendered in this line's format (a nested JSON object
    /// written by another [`Line`]).
    pub fn rendered(&mut self, key: &'static str, v: &[u8]) {
        self.set(key, |buf| {
            buf.extend_from_slice(v);
            false
        });
    }

    /// The line as a JSON object, in a new string (tables and reports, not per message).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.buf.len() + 4 * self.fields.len() + 2);
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Adds a record's fields (its serde form must be a struct or map; anything else adds
    /// nothing), after the fields already set; a key already set keeps its value.
    pub fn merge<T: Serialize + ?Sized>(&mut self, record: &T) {
        let _ = record.serialize(Flatten { line: self });
    }

    /// Like [`Line::merge`], leaving `except` out when given: the caller writes it itself,
    /// faster than serde would (a reply's `stat`, see [`Line::stat`]). One call for both, so
    /// a record type's merge is compiled (and inlined) once.
    pub fn merge_except<T: Serialize + ?Sized>(
        &mut self,
        record: &T,
        except: Option<&'static str>,
    ) {
        let Some(key) = except else {
            return self.merge(record);
        };
        let (len, bits) = (self.omitted.len(), self.omitted_bits);
        let tag = key_tag(key.as_bytes());
        self.omitted.push((tag, key));
        self.omitted_bits |= tag_bit(tag);
        self.merge(record);
        self.omitted.truncate(len);
        self.omitted_bits = bits;
    }

    /// Adds a record's field unless set already; `plain`: the key is known to need no JSON
    /// escaping (a name from code, or a map key checked).
    fn merge_field<T: Serialize + ?Sized>(&mut self, (key, plain): (&[u8], bool), v: &T) {
        debug_assert!(
            !plain || !any_needs_json_escape(key),
            "key {key:?} needs escaping"
        );
        let tag = key_tag(key);
        if !self.is_omitted(key, tag) && self.position_tagged(key, tag).is_none() {
            let format = self.format;
            self.set_at((key, plain), tag, None, |buf| render_value(format, buf, v));
        }
    }

    /// Writes the line as a JSON object.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let key = &self.buf[f.key.clone()];
            // JSON escapes only control characters, quotes and backslashes; keys written in
            // code have none, a JSON line's record keys were checked when set.
            let plain = match self.format {
                Format::Json => f.plain_key,
                Format::Text => f.plain_key || !any_needs_json_escape(key),
            };
            if plain {
                out.push(b'"');
                out.extend_from_slice(key);
                out.push(b'"');
            } else {
                json_str(out, &String::from_utf8_lossy(key));
            }
            out.push(b':');
            out.extend_from_slice(&self.buf[f.value.clone()]);
        }
        out.push(b'}');
    }

    /// Writes the line as zktraffic's text after the time the caller wrote,
    /// ` [arrow ]Kind(k=v, …[, trailer])`: the kind is the value of `kind_key`, and fields for
    /// which `skip(key, value, is_null)` holds are left out.
    #[inline(always)] // into each printer: out of line, with its skip rules, it cost 30% more
    pub fn write_text(
        &self,
        out: &mut Vec<u8>,
        kind_key: &str,
        skip: impl Fn(&[u8], &[u8], bool) -> bool,
        trailer: &[u8],
        indent: usize,
    ) {
        out.push(b' ');
        if indent > 0 {
            for _ in 0..4 * indent {
                out.extend_from_slice("\u{2014}".as_bytes());
            }
            out.extend_from_slice("\u{25ba} ".as_bytes());
        }
        out.extend_from_slice(self.get_bytes(kind_key).unwrap_or(b"?"));
        out.push(b'(');
        let mut first = true;
        for f in &self.fields {
            let key = &self.buf[f.key.clone()];
            let value = &self.buf[f.value.clone()];
            if key == b"ts" || key == kind_key.as_bytes() || skip(key, value, f.null) {
                continue;
            }
            if !first {
                out.extend_from_slice(b", ");
            }
            first = false;
            out.extend_from_slice(key);
            out.push(b'=');
            out.extend_from_slice(value);
        }
        if !trailer.is_empty() {
            if !first {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(trailer);
        }
        out.push(b')');
    }
}

/// The decimal digits of every byte value (`0` to `255`, at most three) and how many there are:
/// an IPv4 address's octet is a table lookup, where dividing out its digits cost a third of a
/// printed address.
const OCTET_DIGITS: [([u8; 3], u8); 256] = {
    let mut table = [([0u8; 3], 0u8); 256];
    let mut v = 0;
    while v < 256 {
        table[v] = match v {
            0..=9 => ([b'0' + v as u8, 0, 0], 1),
            10..=99 => ([b'0' + (v / 10) as u8, b'0' + (v % 10) as u8, 0], 2),
            _ => (
                [
                    b'0' + (v / 100) as u8,
                    b'0' + (v / 10 % 10) as u8,
                    b'0' + (v % 10) as u8,
                ],
                3,
            ),
        };
        v += 1;
    }
    table
};

/// An address as `Display` writes it (`ip:port`, `[ip6]:port`); IPv4, nearly every address on
/// the wire, digit by digit.
pub(crate) fn push_addr(buf: &mut Vec<u8>, v: SocketAddr) {
    match v {
        SocketAddr::V4(a) => {
            // Written on the stack, then copied once: `255.255.255.255:65535` at most.
            let mut text = [0u8; 21];
            let mut n = 0;
            for (i, octet) in a.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    text[n] = b'.';
                    n += 1;
                }
                // All three bytes are written (a fixed-size copy), the digits' count kept.
                let (digits, len) = OCTET_DIGITS[usize::from(octet)];
                text[n..n + 3].copy_from_slice(&digits);
                n += usize::from(len);
            }
            text[n] = b':';
            n += 1;
            n += put_decimal(&mut text[n..], u32::from(a.port()));
            buf.extend_from_slice(&text[..n]);
        }
        SocketAddr::V6(a) => {
            let _ = write!(buf, "{a}");
        }
    }
}

/// Writes `v` (at most five digits) in decimal at the start of `out`; returns how many bytes.
fn put_decimal(out: &mut [u8], v: u32) -> usize {
    let width = match v {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    let mut rest = v;
    for d in out[..width].iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    width
}

/// `0x` and the lower-case hex digits of `v`, without leading zeros.
pub(crate) fn write_hex(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(Hex(v).as_bytes(&mut [0; 18]));
}

/// A Stat as its serde form writes it in JSON: composed on the stack, then copied once. The
/// punctuation and names are constants, so each goes in as a few stores, not a call.
fn write_stat_json(buf: &mut Vec<u8>, s: &Stat) {
    let mut out = StackText::default();
    out.put(b"{\"czxid\":\"");
    out.hex(s.czxid);
    out.put(b"\",\"mzxid\":\"");
    out.hex(s.mzxid);
    out.put(b"\",\"ctime\":");
    out.int(s.ctime);
    out.put(b",\"mtime\":");
    out.int(s.mtime);
    out.put(b",\"version\":");
    out.int(s.version.into());
    out.put(b",\"cversion\":");
    out.int(s.cversion.into());
    out.put(b",\"aversion\":");
    out.int(s.aversion.into());
    out.put(b",\"ephemeral_owner\":\"");
    out.hex(s.ephemeral_owner);
    out.put(b"\",\"data_length\":");
    out.int(s.data_length.into());
    out.put(b",\"num_children\":");
    out.int(s.num_children.into());
    out.put(b",\"pzxid\":\"");
    out.hex(s.pzxid);
    out.put(b"\"}");
    buf.extend_from_slice(out.text());
}

/// A short text composed on the stack ([`write_stat_json`]: names and punctuation take 180
/// bytes, four `0x…` at most 18 each, seven integers at most 20 digits and a sign each).
struct StackText {
    out: [u8; 400],
    len: usize,
}

impl Default for StackText {
    fn default() -> StackText {
        StackText {
            out: [0; 400],
            len: 0,
        }
    }
}

impl StackText {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// `0x…`, as [`Hex`] writes a Jute long.
    fn hex(&mut self, v: i64) {
        self.put(Hex::of(v).as_bytes(&mut [0; 18]));
    }

    /// A decimal integer (versions and counts are mostly one digit).
    fn int(&mut self, v: i64) {
        match u8::try_from(v) {
            Ok(d @ 0..=9) => self.put(&[b'0' + d]),
            _ => self.put(itoa::Buffer::new().format(v).as_bytes()),
        }
    }

    fn text(&self) -> &[u8] {
        &self.out[..self.len]
    }
}

/// Seconds since the epoch with the capture's own resolution: `S.ffffff` when the time is a
/// whole number of microseconds, `S.fffffffff` otherwise (a time before 1970 gets a sign and
/// the same digits).
pub(crate) fn write_timestamp(buf: &mut Vec<u8>, ts: Timestamp) {
    let ns = ts.0.unsigned_abs();
    if ts.0 < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(itoa::Buffer::new().format(ns / 1_000_000_000).as_bytes());
    buf.push(b'.');
    let frac = ns % 1_000_000_000;
    if frac % 1000 == 0 {
        push_digits::<6>(buf, frac / 1000);
    } else {
        push_digits::<9>(buf, frac);
    }
}

/// The last `N` decimal digits of `v`, zero-padded (a clock's fields, a fraction's digits).
fn push_digits<const N: usize>(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [b'0'; N];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    buf.extend_from_slice(&digits);
}

/// Writes a JSON string as serde_json writes it: quoted as it is when nothing in it needs
/// escaping (nearly every string), through serde_json otherwise.
fn json_str(buf: &mut Vec<u8>, s: &str) {
    if any_needs_json_escape(s.as_bytes()) {
        let _ = serde_json::to_writer(&mut *buf, s);
        return;
    }
    buf.push(b'"');
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'"');
}

/// Whether a text value needs escaping: a control character (a path or a config with a newline
/// would otherwise break the one-line-per-message output, or forge a line) or a backslash (so
/// the escapes stay unambiguous).
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b == b'\\'
}

/// Whether any byte needs escaping, eight bytes at a time (every text value is checked).
fn any_needs_escape(s: &[u8]) -> bool {
    any_control_or::<false>(s, 0x7f, b'\\')
}

/// Whether a JSON string needs escaping (a control character, a quote or a backslash), eight
/// bytes at a time: every key of every JSON line is checked.
fn any_needs_json_escape(s: &[u8]) -> bool {
    any_control_or::<false>(s, b'"', b'\\')
}

/// Whether any byte is a C0 control character (below 0x20), `a` or `b`, or with `NON_ASCII`
/// also at or above 0x80, a word at a time.
fn any_control_or<const NON_ASCII: bool>(s: &[u8], a: u8, b: u8) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = ONES * 0x80;
    // Whether a byte of `v` is below `n` (≤ 0x80), resp. zero: exact as a yes/no answer.
    let has_below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGHS != 0;
    let test = |v: u64| {
        (NON_ASCII && v & HIGHS != 0)
            || has_below(v, 0x20)
            || has_below(v ^ (ONES * u64::from(a)), 1)
            || has_below(v ^ (ONES * u64::from(b)), 1)
    };
    let hit = |chunk: &[u8]| {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        test(u64::from_le_bytes(word))
    };
    if s.len() < 8 {
        if s.len() < 4 {
            return s
                .iter()
                .any(|&c| c < 0x20 || c == a || c == b || (NON_ASCII && c >= 0x80));
        }
        // Four to seven bytes (keys, numbers, hex) are one word too: the first four and the
        // last four, overlapping.
        let half = |at: usize| {
            let mut word = [0; 4];
            word.copy_from_slice(&s[at..at + 4]);
            u64::from(u32::from_le_bytes(word))
        };
        return test(half(0) | half(s.len() - 4) << 32);
    }
    let mut chunks = s.chunks_exact(8);
    // The rest is checked as the last eight bytes, overlapping the last whole word: one word
    // test instead of up to seven byte tests.
    chunks.any(hit) || (!chunks.remainder().is_empty() && hit(&s[s.len() - 8..]))
}

/// Writes a Jute string's bytes as a JSON or text string value, as `JuteStr`'s serde form does
/// (invalid UTF-8 replaced by U+FFFD): ASCII that needs no escaping, nearly every name, is
/// copied as it is.
fn jute_str(buf: &mut Vec<u8>, bytes: &[u8], json: bool) {
    match (plain_ascii(bytes, json), json) {
        (true, true) => {
            buf.push(b'"');
            buf.extend_from_slice(bytes);
            buf.push(b'"');
        }
        (true, false) => buf.extend_from_slice(bytes),
        (false, true) => json_str(buf, &JuteStr(bytes).to_string_lossy()),
        (false, false) => text_str(buf, &JuteStr(bytes).to_string_lossy()),
    }
}

/// Whether `s` is ASCII that needs no escaping in JSON (`json`) or in text, in one pass.
fn plain_ascii(s: &[u8], json: bool) -> bool {
    // Both escape control characters and backslashes; JSON quotes too, text DEL.
    let quote = if json { b'"' } else { 0x7f };
    !any_control_or::<true>(s, quote, b'\\')
}

/// Writes anything printable in place; when what was written holds a byte `needs` says must be
/// escaped (rare), writes it again through `escaped`. Returns whether it was kept as written.
fn display_escaped<T: Display + ?Sized>(
    buf: &mut Vec<u8>,
    v: &T,
    needs: fn(&[u8]) -> bool,
    escaped: fn(&mut Vec<u8>, &str),
) -> bool {
    let start = buf.len();
    let _ = write!(buf, "{v}");
    if !needs(&buf[start..]) {
        return true;
    }
    let text = String::from_utf8_lossy(&buf[start..]).into_owned();
    buf.truncate(start);
    escaped(buf, &text);
    false
}

/// Writes anything printable as a text value, in place (escaped as [`text_str`] escapes).
fn text_display<T: Display + ?Sized>(buf: &mut Vec<u8>, v: &T) {
    display_escaped(buf, v, any_needs_escape, text_str);
}

/// Writes a string as a text value: as it is, but for `\n`, `\r`, `\t`, `\\` and `\xNN`
/// for other control characters.
pub(crate) fn text_str(buf: &mut Vec<u8>, s: &str) {
    if !any_needs_escape(s.as_bytes()) {
        buf.extend_from_slice(s.as_bytes());
        return;
    }
    for b in s.bytes() {
        match b {
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b if needs_escape(b) => {
                let _ = write!(buf, "\\x{b:02x}");
            }
            b => buf.push(b),
        }
    }
}

/// Renders `v` into `buf` in `format`; true when it is null (None).
fn render_value<T: Serialize + ?Sized>(format: Format, buf: &mut Vec<u8>, v: &T) -> bool {
    let start = buf.len();
    match format {
        Format::Json => {
            if v.serialize(&mut serde_json::Serializer::new(&mut *buf))
                .is_err()
            {
                buf.truncate(start);
                buf.extend_from_slice(b"null");
            }
            &buf[start..] == b"null"
        }
        Format::Text => {
            let mut null = false;
            if v.serialize(Text {
                out: buf,
                null: Some(&mut null),
            })
            .is_err()
            {
                buf.truncate(start);
                buf.extend_from_slice(b"None");
                null = true;
            }
            null
        }
    }
}

/// Why a value could not be rendered (a serializer asked for something no record does).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LineError(String);

impl ser::Error for LineError {
    fn custom<T: Display>(msg: T) -> Self {
        LineError(msg.to_string())
    }
}

/// Flattens a record's top-level fields into a [`Line`].
struct Flatten<'l> {
    line: &'l mut Line,
}

/// The fields of a record's struct or map form.
struct FlattenMap<'l> {
    line: &'l mut Line,
}

impl ser::SerializeStruct for FlattenMap<'_> {
    type Ok = ();
    type Error = LineError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), LineError> {
        // A field's name, from code.
        self.line.merge_field((key.as_bytes(), true), value);
        Ok(())
    }
    fn end(self) -> Result<(), LineError> {
        Ok(())
    }
}

impl ser::SerializeMap for FlattenMap<'_> {
    type Ok = ();
    type Error = LineError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), LineError> {
        // Into a buffer kept from key to key: a record serialized as a map names every field
        // this way (zab-dump's packets), and a new `String` per key cost a fifth of a line.
        // The text serializer writes UTF-8 only, so the bytes are the key as they are.
        let text = &mut self.line.pending_key;
        text.clear();
        key.serialize(Text {
            out: text,
            null: None,
        })?;
        // Checked once here, in a JSON line (a text line's keys are checked if ever written as
        // JSON). One that needs escaping may have been escaped as text: a JSON line wants the
        // key itself, which it escapes its own way. Rare: keys are field names.
        let json = self.line.format == Format::Json;
        self.line.pending_key_plain = json && !any_needs_json_escape(text);
        if json && !self.line.pending_key_plain {
            return raw_key(key, text);
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), LineError> {
        let key = std::mem::take(&mut self.line.pending_key);
        self.line
            .merge_field((&key, self.line.pending_key_plain), value);
        self.line.pending_key = key;
        Ok(())
    }
    fn end(self) -> Result<(), LineError> {
        Ok(())
    }
}

/// A map key as itself (not its text form) into `out`, through serde_json: out of the way of
/// the common path, where keys need no escaping.
#[cold]
#[inline(never)]
fn raw_key<T: Serialize + ?Sized>(key: &T, out: &mut Vec<u8>) -> Result<(), LineError> {
    let raw = serde_json::to_vec(key)
        .ok()
        .and_then(|json| serde_json::from_slice::<String>(&json).ok())
        .ok_or_else(|| LineError("a map key that is not a string".into()))?;
    *out = raw.into_bytes();
    Ok(())
}

/// Serializer methods that add nothing: a record whose serde form is not a map.
macro_rules! ignore_scalars {
    ($($method:ident($ty:ty)),*) => {
        $(fn $method(self, _: $ty) -> Result<(), LineError> { Ok(()) })*
    };
}

impl<'l> ser::Serializer for Flatten<'l> {
    type Ok = ();
    type Error = LineError;
    type SerializeSeq = ser::Impossible<(), LineError>;
    type SerializeTuple = ser::Impossible<(), LineError>;
    type SerializeTupleStruct = ser::Impossible<(), LineError>;
    type SerializeTupleVariant = ser::Impossible<(), LineError>;
    type SerializeMap = FlattenMap<'l>;
    type SerializeStruct = FlattenMap<'l>;
    type SerializeStructVariant = ser::Impossible<(), LineError>;

    ignore_scalars!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str)
    );
    fn serialize_none(self) -> Result<(), LineError> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), LineError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), LineError> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), LineError> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), LineError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), LineError> {
        // serde_json's form: {"Variant": value}.
        // A variant's name, from code.
        self.line.merge_field((variant.as_bytes(), true), v);
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, LineError> {
        Err(ser::Error::custom("a list is not a record"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, LineError> {
        Err(ser::Error::custom("a tuple is not a record"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, LineError> {
        Err(ser::Error::custom("a tuple is not a record"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, LineError> {
        Err(ser::Error::custom("a tuple is not a record"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<FlattenMap<'l>, LineError> {
        Ok(FlattenMap { line: self.line })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<FlattenMap<'l>, LineError> {
        Ok(FlattenMap { line: self.line })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, LineError> {
        Err(ser::Error::custom("a struct variant is not flattened"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    /// The text form the tools printed before lines were typed: values through serde_json.
    fn old_text(v: &Value) -> String {
        match v {
            Value::Null => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            Value::Array(items) => format!(
                "[{}]",
                items.iter().map(old_text).collect::<Vec<_>>().join(", ")
            ),
            Value::Object(fields) => format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", old_text(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// A record shaped like the protocol crates' log forms: nested records, lists, options,
    /// flattened parts and names.
    #[derive(serde::Serialize)]
    struct Inner {
        perms: i32,
        scheme: &'static str,
        id: Option<&'static str>,
    }

    #[derive(serde::Serialize)]
    struct Extra {
        watch: bool,
        path: &'static str,
    }

    #[derive(serde::Serialize)]
    #[serde(tag = "op", rename_all = "camelCase")]
    enum Op {
        Create { path: &'static str, flags: i32 },
        Check { version: i32 },
    }

    #[derive(serde::Serialize)]
    struct Record {
        path: &'static str,
        data_len: Option<u64>,
        acl: Vec<Inner>,
        ratio: f64,
        ops: Vec<Op>,
        #[serde(flatten)]
        extra: Extra,
        empty: Vec<u8>,
        nothing: Option<i64>,
    }

    fn record() -> Record {
        Record {
            path: "/a \"quoted\"\n",
            data_len: Some(12),
            acl: vec![
                Inner {
                    perms: 31,
                    scheme: "world",
                    id: Some("anyone"),
                },
                Inner {
                    perms: 1,
                    scheme: "digest",
                    id: None,
                },
            ],
            ratio: 0.1,
            ops: vec![
                Op::Create {
                    path: "/x",
                    flags: 1,
                },
                Op::Check { version: -1 },
            ],
            extra: Extra {
                watch: true,
                path: "/shadowed",
            },
            empty: vec![],
            nothing: None,
        }
    }

    #[test]
    fn merged_records_render_as_serde_json_did() {
        let r = record();
        // The old way: common keys first, then the record's fields where not set already.
        let mut old = Map::new();
        old.insert("ts".into(), json!(1.5));
        old.insert("type".into(), json!("CreateRequest"));
        old.insert("path".into(), json!("/common"));
        if let Value::Object(fields) = serde_json::to_value(&r).expect("serializable") {
            for (k, v) in fields {
                old.entry(k).or_insert(v);
            }
        }
        old.insert("type".into(), json!("Replaced"));

        for format in [Format::Json, Format::Text] {
            let mut line = Line::new(format);
            line.f64("ts", 1.5);
            line.str("type", "CreateRequest");
            line.str("path", "/common");
            line.merge(&r);
            line.str("type", "Replaced");
            let mut out = Vec::new();
            match format {
                Format::Json => {
                    line.write_json(&mut out);
                    assert_eq!(
                        String::from_utf8(out).expect("utf-8"),
                        Value::Object(old.clone()).to_string()
                    );
                }
                Format::Text => {
                    out.extend_from_slice(b"12:00:00:000001");
                    line.write_text(&mut out, "type", |_, _, _| false, b"", 0);
                    let fields: Vec<String> = old
                        .iter()
                        .filter(|(k, _)| *k != "ts" && *k != "type")
                        .map(|(k, v)| format!("{k}={}", old_text(v)))
                        .collect();
                    let expected = format!("12:00:00:000001 Replaced({})", fields.join(", "));
                    assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
                }
            }
        }
    }

    #[test]
    fn text_skips_see_values_and_nulls() {
        let mut line = Line::new(Format::Text);
        line.str("type", "X");
        line.str("error", "OK");
        line.value("peer_epoch", &None::<i64>);
        line.int("n", -3i64);
        line.bool("b", false);
        let mut out = b"t".to_vec();
        line.write_text(
            &mut out,
            "type",
            |k, v, null| (k == b"error" && v == b"OK") || null,
            b"client=c",
            1,
        );
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "t \u{2014}\u{2014}\u{2014}\u{2014}\u{25ba} X(n=-3, b=False, client=c)"
        );
    }

    #[test]
    fn display_values_are_quoted_and_escaped_in_json() {
        let mut line = Line::new(Format::Json);
        line.display("a", format_args!("0x{:x}", 255));
        line.display("b", "say \"hi\"");
        line.remove("missing");
        let mut out = Vec::new();
        line.write_json(&mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#"{"a":"0xff","b":"say \"hi\""}"#
        );
        line.remove("a");
        assert_eq!(line.get("b"), Some(r#""say \"hi\"""#));
    }

    /// The writers that skip `Display` print what `Display` prints (addresses, `0x…`), and
    /// times with the capture's own digits.
    #[test]
    fn addresses_hex_and_times_are_written_as_display_would() {
        let addrs: Vec<SocketAddr> = [
            "10.200.3.255:2181",
            "0.0.0.0:0",
            "[::1]:2888",
            "[fe80::1%2]:1",
        ]
        .iter()
        .map(|a| a.parse().expect("address"))
        .collect();
        for format in [Format::Json, Format::Text] {
            let mut line = Line::new(format);
            const A: [&str; 4] = ["a0", "a1", "a2", "a3"];
            const D: [&str; 4] = ["d0", "d1", "d2", "d3"];
            for (i, a) in addrs.iter().enumerate() {
                line.addr(A[i], *a);
                line.display(D[i], a);
            }
            for (i, v) in [0u64, 9, 0xa, 0x1_0000_0000, u64::MAX]
                .into_iter()
                .enumerate()
            {
                const H: [&str; 5] = ["h0", "h1", "h2", "h3", "h4"];
                const X: [&str; 5] = ["x0", "x1", "x2", "x3", "x4"];
                line.hex(H[i], v);
                line.display(X[i], format_args!("0x{v:x}"));
            }
            for i in 0..addrs.len() {
                assert_eq!(
                    line.get(&format!("a{i}")),
                    line.get(&format!("d{i}")),
                    "{format:?}"
                );
            }
            for i in 0..5 {
                assert_eq!(
                    line.get(&format!("h{i}")),
                    line.get(&format!("x{i}")),
                    "{format:?}"
                );
            }
        }
        let mut line = Line::new(Format::Json);
        for (key, ns) in [
            ("us", 1_764_741_495_560_609_000i64),
            ("whole", 1_000_000_000),
            ("ns", 1_764_741_495_560_609_001),
            ("small", 1_007_000),
            ("before_1970", -1_500_000_000),
        ] {
            line.timestamp(key, Timestamp(ns));
        }
        let mut out = Vec::new();
        line.write_json(&mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#"{"us":1764741495.560609,"whole":1.000000,"ns":1764741495.560609001,"small":0.001007,"before_1970":-1.500000}"#
        );
    }

    /// The word-at-a-time check agrees with the byte-at-a-time one for every byte value at
    /// every position, beside any other byte.
    #[test]
    fn word_escape_check_matches_the_byte_check() {
        for b in 0..=255u8 {
            for other in [b'a', 0x7e, 0x80, 0xff, 0x21, 0x1f] {
                for pos in 0..17 {
                    let mut s = vec![other; 17];
                    s[pos] = b;
                    let want = s.iter().any(|&c| needs_escape(c));
                    assert_eq!(
                        any_needs_escape(&s),
                        want,
                        "byte {b:#x} at {pos} among {other:#x}"
                    );
                    assert_eq!(
                        any_needs_escape(&s[..pos + 1]),
                        s[..pos + 1].iter().any(|&c| needs_escape(c))
                    );
                    let json = |s: &[u8]| s.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
                    assert_eq!(
                        any_needs_json_escape(&s),
                        json(&s),
                        "byte {b:#x} at {pos} (JSON)"
                    );
                    let prefix = &s[..pos + 1];
                    assert_eq!(any_needs_json_escape(prefix), json(prefix));
                    for (is_json, escaped) in
                        [(true, json(prefix)), (false, any_needs_escape(prefix))]
                    {
                        assert_eq!(
                            plain_ascii(prefix, is_json),
                            prefix.is_ascii() && !escaped,
                            "byte {b:#x} at {pos} (plain, JSON {is_json})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_octet_has_its_decimal_digits() {
        for (v, (digits, len)) in OCTET_DIGITS.iter().enumerate() {
            assert_eq!(&digits[..usize::from(*len)], v.to_string().as_bytes());
        }
    }

    proptest::proptest! {
        /// Addresses and hex numbers are written as `Display` writes them, whatever the value.
        #[test]
        fn any_address_and_hex_number_is_written_as_display_would(
            ip: u32, port: u16, v: u64, shift in 0..64u32
        ) {
            let a = SocketAddr::from((std::net::Ipv4Addr::from(ip), port));
            let mut buf = b"x".to_vec();
            push_addr(&mut buf, a);
            proptest::prop_assert_eq!(String::from_utf8(buf).expect("ascii"), format!("x{a}"));
            for v in [v, v >> shift] {
                let mut buf = Vec::new();
                write_hex(&mut buf, v);
                proptest::prop_assert_eq!(String::from_utf8(buf).expect("ascii"), format!("0x{v:x}"));
            }
        }

        /// A list of Jute strings written directly reads as serde writes it, in both formats:
        /// null lists and elements, escapes, non-ASCII and invalid UTF-8.
        #[test]
        fn strings_are_written_as_serde_writes_them(
            items in proptest::option::of(proptest::collection::vec(
                proptest::option::of(proptest::collection::vec(
                    proptest::sample::select(vec![b'a', b'Z', b'0', b'/', b'"', b'\\', b'\n', 0, 0x7f, 0xc3, 0xa9, 0xff]),
                    0..20,
                )),
                0..6,
            ))
        ) {
            let strs: Option<Vec<UString<'_>>> = items
                .as_ref()
                .map(|v| v.iter().map(|s| s.as_deref().map(JuteStr)).collect());
            let mut wire = Vec::new();
            zkwire_jute::jute::write_vector(&mut wire, strs.as_deref());
            let (rest, list) =
                zkwire_jute::jute::parse_vector::<UString<'_>>(&wire).expect("valid vector");
            proptest::prop_assert!(rest.is_empty());
            for format in [Format::Text, Format::Json] {
                let (mut direct, mut serde) = (Line::new(format), Line::new(format));
                direct.strings("children", &list);
                serde.value("children", &list);
                proptest::prop_assert_eq!(direct.to_json(), serde.to_json());
                let skip = |_: &[u8], _: &[u8], null: bool| null;
                let (mut a, mut b) = (Vec::new(), Vec::new());
                direct.write_text(&mut a, "kind", skip, b"", 0);
                serde.write_text(&mut b, "kind", skip, b"", 0);
                proptest::prop_assert_eq!(a, b);
            }
        }
    }

    proptest::proptest! {
        /// A Stat written directly reads as serde writes it, whatever its values (negative,
        /// zero, extremes).
        #[test]
        fn a_stat_is_written_as_serde_writes_it(
            zxids: [i64; 4], times: [i64; 2], small: [i32; 5], pick in 0..3usize
        ) {
            let edge = [0, i64::MIN, i64::MAX][pick];
            let stat = Stat {
                czxid: zxids[0],
                mzxid: edge,
                ctime: times[0],
                mtime: times[1],
                version: small[0],
                cversion: small[1],
                aversion: i32::MIN,
                ephemeral_owner: zxids[2],
                data_length: small[3],
                num_children: small[4],
                pzxid: zxids[3],
            };
            for format in [Format::Text, Format::Json] {
                let (mut direct, mut serde) = (Line::new(format), Line::new(format));
                direct.stat("stat", &stat);
                serde.value("stat", &stat);
                proptest::prop_assert_eq!(direct.to_json(), serde.to_json());
            }
        }
    }

    /// `merge_except` leaves out only the key it names, and only while it merges.
    #[test]
    fn merge_except_leaves_out_one_key_once() {
        #[derive(serde::Serialize)]
        struct Reply {
            data_len: u32,
            stat: u32,
        }
        let mut line = Line::new(Format::Json);
        line.merge_except(
            &Reply {
                data_len: 1,
                stat: 2,
            },
            Some("stat"),
        );
        assert_eq!(line.to_json(), r#"{"data_len":1}"#);
        line.int("stat", 3);
        line.merge(&Reply {
            data_len: 4,
            stat: 5,
        });
        assert_eq!(line.to_json(), r#"{"data_len":1,"stat":3}"#);
        line.clear();
        line.merge(&Reply {
            data_len: 6,
            stat: 7,
        });
        assert_eq!(line.to_json(), r#"{"data_len":6,"stat":7}"#);
    }

    /// An omitted key is never rendered, whether set directly or met inside a merged record;
    /// keys sharing a length and first bytes (one tag) are still told apart.
    #[test]
    fn omitted_keys_are_never_rendered() {
        #[derive(serde::Serialize)]
        struct Reply {
            path_a: &'static str,
            stat: u32,
            path_b: &'static str,
        }
        let mut line = Line::new(Format::Text).omitting(&["stat", "client"]);
        line.addr("client", "10.0.0.1:5000".parse().expect("address"));
        line.merge(&Reply {
            path_a: "/a",
            stat: 7,
            path_b: "/b",
        });
        assert!(!line.contains("client") && !line.contains("stat"));
        assert_eq!(
            (line.get("path_a"), line.get("path_b")),
            (Some("/a"), Some("/b"))
        );
        line.str("path_b", "/c");
        assert_eq!(
            (line.get("path_a"), line.get("path_b")),
            (Some("/a"), Some("/c"))
        );
    }

    /// A record's map keys come from the wire: in a JSON line one that needs escaping is
    /// escaped once, as JSON escapes it; in a text line as text escapes it.
    #[test]
    fn record_keys_from_the_wire_are_escaped_once() {
        let record: std::collections::BTreeMap<&str, u32> =
            [("a\"b", 1), ("c\\d\n", 2), ("plain", 3)]
                .into_iter()
                .collect();
        let mut json = Line::new(Format::Json);
        json.int("n", 0);
        json.merge(&record);
        assert_eq!(json.to_json(), r#"{"n":0,"a\"b":1,"c\\d\n":2,"plain":3}"#);
        let mut text = Line::new(Format::Text);
        text.str("type", "X");
        text.merge(&record);
        let mut out = Vec::new();
        text.write_text(&mut out, "type", |_, _, _| false, b"", 0);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#" X(a"b=1, c\\d\n=2, plain=3)"#
        );
    }

    /// A text value never breaks its line: control characters and backslashes are escaped,
    /// in plain strings, displayed values and serialized records alike (a path with a newline
    /// cannot forge a line); JSON escapes as JSON does.
    #[test]
    fn text_values_escape_control_characters() {
        #[derive(serde::Serialize)]
        struct Record<'a> {
            config: &'a str,
        }
        let mut line = Line::new(Format::Text);
        line.str("type", "X");
        line.str("path", "/a\nb\\c");
        line.display("d", "x\ty");
        line.merge(&Record {
            config: "server.1=h:1\nversion=1\u{1}",
        });
        let mut out = b"t".to_vec();
        line.write_text(&mut out, "type", |_, _, _| false, b"", 0);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r"t X(path=/a\nb\\c, d=x\ty, config=server.1=h:1\nversion=1\x01)"
        );
        let mut json = Line::new(Format::Json);
        json.str("path", "/a\nb");
        let mut out = Vec::new();
        json.write_json(&mut out);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#"{"path":"/a\nb"}"#
        );
    }
}
