//! Fails when `src/generated.rs` no longer matches what `mnpd-codegen` makes of the spec.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `source` as formatted by rustfmt, or `None` when rustfmt is unavailable or fails.
fn rustfmt(source: &str) -> Option<String> {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let mut child = Command::new(rustfmt)
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(source.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).ok())?
}

#[test]
fn generated_is_fresh() {
    let root = workspace_root();
    let spec_path = root.join(mnpd_codegen::SPEC_PATH);
    let spec = std::fs::read_to_string(&spec_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", spec_path.display()));
    let expected = mnpd_codegen::generate(&spec).expect("generating the model from the spec");
    let out_path = root.join(mnpd_codegen::OUTPUT_PATH);
    let actual = std::fs::read_to_string(&out_path).unwrap_or_default();
    if actual == expected {
        return;
    }
    // Differences in layout alone (say, a different rustfmt) do not make the file stale.
    if let (Some(a), Some(b)) = (rustfmt(&actual), rustfmt(&expected)) {
        if a == b {
            return;
        }
    }
    let first_difference = actual
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
    panic!(
        "{} is stale (it differs from the generator's output from line {} on); \
         run `cargo run -p mnpd-codegen` from the workspace root and commit the result",
        mnpd_codegen::OUTPUT_PATH,
        first_difference + 1
    );
}
