//! The renewal check of a whole scan: lookups start as each certificate is described
//! (`prefetch`), so they run while the scan waits on AWS; each certificate is judged once the
//! scan is over (`judge`). A lookup a judgement needed and could not make is one error
//! (stage `dns`), however many certificates needed it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::{BoxFuture, FutureExt, Shared};

use super::caa;
use super::dns::{absolute, Answer, Dns, Failure};
use super::facts::{Method, Validation};
use super::http::{self, Redirect};
use super::{CheckStatus, RenewalCheck, Risk, RiskKind, RENEWAL_WINDOW_DAYS};
use crate::report::classify::days_to_expiry;
use crate::report::{Certificate, ScanError, Stage};

/// How long a CNAME chain may be before it counts as not reaching the value.
const MAX_CHAIN: usize = 8;

/// `--dns-server`, `--dns-timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Empty: the system resolver.
    pub servers: Vec<SocketAddr>,
    pub timeout: Duration,
    /// `--http-validation-private`: ask validation URLs at private addresses too.
    pub http_private: bool,
}

type PendingRedirect = Shared<BoxFuture<'static, Redirect>>;

pub struct Checker {
    dns: std::sync::Arc<Dns>,
    timeout: Duration,
    http_private: bool,
    redirects: Mutex<HashMap<(String, String), PendingRedirect>>,
    /// Lookups a judgement needed and could not make, once each.
    failed: Mutex<BTreeMap<String, Failure>>,
}

