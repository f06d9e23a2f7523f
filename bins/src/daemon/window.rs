//! One window of zktraffic's counters (`/json/paths`, `/json/ips`, `/json/auths`).
//!
//! zktraffic's keys are strings such as `per_ip/GetDataRequest/configs:10.0.0.1`. A request
//! bumps about a dozen of them, so they are kept as typed keys: the operation, path and client
//! address or identity are numbered once per message, each bump hashes a few integers, and the
//! strings are written only when a window is served. The served strings are the ones zktraffic
//! writes: keys are rendered, then summed by their text, then cut to the top N as before.
//!
//! Memory is bounded: past [`MAX_KEYS`] keys, a new key folds into its group's `<group>/other`
//! key, and a new path, address or identity is numbered only while there is room for keys.

use super::state::Map;
use crate::intern::Interner;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Most distinct keys one window holds; further keys fold into `<group>/other`.
pub(super) const MAX_KEYS: usize = 200_000;

/// zktraffic's always-present keys of `/json/paths`.
pub(super) const SEED_KEYS: [&str; 4] = ["writes/", "reads/", "writesBytes/", "readsBytes/"];

/// Which of zktraffic's key shapes a count has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    /// `<name>[Bytes]<path>`: by operation, reads/writes or watches.
    Paths,
    /// `per_ip/<name><path>:<ip>`.
    PerIp,
    /// `per_auth/<name><path>:<identity>`.
    PerAuth,
    /// `total/<name>`.
    Total,
}

/// A part of a key: its number in the window, or its text when the window had no room to
/// number it (the key then folds into `<group>/other`).
type Part<'a> = Result<u32, &'a str>;

/// A part every key of a family without it carries.
const NONE: Part<'static> = Ok(0);

/// A key as its parts.
#[derive(Debug, Clone, Copy)]
struct Slot<'a> {
    family: Family,
    name: Part<'static>,
    bytes: bool,
    path: Part<'a>,
    /// The client's address (`PerIp`) or identity (`PerAuth`).
    who: Part<'a>,
}

impl<'a> Slot<'a> {
    /// A `Paths` key.
    fn paths(name: Part<'static>, bytes: bool, path: Part<'a>) -> Slot<'a> {
        Slot {
            family: Family::Paths,
            name,
            bytes,
            path,
            who: NONE,
        }
    }

    /// A `total/<name>` key.
    fn total(name: Part<'static>) -> Slot<'a> {
        Slot {
            family: Family::Total,
            name,
            bytes: false,
            path: NONE,
            who: NONE,
        }
    }

    /// A `per_ip/` or `per_auth/` key.
    fn per(family: Family, name: Part<'static>, path: Part<'a>, who: Part<'a>) -> Slot<'a> {
        Slot {
            family,
            name,
            bytes: false,
            path,
            who,
        }
    }
}

/// A request, as zktraffic's keys file it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Request<'a> {
    /// Its type (`GetDataRequest`).
    pub(super) kind: &'static str,
    /// Filed under `writes` (else `reads`).
    pub(super) writes: bool,
    /// Its path, cut to the aggregation depth (`/` for none).
    pub(super) path: &'a str,
    /// The client's address.
    pub(super) ip: IpAddr,
    /// The client's identity (`noauth`, `digest:alice`).
    pub(super) identity: &'a str,
    /// Payload bytes.
    pub(super) size: u64,
    /// Count the `…Bytes` keys too.
    pub(super) bytes: bool,
    /// It sets a watch.
    pub(super) watch: bool,
}

/// A key with every part numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    family: Family,
    bytes: bool,
    name: u32,
    path: u32,
    who: u32,
}

impl std::hash::Hash for Key {
    /// One integer: hashed in one step instead of one per field (a request bumps a dozen
    /// keys).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let tag = (self.family as u128) << 1 | u128::from(self.bytes);
        state.write_u128(
            tag << 96
                | u128::from(self.name) << 64
                | u128::from(self.path) << 32
                | u128::from(self.who),
        );
    }
}

/// Names every request counts under, numbered in this order in every window (looked up by
/// number, not by text).
const FIXED_NAMES: [&str; 5] = ["reads", "writes", "readBytes", "writeBytes", "watches"];
const READS: Part<'static> = Ok(0);
const WRITES: Part<'static> = Ok(1);
const READ_BYTES: Part<'static> = Ok(2);
const WRITE_BYTES: Part<'static> = Ok(3);
const WATCHES: Part<'static> = Ok(4);

