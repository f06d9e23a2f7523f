//! A real ZooKeeper ensemble for the live tests: three servers from Debian's `zookeeper`
//! package on 127.0.0.1–127.0.0.3, plus helpers to run processes and wait for what they print.
//!
//! The live tests need root (live capture), Java and the ZooKeeper jars, and kazoo. Where any is
//! missing they are skipped with a message saying why — except in CI (`CI` set), where a
//! missing prerequisite fails the test, so CI can never pass without exercising them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";
/// The C client's shell (Debian's zookeeper-bin).
pub const CLI_MT: &str = "/usr/lib/zookeeper/bin/cli_mt";
/// The Java client's shell (Debian's zookeeper).
pub const ZK_CLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";
/// Debian's own Python, which has python3-kazoo (a pyenv python on PATH would not).
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Why the live tests cannot run here, if they cannot.
pub fn missing_prerequisite() -> Option<String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split_whitespace().nth(2).map(str::to_string));
    if uid.as_deref() != Some("0") {
        return Some("live capture needs root".into());
    }
    if !Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some("java is not installed (apt-get install zookeeper)".into());
    }
    if !Path::new(ZOOKEEPER_JAR).exists() {
        return Some(format!(
            "{ZOOKEEPER_JAR} is missing (apt-get install zookeeper)"
        ));
    }
    let kazoo = Command::new(SYSTEM_PYTHON)
        .args(["-c", "import kazoo"])
        .output();
    if !kazoo.is_ok_and(|o| o.status.success()) {
        return Some("kazoo is missing (apt-get install python3-kazoo)".into());
    }
    if !Command::new("tcpdump")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some("tcpdump is missing (apt-get install tcpdump)".into());
    }
    None
}

/// True when the live tests can run; false (after saying why) when they must be skipped.
/// Panics in CI, where every prerequisite is installed by `.ci/run`.
pub fn live_tests_can_run() -> bool {
    match missing_prerequisite() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("live test cannot run in CI: {why}")
        }
        Some(why) => {
            eprintln!("skipping live test: {why}");
            false
        }
    }
}

/// A running three-server ensemble; killed when dropped.
pub struct Ensemble {
    pub dir: PathBuf,
    pub client_port: u16,
    servers: Vec<Option<Child>>,
    /// Extra JVM options of every server.
    jvm_flags: Vec<String>,
}

/// Jars the servers need that the zookeeper.jar manifest of Debian's package leaves out
/// (Netty's codec and resolver: without them the TLS client port and `sslQuorum` fail), and
/// a logger binding, so that each server's log says what went wrong.
const EXTRA_JARS: &str = "/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar:\
                          /usr/share/java/slf4j-simple.jar";

impl Ensemble {
    /// Starts servers 1–3 on 127.0.0.N with the given client port; quorum and election ports
    /// are derived from it ([`Ensemble::quorum_port`], [`Ensemble::election_port`]).
    pub fn start(dir: &Path, client_port: u16) -> Ensemble {
        Ensemble::start_with(dir, client_port, &|_, _| None)
    }

    /// [`Ensemble::start`], where server `me` reaches peer `peer`'s quorum port at
    /// `quorum_via(me, peer)` when that says so (a proxy in between, say).
    pub fn start_with(
        dir: &Path,
        client_port: u16,
        quorum_via: &dyn Fn(u8, u8) -> Option<String>,
    ) -> Ensemble {
        Ensemble::start_configured(dir, client_port, quorum_via, &|_| String::new(), &[])
    }

    /// [`Ensemble::start_with`], adding `extra_config(id)` to server `id`'s zoo.cfg and
    /// `jvm_flags` to every server's command line.
    pub fn start_configured(
        dir: &Path,
        client_port: u16,
        quorum_via: &dyn Fn(u8, u8) -> Option<String>,
        extra_config: &dyn Fn(u8) -> String,
        jvm_flags: &[String],
    ) -> Ensemble {
        let mut ensemble = Ensemble {
            dir: dir.to_path_buf(),
            client_port,
            servers: Vec::new(),
            jvm_flags: jvm_flags.to_vec(),
        };
        for id in 1..=3u8 {
            let sdir = ensemble.server_dir(id);
            std::fs::create_dir_all(sdir.join("data")).expect("server dir");
            std::fs::write(sdir.join("data/myid"), format!("{id}\n")).expect("myid");
            let mut cfg = format!(
                "tickTime=500\ninitLimit=20\nsyncLimit=10\ndataDir={}\nclientPortAddress=127.0.0.{id}\n\
                 clientPort={client_port}\nadmin.enableServer=false\n4lw.commands.whitelist=*\n",
                sdir.join("data").display()
            );
            for peer in 1..=3 {
                let quorum = quorum_via(id, peer)
                    .unwrap_or_else(|| format!("127.0.0.{peer}:{}", ensemble.quorum_port()));
                cfg.push_str(&format!(
                    "server.{peer}={quorum}:{}\n",
                    ensemble.election_port()
                ));
            }
            cfg.push_str(&extra_config(id));
            std::fs::write(sdir.join("zoo.cfg"), cfg).expect("zoo.cfg");
            ensemble.servers.push(None);
            ensemble.start_server(id);
        }
        ensemble
    }