impl Checker {
    pub fn new(settings: &Settings) -> Checker {
        Checker {
            dns: std::sync::Arc::new(Dns::new(&settings.servers, settings.timeout)),
            timeout: settings.timeout,
            http_private: settings.http_private,
            redirects: Mutex::new(HashMap::new()),
            failed: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether a certificate is one ACM renews by validating its names again: issued by
    /// Amazon (public), in service, and described.
    pub fn applies(c: &Certificate) -> bool {
        c.cert_type.as_deref() == Some("AMAZON_ISSUED")
            && c.status.as_deref() == Some("ISSUED")
            && c.validation.is_some()
    }

    /// Start every lookup the certificate's judgement will need. Cheap when the names were
    /// asked before.
    pub fn prefetch(&self, c: &Certificate) {
        if !Self::applies(c) {
            return;
        }
        let Some(validation) = c.validation.as_deref() else {
            return;
        };
        for option in &validation.options {
            match option.method {
                Method::Dns => {
                    if let Some((name, _)) = &option.record {
                        drop(self.dns.cname(name));
                    }
                }
                Method::Http => {
                    if let Some((from, to)) = &option.redirect {
                        drop(self.redirect(from, to));
                    }
                }
                Method::Email | Method::Other => {}
            }
        }
        for name in names(c, validation) {
            for level in caa::climb(&name) {
                drop(self.dns.caa(&level));
            }
        }
    }

    /// The certificate's check; None when it does not apply.
    pub async fn judge(&self, c: &Certificate, now: DateTime<Utc>) -> Option<RenewalCheck> {
        if !Self::applies(c) {
            return None;
        }
        let validation = c.validation.as_deref()?;
        let days = c.not_after.map(|t| days_to_expiry(t, now));
        let mut risks = Vec::new();
        let mut unknown = false;
        let mut records_seen = BTreeSet::new();
        for option in &validation.options {
            match option.method {
                Method::Dns => {
                    let Some((name, value)) = &option.record else {
                        continue;
                    };
                    if !records_seen.insert(absolute(name)) {
                        continue;
                    }
                    match self.validation_record(name, value).await {
                        Ok(None) => {}
                        Ok(Some(risk)) => risks.push(risk),
                        Err(()) => unknown = true,
                    }
                }
                Method::Email => {
                    // Listed once the renewal is near: before, there is nothing to approve.
                    if days.is_some_and(|d| d <= RENEWAL_WINDOW_DAYS) {
                        risks.push(Risk {
                            kind: RiskKind::NeedsApproval,
                            name: option.domain.clone(),
                            detail: "ACM e-mails the domain's contacts; nothing renews until \
                                     one of them approves"
                                .into(),
                        });
                    }
                }
                Method::Http => {
                    let Some((from, to)) = &option.redirect else {
                        continue;
                    };
                    match self.redirect(from, to).await {
                        Redirect::InPlace => {}
                        Redirect::Missing(detail) => risks.push(Risk {
                            kind: RiskKind::ValidationRedirectMissing,
                            name: from.clone(),
                            detail,
                        }),
                        Redirect::Unknown(failure) => {
                            self.record(failure);
                            unknown = true;
                        }
                    }
                }
                Method::Other => {}
            }
        }
        for name in names(c, validation) {
            match self.caa(&name).await {
                Ok(None) => {}
                Ok(Some(risk)) => risks.push(risk),
                Err(()) => unknown = true,
            }
        }
        let status = match (risks.is_empty(), unknown) {
            (false, _) => CheckStatus::AtRisk,
            (true, true) => CheckStatus::Unknown,
            (true, false) => CheckStatus::Ok,
        };
        Some(RenewalCheck {
            status,
            risks,
            attempt_in_days: days.map(|d| d - RENEWAL_WINDOW_DAYS),
        })
    }

    /// Judge every certificate the check applies to (each prefetched first, so their lookups
    /// run together), and forget the validation facts.
    pub async fn judge_all(&self, certificates: &mut [Certificate], now: DateTime<Utc>) {
        for c in certificates.iter() {
            self.prefetch(c);
        }
        for c in certificates.iter_mut() {
            c.renewal_check = self.judge(c, now).await.map(Box::new);
            c.validation = None;
        }
    }

    /// The lookups a judgement needed and could not make, one error per code (the resolver
    /// is one for the whole scan): how many failed so, and the first. A dead resolver is one
    /// line, not one per name.
    pub fn errors(&self) -> Vec<ScanError> {
        let failed = self.failed.lock().expect("the failures lock");
        let mut by_code: BTreeMap<&str, Vec<&Failure>> = BTreeMap::new();
        for f in failed.values() {
            by_code.entry(f.code.as_str()).or_default().push(f);
        }
        by_code
            .into_iter()
            .map(|(code, failures)| {
                let message = match failures.len() {
                    1 => failures[0].message.clone(),
                    n => format!(
                        "{n} lookups failed ({code}), the first: {}; the renewal checks that \
                         needed them are unknown",
                        failures[0].message
                    ),
                };
                ScanError::new(Stage::Dns, None, None, code, message)
            })
            .collect()
    }

    fn record(&self, failure: Failure) {
        self.failed
            .lock()
            .expect("the failures lock")
            .insert(failure.message.clone(), failure);
    }

    fn redirect(&self, from: &str, to: &str) -> PendingRedirect {
        let key = (from.to_string(), to.to_string());
        let mut memo = self.redirects.lock().expect("the redirect memo lock");
        if let Some(pending) = memo.get(&key) {
            return pending.clone();
        }
        let dns = self.dns.clone();
        let timeout = self.timeout;
        let private = self.http_private;
        let (from, to) = key.clone();
        let task =
            tokio::spawn(async move { http::check(&dns, &from, &to, timeout, private).await });
        let pending = async move {
            task.await.unwrap_or_else(|e| {
                Redirect::Unknown(Failure {
                    code: "http-task".into(),
                    message: format!("the HTTP validation check stopped: {e}"),
                })
            })
        }
        .boxed()
        .shared();
        memo.insert(key, pending.clone());
        pending
    }

    /// The validation CNAME at `name`, followed until it reaches `value`. `Err` when a lookup
    /// failed (recorded).
    async fn validation_record(&self, name: &str, value: &str) -> Result<Option<Risk>, ()> {
        let want = absolute(value);
        let start = absolute(name);
        let mut at = start.clone();
        let mut chain: Vec<String> = Vec::new();
        let risk = |kind, detail: String| {
            Ok(Some(Risk {
                kind,
                name: start.clone(),
                detail,
            }))
        };
        for _ in 0..MAX_CHAIN {
            let answer = self.dns.cname(&at).get().await;
            let end = match answer {
                Answer::Found(target) if target == want => return Ok(None),
                Answer::Found(target) => {
                    chain.push(target.clone());
                    at = target;
                    continue;
                }
                Answer::NxDomain => "NXDOMAIN",
                Answer::NoData => "no CNAME record",
                Answer::Failed(failure) => {
                    self.record(failure);
                    return Err(());
                }
            };
            return match chain.is_empty() {
                true => risk(RiskKind::ValidationRecordMissing, end.to_string()),
                false => risk(
                    RiskKind::ValidationRecordWrong,
                    format!("points to {}, not to {want}", chain.join(" -> ")),
                ),
            };
        }
        risk(
            RiskKind::ValidationRecordWrong,
            format!(
                "is a chain of more than {MAX_CHAIN} CNAMEs ({} ...) that never reaches {want}",
                chain.join(" -> ")
            ),
        )
    }

    /// The relevant CAA set for `name` (the first non-empty one climbing to the top-level
    /// domain) and whether it forbids Amazon. `Err` when a lookup failed (recorded).
    async fn caa(&self, name: &str) -> Result<Option<Risk>, ()> {
        let wildcard = name.starts_with("*.");
        for level in caa::climb(name) {
            match self.dns.caa(&level).get().await {
                Answer::Found(entries) => {
                    return Ok(caa::forbids_amazon(&entries, wildcard).map(|why| Risk {
                        kind: RiskKind::CaaForbidsAmazon,
                        name: name.to_string(),
                        detail: format!("the CAA set at {level} {why}"),
                    }));
                }
                Answer::NxDomain | Answer::NoData => continue,
                Answer::Failed(failure) => {
                    self.record(failure);
                    return Err(());
                }
            }
        }
        Ok(None)
    }
}

/// Every name the certificate covers (ACM validates and checks CAA for each).
fn names(c: &Certificate, validation: &Validation) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    let all = c
        .domain_name
        .iter()
        .chain(c.subject_alternative_names.iter())
        .chain(validation.options.iter().map(|o| &o.domain));
    for name in all {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if !name.is_empty() {
            names.insert(name);
        }
    }
    names
}
