//! Properties of the generator's output for the real spec.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

fn spec() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(mnpd_codegen::SPEC_PATH);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn output_is_deterministic_and_starts_with_the_header() {
    let spec = spec();
    let a = mnpd_codegen::generate(&spec).unwrap();
    let b = mnpd_codegen::generate(&spec).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.lines().next(), Some(mnpd_codegen::HEADER));
}

#[test]
fn output_is_rustfmt_stable() {
    let source = mnpd_codegen::generate(&spec()).unwrap();
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let child = Command::new(rustfmt)
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("rustfmt is not available; skipping the formatting check");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(source.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "rustfmt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let formatted = String::from_utf8(out.stdout).unwrap();
    if formatted != source {
        let line = formatted
            .lines()
            .zip(source.lines())
            .position(|(a, b)| a != b)
            .map_or(0, |i| i + 1);
        panic!("rustfmt changes the generated code, first at line {line}");
    }
}
