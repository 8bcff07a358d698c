//! A reader that refuses to do more work than the archive's size warrants.
//!
//! The zip crate searches for the end-of-central-directory record and, when a
//! candidate does not parse, tries earlier candidates; each try may re-read a long
//! central directory. A crafted file full of candidates could make that quadratic.
//! Likewise entries whose compressed data overlap could make inflating read the
//! same bytes over and over. Counting every byte read and every call (reads and
//! seeks) against an allowance linear in the archive's length bounds the time of
//! everything done through the zip crate, whatever the input.

use std::cell::RefCell;
use std::io::{self, Read, Seek, SeekFrom};

/// Cost charged for each read or seek call, on top of the bytes read.
const CALL_COST: u64 = 64;
/// Allowance: this many times the archive's length...
const LENGTH_FACTOR: u64 = 4;
/// ...plus this much, for per-call costs and small archives.
const SLACK: u64 = 64 * 1024 * 1024;

pub(crate) const EXHAUSTED_REASON: &str =
    "reading it takes far more work than its size warrants, which happens with overlapping or \
     repeated zip structures";

/// The allowance for an archive of `len` bytes.
pub(crate) fn allowance(len: u64) -> u64 {
    len.saturating_mul(LENGTH_FACTOR).saturating_add(SLACK)
}

pub(crate) struct Budget<R> {
    inner: R,
    remaining: u64,
    exhausted: bool,
}

impl<R> Budget<R> {
    pub(crate) fn new(inner: R, allowance: u64) -> Self {
        Budget {
            inner,
            remaining: allowance,
            exhausted: false,
        }
    }

    fn charge_call(&mut self) -> io::Result<()> {
        if self.exhausted || self.remaining < CALL_COST {
            self.exhausted = true;
            return Err(io::Error::other(EXHAUSTED_REASON));
        }
        self.remaining -= CALL_COST;
        Ok(())
    }
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.charge_call()?;
        let cap = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if cap == 0 {
            self.exhausted = true;
            return Err(io::Error::other(EXHAUSTED_REASON));
        }
        let n = self.inner.read(&mut buf[..cap])?;
        // A reader claiming more than it was given is broken; never trust it.
        let n = n.min(cap);
        self.remaining -= n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Budget<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.charge_call()?;
        self.inner.seek(pos)
    }
}

/// A shareable handle on a [`Budget`], so that the zip archive and this crate's own
/// central-directory walk read through the same allowance.
pub(crate) struct Handle<'a, R>(pub(crate) &'a RefCell<Budget<R>>);

impl<R> Handle<'_, R> {
    fn with<T>(&self, f: impl FnOnce(&mut Budget<R>) -> io::Result<T>) -> io::Result<T> {
        match self.0.try_borrow_mut() {
            Ok(mut budget) => f(&mut budget),
            Err(_) => Err(io::Error::other("archive reader used re-entrantly")),
        }
    }
}

impl<R: Read> Read for Handle<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.with(|b| b.read(buf))
    }
}

impl<R: Seek> Seek for Handle<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.with(|b| b.seek(pos))
    }
}

/// Whether the allowance ran out (so that any error seen is due to that).
pub(crate) fn exhausted<R>(cell: &RefCell<Budget<R>>) -> bool {
    cell.try_borrow().map(|b| b.exhausted).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn stops_after_allowance() {
        let cell = RefCell::new(Budget::new(Cursor::new(vec![7u8; 1000]), 300));
        let mut h = Handle(&cell);
        let mut buf = [0u8; 1000];
        // 64 for the call, then at most 236 bytes.
        assert_eq!(h.read(&mut buf).unwrap(), 236);
        assert!(!exhausted(&cell));
        assert!(h.read(&mut buf).is_err());
        assert!(exhausted(&cell));
        assert!(h.seek(SeekFrom::Start(0)).is_err());
    }
}
