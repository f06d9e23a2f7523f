//! Live capture at full replay speed: the shipped capture is replayed by `tcpreplay --topspeed`
//! onto one end of a veth pair inside a network namespace this test creates, while zk-dump and
//! zab-dump capture the other end through libpcap. Each must decode exactly what it decodes
//! from the file, with no kernel drop. Each tool is told how many items the file holds and
//! stops by itself once it has seen them all, so nothing waits on a clock; a lost packet would
//! leave it waiting, and the test fails at its deadline with the tool's own summary.
//!
//! How fast the live path can go is measured by `scripts/bench-live.sh`, never by a test.

mod common;

use common::ensemble::{live_tests_can_run, Watched};
use common::{data_dir, json_lines, scratch};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A network namespace holding a veth pair `rp0` (replay side) – `rp1` (capture side).
struct Netns(String);

impl Netns {
    fn new(name: &str) -> Netns {
        let ns = Netns(format!("{name}{}", std::process::id()));
        ip(&["netns", "add", &ns.0]);
        ns.exec(&[
            "ip", "link", "add", "rp0", "type", "veth", "peer", "name", "rp1",
        ]);
        for dev in ["rp0", "rp1"] {
            // Loopback captures hold frames up to 64 KiB (segmentation offload): a 1500-byte
            // MTU would make tcpreplay refuse them.
            ns.exec(&["ip", "link", "set", dev, "mtu", "65535", "up"]);
        }
        ns
    }

    fn exec(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().expect("ip netns exec");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.0]).args(args);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tcpreplay_missing() -> bool {
    !Command::new("tcpreplay")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn offline(tool: &str, args: &[&str], file: &Path) -> Vec<Value> {
    let out = Command::new(tool)
        .args(args)
        .arg("-r")
        .arg(file)
        .output()
        .expect("run offline");
    assert!(out.status.success(), "{tool} offline failed");
    json_lines(&out)
}

/// Waits for `tool` to end by itself, or fails at the deadline with what it printed.
fn finished(tool: Watched, deadline: Instant) -> (Vec<String>, Vec<String>) {
    let mut tool = tool;
    while Instant::now() < deadline {
        if let Some(status) = tool.child.try_wait().expect("try_wait") {
            assert!(status.success(), "live tool failed: {status}");
            return (tool.stdout.iter().collect(), tool.stderr.iter().collect());
        }
        std::thread::sleep(Duration::from_millis(50)); // polling a child, not synchronising
    }
    let (_, _, err) = tool.interrupt();
    panic!("the live tool did not see everything the file holds; its summary: {err:?}");
}

fn stats(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("stats file")).expect("stats JSON")
}

fn without_timestamps(mut lines: Vec<Value>) -> Vec<Value> {
    for l in &mut lines {
        if let Some(m) = l.as_object_mut() {
            m.remove("ts");
        }
    }
    lines
}

#[test]
fn top_speed_replay_is_decoded_live_exactly_as_from_the_file() {
    if !live_tests_can_run() {
        return;
    }
    if tcpreplay_missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tcpreplay is missing (apt-get install tcpreplay)"
        );
        eprintln!("skipping: tcpreplay is missing");
        return;
    }
    let file = data_dir().join("zk38-mtu1500.pcap");
    let dir = scratch("live_replay");
    let zk_bin = zkwire_tests::bin("zk-dump");
    let zab_bin = zkwire_tests::bin("zab-dump");

    let counts = offline(
        zk_bin,
        &["--count-requests", "0", "--format", "json"],
        &file,
    );
    let requests: u64 = counts.iter().filter_map(|r| r["count"].as_u64()).sum();
    let quorum = without_timestamps(offline(zab_bin, &["-p", "--format", "json"], &file));
    assert!(
        requests > 500 && quorum.len() > 2000,
        "the capture is the corpus one"
    );

    let ns = Netns::new("zkwire-replay");
    let zk_stats = dir.join("zk.json");
    let zab_stats = dir.join("zab.json");
    let requests_arg = requests.to_string();
    let quorum_arg = quorum.len().to_string();
    let mut zk_cmd = ns.command(&[zk_bin, "-i", "rp1", "-B", "65536", "--no-progress"]);
    zk_cmd.args(["--count-requests", &requests_arg, "--format", "json"]);
    zk_cmd.arg("--stats-json").arg(&zk_stats);
    let mut zab_cmd = ns.command(&[zab_bin, "-i", "rp1", "-B", "65536", "--no-progress", "-p"]);
    zab_cmd.args(["--limit", &quorum_arg, "--format", "json"]);
    zab_cmd.arg("--stats-json").arg(&zab_stats);
    let zk = Watched::spawn(zk_cmd);
    let zab = Watched::spawn(zab_cmd);
    zk.wait_stderr("listening on", Duration::from_secs(20));
    zab.wait_stderr("listening on", Duration::from_secs(20));

    let replay = ns
        .command(&["tcpreplay", "-i", "rp0", "--topspeed"])
        .arg(&file)
        .output()
        .expect("tcpreplay");
    assert!(replay.status.success(), "tcpreplay failed: {replay:?}");
    let replayed = String::from_utf8_lossy(&replay.stdout).to_string();
    assert!(
        replayed.contains("Failed packets:            0"),
        "{replayed}"
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    let (zk_out, _) = finished(zk, deadline);
    let (zab_out, _) = finished(zab, deadline);

    let live_counts: Vec<Value> = zk_out
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(live_counts, counts, "requests per path, live vs file");
    let live_quorum: Vec<Value> = zab_out
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(
        without_timestamps(live_quorum),
        quorum,
        "quorum packets, live vs file"
    );

    for (name, path, tool_key) in [
        ("zk-dump", &zk_stats, "zk"),
        ("zab-dump", &zab_stats, "zab"),
    ] {
        let s = stats(path);
        assert_eq!(s["capture"]["live"], true, "{name}: {s}");
        assert_eq!(s["capture"]["kernel_drops"], 0, "{name}: {s}");
        assert_eq!(s["capture"]["gaps"], 0, "{name}: {s}");
        assert_eq!(s[tool_key]["decode_errors"], 0, "{name}: {s}");
    }
}
