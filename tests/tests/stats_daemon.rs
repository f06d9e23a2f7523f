//! End-to-end tests of `zk-stats-daemon`: replay a shipped capture, scrape it with a real HTTP
//! client, check the numbers against the client's own wire log, parse `/metrics` with a real
//! Prometheus exposition-format parser, and check memory stays flat across repeated replays.

mod common;

use common::data_dir;
use common::ensemble::Watched;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Daemon {
    watched: Watched,
    base: String,
}

impl Daemon {
    fn start(extra: &[&str]) -> Daemon {
        Daemon::start_reading(&data_dir().join("zk38-mtu1500.pcap"), extra)
    }

    /// The daemon replaying `capture`, once the replay has been read to its end.
    fn start_reading(capture: &Path, extra: &[&str]) -> Daemon {
        let daemon = Daemon::spawn_reading(capture, extra);
        // Wait (polling the daemon itself) until the replay has been read to its end.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !daemon.replay_done() {
            assert!(Instant::now() < deadline, "replay never finished");
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    fn replay_done(&self) -> bool {
        self.json("/json/info")["replay_done"] == true
    }

    /// The daemon replaying the shipped capture, once it serves HTTP.
    fn spawn(extra: &[&str]) -> Daemon {
        Daemon::spawn_reading(&data_dir().join("zk38-mtu1500.pcap"), extra)
    }

    fn spawn_reading(capture: &Path, extra: &[&str]) -> Daemon {
        let mut cmd = Command::new(zkwire_tests::bin("zk-stats-daemon"));
        cmd.arg("-r").arg(capture);
        cmd.args(["--http-addr", "127.0.0.1:0"]);
        if !extra.contains(&"--max-results") {
            cmd.args(["--max-results", "100000"]);
        }
        cmd.args(extra);
        let watched = Watched::spawn(cmd);
        let addr = watched.wait_serving();
        Daemon {
            watched,
            base: format!("http://{addr}"),
        }
    }

    fn get(&self, path: &str) -> String {
        let mut response = ureq::get(&format!("{}{path}", self.base))
            .call()
            .expect("HTTP GET");
        response.body_mut().read_to_string().expect("body")
    }

    fn json(&self, path: &str) -> Value {
        serde_json::from_str(&self.get(path)).expect("JSON body")
    }

    fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.watched.child.id().to_string()])
            .status();
        let status = self.watched.child.wait().expect("wait");
        assert!(
            status.success(),
            "the daemon stops cleanly on SIGTERM: {status}"
        );
        self.watched.stderr.try_iter().collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failed assertion must not leave a daemon serving forever.
        let _ = self.watched.child.kill();
        let _ = self.watched.child.wait();
    }
}

fn truth() -> Vec<Value> {
    std::fs::read_to_string(data_dir().join("zk38-mtu1500.truth.jsonl"))
        .expect("truth")
        .lines()
        .map(|l| serde_json::from_str(l).expect("truth line"))
        .collect()
}

fn type_of(t: &Value) -> String {
    match t["opcode"].as_i64() {
        None => "ConnectRequest".into(),
        Some(op) => Some(zk_proto::OpCode::from_i32(op as i32))
            .filter(|op| op.is_known())
            .expect("opcode")
            .request_name()
            .into(),
    }
}

