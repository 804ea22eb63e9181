//! One GET to a CT search API, as an honest answer or a named failure: the hyper and rustls
//! already in the tree (hyper-util's pooled client, hyper-rustls with Mozilla's roots and
//! aws-lc). A non-200, a body that is not JSON (crt.sh's 502/503 pages are HTML), a timeout:
//! each is a failure with its own code, never an empty result. 429 waits `Retry-After` when the
//! wait fits in what is left of the time allowed, and asks again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{AUTHORIZATION, RETRY_AFTER, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::secret::Secret;

/// The largest answer read: crt.sh's 10,000 rows are a few megabytes, a Cert Spotter page
/// with its certificates less; parsed, an answer takes many times its size in memory.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Times a 429 is waited out before the domain fails `rate-limited`.
const MAX_RATE_LIMITED: usize = 3;

/// Why a request gave no answer to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `http-503`, `not-json`, `rate-limited`, `timeout`, `dispatch`, `truncated`, …
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A source that asks for restraint (crt.sh): at most `per_minute` requests a minute, across
/// the run, retries included.
pub struct Pace {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pace {
    pub fn per_minute(n: u32) -> Pace {
        Pace {
            interval: Duration::from_secs(60) / n.max(1),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    async fn wait(&self) {
        let mut next = self.next.lock().await;
        let now = tokio::time::Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = tokio::time::Instant::now() + self.interval;
    }
}

pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    token: Option<Secret>,
    /// Each domain's time, its waits for 429 included.
    timeout: Duration,
}

impl Http {
    pub fn new(token: Option<Secret>, timeout: Duration) -> Http {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("aws-lc supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            // `--ct-endpoint http://127.0.0.1:…` for a stand-in or a local proxy.
            .https_or_http()
            .enable_http1()
            .build();
        Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
            token,
            timeout,
        }
    }

    /// GET `url` and parse its JSON, within the time allowed; 429 waited out while it fits.
    /// `pace`: every request, retries included, waits its turn (crt.sh).
    pub async fn get_json(
        &self,
        url: &str,
        pace: Option<&Pace>,
    ) -> Result<serde_json::Value, Failure> {
        let started = Instant::now();
        let mut limited = 0;
        loop {
            if let Some(pace) = pace {
                pace.wait().await;
            }
            let left = self.timeout.saturating_sub(started.elapsed());
            let answer = match tokio::time::timeout(left, self.get(url)).await {
                Ok(answer) => answer?,
                Err(_) => {
                    return Err(Failure::new(
                        "timeout",
                        format!("no answer within {} s (--timeout)", self.timeout.as_secs()),
                    ))
                }
            };
            match answer {
                Answer::Body(body) => return parse(&body),
                Answer::Status(status, body) => return Err(status_failure(status, &body)),
                Answer::RateLimited(wait) => {
                    limited += 1;
                    let left = self.timeout.saturating_sub(started.elapsed());
                    let wait = wait.unwrap_or(Duration::from_secs(1));
                    let why = if limited > MAX_RATE_LIMITED {
                        format!("still refused after {MAX_RATE_LIMITED} waits")
                    } else if wait > left {
                        format!(
                            "Retry-After {} s does not fit in what is left of --timeout ({} s)",
                            wait.as_secs(),
                            left.as_secs()
                        )
                    } else {
                        tokio::time::sleep(wait).await;
                        continue;
                    };
                    let hint = match self.token {
                        None => {
                            "; fewer domains an hour, a token (--ct-token, Cert Spotter) or \
                                 a later run helps"
                        }
                        Some(_) => "; fewer domains an hour or a later run helps",
                    };
                    return Err(Failure::new(
                        "rate-limited",
                        format!("429 Too Many Requests: {why}{hint}"),
                    ));
                }
            }
        }
    }

    async fn get(&self, url: &str) -> Result<Answer, Failure> {
        let uri: Uri = url
            .parse()
            .map_err(|e| Failure::new("bad-url", format!("{url} is not a URL: {e}")))?;
        let mut request =
            Request::get(uri).header(USER_AGENT, concat!("certaudit/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {}", token.expose()));
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|e| Failure::new("bad-url", format!("cannot ask {url}: {e}")))?;
        let response = self.client.request(request).await.map_err(|e| {
            Failure::new(
                "dispatch",
                format!("cannot reach {}: {}", host_of(url), causes(&e)),
            )
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| Failure::new("dispatch", format!("the answer broke off: {e}")))?
            .to_bytes();
        Ok(match status {
            StatusCode::OK => Answer::Body(body),
            StatusCode::TOO_MANY_REQUESTS => Answer::RateLimited(retry_after),
            other => Answer::Status(other, body),
        })
    }
}

enum Answer {
    Body(Bytes),
    Status(StatusCode, Bytes),
    RateLimited(Option<Duration>),
}

/// `Retry-After`: seconds (too many to count: longer than any wait), or an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds.min(u64::MAX / 2)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn parse(body: &[u8]) -> Result<serde_json::Value, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        Failure::new(
            "not-json",
            format!("the answer is not JSON ({e}): {}", excerpt(body)),
        )
    })
}

fn status_failure(status: StatusCode, body: &[u8]) -> Failure {
    let said = match body.is_empty() {
        true => "an empty body".to_string(),
        false => excerpt(body),
    };
    Failure::new(
        format!("http-{}", status.as_u16()),
        format!("answered {status} with {said}: nothing is known of this domain"),
    )
}

/// The start of a body, on one line, printable: what an HTML error page says.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(160)]);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::report::printable(&one_line).into_owned()
}

fn host_of(url: &str) -> String {
    url.parse::<Uri>()
        .ok()
        .and_then(|u| u.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| url.to_string())
}

fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date past is no wait"
        );
        assert_eq!(retry_after("soon"), None);
        assert!(
            retry_after("99999999999999999999").unwrap() > Duration::from_secs(86_400 * 365),
            "too large to count is longer than any wait, not none"
        );
    }

    #[test]
    fn an_html_error_page_is_a_failure_naming_its_status_never_an_empty_answer() {
        let page = b"<html>\n<body><h1>503 Service Unavailable</h1></body></html>";
        let f = status_failure(StatusCode::SERVICE_UNAVAILABLE, page);
        assert_eq!(f.code, "http-503");
        assert!(
            f.message.contains("503 Service Unavailable"),
            "{}",
            f.message
        );
        let f = parse(page).unwrap_err();
        assert_eq!(f.code, "not-json");
        assert_eq!(status_failure(StatusCode::NOT_FOUND, b"").code, "http-404");
    }
}