/// zktraffic-style counters for one window.
#[derive(Debug, Default, Clone)]
pub(super) struct Window {
    /// Most keys counted ([`MAX_KEYS`]; smaller in tests).
    max_keys: usize,
    counts: Map<Key, u64>,
    names: Interner<&'static str>,
    paths: Interner<Box<str>>,
    ips: Interner<IpAddr>,
    /// Each numbered address as zktraffic writes it, by number: written once, not per key served.
    ip_texts: Vec<Box<str>>,
    identities: Interner<Box<str>>,
    /// Counts of keys past `max_keys`, by their `<group>/other` key.
    other: Map<String, u64>,
}

impl Window {
    /// An empty window holding at most `max_keys` keys.
    pub(super) fn with_max_keys(max_keys: usize) -> Window {
        Window {
            max_keys,
            names: Interner::new(FIXED_NAMES.to_vec()),
            ..Window::default()
        }
    }

    /// A window holding zktraffic's always-present keys.
    pub(super) fn seeded() -> Window {
        let mut w = Window::with_max_keys(MAX_KEYS);
        let root = w.path("/");
        for (rw, bytes) in [
            (WRITES, false),
            (READS, false),
            (WRITES, true),
            (READS, true),
        ] {
            w.bump(Slot::paths(rw, bytes, root), 0);
        }
        w
    }

    fn room(&self) -> bool {
        self.counts.len() < self.max_keys
    }

    /// An operation's or other key name's part.
    fn name(&mut self, name: &'static str) -> Part<'static> {
        let room = self.room();
        self.names.id(&name, room, |n| *n).ok_or(name)
    }

    /// A path's part.
    fn path<'a>(&mut self, path: &'a str) -> Part<'a> {
        let room = self.room();
        self.paths
            .id(path, room, |p: &str| Box::from(p))
            .ok_or(path)
    }

    /// A client address's part (`None`: the window is full; the address is written then).
    fn ip(&mut self, ip: IpAddr) -> Option<u32> {
        let room = self.room();
        let id = self.ips.id(&ip, room, |a| *a)?;
        if id as usize == self.ip_texts.len() {
            let mut text = String::new();
            write_ip(&mut text, ip);
            self.ip_texts.push(text.into());
        }
        Some(id)
    }

    /// An identity's part.
    fn identity<'a>(&mut self, identity: &'a str) -> Part<'a> {
        let room = self.room();
        self.identities
            .id(identity, room, |i: &str| Box::from(i))
            .ok_or(identity)
    }

    /// Adds `by` to the key in `slot`.
    fn bump(&mut self, slot: Slot<'_>, by: u64) {
        if let (Ok(name), Ok(path), Ok(who)) = (slot.name, slot.path, slot.who) {
            let key = Key {
                family: slot.family,
                bytes: slot.bytes,
                name,
                path,
                who,
            };
            if let Some(n) = self.counts.get_mut(&key) {
                *n += by;
                return;
            }
            if self.room() {
                self.counts.insert(key, by);
                return;
            }
        }
        self.fold(slot, by);
    }

    /// Counts a key past `max_keys` under `<group>/other`.
    #[cold]
    fn fold(&mut self, slot: Slot<'_>, by: u64) {
        let mut text = String::new();
        self.write(slot, &mut text);
        let other = format!("{}/other", group_of(&text));
        *self.other.entry(other).or_default() += by;
    }

    /// Counts a reply, connect reply or watch event under `<kind><path>`.
    pub(super) fn count(&mut self, kind: &'static str, path: &str) {
        let (name, path) = (self.name(kind), self.path(path));
        self.bump(Slot::paths(name, false, path), 1);
    }

    /// Counts a request under zktraffic's keys: by type, reads/writes, watches, IP and
    /// identity, with and without bytes.
    pub(super) fn request(&mut self, r: &Request<'_>) {
        let (rw, total_bytes) = if r.writes {
            (WRITES, WRITE_BYTES)
        } else {
            (READS, READ_BYTES)
        };
        let (kind, path) = (self.name(r.kind), self.path(r.path));
        self.bump(Slot::paths(kind, false, path), 1);
        self.bump(Slot::paths(rw, false, path), 1);
        self.bump(Slot::total(rw), 1);
        if r.bytes {
            self.bump(Slot::paths(kind, true, path), r.size);
            self.bump(Slot::paths(rw, true, path), r.size);
            self.bump(Slot::total(total_bytes), r.size);
        }
        if r.watch {
            self.bump(Slot::paths(WATCHES, false, path), 1);
        }
        let mut ip_text = String::new();
        let ip = match self.ip(r.ip) {
            Some(id) => Ok(id),
            None => {
                write_ip(&mut ip_text, r.ip);
                Err(ip_text.as_str())
            }
        };
        let identity = self.identity(r.identity);
        self.bump(Slot::per(Family::PerIp, kind, path, ip), 1);
        self.bump(Slot::per(Family::PerIp, rw, path, ip), 1);
        self.bump(Slot::per(Family::PerAuth, kind, path, identity), 1);
        self.bump(Slot::per(Family::PerAuth, rw, path, identity), 1);
    }

    /// Writes a key as zktraffic names it.
    fn write(&self, slot: Slot<'_>, out: &mut String) {
        fn push<'v>(out: &mut String, part: Part<'v>, value: impl Fn(u32) -> Option<&'v str>) {
            out.push_str(part.map_or_else(Some, value).unwrap_or_default());
        }
        out.push_str(match slot.family {
            Family::Paths => "",
            Family::PerIp => "per_ip/",
            Family::PerAuth => "per_auth/",
            Family::Total => "total/",
        });
        push(out, slot.name, |id| self.names.get(id).copied());
        if slot.family == Family::Total {
            return;
        }
        if slot.bytes {
            out.push_str("Bytes");
        }
        push(out, slot.path, |id| self.paths.get(id).map(|p| &**p));
        match slot.family {
            Family::PerIp => {
                out.push(':');
                push(out, slot.who, |id| {
                    self.ip_texts.get(id as usize).map(|t| &**t)
                });
            }
            Family::PerAuth => {
                out.push(':');
                push(out, slot.who, |id| self.identities.get(id).map(|i| &**i));
            }
            Family::Paths | Family::Total => {}
        }
    }

    /// Every key of a family (`paths`, `ips`, `auths`) as zktraffic names it, with its count
    /// (keys that read the same are summed).
    pub(super) fn family(&self, family: &str) -> Map<String, u64> {
        let wanted = |f: Family| match family {
            "ips" => f == Family::PerIp,
            "auths" => f == Family::PerAuth,
            _ => matches!(f, Family::Paths | Family::Total),
        };
        let mut out: Map<String, u64> =
            Map::with_capacity_and_hasher(self.counts.len(), Default::default());
        // Written into one buffer, then copied at its size: one allocation per key.
        let mut text = String::with_capacity(256);
        for (key, n) in &self.counts {
            if wanted(key.family) {
                text.clear();
                let slot = Slot {
                    family: key.family,
                    name: Ok(key.name),
                    bytes: key.bytes,
                    path: Ok(key.path),
                    who: Ok(key.who),
                };
                self.write(slot, &mut text);
                match out.get_mut(text.as_str()) {
                    Some(sum) => *sum += n,
                    None => {
                        out.insert(text.as_str().into(), *n);
                    }
                }
            }
        }
        for (key, n) in &self.other {
            if string_family(key) == family {
                *out.entry(key.clone()).or_default() += n;
            }
        }
        out
    }
}

