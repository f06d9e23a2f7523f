//! Write-path tracing live (issue 16): a real three-server ensemble on loopback, zk-dump
//! capturing its client and quorum ports with `--trace-writes`, and follower 1's quorum link
//! slowed: it reaches its peers' quorum ports through a proxy that holds what it sends for
//! [`DELAY_US`] (this kernel has no netem). Server 1 never leads: a fresh ensemble elects the
//! highest server id present.
//!
//! 1. Writes through the other follower: every transaction the servers' logs hold for the
//!    test's sessions is traced with its zxid, session and xid.
//! 2. Server 1's ACK is the last of every write, at least the delay after the PROPOSAL, while
//!    the quorum (the other follower's ACK) stays under it.
//! 3. The fast follower killed: server 1 is now needed for a quorum, and the quorum stage
//!    holds the delay.

mod common;

use common::ensemble::{live_tests_can_run, wait_line, Ensemble, Watched, SYSTEM_PYTHON};
use common::scratch;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENT_PORT: u16 = 16181;
/// The delay put on the slowed follower's quorum link, microseconds.
const DELAY_US: u64 = 300_000;

/// Creates, sets, a multi and deletes under PREFIX through HOST; prints the session id.
const WORKLOAD: &str = r#"
import sys
from kazoo.client import KazooClient
host, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
zk = KazooClient(hosts=host, timeout=30)
zk.start(timeout=60)
print(hex(zk.client_id[0]), flush=True)
zk.create(prefix)
for i in range(n):
    zk.create(f"{prefix}/n{i}", b"x")
    zk.set(f"{prefix}/n{i}", b"y")
t = zk.transaction()
t.create(f"{prefix}/m")
t.delete(f"{prefix}/m")
t.commit()
for i in range(n):
    zk.delete(f"{prefix}/n{i}")
zk.stop()
zk.close()
"#;

