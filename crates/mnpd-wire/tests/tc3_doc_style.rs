//! TC3 requests signed the way the API documentation's hand-written examples
//! do it (more signed headers, lowercased values), by a signer written here
//! from the documented algorithm, independent of the crate's internals.

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use mnpd_wire::{decode, IncomingRequest};
use sha2::{Digest, Sha256};

const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

fn hmac(key: &[u8], msg: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

struct Doc<'a> {
    method: &'a str,
    query: &'a str,
    /// (name as sent, value as sent)
    headers: Vec<(&'a str, &'a str)>,
    /// lowercase names, in signing order
    signed: Vec<&'a str>,
    /// whether header values are lowercased in the canonical request
    lowercase_values: bool,
    body: &'a str,
    service: &'a str,
    timestamp: &'a str,
    date: &'a str,
}

impl Doc<'_> {
    fn signed_request(&self) -> (HeaderMap, String) {
        let mut canonical_headers = String::new();
        for name in &self.signed {
            let value = self
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .unwrap();
            let value = if self.lowercase_values {
                value.to_lowercase()
            } else {
                value.to_string()
            };
            canonical_headers.push_str(&format!("{name}:{value}\n"));
        }
        let signed_headers = self.signed.join(";");
        let payload = if self.method == "GET" { "" } else { self.body };
        let canonical = format!(
            "{}\n/\n{}\n{}\n{}\n{}",
            self.method,
            self.query,
            canonical_headers,
            signed_headers,
            sha_hex(payload.as_bytes())
        );
        let scope = format!("{}/{}/tc3_request", self.date, self.service);
        let to_sign = format!(
            "TC3-HMAC-SHA256\n{}\n{}\n{}",
            self.timestamp,
            scope,
            sha_hex(canonical.as_bytes())
        );
        let k_date = hmac(format!("TC3{KEY}").as_bytes(), self.date);
        let k_service = hmac(&k_date, self.service);
        let k_signing = hmac(&k_service, "tc3_request");
        let signature = hex::encode(hmac(&k_signing, &to_sign));
        let auth = format!(
            "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
        );
        let mut map = HeaderMap::new();
        for (n, v) in &self.headers {
            map.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        (map, signature)
    }

    fn verifies(&self) -> bool {
        let (headers, _) = self.signed_request();
        let req = decode(&IncomingRequest {
            method: self.method,
            headers: &headers,
            query: self.query,
            body: self.body.as_bytes(),
        })
        .unwrap();
        assert_eq!(req.secret_id, "AKIDEXAMPLE");
        assert_eq!(
            req.proof.credential_scope(),
            Some((self.date, self.service))
        );
        req.proof.verify(KEY) && !req.proof.verify("other")
    }
}

fn doc_post<'a>() -> Doc<'a> {
    Doc {
        method: "POST",
        query: "",
        headers: vec![
            ("Content-Type", "application/json; charset=utf-8"),
            ("Host", "tcmpp.example.com"),
            ("X-TC-Action", "DescribeMNPList"),
            ("X-TC-Timestamp", "1551113065"),
            ("X-TC-Version", "2024-08-01"),
            ("X-TC-Region", "ap-guangzhou"),
        ],
        signed: vec!["content-type", "host", "x-tc-action"],
        lowercase_values: true,
        body: r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#,
        service: "tcmpp",
        timestamp: "1551113065",
        date: "2019-02-25",
    }
}

#[test]
fn documented_style_with_lowercased_x_tc_action() {
    assert!(doc_post().verifies());
}

#[test]
fn verbatim_values_are_accepted_too() {
    let mut d = doc_post();
    d.lowercase_values = false;
    d.headers[1].1 = "TCMPP.Example.com";
    assert!(d.verifies());
}

#[test]
fn lowercased_values_with_mixed_case_headers() {
    let mut d = doc_post();
    d.headers[1].1 = "TCMPP.Example.com";
    d.headers[0].1 = "Application/JSON; Charset=UTF-8";
    assert!(d.verifies());
}

#[test]
fn signing_another_service_and_more_headers() {
    let mut d = doc_post();
    d.service = "cvm";
    d.signed = vec![
        "content-type",
        "host",
        "x-tc-action",
        "x-tc-region",
        "x-tc-version",
    ];
    assert!(d.verifies());
}

#[test]
fn signed_x_tc_action_is_protected() {
    let d = doc_post();
    let (mut headers, _) = d.signed_request();
    headers.insert("x-tc-action", HeaderValue::from_static("DeleteMNP"));
    let req = decode(&IncomingRequest {
        method: "POST",
        headers: &headers,
        query: "",
        body: d.body.as_bytes(),
    })
    .unwrap();
    assert_eq!(req.action, "DeleteMNP");
    assert!(!req.proof.verify(KEY));
}

#[test]
fn get_signs_the_raw_query_string() {
    let d = Doc {
        method: "GET",
        // Not sorted and with upper/lower-case escapes: taken as sent.
        query: "Limit=10&Offset=0&Keyword=%e5%9b%a2+x&A=%2F",
        headers: vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", "127.0.0.1:9080"),
            ("X-TC-Action", "DescribeMNPList"),
            ("X-TC-Timestamp", "1735689599"),
            ("X-TC-Version", "2024-08-01"),
        ],
        signed: vec!["content-type", "host"],
        lowercase_values: true,
        body: "",
        service: "tcmpp",
        timestamp: "1735689599",
        date: "2024-12-31",
    };
    assert!(d.verifies());
    let (headers, _) = d.signed_request();
    let req = decode(&IncomingRequest {
        method: "GET",
        headers: &headers,
        query: "Offset=0&Limit=10&Keyword=%e5%9b%a2+x&A=%2F",
        body: b"",
    })
    .unwrap();
    assert!(!req.proof.verify(KEY), "reordered query must not verify");
}
