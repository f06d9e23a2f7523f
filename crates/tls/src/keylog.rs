//! The NSS key log (`SSLKEYLOGFILE` format): [`KeyLog`] holds the secrets by client random,
//! [`KeyLogFile`] follows a key log file that a live client is still appending to.
//!
//! Secrets are kept in [`Zeroizing`] buffers (wiped on drop) and never printed: `Debug` shows
//! a count, and rejected lines are described by [`KeyLogError`] without their content.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::KeyLogError;

/// How many client randoms a [`KeyLog`] keeps; past that the oldest are dropped, so a
/// long-running capture's memory stays bounded.
pub const MAX_CLIENT_RANDOMS: usize = 1 << 20;

/// A secret from the key log, wiped from memory when dropped.
pub(crate) type Secret = Zeroizing<Vec<u8>>;

/// The secrets logged for one client random.
#[derive(Default)]
pub(crate) struct Secrets {
    /// TLS 1.2 master secret (`CLIENT_RANDOM`).
    pub master: Option<Secret>,
    /// TLS 1.3 `CLIENT_HANDSHAKE_TRAFFIC_SECRET`.
    pub client_handshake: Option<Secret>,
    /// TLS 1.3 `SERVER_HANDSHAKE_TRAFFIC_SECRET`.
    pub server_handshake: Option<Secret>,
    /// TLS 1.3 `CLIENT_TRAFFIC_SECRET_0`.
    pub client_traffic: Option<Secret>,
    /// TLS 1.3 `SERVER_TRAFFIC_SECRET_0`.
    pub server_traffic: Option<Secret>,
}

/// Which slot of [`Secrets`] a label fills (`None`: accepted and ignored).
#[derive(Clone, Copy)]
enum Slot {
    Master,
    ClientHandshake,
    ServerHandshake,
    ClientTraffic,
    ServerTraffic,
}

/// Known labels: the name, where the secret goes, and the secret lengths accepted.
const LABELS: &[(&str, Option<Slot>, &[usize])] = &[
    ("CLIENT_RANDOM", Some(Slot::Master), &[48]),
    (
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        Some(Slot::ClientHandshake),
        &[32, 48],
    ),
    (
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        Some(Slot::ServerHandshake),
        &[32, 48],
    ),
    (
        "CLIENT_TRAFFIC_SECRET_0",
        Some(Slot::ClientTraffic),
        &[32, 48],
    ),
    (
        "SERVER_TRAFFIC_SECRET_0",
        Some(Slot::ServerTraffic),
        &[32, 48],
    ),
    ("EXPORTER_SECRET", None, &[32, 48]),
    ("EARLY_EXPORTER_SECRET", None, &[32, 48]),
    ("CLIENT_EARLY_TRAFFIC_SECRET", None, &[32, 48]),
];

/// Secrets from an NSS key log, by client random.
///
/// Labels used: `CLIENT_RANDOM` (the TLS 1.2 master secret) and the TLS 1.3
/// `CLIENT_HANDSHAKE_TRAFFIC_SECRET`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`,
/// `CLIENT_TRAFFIC_SECRET_0` and `SERVER_TRAFFIC_SECRET_0`. `EXPORTER_SECRET`,
/// `EARLY_EXPORTER_SECRET` and `CLIENT_EARLY_TRAFFIC_SECRET` are accepted and ignored, and so
/// are `RSA <encrypted premaster prefix> <premaster>` lines (decrypting with them is not
/// supported: log `CLIENT_RANDOM` instead, as OpenSSL, NSS, BoringSSL and Java agents do).
///
/// At most [`MAX_CLIENT_RANDOMS`] client randoms are kept; the oldest are dropped first.
pub struct KeyLog {
    by_random: HashMap<[u8; 32], Secrets>,
    /// Client randoms in the order first seen, to drop the oldest.
    order: VecDeque<[u8; 32]>,
    max: usize,
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog::new()
    }
}

impl fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secrets: only how many connections they are for.
        f.debug_struct("KeyLog")
            .field("client_randoms", &self.by_random.len())
            .finish_non_exhaustive()
    }
}

impl KeyLog {
    /// An empty key log.
    pub fn new() -> KeyLog {
        KeyLog::with_max_client_randoms(MAX_CLIENT_RANDOMS)
    }

