//! Regenerates `crates/mnpd-api/src/generated.rs` from `spec/tcmpp-2024-08-01.json`.
//!
//! Run from anywhere with `cargo run -p mnpd-codegen`; paths are resolved against the
//! workspace root (two levels above this crate's manifest).

use std::path::PathBuf;

use anyhow::{Context, Result};

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let spec_path = root.join(mnpd_codegen::SPEC_PATH);
    let out_path = root.join(mnpd_codegen::OUTPUT_PATH);
    let spec = std::fs::read_to_string(&spec_path)
        .with_context(|| format!("reading {}", spec_path.display()))?;
    let source = mnpd_codegen::generate(&spec)?;
    let unchanged = std::fs::read_to_string(&out_path).is_ok_and(|old| old == source);
    if unchanged {
        println!("{} is up to date", mnpd_codegen::OUTPUT_PATH);
    } else {
        std::fs::write(&out_path, &source)
            .with_context(|| format!("writing {}", out_path.display()))?;
        println!("wrote {}", mnpd_codegen::OUTPUT_PATH);
    }
    Ok(())
}
