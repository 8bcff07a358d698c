//! A look at the end-of-central-directory record before the zip crate parses the
//! central directory.
//!
//! The zip crate reads every central directory record into memory before this
//! crate can count them, and a zip64 archive may declare millions. Reading the
//! declared count and the directory's size first refuses such archives before
//! that work: the size bounds the names the zip crate would copy, whatever
//! their count and length. This is a
//! fast path, not the authority: only an end record placed exactly at the end of
//! the file (the standard layout) is looked at, and the count the zip crate
//! actually parsed is checked again afterwards.

use std::io::{self, Read, Seek, SeekFrom};

const EOCD_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
const EOCD64_LOCATOR_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
const EOCD64_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
const EOCD_LEN: usize = 22;
const LOCATOR_LEN: usize = 20;
const EOCD64_LEN: usize = 56;
/// What is read first.
const SHORT_TAIL: u64 = 1024;
/// The end record plus the longest comment.
const MAX_TAIL: u64 = (EOCD_LEN + u16::MAX as usize) as u64;

/// What an end record says about the central directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Declared {
    pub entries: u64,
    /// The central directory's length in bytes: its records with their names,
    /// extra fields and comments.
    pub directory_bytes: u64,
}

/// What the end record at the end of the file declares, if there is one in the
/// standard place. Read errors are returned so that the caller can tell a spent
/// read budget; anything malformed is `None`.
pub(crate) fn declared<R: Read + Seek>(reader: &mut R, len: u64) -> io::Result<Option<Declared>> {
    // Most archives have no comment: try a short tail before the longest one.
    let mut found = None;
    for tail_len in [len.min(SHORT_TAIL), len.min(MAX_TAIL)] {
        let tail_start = len - tail_len;
        reader.seek(SeekFrom::Start(tail_start))?;
        let mut tail = vec![0u8; tail_len as usize];
        reader.read_exact(&mut tail)?;
        if let Some(eocd) = find_eocd(&tail) {
            found = Some((tail, tail_start, eocd));
            break;
        }
        if tail_len == len {
            break;
        }
    }
    let Some((tail, tail_start, eocd)) = found else {
        return Ok(None);
    };
    let total = u16_at(&tail, eocd + 10);
    let cd_size = u32_at(&tail, eocd + 12);
    let cd_offset = u32_at(&tail, eocd + 16);
    let may_be_zip64 = total == u16::MAX || cd_size == u32::MAX || cd_offset == u32::MAX;
    let zip32 = Declared {
        entries: u64::from(total),
        directory_bytes: u64::from(cd_size),
    };
    if !may_be_zip64 {
        return Ok(Some(zip32));
    }
    // The zip64 locator sits right before the end record.
    let eocd_abs = tail_start + eocd as u64;
    if eocd_abs < LOCATOR_LEN as u64 {
        return Ok(Some(zip32));
    }
    let mut locator = [0u8; LOCATOR_LEN];
    reader.seek(SeekFrom::Start(eocd_abs - LOCATOR_LEN as u64))?;
    reader.read_exact(&mut locator)?;
    if locator[..4] != EOCD64_LOCATOR_SIGNATURE {
        return Ok(Some(zip32));
    }
    let eocd64_at = u64_at(&locator, 8);
    if eocd64_at.saturating_add(EOCD64_LEN as u64) > eocd_abs {
        return Ok(None);
    }
    let mut eocd64 = [0u8; EOCD64_LEN];
    reader.seek(SeekFrom::Start(eocd64_at))?;
    reader.read_exact(&mut eocd64)?;
    if eocd64[..4] != EOCD64_SIGNATURE {
        return Ok(None);
    }
    Ok(Some(Declared {
        entries: u64_at(&eocd64, 32).max(u64_at(&eocd64, 24)),
        directory_bytes: u64_at(&eocd64, 40),
    }))
}

/// The last end record whose comment ends exactly at the end of `tail`.
fn find_eocd(tail: &[u8]) -> Option<usize> {
    let last = tail.len().checked_sub(EOCD_LEN)?;
    (0..=last).rev().find(|&at| {
        tail[at..at + 4] == EOCD_SIGNATURE
            && at + EOCD_LEN + usize::from(u16_at(tail, at + 20)) == tail.len()
    })
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn eocd(total: u16, cd_size: u32, cd_offset: u32, comment: &[u8]) -> Vec<u8> {
        let mut r = EOCD_SIGNATURE.to_vec();
        r.extend_from_slice(&[0; 4]);
        r.extend_from_slice(&total.to_le_bytes());
        r.extend_from_slice(&total.to_le_bytes());
        r.extend_from_slice(&cd_size.to_le_bytes());
        r.extend_from_slice(&cd_offset.to_le_bytes());
        r.extend_from_slice(&(comment.len() as u16).to_le_bytes());
        r.extend_from_slice(comment);
        r
    }

    fn declared_count(bytes: &[u8]) -> Option<u64> {
        declared(&mut Cursor::new(bytes), bytes.len() as u64)
            .unwrap()
            .map(|d| d.entries)
    }

    #[test]
    fn zip32_count() {
        let mut z = vec![0u8; 100];
        z.extend(eocd(42, 4200, 0, b""));
        assert_eq!(
            declared(&mut Cursor::new(&z), z.len() as u64).unwrap(),
            Some(Declared {
                entries: 42,
                directory_bytes: 4200
            })
        );
        // A comment holding a fake end record does not fool the search.
        let mut comment = eocd(60_000, 0, 0, b"");
        comment.extend_from_slice(b"tail");
        let mut z = vec![0u8; 100];
        z.extend(eocd(7, 0, 0, &comment));
        assert_eq!(declared_count(&z), Some(7));
        // Nor does a long comment that needs the longer tail.
        let mut z = vec![0u8; 100];
        z.extend(eocd(9, 0, 0, &[b'c'; 5000]));
        assert_eq!(declared_count(&z), Some(9));
        assert_eq!(declared_count(b""), None);
        assert_eq!(declared_count(b"not a zip at all, just some text"), None);
        // Garbage after the record: not the standard layout, left to the zip crate.
        let mut z = eocd(42, 0, 0, b"");
        z.push(0);
        assert_eq!(declared_count(&z), None);
    }

    #[test]
    fn zip64_count() {
        let mut z = vec![0u8; 64];
        let eocd64_at = z.len() as u64;
        let mut record = EOCD64_SIGNATURE.to_vec();
        record.extend_from_slice(&44u64.to_le_bytes());
        record.extend_from_slice(&[45, 3, 45, 0]);
        record.extend_from_slice(&[0; 8]);
        record.extend_from_slice(&5_000_000u64.to_le_bytes());
        record.extend_from_slice(&5_000_000u64.to_le_bytes());
        record.extend_from_slice(&7_000_000u64.to_le_bytes());
        record.extend_from_slice(&[0; 8]);
        assert_eq!(record.len(), EOCD64_LEN);
        z.extend(record);
        z.extend_from_slice(&EOCD64_LOCATOR_SIGNATURE);
        z.extend_from_slice(&[0; 4]);
        z.extend_from_slice(&eocd64_at.to_le_bytes());
        z.extend_from_slice(&1u32.to_le_bytes());
        z.extend(eocd(u16::MAX, u32::MAX, u32::MAX, b""));
        assert_eq!(
            declared(&mut Cursor::new(&z), z.len() as u64).unwrap(),
            Some(Declared {
                entries: 5_000_000,
                directory_bytes: 7_000_000
            })
        );
        // A locator pointing past itself is ignored.
        let at = z.len() - EOCD_LEN - LOCATOR_LEN + 8;
        z[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(declared_count(&z), None);
    }
}