    /// An empty key log keeping at most `max` client randoms (at least 1).
    pub fn with_max_client_randoms(max: usize) -> KeyLog {
        KeyLog {
            by_random: HashMap::new(),
            order: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// Adds one line; blank lines and `#` comments are `Ok(())` and ignored.
    pub fn add_line(&mut self, line: &str) -> Result<(), KeyLogError> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        let mut fields = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(KeyLogError::WrongFieldCount);
        };
        if label == "RSA" {
            // Accepted and ignored (see the type's docs); still checked for shape.
            return match (decode_hex(random), decode_hex(secret)) {
                (Some(p), Some(s)) if p.len() == 8 && s.len() == 48 => Ok(()),
                _ => Err(KeyLogError::BadSecret { label: "RSA" }),
            };
        }
        let Some(&(name, slot, lengths)) = LABELS
            .iter()
            .find(|(n, _, _)| *n == label)
            .or_else(|| later_traffic_secret(label))
        else {
            return Err(KeyLogError::UnknownLabel);
        };
        let random: [u8; 32] = decode_hex(random)
            .and_then(|r| r.as_slice().try_into().ok())
            .ok_or(KeyLogError::BadClientRandom { label: name })?;
        let secret = decode_hex(secret)
            .filter(|s| lengths.contains(&s.len()))
            .ok_or(KeyLogError::BadSecret { label: name })?;
        if let Some(slot) = slot {
            let entry = self.entry(random);
            *match slot {
                Slot::Master => &mut entry.master,
                Slot::ClientHandshake => &mut entry.client_handshake,
                Slot::ServerHandshake => &mut entry.server_handshake,
                Slot::ClientTraffic => &mut entry.client_traffic,
                Slot::ServerTraffic => &mut entry.server_traffic,
            } = Some(secret);
        }
        Ok(())
    }

    /// Adds every line of `text`; returns how many lines were rejected.
    pub fn add_text(&mut self, text: &str) -> usize {
        text.lines().filter(|l| self.add_line(l).is_err()).count()
    }

    /// How many client randoms have secrets.
    pub fn len(&self) -> usize {
        self.by_random.len()
    }

    /// Whether no secrets are known.
    pub fn is_empty(&self) -> bool {
        self.by_random.is_empty()
    }

    /// The secrets logged for `client_random`.
    pub(crate) fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.by_random.get(client_random)
    }

    fn entry(&mut self, random: [u8; 32]) -> &mut Secrets {
        if !self.by_random.contains_key(&random) {
            while self.order.len() >= self.max {
                if let Some(old) = self.order.pop_front() {
                    self.by_random.remove(&old);
                }
            }
            self.order.push_back(random);
        }
        self.by_random.entry(random).or_default()
    }
}

/// `CLIENT_TRAFFIC_SECRET_<n>` / `SERVER_TRAFFIC_SECRET_<n>` for n > 0: the secrets after
/// KeyUpdates (OpenSSL 3 logs them with a literal `N`). Accepted and ignored: they are
/// derived from secret 0.
fn later_traffic_secret(
    label: &str,
) -> Option<&'static (&'static str, Option<Slot>, &'static [usize])> {
    const LATER: &[(&str, Option<Slot>, &[usize])] = &[
        ("CLIENT_TRAFFIC_SECRET_N", None, &[32, 48]),
        ("SERVER_TRAFFIC_SECRET_N", None, &[32, 48]),
    ];
    let (side, n) = label.rsplit_once('_')?;
    let index = match side {
        "CLIENT_TRAFFIC_SECRET" => 0,
        "SERVER_TRAFFIC_SECRET" => 1,
        _ => return None,
    };
    let numbered = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    (n == "N" || numbered).then(|| &LATER[index])
}

/// Hex to bytes, in a buffer wiped on drop (it may be a secret). `None` if not hex.
fn decode_hex(s: &str) -> Option<Secret> {
    let s = s.as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Zeroizing::new(Vec::with_capacity(s.len() / 2));
    for pair in s.chunks_exact(2) {
        out.push(nibble(pair[0])? << 4 | nibble(pair[1])?);
    }
    Some(out)
}

/// A key log line longer than this is not one (the longest real line is under 250 bytes): it
/// is dropped rather than buffered without end.
const MAX_LINE: usize = 4096;

/// A key log file read as it grows (a client appends to it during a live capture).
#[derive(Debug)]
pub struct KeyLogFile {
    path: PathBuf,
    /// How far the file has been read.
    offset: u64,
    /// The incomplete last line read so far (it may hold a secret: wiped on drop).
    partial: Zeroizing<Vec<u8>>,
    rejected: u64,
}

impl KeyLogFile {
    /// Opens `path` (which must exist and be readable); nothing is read until
    /// [`refresh`](Self::refresh).
    pub fn open(path: &Path) -> std::io::Result<KeyLogFile> {
        std::fs::File::open(path)?;
        Ok(KeyLogFile {
            path: path.to_path_buf(),
            offset: 0,
            partial: Zeroizing::new(Vec::new()),
            rejected: 0,
        })
    }

