//! Helpers shared by the end-to-end tests: paths to the shipped captures, a tiny classic-pcap
//! reader/writer for making damaged copies. The binaries are found by `zkwire_tests::bin`.
#![allow(dead_code)]

pub mod ensemble;
pub mod tmux;

use std::path::{Path, PathBuf};

/// The repository's test data folder (`tests/data`).
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// Every real capture shipped in the repository.
pub fn corpus() -> Vec<PathBuf> {
    ["zk38-mtu1500.pcap", "zk380-A.pcap", "zk380-B.pcap"]
        .iter()
        .map(|f| data_dir().join(f))
        .collect()
}

/// A classic pcap file split into its global header and records.
pub struct Pcap {
    pub header: Vec<u8>,
    pub records: Vec<Record>,
}

/// One record: timestamp seconds/fraction, original length, captured bytes.
#[derive(Clone)]
pub struct Record {
    pub sec: u32,
    pub frac: u32,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

impl Pcap {
    /// Reads a little-endian classic pcap file (what the corpus uses).
    pub fn read(path: &Path) -> Pcap {
        let bytes = std::fs::read(path).expect("read capture");
        assert_eq!(
            &bytes[..4],
            &[0xd4, 0xc3, 0xb2, 0xa1],
            "little-endian microsecond pcap expected"
        );
        let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut records = Vec::new();
        let mut pos = 24;
        while pos + 16 <= bytes.len() {
            let caplen = u32_at(&bytes, pos + 8) as usize;
            records.push(Record {
                sec: u32_at(&bytes, pos),
                frac: u32_at(&bytes, pos + 4),
                orig_len: u32_at(&bytes, pos + 12),
                data: bytes[pos + 16..pos + 16 + caplen].to_vec(),
            });
            pos += 16 + caplen;
        }
        Pcap {
            header: bytes[..24].to_vec(),
            records,
        }
    }

    /// Writes the file back out.
    pub fn write(&self, path: &Path) {
        let mut out = self.header.clone();
        for r in &self.records {
            out.extend_from_slice(&r.sec.to_le_bytes());
            out.extend_from_slice(&r.frac.to_le_bytes());
            out.extend_from_slice(&(r.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&r.orig_len.to_le_bytes());
            out.extend_from_slice(&r.data);
        }
        std::fs::write(path, out).expect("write capture");
    }
}

/// A small deterministic generator (xorshift) so damaged captures are the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Whether an Ethernet/IPv4/TCP frame carries TCP payload (SYN/FIN/ACK-only frames do not).
pub fn has_tcp_payload(frame: &[u8]) -> bool {
    if frame.len() < 14 + 20 + 20 || frame[12..14] != [0x08, 0x00] {
        return false;
    }
    let ip = &frame[14..];
    let ihl = (ip[0] & 0x0f) as usize * 4;
    let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
    let tcp = &ip[ihl..];
    let doff = (tcp[12] >> 4) as usize * 4;
    total > ihl + doff
}

/// A scratch directory for one test, removed and recreated.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Path of a shipped capture, as a string for command lines.
pub fn capture(name: &str) -> String {
    data_dir().join(name).display().to_string()
}

/// A tool's standard output as JSON lines.
pub fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Runs `bin` on a shipped capture with `-r FILE -q --stats-json TMP` and `args`; returns its
/// output and the parsed summary JSON.
pub fn run_with_stats(
    bin: &str,
    file: &str,
    args: &[&str],
) -> (std::process::Output, serde_json::Value) {
    let name = Path::new(bin)
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let dir = scratch(&format!(
        "stats-{name}-{file}-{}",
        args.join("_").replace('/', "")
    ));
    let stats = dir.join("stats.json");
    let out = std::process::Command::new(bin)
        .arg("-r")
        .arg(data_dir().join(file))
        .arg("-q")
        .arg("--stats-json")
        .arg(&stats)
        .args(args)
        .output()
        .expect("run the tool");
    let text = std::fs::read_to_string(&stats).expect("stats json written");
    (out, serde_json::from_str(&text).expect("stats json"))
}