#[test]
fn metrics_and_paths_match_the_ground_truth() {
    let daemon = Daemon::start(&[]);
    let truth = truth();

    // /metrics through the reference OpenMetrics parser (the official Python client's).
    let text = daemon.get("/metrics");
    let samples = parse_openmetrics(&text);
    let mut by_type: HashMap<String, f64> = HashMap::new();
    for s in samples
        .iter()
        .filter(|s| s["name"] == "zkwire_requests_total")
    {
        *by_type
            .entry(
                s["labels"]["type"]
                    .as_str()
                    .expect("type label")
                    .to_string(),
            )
            .or_default() += s["value"].as_f64().expect("value");
    }
    let mut want: HashMap<String, f64> = HashMap::new();
    for t in &truth {
        *want.entry(type_of(t)).or_default() += 1.0;
    }
    assert_eq!(
        by_type, want,
        "zkwire_requests_total by type versus the client's log"
    );
    let mut last: HashMap<String, f64> = HashMap::new();
    let buckets: Vec<&Value> = samples
        .iter()
        .filter(|s| s["name"] == "zkwire_request_latency_seconds_bucket")
        .collect();
    assert!(!buckets.is_empty());
    for b in buckets {
        let key = b["labels"]["type"].as_str().expect("type").to_string();
        let v = b["value"].as_f64().expect("count");
        assert!(
            v >= *last.get(&key).unwrap_or(&0.0),
            "cumulative buckets: {b}"
        );
        last.insert(key, v);
    }
    assert!(text.contains("zkwire_capture_packets_total 4301"));

    // /json/paths with zktraffic's keys: <Type><path> per request.
    let paths = daemon.json("/json/paths");
    let mut want: HashMap<String, u64> = HashMap::new();
    for t in &truth {
        let path = t["path"].as_str().filter(|p| !p.is_empty()).unwrap_or("/");
        *want.entry(format!("{}{path}", type_of(t))).or_default() += 1;
    }
    for (key, n) in &want {
        assert_eq!(paths[key].as_u64(), Some(*n), "{key}");
    }
    let reads: u64 = want
        .iter()
        .filter(|(k, _)| !is_write(k))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(paths["total/reads"].as_u64(), Some(reads));
    // Credentials never appear: the digest identity is kept, its password is not.
    let auths = daemon.get("/json/auths-dump");
    assert!(
        auths.contains("digest:alice") && !auths.contains("secret"),
        "{auths}"
    );
    assert_eq!(daemon.get("/healthz"), "OK\n");
    let stderr = daemon.stop();
    assert!(
        stderr.iter().any(|l| l.contains("4301 packets")),
        "{stderr:?}"
    );
}

/// Parses an OpenMetrics exposition with prometheus_client's strict parser; returns its samples
/// as `{name, labels, value}`.
fn parse_openmetrics(text: &str) -> Vec<Value> {
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;
    let mut child = Command::new(common::ensemble::SYSTEM_PYTHON)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("parser");
    assert!(
        out.status.success(),
        "invalid OpenMetrics: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("samples")
}

fn is_write(key: &str) -> bool {
    [
        "CreateRequest",
        "DeleteRequest",
        "SetDataRequest",
        "MultiRequest",
        "SetAclRequest",
    ]
    .iter()
    .any(|w| key.starts_with(w))
}

#[test]
fn memory_stays_flat_across_a_long_replay() {
    let once = Daemon::start(&["--repeat", "1"]);
    let rss_once = once.json("/json/info")["memory_rss_bytes"]
        .as_u64()
        .expect("rss");
    once.stop();
    let many = Daemon::start(&["--repeat", "25"]);
    let info = many.json("/json/info");
    let rss_many = info["memory_rss_bytes"].as_u64().expect("rss");
    assert_eq!(info["packets"], 4301 * 25);
    many.stop();
    assert!(
        rss_many < rss_once + rss_once / 2,
        "RSS grew from {rss_once} to {rss_many} bytes over 25 replays"
    );
}

#[test]
fn quorum_port_adds_zab_commit_latency() {
    let daemon = Daemon::start(&["--quorum-port", "2888"]);
    let samples = parse_openmetrics(&daemon.get("/metrics"));
    daemon.stop();
    let count = samples
        .iter()
        .find(|s| s["name"] == "zkwire_zab_commit_latency_seconds_count")
        .and_then(|s| s["value"].as_f64())
        .expect("commit latency histogram");
    // The same figure zab-dump --summary measures on the same capture.
    let out = Command::new(zkwire_tests::bin("zab-dump"))
        .args(["-q", "--summary", "--limit", "0", "--format", "json", "-r"])
        .arg(data_dir().join("zk38-mtu1500.pcap"))
        .output()
        .expect("zab-dump");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(
        Some(count as u64),
        summary["summary"]["proposal_to_commit"]["count"].as_u64()
    );
    assert!(count > 300.0);
}

/// Issue 16: with the quorum port, every write zk-dump --trace-writes follows lands in
/// `zkwire_write_stage_seconds{stage}`, each stage as often as the traces show it.
#[test]
fn quorum_port_adds_write_stage_histograms() {
    let daemon = Daemon::start(&["--quorum-port", "2888"]);
    let samples = parse_openmetrics(&daemon.get("/metrics"));
    daemon.stop();
    let value = |name: &str, stage: Option<&str>| {
        samples
            .iter()
            .find(|s| {
                s["name"] == name
                    && stage.is_none_or(|st| s["labels"]["stage"].as_str() == Some(st))
            })
            .and_then(|s| s["value"].as_f64())
            .map(|v| v as u64)
    };
    let out = Command::new(zkwire_tests::bin("zk-dump"))
        .args(["-q", "--trace-writes", "--format", "json", "-r"])
        .arg(data_dir().join("zk38-mtu1500.pcap"))
        .output()
        .expect("zk-dump");
    let traces: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(traces.len() > 300);
    assert_eq!(
        value("zkwire_writes_traced_total", None),
        Some(traces.len() as u64)
    );
    for stage in ["forward", "propose", "quorum", "commit", "reply"] {
        let key = format!("{stage}_us");
        let shown = traces
            .iter()
            .filter(|t| t["stages"].get(&key).is_some())
            .count();
        assert_eq!(
            value("zkwire_write_stage_seconds_count", Some(stage)),
            Some(shown as u64),
            "{stage}"
        );
    }
}

/// Issue 22 item 6: the path label of `zkwire_requests` was a top-N re-ranked on every scrape,
/// so near-equal paths reshuffled and most series were new ones each time. Scraped repeatedly
/// during a paced replay with the default 10 labels per type: no series ever disappears, none
/// decreases, and no type has more than 10 path labels besides `other`.
#[test]
fn request_series_never_churn_between_scrapes() {
    let daemon = Daemon::spawn(&["--pace", "--max-results", "10"]);
    let series = |text: &str| -> BTreeMap<String, f64> {
        text.lines()
            .filter(|l| l.starts_with("zkwire_requests_total{"))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_string(), value.parse().ok()?))
            })
            .collect()
    };
    let mut scrapes = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = daemon.replay_done();
        scrapes.push(series(&daemon.get("/metrics")));
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "replay never finished");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(scrapes.len() >= 5, "only {} scrapes", scrapes.len());
    for pair in scrapes.windows(2) {
        for (name, before) in &pair[0] {
            let after = pair[1].get(name);
            assert!(
                after.is_some_and(|a| a >= before),
                "{name}: {before} then {after:?}"
            );
        }
    }
    let last = scrapes.last().expect("a scrape");
    let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
    for name in last.keys().filter(|n| !n.contains("path=\"other\"")) {
        let t = name
            .split("type=\"")
            .nth(1)
            .and_then(|r| r.split('"').next());
        *per_type.entry(t.unwrap_or("")).or_default() += 1;
    }
    assert!(per_type.values().all(|n| *n <= 10), "{per_type:?}");
    assert!(
        last.keys().any(|n| n.contains("path=\"other\"")),
        "some type has more than 10 paths in this capture"
    );
    daemon.stop();
}