    /// The quorum (ZAB) port.
    pub fn quorum_port(&self) -> u16 {
        self.client_port + 707
    }

    /// The election (FLE) port.
    pub fn election_port(&self) -> u16 {
        self.client_port + 1707
    }

    fn server_dir(&self, id: u8) -> PathBuf {
        self.dir.join(format!("s{id}"))
    }

    /// (Re)starts server `id`.
    pub fn start_server(&mut self, id: u8) {
        let sdir = self.server_dir(id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(sdir.join("server.log"))
            .expect("log");
        let child = Command::new("java")
            .arg("-Xmx256m")
            .args(&self.jvm_flags)
            .arg("-cp")
            .arg(format!("/etc/zookeeper/conf:{ZOOKEEPER_JAR}:{EXTRA_JARS}"))
            .arg(format!("-Dzookeeper.log.dir={}", sdir.display()))
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(sdir.join("zoo.cfg"))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start a ZooKeeper server");
        self.servers[id as usize - 1] = Some(child);
    }

    /// The process id of server `id`, while it runs.
    pub fn pid(&self, id: u8) -> Option<u32> {
        self.servers[id as usize - 1].as_ref().map(Child::id)
    }

    /// Kills server `id` at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, id: u8) {
        if let Some(mut child) = self.servers[id as usize - 1].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every transaction in the servers' logs, one per zxid (dumped with ZooKeeper's own
    /// TxnLogToolkit): (zxid, session, cxid, type, path).
    pub fn transactions(
        &self,
    ) -> std::collections::BTreeMap<u64, (String, String, String, String)> {
        let mut rows = std::collections::BTreeMap::new();
        for id in 1..=3u8 {
            let logs = self.server_dir(id).join("data/version-2");
            let Ok(entries) = std::fs::read_dir(&logs) else {
                continue;
            };
            for entry in entries.flatten() {
                if !entry.file_name().to_string_lossy().starts_with("log.") {
                    continue;
                }
                let out = Command::new("java")
                    .arg("-cp")
                    .arg(format!("/etc/zookeeper/conf:{ZOOKEEPER_JAR}"))
                    .arg("org.apache.zookeeper.server.persistence.TxnLogToolkit")
                    .arg(entry.path())
                    .output()
                    .expect("TxnLogToolkit");
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    let t: Vec<&str> = line.split_whitespace().collect();
                    let at = |k: &str| {
                        t.iter()
                            .position(|w| *w == k)
                            .and_then(|i| t.get(i + 1))
                            .copied()
                    };
                    let (Some(session), Some(cxid), Some(zxid)) =
                        (at("session"), at("cxid"), at("zxid"))
                    else {
                        continue;
                    };
                    let Some(pos) = t.iter().position(|w| *w == "zxid") else {
                        continue;
                    };
                    let kind = t.get(pos + 2).copied().unwrap_or("").to_string();
                    let path = t
                        .get(pos + 3)
                        .map(|p| p.split(',').next().unwrap_or(""))
                        .filter(|p| p.starts_with('/'))
                        .unwrap_or("")
                        .to_string();
                    if let Ok(z) = u64::from_str_radix(zxid.trim_start_matches("0x"), 16) {
                        rows.insert(z, (session.to_string(), cxid.to_string(), kind, path));
                    }
                }
            }
        }
        rows
    }

