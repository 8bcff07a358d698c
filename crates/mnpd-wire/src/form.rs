//! `application/x-www-form-urlencoded` decoding (query strings and form bodies).

use crate::WireError;

/// Decode `k=v&k2=v2` into pairs, in order. `+` means a space, `%XX` is a
/// byte; every decoded name and value must be UTF-8. Empty segments are
/// skipped; a segment without `=` is a name with an empty value.
pub(crate) fn parse(input: &[u8], what: &str) -> Result<Vec<(String, String)>, WireError> {
    let mut out = Vec::new();
    for segment in input.split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (name, value) = match segment.iter().position(|&b| b == b'=') {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &segment[segment.len()..]),
        };
        out.push((
            decode_component(name, what)?,
            decode_component(value, what)?,
        ));
    }
    Ok(out)
}

fn decode_component(raw: &[u8], what: &str) -> Result<String, WireError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| {
        WireError::InvalidParameter(format!(
            "the {what} contains `{}`, which does not decode to UTF-8 text; send parameter \
             names and values as UTF-8, percent-encoded (application/x-www-form-urlencoded)",
            String::from_utf8_lossy(raw)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_percent_and_edge_segments() {
        let got = parse(b"a=1&&b=x+y%2Bz&c&d=&%E5%9B%A2=%C3%A9", "query string").unwrap();
        let want = [
            ("a", "1"),
            ("b", "x y+z"),
            ("c", ""),
            ("d", ""),
            ("团", "é"),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, v), (wk, wv)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), v.as_str()), (wk, wv));
        }
    }

    #[test]
    fn rejects_non_utf8() {
        let err = parse(b"a=%FF", "query string").unwrap_err();
        assert!(matches!(err, WireError::InvalidParameter(ref m) if m.contains("query string")));
    }
}