/// Issue 22 item 8: zktraffic's `--http-port` and `--app_daemonize` are accepted; "serving" is
/// announced only once the capture is open, and a capture that cannot open ends the daemon.
#[test]
fn zktraffic_flags_and_serving_only_once_the_capture_opened() {
    let daemon = Daemon::spawn(&["--http-port=0", "--app_daemonize"]);
    daemon
        .watched
        .wait_stderr("staying in the foreground", Duration::from_secs(10));
    assert!(daemon.get("/healthz").len() < 100);
    daemon.stop();

    let out = Command::new(zkwire_tests::bin("zk-stats-daemon"))
        .args([
            "-r",
            "/nonexistent/capture.pcap",
            "--http-addr",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run the daemon");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("serving"), "{err}");
    assert!(err.contains("error"), "{err}");
}

/// Issue 21: 10,000 idle connections (each half a request line, as slowloris sends) neither
/// grow the daemon by more than 64 MiB nor lock out a health check or a scrape; a 64 KiB header
/// gets 431 within a second; afterwards the daemon answers as before.
#[test]
fn a_connection_flood_cannot_sink_the_http_server() {
    use std::io::{BufRead, Read, Write};
    let daemon = Daemon::start(&[]);
    let rss = |d: &Daemon| {
        d.json("/json/info")["memory_rss_bytes"]
            .as_u64()
            .expect("rss")
    };
    let before = rss(&daemon);
    let info_before = daemon.json("/json/info")["packets"].clone();
    let addr = daemon.base.trim_start_matches("http://").to_string();
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let mut flood = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/http_flood.py"))
        .args([host, port, "10000"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut ready = String::new();
    std::io::BufReader::new(flood.stdout.take().expect("stdout"))
        .read_line(&mut ready)
        .expect("flood ready");
    assert!(ready.starts_with("ready "), "{ready}");

    // With the flood open: a health check and a scrape are answered at once.
    for path in ["/healthz", "/metrics"] {
        let t = Instant::now();
        let body = daemon.get(path);
        let took = t.elapsed();
        assert!(!body.is_empty());
        assert!(took < Duration::from_millis(100), "{path} took {took:?}");
    }
    let during = rss(&daemon);
    assert!(
        during < before + (64 << 20),
        "RSS grew from {before} to {during} bytes"
    );

    // An oversized header: 431 and the connection closed, within a second.
    let t = Instant::now();
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 << 10)
    );
    let _ = s.write_all(big.as_bytes());
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());

    drop(flood.stdin.take());
    let _ = flood.wait();
    assert_eq!(daemon.json("/json/info")["packets"], info_before);
    assert_eq!(daemon.get("/healthz"), "OK\n");
    daemon.stop();
}

/// Runs a tool on the shipped capture and returns its JSON lines.
fn json_lines_of(tool: &str, args: &[&str]) -> Vec<Value> {
    let out = Command::new(zkwire_tests::bin(tool))
        .arg("-r")
        .arg(data_dir().join("zk38-mtu1500.pcap"))
        .args(["-q", "--format", "json"])
        .args(args)
        .output()
        .expect(tool);
    assert!(out.status.success(), "{tool}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// The value of an unlabelled series in the OpenMetrics text.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Issue 19: the playbook's signals on /metrics, each checked against another tool's decode of
/// the same capture (fle-dump's elections, zab-dump's zxid counter, zk-dump's requests), and
/// every metric the alert rules and the Grafana dashboard use is served.
#[test]
fn alerting_signals_match_the_other_tools_and_cover_the_rules() {
    let daemon = Daemon::start(&[
        "--quorum-port",
        "2888",
        "--quorum-port",
        "2889",
        "--quorum-port",
        "2890",
        "--election-port",
        "3888",
        "--election-port",
        "3889",
        "--election-port",
        "3890",
    ]);
    let text = daemon.get("/metrics");

    // Elections and leader changes, as fle-dump reconstructs them from the whole capture.
    let elections: Vec<Value> = json_lines_of(
        "fle-dump",
        &[
            "--port",
            "3888",
            "--port",
            "3889",
            "--port",
            "3890",
            "--summary",
            "--limit",
            "0",
        ],
    )
    .into_iter()
    .filter_map(|l| l.get("election").cloned())
    .collect();
    assert!(elections.len() >= 2, "{elections:?}");
    let mut changes = 0;
    let mut leader = None;
    for e in &elections {
        if e["leader"].as_i64() != leader && !e["joined_existing_leader"].as_bool().unwrap_or(true)
        {
            changes += 1;
        }
        leader = e["leader"].as_i64();
    }
    assert_eq!(
        series(&text, "zkwire_elections_total"),
        Some(elections.len() as f64)
    );
    assert_eq!(
        series(&text, "zkwire_leader_changes_total"),
        Some(f64::from(changes))
    );
    assert_eq!(series(&text, "zkwire_leader_id"), leader.map(|l| l as f64));
    // The events log of the recording names the final leader too.
    let events = std::fs::read_to_string(data_dir().join("zk38-mtu1500.events.log")).expect("log");
    assert!(events.contains(&format!("s{} leader", leader.expect("a leader"))));

    // The zxid counter, as zab-dump's summary has it.
    let summary = json_lines_of(
        "zab-dump",
        &[
            "--port",
            "2888",
            "--port",
            "2889",
            "--port",
            "2890",
            "--summary",
            "--limit",
            "0",
        ],
    )
    .pop()
    .expect("summary");
    let zxid = &summary["summary"]["zxid_counter"];
    let (epoch, counter) = zxid["last_zxid"]
        .as_str()
        .and_then(|z| z.split_once('/'))
        .expect("epoch/counter");
    assert_eq!(series(&text, "zkwire_zxid_epoch"), epoch.parse().ok());
    assert_eq!(series(&text, "zkwire_zxid_counter"), counter.parse().ok());
    assert!(series(&text, "zkwire_zxid_counter_exhaustion_seconds").is_some_and(|s| s > 0.0));

    // The largest request, as zk-dump decodes the requests.
    let requests: Vec<Value> = json_lines_of("zk-dump", &["--unpaired", "--include-pings"])
        .into_iter()
        .filter(|m| m["dir"] == "request" && m["type"] != "DecodeError")
        .collect();
    let largest = requests
        .iter()
        .max_by_key(|m| m["size"].as_u64())
        .expect("requests");
    assert_eq!(
        series(&text, "zkwire_request_size_max_bytes"),
        largest["size"].as_f64()
    );
    assert_eq!(
        series(&text, "zkwire_request_size_bytes_count"),
        Some(requests.len() as f64)
    );
    let info = daemon.json("/json/info");
    assert_eq!(info["largest_request"]["type"], largest["type"]);
    assert_eq!(info["largest_request"]["path"], largest["path"]);
    // The replay is over: every connection closed, nothing outstanding.
    assert_eq!(
        series(&text, "zkwire_client_connections_open_max"),
        Some(0.0)
    );
    assert!(text.contains("zkwire_requests_outstanding{server=\"127.0.0.1:2181\"} 0"));

    // Every metric the rules and the dashboard use is served.
    let names = Command::new("python3")
        .arg(data_dir().join("../../scripts/metric-names.py"))
        .output()
        .expect("scripts/metric-names.py");
    assert!(names.status.success());
    let names = String::from_utf8_lossy(&names.stdout).into_owned();
    assert!(names.lines().count() > 10, "{names}");
    for name in names.lines() {
        let served = text.lines().any(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix("_bucket").or(Some(rest)))
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        });
        assert!(served, "{name} is used by deploy/ but not served");
    }
    daemon.stop();
}

/// A client asking for far more distinct paths than a window holds (200,000 keys): the keys
/// past the cap fold into each group's `<group>/other`, and no request goes uncounted.
#[test]
fn a_flood_of_distinct_paths_folds_into_other_and_loses_no_request() {
    const REQUESTS: u32 = 40_000; // 8 keys a path: the window fills after about 25,000
    let capture = common::scratch("a_flood_of_distinct_paths").join("flood.pcap");
    write_getdata_flood(&capture, REQUESTS);
    let daemon = Daemon::start_reading(
        &capture,
        &["--aggregation-depth", "0", "--max-results", "1000000"],
    );
    let paths = daemon.json("/json/paths");
    let ips = daemon.json("/json/ips");
    let auths = daemon.json("/json/auths");
    daemon.stop();
    let sum = |family: &Value, prefix: &str| -> u64 {
        family
            .as_object()
            .expect("object")
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, n)| n.as_u64().expect("count"))
            .sum()
    };
    assert_eq!(paths["total/reads"], u64::from(REQUESTS));
    assert_eq!(sum(&paths, "GetDataRequest/"), u64::from(REQUESTS));
    assert_eq!(sum(&ips, "per_ip/GetDataRequest/"), u64::from(REQUESTS));
    assert_eq!(sum(&auths, "per_auth/reads/"), u64::from(REQUESTS));
    for (family, other) in [
        (&paths, "GetDataRequest/other"),
        (&ips, "per_ip/GetDataRequest/other"),
        (&auths, "per_auth/reads/other"),
    ] {
        assert!(family[other].as_u64().unwrap_or(0) > 0, "{other} missing");
    }
    let keys: usize = [&paths, &ips, &auths]
        .iter()
        .map(|f| f.as_object().expect("object").len())
        .sum();
    assert!(keys <= 200_000 + 16, "{keys} keys served");
}