    /// Reads lines appended since the last call into `log`: only complete lines (a partial
    /// last line is kept for next time); if the file shrank, starts over from its beginning.
    /// Returns how many lines were added (rejected ones not counted).
    pub fn refresh(&mut self, log: &mut KeyLog) -> std::io::Result<usize> {
        // Opened anew each time, so a file replaced by a new one is followed too.
        let mut file = std::fs::File::open(&self.path)?;
        let len = file.metadata()?.len();
        if len < self.offset {
            self.offset = 0;
            self.partial.clear();
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut added = 0;
        let mut chunk = Zeroizing::new(vec![0u8; 64 << 10]);
        loop {
            let n = file.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            self.offset += n as u64;
            added += self.take_lines(&chunk[..n], log);
        }
        Ok(added)
    }

    /// Lines that failed to parse so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Adds the complete lines of `partial` + `bytes` to `log`, keeping the rest.
    fn take_lines(&mut self, bytes: &[u8], log: &mut KeyLog) -> usize {
        let mut added = 0;
        for &b in bytes {
            if b != b'\n' {
                if self.partial.len() < MAX_LINE {
                    self.partial.push(b);
                } else if self.partial.len() == MAX_LINE {
                    // Marks the line as overlong; it is rejected at its end.
                    self.partial.push(0);
                }
                continue;
            }
            let line = (self.partial.len() <= MAX_LINE)
                .then(|| std::str::from_utf8(&self.partial).ok())
                .flatten();
            match line.map(|l| (l.trim(), log.add_line(l))) {
                Some((l, Ok(()))) if l.is_empty() || l.starts_with('#') => {}
                Some((_, Ok(()))) => added += 1,
                _ => self.rejected += 1,
            }
            self.partial.clear();
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CR: &str = "0102030405060708091011121314151617181920212223242526272829303132";

    #[test]
    fn labels_and_errors() {
        let mut log = KeyLog::new();
        let master = "ab".repeat(48);
        assert_eq!(log.add_line(""), Ok(()));
        assert_eq!(log.add_line("# comment"), Ok(()));
        assert_eq!(
            log.add_line(&format!("CLIENT_RANDOM {CR} {master}")),
            Ok(())
        );
        assert_eq!(log.len(), 1);
        let short = "ab".repeat(47);
        assert_eq!(
            log.add_line(&format!("CLIENT_RANDOM {CR} {short}")),
            Err(KeyLogError::BadSecret {
                label: "CLIENT_RANDOM"
            })
        );
        assert_eq!(
            log.add_line(&format!("NOPE {CR} {master}")),
            Err(KeyLogError::UnknownLabel)
        );
        assert_eq!(
            log.add_line("CLIENT_RANDOM zz 00"),
            Err(KeyLogError::BadClientRandom {
                label: "CLIENT_RANDOM"
            })
        );
        assert_eq!(
            log.add_line("CLIENT_RANDOM"),
            Err(KeyLogError::WrongFieldCount)
        );
        let s32 = "cd".repeat(32);
        assert_eq!(log.add_line(&format!("EXPORTER_SECRET {CR} {s32}")), Ok(()));
        assert_eq!(
            log.add_line(&format!("SERVER_TRAFFIC_SECRET_12 {CR} {s32}")),
            Ok(())
        );
        assert_eq!(
            log.add_line(&format!("SERVER_TRAFFIC_SECRET_x {CR} {s32}")),
            Err(KeyLogError::UnknownLabel)
        );
        assert_eq!(
            log.add_line(&format!("RSA 0011223344556677 {}", "ee".repeat(48))),
            Ok(())
        );
        let err = log
            .add_line(&format!("CLIENT_RANDOM {CR} {short}"))
            .unwrap_err();
        assert!(!err.to_string().contains(&short[..20]));
        assert!(!format!("{log:?}").contains("abab"));
    }

    #[test]
    fn oldest_dropped() {
        let mut log = KeyLog::with_max_client_randoms(2);
        let s = "11".repeat(32);
        for i in 0..3u8 {
            let cr = format!("{i:02x}").repeat(32);
            log.add_line(&format!("CLIENT_TRAFFIC_SECRET_0 {cr} {s}"))
                .unwrap();
        }
        assert_eq!(log.len(), 2);
        assert!(log.get(&[0; 32]).is_none());
        assert!(log.get(&[2; 32]).is_some());
    }

    #[test]
    fn file_follows_appends_and_truncation() {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("zkwire-tls-keylog-{}", std::process::id()));
        let mut f = std::fs::File::create(&path).unwrap();
        let line = format!("CLIENT_RANDOM {CR} {}\n", "ab".repeat(48));
        let mut log = KeyLog::new();
        let mut kf = KeyLogFile::open(&path).unwrap();
        f.write_all(&line.as_bytes()[..30]).unwrap();
        assert_eq!(kf.refresh(&mut log).unwrap(), 0);
        f.write_all(&line.as_bytes()[30..]).unwrap();
        f.write_all(b"garbage line\n").unwrap();
        assert_eq!(kf.refresh(&mut log).unwrap(), 1);
        assert_eq!((log.len(), kf.rejected()), (1, 1));
        let mut f = std::fs::File::create(&path).unwrap();
        let other = line.replace("CLIENT_RANDOM 01", "CLIENT_RANDOM ff");
        f.write_all(other.as_bytes()).unwrap();
        assert_eq!(kf.refresh(&mut log).unwrap(), 1);
        assert_eq!(log.len(), 2);
        std::fs::remove_file(&path).unwrap();
    }
}