/// Runs the workload through `host`; returns its session id (as zk-dump prints it).
fn workload(host: &str, prefix: &str, n: u32) -> String {
    let out = Command::new(SYSTEM_PYTHON)
        .args(["-c", WORKLOAD, host, prefix, &n.to_string()])
        .output()
        .expect("run kazoo");
    assert!(
        out.status.success(),
        "workload through {host}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A TCP proxy in front of one server's quorum port that holds every byte going to it for
/// [`DELAY_US`] (the kernel here has no netem): server 1 reaches its peers' quorum ports
/// through these, so its ACKs reach the leader late. Records the address of each connection
/// it makes to the server (the learner address zk-dump sees).
struct SlowLink {
    outgoing: Arc<Mutex<Vec<SocketAddr>>>,
}

impl SlowLink {
    fn start(listen: SocketAddr, server: SocketAddr) -> SlowLink {
        let listener = TcpListener::bind(listen).expect("bind the proxy");
        let outgoing = Arc::new(Mutex::new(Vec::new()));
        let seen = outgoing.clone();
        std::thread::spawn(move || {
            for incoming in listener.incoming() {
                let Ok(from_learner) = incoming else { continue };
                let Ok(to_server) = TcpStream::connect(server) else {
                    continue;
                };
                if let Ok(addr) = to_server.local_addr() {
                    seen.lock().expect("proxy addresses").push(addr);
                }
                let _ = from_learner.set_nodelay(true);
                let _ = to_server.set_nodelay(true);
                pump(&to_server, &from_learner, Duration::ZERO);
                pump(&from_learner, &to_server, Duration::from_micros(DELAY_US));
            }
        });
        SlowLink { outgoing }
    }

    /// The proxy's latest connection to the server.
    fn learner(&self) -> String {
        let seen = self.outgoing.lock().expect("proxy addresses");
        seen.last()
            .map(ToString::to_string)
            .expect("the learner connected through the proxy")
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read (two threads: one reads and
/// stamps, one waits and writes, so the delay does not throttle the rate).
fn pump(from: &TcpStream, to: &TcpStream, delay: Duration) {
    let (mut from, mut to) = (
        from.try_clone().expect("clone socket"),
        to.try_clone().expect("clone socket"),
    );
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, bytes) in rx {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

fn us(v: &Value) -> Option<u64> {
    v.as_u64()
}

#[test]
fn live_writes_are_traced_and_a_slowed_follower_shows_as_the_last_ack_and_the_quorum() {
    if !live_tests_can_run() {
        return;
    }
    let dir = scratch("live-trace");
    let quorum_port = CLIENT_PORT + 707;
    let proxy_port = quorum_port + 50;
    let proxies: Vec<SlowLink> = [2u8, 3]
        .iter()
        .map(|peer| {
            let at = |port: u16| SocketAddr::from(([127, 0, 0, *peer], port));
            SlowLink::start(at(proxy_port), at(quorum_port))
        })
        .collect();
    let via =
        |me: u8, peer: u8| (me == 1 && peer != 1).then(|| format!("127.0.0.{peer}:{proxy_port}"));
    let mut ensemble = Ensemble::start_with(&dir, CLIENT_PORT, &via);
    assert_eq!(ensemble.quorum_port(), quorum_port);
    let leader = ensemble.wait_for_quorum(Duration::from_secs(90));
    assert_ne!(leader, 1, "a fresh ensemble elects the highest id");
    let fast = 5 - leader; // the follower that is not server 1
    let slow_learner = proxies[leader as usize - 2].learner();

    let mut cmd = Command::new(zkwire_tests::bin("zk-dump"));
    cmd.args(["-i", "lo", "--port", &CLIENT_PORT.to_string()]);
    cmd.args(["--quorum-port", &quorum_port.to_string()]);
    cmd.args(["--trace-writes", "--format", "json"]);
    let tracing = Watched::spawn(cmd);
    tracing.wait_stderr("listening on lo", Duration::from_secs(30));

    let at = |id: u8| format!("127.0.0.{id}:{CLIENT_PORT}");
    let plain = workload(&at(fast), "/plain", 10);
    ensemble.kill(fast);
    let needed = workload(&at(leader), "/needed", 5);
    // Traces come out once capture time has passed their reply by the grace period (the
    // quorum's pings keep it moving): the last session's close is the last write.
    let mut lines = Vec::new();
    while !wait_line(
        &tracing.stdout,
        "CloseRequest",
        Duration::from_secs(60),
        &mut lines,
    )
    .contains(&needed)
    {}
    let (status, rest, stderr) = tracing.interrupt();
    assert!(status.success(), "zk-dump: {stderr:?}");
    lines.extend(rest);
    let traces: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let of = |session: &str| -> Vec<&Value> {
        traces.iter().filter(|t| t["session"] == session).collect()
    };

    // 1. Every transaction of the test's sessions in the servers' logs is traced, with its
    //    zxid, session and xid.
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    let sessions: HashSet<u64> = [&plain, &needed].iter().filter_map(|s| hex(s)).collect();
    let logged: BTreeMap<u64, (u64, i64)> = ensemble
        .transactions()
        .into_iter()
        .filter_map(|(zxid, (session, cxid, _, _))| {
            let session = hex(&session)?;
            let cxid = i64::try_from(hex(&cxid)?).ok()?;
            sessions
                .contains(&session)
                .then_some((zxid, (session, cxid)))
        })
        .collect();
    let traced: BTreeMap<u64, (u64, i64)> = traces
        .iter()
        .filter_map(|t| {
            let session = hex(t["session"].as_str()?)?;
            Some((t["zxid"].as_u64()?, (session, t["xid"].as_i64()?)))
        })
        .filter(|(_, (session, _))| sessions.contains(session))
        .collect();
    eprintln!(
        "live trace: {} of {} logged transactions of the test's sessions traced",
        traced.len(),
        logged.len()
    );
    assert!(logged.len() > 40, "{logged:?}");
    assert_eq!(traced, logged);
    for t in of(&plain) {
        let stages = &t["stages"];
        assert!(
            stages.get("forward_us").is_some() && stages.get("commit_us").is_some(),
            "a follower's client: {t}"
        );
    }

    // 2. The slowed follower's ACK is the last, at least the delay after the PROPOSAL; the
    //    quorum is the fast follower's ACK, mostly well under the delay.
    let slowed = of(&plain);
    assert!(slowed.len() > 20, "{}", slowed.len());
    for t in &slowed {
        assert_eq!(t["last_ack"]["learner"], slow_learner.as_str(), "{t}");
        assert!(us(&t["last_ack"]["after_us"]) >= Some(DELAY_US), "{t}");
    }
    let quick = slowed
        .iter()
        .filter(|t| {
            t["quorum_ack"]["learner"] != slow_learner.as_str()
                && us(&t["stages"]["quorum_us"]).is_some_and(|q| q < DELAY_US)
        })
        .count();
    assert!(
        quick * 10 >= slowed.len() * 9,
        "{quick} of {}",
        slowed.len()
    );

    // 3. With the fast follower gone, the slowed one completes every quorum.
    let needed = of(&needed);
    assert!(needed.len() > 10, "{}", needed.len());
    for t in &needed {
        assert_eq!(t["quorum_ack"]["learner"], slow_learner.as_str(), "{t}");
        assert!(us(&t["stages"]["quorum_us"]) >= Some(DELAY_US), "{t}");
        assert!(
            t["stages"].get("forward_us").is_none(),
            "the leader's client: {t}"
        );
    }
}