/// A classic pcap of one client (10.0.0.1:5000) sending `n` getData requests, each on its own
/// path, to 10.0.0.9:2181, forty to a segment, the connection already open.
fn write_getdata_flood(path: &Path, n: u32) {
    let mut pcap = common::Pcap {
        header: pcap_header(),
        records: Vec::new(),
    };
    let mut seq: u32 = 1;
    let requests: Vec<u32> = (0..n).collect();
    for (i, chunk) in requests.chunks(40).enumerate() {
        let mut payload = Vec::new();
        for &xid in chunk {
            let name = format!("/flood/{xid:06}");
            let body_len = 4 + 4 + 4 + name.len() + 1;
            payload.extend_from_slice(&(body_len as i32).to_be_bytes());
            payload.extend_from_slice(&(xid as i32 + 1).to_be_bytes());
            payload.extend_from_slice(&4i32.to_be_bytes()); // getData
            payload.extend_from_slice(&(name.len() as i32).to_be_bytes());
            payload.extend_from_slice(name.as_bytes());
            payload.push(0); // no watch
        }
        let frame = tcp_frame([10, 0, 0, 1], 5000, [10, 0, 0, 9], 2181, seq, &payload);
        seq = seq.wrapping_add(payload.len() as u32);
        pcap.records.push(common::Record {
            sec: 1_700_000_000,
            frac: i as u32,
            orig_len: frame.len() as u32,
            data: frame,
        });
    }
    pcap.write(path);
}

/// A little-endian microsecond pcap header, Ethernet.
fn pcap_header() -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&262_144u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h
}

/// An Ethernet, IPv4 and TCP (ACK|PSH) frame carrying `payload`.
fn tcp_frame(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = (20 + 20 + payload.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let sum = (sum & 0xffff) + (sum >> 16);
    let checksum = !((sum & 0xffff) + (sum >> 16)) as u16;
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&1u32.to_be_bytes()); // ack
    f.extend_from_slice(&[0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}
