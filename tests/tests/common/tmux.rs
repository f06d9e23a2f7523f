//! A terminal for the full-screen tests: a private tmux server with one session of a fixed
//! size, keys sent with `send-keys`, the screen read with `capture-pane`.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A tmux server of its own (private socket) with one session of a fixed size; killed when
/// dropped, also when the test fails.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` (a shell command line) in a 160x48 session.
    pub fn start(tag: &str, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("zkwire-top-{}-{tag}", std::process::id()),
        };
        let status = tmux
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "160",
                "-y",
                "48",
                command,
            ])
            .status()
            .expect("tmux is installed (scripts/install-deps.sh)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    /// The process ids of the programs the session's shell runs (its children).
    pub fn children(&self) -> Vec<u32> {
        let out = self
            .cmd()
            .args(["list-panes", "-t", "t", "-F", "#{pane_pid}"])
            .output()
            .expect("tmux list-panes");
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let out = Command::new("pgrep")
            .args(["-P", &shell])
            .output()
            .expect("pgrep");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `keys` (tmux key names, e.g. `Enter`, or literal text with `-l`).
    pub fn keys(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "t"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    pub fn text(&self, text: &str) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "t", "-l", text])
            .status()
            .expect("tmux send-keys -l");
        assert!(status.success());
    }

    /// Polls the screen until `ready` holds (30 s deadline); returns that screen.
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").stderr(Stdio::null()).status();
    }
}
