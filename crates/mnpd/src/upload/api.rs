//! A small TencentCloud API 3.0 client for `mnpd upload`: JSON POSTs
//! signed TC3-HMAC-SHA256 by mnpd-wire's own signer (the one tested
//! against the official SDK's requests).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};

/// Why a call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with an error envelope.
    Api {
        code: String,
        message: String,
        request_id: String,
    },
    /// No usable answer: connection, TLS, timeout, not JSON.
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Api {
                code,
                message,
                request_id,
            } => write!(f, "{code}: {message} (RequestId {request_id})"),
            CallError::Transport(why) => f.write_str(why),
        }
    }
}

pub struct ApiClient {
    http: reqwest::Client,
    url: url::Url,
    /// The `Host` the signature covers: the endpoint's host and, when not
    /// the scheme's default, port.
    host: String,
    secret_id: String,
    secret_key: String,
    region: Option<String>,
}

impl ApiClient {
    pub fn new(
        endpoint: &str,
        secret_id: &str,
        secret_key: &str,
        region: Option<&str>,
        ca_cert: Option<&std::path::Path>,
    ) -> Result<Self> {
        let with_scheme = if endpoint.contains("://") {
            endpoint.to_string()
        } else {
            format!("https://{endpoint}")
        };
        let url = url::Url::parse(&with_scheme)
            .with_context(|| format!("--endpoint `{endpoint}` is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("--endpoint `{endpoint}`: use http:// or https://");
        }
        // The signature covers the path `/`; the API lives there.
        if url.path() != "/" || url.query().is_some() {
            bail!("--endpoint `{endpoint}`: give the server's address without a path");
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => bail!("--endpoint `{endpoint}` has no host"),
        };
        let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10));
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path)
                .with_context(|| format!("--ca-cert: reading {}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).with_context(|| {
                format!("--ca-cert: {} holds no PEM certificate", path.display())
            })?;
            if certs.is_empty() {
                bail!("--ca-cert: {} holds no PEM certificate", path.display());
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().context("setting up the HTTP client")?;
        Ok(ApiClient {
            http,
            url,
            host,
            secret_id: secret_id.to_string(),
            secret_key: secret_key.to_string(),
            region: region.map(str::to_string).filter(|r| !r.is_empty()),
        })
    }

    /// The HTTP client, for the upload itself.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The `Response` object of a successful call.
    pub async fn call(&self, action: &str, params: Value) -> Result<Map<String, Value>, CallError> {
        let region = self.region.clone();
        let parsed = self
            .send(action, mnpd_api::VERSION, region.as_deref(), &params)
            .await?;
        let Value::Object(mut answer) = parsed else {
            return Err(CallError::Transport(format!(
                "{action}: an answer without `Response`"
            )));
        };
        if let Some(error) = answer.remove("Error") {
            let field = |name: &str| error[name].as_str().unwrap_or_default().to_string();
            return Err(CallError::Api {
                code: field("Code"),
                message: field("Message"),
                request_id: answer
                    .get("RequestId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Ok(answer)
    }

    /// Any action of any version, signed TC3-HMAC-SHA256 as a JSON POST;
    /// the answer's `Response` object, an error envelope's included.
    pub async fn send(
        &self,
        action: &str,
        version: &str,
        region: Option<&str>,
        params: &Value,
    ) -> Result<Value, CallError> {
        let body = serde_json::to_vec(params)
            .map_err(|e| CallError::Transport(format!("encoding {action}: {e}")))?;
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let headers = mnpd_wire::sign_tc3_post(
            &self.secret_id,
            &self.secret_key,
            &self.host,
            action,
            version,
            region.filter(|r| !r.is_empty()),
            timestamp,
            &body,
        );
        let mut request = self
            .http
            .post(self.url.clone())
            .timeout(Duration::from_secs(60))
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| CallError::Transport(self.transport_failure(action, &e)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| CallError::Transport(format!("{action}: {}", error_chain(&e))))?;
        let parsed: Value = serde_json::from_str(&text).map_err(|_| {
            CallError::Transport(format!(
                "{action}: HTTP {status}, not an API answer: {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        match parsed.get("Response") {
            Some(answer @ Value::Object(_)) => Ok(answer.clone()),
            _ => Err(CallError::Transport(format!(
                "{action}: HTTP {status}, an answer without `Response`"
            ))),
        }
    }
}

/// The path of the emulator controls, under the endpoint.
const EMULATOR_PREFIX: &str = "_mnpd/emulator/";

impl ApiClient {
    /// Calls an emulator control (`--emulator`): `path` under
    /// `/_mnpd/emulator/`, with the key as Basic credentials; the answer's
    /// JSON object, or what the server refused with.
    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self.control_request(method, path)?;
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = self.control_send(path, request).await?;
        let text = response.text().await.unwrap_or_default();
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Downloads a control's answer into `file`, in chunks; its size.
    pub async fn control_download(&self, path: &str, file: &std::path::Path) -> Result<u64> {
        use tokio::io::AsyncWriteExt;
        let request = self.control_request(reqwest::Method::GET, path)?;
        let mut response = self.control_send(path, request).await?;
        let mut out = tokio::fs::File::create(file)
            .await
            .with_context(|| format!("creating {}", file.display()))?;
        let mut size = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| anyhow::anyhow!(self.transport_failure(path, &e)))?
        {
            size += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        Ok(size)
    }

    /// Sends `file` to a control as the body of a PUT, in chunks.
    pub async fn control_upload(&self, path: &str, file: &std::path::Path) -> Result<Value> {
        let opened = tokio::fs::File::open(file)
            .await
            .with_context(|| format!("opening {}", file.display()))?;
        let size = opened.metadata().await?.len();
        let request = self
            .control_request(reqwest::Method::PUT, path)?
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(
                tokio_util::io::ReaderStream::new(opened),
            ));
        let response = self.control_send(path, request).await?;
        let text = response.text().await.unwrap_or_default();
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn control_request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder> {
        let url = self
            .url
            .join(&format!("{EMULATOR_PREFIX}{path}"))
            .with_context(|| format!("emulator control `{path}`"))?;
        Ok(self
            .http
            .request(method, url)
            .timeout(Duration::from_secs(600))
            .basic_auth(&self.secret_id, Some(&self.secret_key)))
    }

    /// Sends a control request; the response when it succeeded, else what
    /// the server refused with.
    async fn control_send(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let response = request
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(self.transport_failure(path, &e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = answer["Error"]["Message"].as_str().unwrap_or_default();
        if status == reqwest::StatusCode::NOT_FOUND && message.contains("--emulator") {
            bail!("the server has its emulator controls off; start it with --emulator (MNPD_EMULATOR=1)");
        }
        bail!("HTTP {status}: {message}")
    }

    /// What went wrong on the way, said so that it can be acted on: a TLS
    /// handshake answered in plain HTTP is a server that speaks http.
    fn transport_failure(&self, action: &str, e: &reqwest::Error) -> String {
        let chain = error_chain(e);
        let plain_http = chain.contains("InvalidContentType") || chain.contains("corrupt message");
        if self.url.scheme() == "https" && plain_http {
            return format!(
                "{action}: {} answered in plain HTTP, not TLS: this server speaks http; \
                 use --endpoint http://{}",
                self.host, self.host
            );
        }
        format!("{action}: {chain}")
    }
}

/// An error with its causes, which is where reqwest says what went wrong.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