/// The family a key's text belongs to.
fn string_family(key: &str) -> &'static str {
    if key.starts_with("per_ip/") {
        "ips"
    } else if key.starts_with("per_auth/") {
        "auths"
    } else {
        "paths"
    }
}

/// Writes a client's address as zktraffic writes it in keys: IPv6 in brackets.
fn write_ip(out: &mut String, ip: IpAddr) {
    let _ = match ip {
        IpAddr::V4(a) => write!(out, "{a}"),
        IpAddr::V6(a) => write!(out, "[{a}]"),
    };
}

/// The group a key belongs to for top-N: its operation name (with any `per_ip/`/`per_auth/`
/// prefix), i.e. everything before the path.
pub(super) fn group_of(key: &str) -> &str {
    let (prefix, rest) = match key.split_once('/') {
        Some((p @ ("per_ip" | "per_auth"), rest)) => (p.len() + 1, rest),
        _ => (0, key),
    };
    match rest.find('/') {
        Some(i) => &key[..prefix + i],
        None => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_group_by_operation() {
        assert_eq!(group_of("GetDataRequest/a/b"), "GetDataRequest");
        assert_eq!(
            group_of("per_ip/GetDataRequest/a:1.2.3.4"),
            "per_ip/GetDataRequest"
        );
        assert_eq!(group_of("total/reads"), "total");
        assert_eq!(group_of("writes/"), "writes");
    }

    /// The counters as zktraffic kept them, by key text: the model the typed keys must match.
    struct Model {
        counts: std::collections::HashMap<String, u64>,
        max_keys: usize,
    }

    impl Model {
        fn bump(&mut self, key: String, by: u64) {
            if let Some(n) = self.counts.get_mut(&key) {
                *n += by;
            } else if self.counts.len() < self.max_keys {
                self.counts.insert(key, by);
            } else {
                let other = format!("{}/other", group_of(&key));
                *self.counts.entry(other).or_default() += by;
            }
        }

        fn request(&mut self, r: &Request<'_>) {
            let (kind, path) = (r.kind, r.path);
            let rw = if r.writes { "writes" } else { "reads" };
            let ip = match r.ip {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => format!("[{a}]"),
            };
            self.bump(format!("{kind}{path}"), 1);
            self.bump(format!("{rw}{path}"), 1);
            self.bump(format!("total/{rw}"), 1);
            if r.bytes {
                self.bump(format!("{kind}Bytes{path}"), r.size);
                self.bump(format!("{rw}Bytes{path}"), r.size);
                let total = if r.writes { "writeBytes" } else { "readBytes" };
                self.bump(format!("total/{total}"), r.size);
            }
            if r.watch {
                self.bump(format!("watches{path}"), 1);
            }
            self.bump(format!("per_ip/{kind}{path}:{ip}"), 1);
            self.bump(format!("per_ip/{rw}{path}:{ip}"), 1);
            self.bump(format!("per_auth/{kind}{path}:{}", r.identity), 1);
            self.bump(format!("per_auth/{rw}{path}:{}", r.identity), 1);
        }

        fn family(&self, family: &str) -> Map<String, u64> {
            let mut out: Map<String, u64> = self.counts.clone().into_iter().collect();
            out.retain(|k, _| string_family(k) == family);
            out
        }
    }

    const KINDS: [&str; 4] = [
        "GetDataRequest",
        "CreateRequest",
        "GetDataReply",
        "NodeDataChanged",
    ];
    const PATHS: [&str; 6] = ["/", "/a", "/b", "/a/b", "/other", "/c"];
    const IDENTITIES: [&str; 3] = ["noauth", "digest:alice", ""];

    /// One message: a request (kind, path, ip, identity, size, bytes, watch) or, without an
    /// identity, a reply or event counted under its path.
    type Op = (usize, usize, u8, Option<usize>, u64, bool, bool);

    fn op() -> impl Strategy<Value = Op> {
        (
            0..KINDS.len(),
            0..PATHS.len(),
            any::<u8>(),
            prop::option::of(0..IDENTITIES.len()),
            0..5000u64,
            any::<bool>(),
            any::<bool>(),
        )
    }

    fn ip(n: u8) -> IpAddr {
        if n % 4 == 0 {
            IpAddr::V6(std::net::Ipv6Addr::new(
                0xfd00,
                0,
                0,
                0,
                0,
                0,
                0,
                u16::from(n % 8),
            ))
        } else {
            IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, n % 8))
        }
    }

    proptest! {
        /// Typed keys serve the same counts, by text, as zktraffic's string keys, also once
        /// the window is full and new keys fold into `<group>/other`.
        #[test]
        fn typed_keys_count_as_string_keys(
            ops in prop::collection::vec(op(), 0..200),
            max_keys in 1usize..60,
        ) {
            let mut typed = Window::with_max_keys(max_keys);
            let mut model = Model { counts: std::collections::HashMap::new(), max_keys };
            for (kind, path, who, identity, size, bytes, watch) in ops {
                let (kind, path) = (KINDS[kind], PATHS[path]);
                match identity {
                    Some(i) => {
                        let r = Request {
                            kind,
                            writes: kind == "CreateRequest",
                            path,
                            ip: ip(who),
                            identity: IDENTITIES[i],
                            size,
                            bytes,
                            watch,
                        };
                        typed.request(&r);
                        model.request(&r);
                    }
                    None => {
                        typed.count(kind, path);
                        model.bump(format!("{kind}{path}"), 1);
                    }
                }
            }
            for family in ["paths", "ips", "auths"] {
                prop_assert_eq!(typed.family(family), model.family(family), "{}", family);
            }
        }
    }

    #[test]
    fn a_seeded_window_serves_the_always_present_keys() {
        let w = Window::seeded();
        let mut keys: Vec<String> = w.family("paths").into_keys().collect();
        keys.sort();
        let mut seeds = SEED_KEYS.map(str::to_string).to_vec();
        seeds.sort();
        assert_eq!(keys, seeds);
        assert!(w.family("ips").is_empty());
    }
}