    /// Checks zab-dump's JSON lines of this ensemble's quorum traffic against the servers'
    /// transaction logs: every logged transaction proposed with the same type, session, cxid
    /// and path, and committed; no packet failed to decode. Returns how many were checked.
    pub fn assert_proposals_match_the_logs(&self, packets: &[serde_json::Value]) -> usize {
        let txns = self.transactions();
        assert!(txns.len() > 50, "{} transactions", txns.len());
        let mut proposed: std::collections::HashMap<&str, Vec<&serde_json::Value>> =
            Default::default();
        let mut committed = std::collections::HashSet::new();
        for p in packets {
            assert_ne!(p["type"], "DecodeError", "{p}");
            let zxid = p["zxid_hex"].as_str().unwrap_or("");
            match p["type"].as_str() {
                Some("PROPOSAL") => proposed.entry(zxid).or_default().push(&p["txn"]),
                Some("COMMIT") => {
                    committed.insert(zxid);
                }
                _ => {}
            }
        }
        for (zxid, (session, cxid, kind, path)) in &txns {
            let z = format!("0x{zxid:x}");
            let seen = proposed
                .get(z.as_str())
                .unwrap_or_else(|| panic!("{z} {kind} {path} never proposed"));
            let cxid = i64::from_str_radix(cxid.trim_start_matches("0x"), 16).expect("cxid");
            for txn in seen {
                assert_eq!(txn["type"], kind.as_str(), "{z}");
                assert_eq!(txn["session"], session.as_str(), "{z}");
                assert_eq!(txn["cxid"], cxid, "{z}");
                if !path.is_empty() {
                    assert_eq!(txn["path"], path.as_str(), "{z}");
                }
            }
            assert!(committed.contains(z.as_str()), "{z} never committed");
        }
        txns.len()
    }

    /// `host:port,…` for clients.
    pub fn hosts(&self) -> String {
        (1..=3)
            .map(|i| format!("127.0.0.{i}:{}", self.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The server's `Mode:` from the `srvr` four-letter word, if it answers.
    pub fn mode(&self, id: u8) -> Option<String> {
        let addr: SocketAddr = format!("127.0.0.{id}:{}", self.client_port).parse().ok()?;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"srvr").ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("Mode: ").map(str::to_string))
    }

    /// Waits until every server in `ids` serves and one of them leads; returns the leader.
    pub fn wait_for_leader(&self, ids: &[u8], timeout: Duration) -> u8 {
        let deadline = Instant::now() + timeout;
        loop {
            let modes: Vec<Option<String>> = ids.iter().map(|i| self.mode(*i)).collect();
            if modes.iter().all(Option::is_some) {
                if let Some(pos) = modes.iter().position(|m| m.as_deref() == Some("leader")) {
                    return ids[pos];
                }
            }
            assert!(
                Instant::now() < deadline,
                "no leader among {ids:?} within {timeout:?}: {modes:?}; logs in {}",
                self.dir.display()
            );
            // Poll the condition again shortly; a server that is still starting refuses at once.
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until all three servers serve and one leads; returns the leader's id.
    pub fn wait_for_quorum(&self, timeout: Duration) -> u8 {
        self.wait_for_leader(&[1, 2, 3], timeout)
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for s in self.servers.iter_mut().flatten() {
            let _ = s.kill();
            let _ = s.wait();
        }
    }
}

/// A child process whose output lines arrive on channels as they are printed.
pub struct Watched {
    pub child: Child,
    pub stdout: Receiver<String>,
    pub stderr: Receiver<String>,
}

fn lines_of<R: Read + Send + 'static>(r: R) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A test that fails must not leave its tools running: they would keep capturing, and keep
/// the file lock a `flock`-wrapped cargo holds open through the inherited descriptor.
impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watched {
    /// Spawns `cmd` with piped output.
    pub fn spawn(mut cmd: Command) -> Watched {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let out: ChildStdout = child.stdout.take().expect("stdout");
        let err: ChildStderr = child.stderr.take().expect("stderr");
        Watched {
            child,
            stdout: lines_of(out),
            stderr: lines_of(err),
        }
    }

    /// Waits for a stderr line containing `needle`; panics with what was seen on timeout.
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> String {
        wait_line(&self.stderr, needle, timeout, &mut Vec::new())
    }

    /// Waits for a server's `serving http://ADDR/…` line (zk-stats-daemon's) and returns ADDR.
    pub fn wait_serving(&self) -> String {
        let line = self.wait_stderr("serving http://", Duration::from_secs(30));
        line.split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .expect("address")
            .to_string()
    }

    /// Sends SIGINT (as Ctrl-C would) and waits for the process to end.
    pub fn interrupt(mut self) -> (std::process::ExitStatus, Vec<String>, Vec<String>) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        let out: Vec<String> = self.stdout.iter().collect();
        let err: Vec<String> = self.stderr.iter().collect();
        (status, out, err)
    }
}

/// Waits for a line containing `needle` on `rx`, keeping every line read in `seen`.
pub fn wait_line(
    rx: &Receiver<String>,
    needle: &str,
    timeout: Duration,
    seen: &mut Vec<String>,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
            Err(e) => panic!(
                "no line containing {needle:?} ({e}); last lines: {:?}",
                seen.iter().rev().take(5).collect::<Vec<_>>()
            ),
        }
    }
}
