//! `zkwire-tests`: the end-to-end tests of the zkwire binaries (`zk-dump`, `zab-dump`, `zk-top`,
//! `fle-dump`, `zk-stats-daemon`), not published. `cargo test --workspace` runs them with every
//! other test; `cargo test -p zkwire-tests` runs only them, `cargo test -p zkwire-tests --test
//! zk_dump` one file.
//!
//! The tests are this package's integration tests, in `tests/` (helpers shared between them in
//! `tests/common/`): they run the binaries on the captures shipped in `data/`, compare TCP
//! reassembly with tshark's, and capture a real ZooKeeper ensemble live (`live/`, which needs
//! root). This library only finds the binaries: a test of another package than `zkwire` has no
//! `CARGO_BIN_EXE_*`, so [`bin`] builds them.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The path of one of the `zkwire` package's binaries (what `env!("CARGO_BIN_EXE_<name>")`
/// gives that package's own tests), built from the current sources.
///
/// The first call in a test process runs `cargo build -p zkwire --bins` with the running test's
/// profile (`target/debug/deps/…` → dev, `target/release/deps/…` → release, any other
/// `target/NAME/deps/…` → profile NAME), target directory and target triple, all read from the
/// test executable's own path, and takes each binary's path from cargo's JSON messages. Cargo
/// decides what is out of date, so a test never runs a stale binary, and later calls cost
/// nothing. The build uses the cargo running the tests (`CARGO`), which has released the target
/// directory's lock by the time tests run, so it does not wait on it.
///
/// Panics, with cargo's output, if the build fails or `name` is not one of the binaries.
pub fn bin(name: &str) -> &'static str {
    static BINS: OnceLock<Result<HashMap<String, String>, String>> = OnceLock::new();
    match BINS.get_or_init(build_bins) {
        Ok(bins) => bins.get(name).unwrap_or_else(|| {
            let mut known: Vec<&String> = bins.keys().collect();
            known.sort();
            panic!("zkwire has no binary {name:?} (it has {known:?})")
        }),
        Err(why) => panic!("could not build the zkwire binaries: {why}"),
    }
}

/// Where the running test was built, as cargo arguments.
struct Build {
    /// `dev`, `release` or a custom profile.
    profile: String,
    target_dir: PathBuf,
    /// Set when the tests were built with `--target TRIPLE` (`target/TRIPLE/debug/deps/…`).
    triple: Option<OsString>,
}

/// Reads the build from the test executable's path.
fn this_build() -> Result<Build, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    build_of(&exe)
}

/// Reads a build from a test executable's path: `<target-dir>[/TRIPLE]/<profile>/deps/EXE`.
fn build_of(exe: &Path) -> Result<Build, String> {
    let not_cargo = || {
        format!(
            "{} is not in a cargo target directory's deps/",
            exe.display()
        )
    };
    let deps = exe
        .parent()
        .filter(|d| d.ends_with("deps"))
        .ok_or_else(not_cargo)?;
    let profile_dir = deps.parent().ok_or_else(not_cargo)?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev".to_string(),
        Some(name) => name.to_string(),
        None => return Err(not_cargo()),
    };
    let above = profile_dir.parent().ok_or_else(not_cargo)?;
    // Cargo marks the root of a target directory with CACHEDIR.TAG.
    let is_root = |dir: &Path| dir.join("CACHEDIR.TAG").is_file();
    let (target_dir, triple) = match above.parent() {
        Some(root) if !is_root(above) && is_root(root) => {
            (root, above.file_name().map(OsString::from))
        }
        _ => (above, None),
    };
    Ok(Build {
        profile,
        target_dir: target_dir.to_path_buf(),
        triple,
    })
}

/// Builds the binaries; returns each one's path by name, or why it could not.
fn build_bins() -> Result<HashMap<String, String>, String> {
    let build = this_build()?;
    // The cargo running the tests sets CARGO; a test executable run by hand falls back to the
    // cargo that compiled it, then to the one on the PATH.
    let cargo = std::env::var_os("CARGO")
        .or_else(|| option_env!("CARGO").map(OsString::from))
        .unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut cmd = Command::new(&cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(&workspace)
        .args(["-p", "zkwire", "--bins", "--profile", &build.profile])
        .arg("--target-dir")
        .arg(&build.target_dir)
        .arg("--message-format=json-render-diagnostics");
    if let Some(triple) = &build.triple {
        cmd.arg("--target").arg(triple);
    }
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("{shown}: cannot run {}: {e}", Path::new(&cargo).display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{shown} failed ({}):\n{stderr}", out.status));
    }
    // Shown with the output of a test that fails (or with --nocapture).
    eprintln!("{shown}:\n{stderr}");
    let mut bins = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_bin = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        if message["reason"] != "compiler-artifact" || !is_bin {
            continue;
        }
        if let (Some(name), Some(exe)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            if !Path::new(exe).is_file() {
                return Err(format!(
                    "{shown}: cargo reported {exe}, which is not a file"
                ));
            }
            bins.insert(name.to_string(), exe.to_string());
        }
    }
    if bins.is_empty() {
        return Err(format!("{shown} reported no binary:\n{stderr}"));
    }
    Ok(bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake target directory (with CACHEDIR.TAG, as cargo makes it) under the system temp dir.
    fn target_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zkwire-tests-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(
            dir.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .expect("tag");
        dir
    }

    #[test]
    fn the_profile_target_dir_and_triple_come_from_the_test_executable_path() {
        let target = target_dir("paths");
        let exe = |rest: &str| target.join(rest).join("deps/zk_dump-0123456789abcdef");

        let debug = build_of(&exe("debug")).expect("debug");
        assert_eq!(
            (
                debug.profile.as_str(),
                debug.target_dir.as_path(),
                debug.triple
            ),
            ("dev", target.as_path(), None)
        );
        let release = build_of(&exe("release")).expect("release");
        assert_eq!(
            (release.profile.as_str(), release.target_dir.as_path()),
            ("release", target.as_path())
        );
        let custom = build_of(&exe("profiling")).expect("custom profile");
        assert_eq!(custom.profile, "profiling");
        let cross = build_of(&exe("aarch64-unknown-linux-gnu/debug")).expect("--target");
        assert_eq!(
            (
                cross.profile.as_str(),
                cross.target_dir.as_path(),
                cross.triple
            ),
            (
                "dev",
                target.as_path(),
                Some(OsString::from("aarch64-unknown-linux-gnu"))
            )
        );
        assert!(build_of(Path::new("/usr/bin/zk_dump")).is_err());
        let _ = std::fs::remove_dir_all(&target);
    }

    #[test]
    fn this_test_executable_is_in_a_target_directory() {
        let build = this_build().expect("this build");
        assert!(build.target_dir.join("CACHEDIR.TAG").is_file());
        assert!(build.triple.is_none() || build.target_dir.join(build.triple.unwrap()).is_dir());
    }
}
