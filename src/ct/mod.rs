//! Certificate Transparency (SPEC §12): the certificates issued for the organization's names
//! that no inventory holds. `domains` says which registrable domains to ask; `source` asks Cert
//! Spotter or crt.sh through `http`; `matching` compares what they answer with the inventory.
//! One domain failing never stops the others; every failure is an error of stage `ct` for that
//! domain (the run is incomplete), never "no certificates".

pub mod domains;
mod http;
mod matching;
pub mod source;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

pub use matching::{amazon, Silence};

use crate::interrupt::Interrupt;
pub use crate::plan::{CtSettings, CtSource};
use crate::report::ct::{CtDomain, CtSection, CtStatus, Seen, Shadow};
use crate::report::{counted, Report, ScanError, Stage};
use http::Http;
use matching::Inventory;
use source::{Pace, Source};

/// Domains asked at once from Cert Spotter (crt.sh's pace serialises its own).
const DOMAINS_IN_FLIGHT: usize = 4;

/// What a run of CT found: the report's section, the errors of the domains that failed, and
/// every unexpired issuance seen (for the history: the next run judges them all again).
pub struct CtRun {
    pub section: CtSection,
    pub errors: Vec<ScanError>,
    pub seen: Vec<Seen>,
}

/// The last run of the same scope, from the history.
#[derive(Clone, Copy)]
pub struct Previous<'a> {
    pub section: &'a CtSection,
    pub seen: &'a [Seen],
}

/// Ask about every domain of `report`'s inventory (and `--ct-domains`), judging what comes
/// back against that inventory. `previous`: the last run's section of the same scope (from the
/// history): Cert Spotter is asked only for what came after its cursors, and what that run
/// found and is still unexpired is carried over, judged again.
pub async fn run(
    report: &Report,
    settings: &CtSettings,
    previous: Option<Previous<'_>>,
    interrupt: &Interrupt,
) -> CtRun {
    let now = report.generated_at;
    let (source, token) = source_of(settings);
    let http = Http::new(token, settings.timeout);
    let inventory = Inventory::of(report);
    let silence = Silence {
        issuers: settings.allow_issuers.clone(),
        names: settings.ignore_names.clone(),
    };
    let domains = domains::of(report, &settings.domains, &settings.exclude_domains);
    // A previous run of the same source carries over; another source's cursors mean nothing.
    let previous = previous.filter(|p| p.section.source == source.name());
    let work = Work {
        source: &source,
        http: &http,
        inventory: &inventory,
        silence: &silence,
        now,
        expiring_days: report.expiring_days,
        previous,
        timeout: settings.timeout,
    };
    // Unordered: a slow domain never holds back the answers of the others (a signal keeps
    // every domain that answered).
    let asking = stream::iter(domains.iter())
        .map(|domain| work.domain(domain))
        .buffer_unordered(DOMAINS_IN_FLIGHT);
    let mut answered: Vec<Answered> = Vec::new();
    let cut = interrupt
        .or_stop(async {
            tokio::pin!(asking);
            while let Some(one) = asking.next().await {
                answered.push(one);
            }
        })
        .await
        .is_none();
    let section = CtSection {
        source: source.name().into(),
        inventory_complete: inventory_complete(report),
        ..CtSection::default()
    };
    let mut run = gather(answered, section);
    if cut {
        let asked = run.section.domains.len();
        run.errors.push(ScanError::interrupted(format!(
            "Certificate Transparency interrupted: {} of {} not asked",
            counted(domains.len() - asked, "domain"),
            domains.len()
        )));
    }
    run
}

/// The source the settings name, and the token it is sent: Cert Spotter's, never sent to
/// crt.sh (or any other source).
fn source_of(settings: &CtSettings) -> (Source, Option<crate::secret::Secret>) {
    let base = |default: &str| settings.endpoint.clone().unwrap_or_else(|| default.into());
    match settings.source {
        CtSource::Certspotter => (
            Source::CertSpotter {
                base: base(source::CERTSPOTTER),
            },
            settings.token.clone().filter(|t| !t.expose().is_empty()),
        ),
        CtSource::Crtsh => (
            Source::Crtsh {
                base: base(source::CRTSH),
                pace: Pace::per_minute(settings.crtsh_per_minute),
            },
            None,
        ),
    }
}

/// The domains' answers into one section, in domain order: a certificate for names under two
/// asked domains is one certificate, listed once; shadows soonest to expire first.
fn gather(mut answered: Vec<Answered>, mut section: CtSection) -> CtRun {
    let mut errors = Vec::new();
    let mut seen = Vec::new();
    answered.sort_by(|a, b| a.domain.domain.cmp(&b.domain.domain));
    let mut listed = std::collections::HashSet::new();
    for one in answered {
        section.domains.push(one.domain);
        section
            .shadow
            .extend(one.shadow.into_iter().filter(|s| listed.insert(s.key())));
        errors.extend(one.error);
        seen.extend(one.seen);
    }
    section.shadow.sort_by(|a, b| {
        (a.days_to_expiry, &a.names, &a.serial).cmp(&(b.days_to_expiry, &b.names, &b.serial))
    });
    CtRun {
        section,
        errors,
        seen,
    }
}

/// Whether the scan read every account and region it set out to: if not, an issuance in no
/// inventory read may be in one that was not.
fn inventory_complete(report: &Report) -> bool {
    !report.errors.iter().any(|e| {
        matches!(
            e.stage,
            Stage::Organizations
                | Stage::AssumeRole
                | Stage::DescribeRegions
                | Stage::ListCertificates
                | Stage::DescribeCertificate
                | Stage::ListServerCertificates
                | Stage::Interrupted
        )
    })
}

/// One domain's answer.
struct Answered {
    domain: CtDomain,
    shadow: Vec<Shadow>,
    error: Option<ScanError>,
    seen: Vec<Seen>,
}

struct Work<'a> {
    source: &'a Source,
    http: &'a Http,
    inventory: &'a Inventory,
    silence: &'a Silence,
    now: DateTime<Utc>,
    expiring_days: i64,
    previous: Option<Previous<'a>>,
    timeout: std::time::Duration,
}

impl Work<'_> {
    /// One domain: asked, judged, its error when it failed.
    async fn domain(&self, domain: &String) -> Answered {
        let before = self
            .previous
            .and_then(|p| p.section.domains.iter().find(|d| &d.domain == domain));
        // Only a complete earlier answer is a place to continue from.
        let after = before
            .filter(|d| d.status == CtStatus::Complete)
            .and_then(|d| d.cursor.as_deref());
        // One deadline for the domain, every page and every 429 wait included.
        let fetched =
            match tokio::time::timeout(self.timeout, self.source.fetch(self.http, domain, after))
                .await
            {
                Ok(fetched) => fetched,
                Err(_) => source::Fetched::from(None).failed(http::Failure::new(
                    "timeout",
                    format!(
                        "not answered in full within {} s (--timeout, for each domain)",
                        self.timeout.as_secs()
                    ),
                )),
            };
        let mut issuances = fetched.issuances;
        if after.is_some() {
            // What the earlier run found and is still unexpired, judged again with the new.
            issuances.extend(self.carried(domain));
        }
        let judged = matching::judge(
            domain,
            issuances,
            self.inventory,
            self.silence,
            self.now,
            self.expiring_days,
        );
        let status = match (&fetched.failure, fetched.truncated) {
            (_, true) => CtStatus::Truncated,
            (Some(_), false) => CtStatus::Failed,
            (None, false) => CtStatus::Complete,
        };
        let error = fetched.failure.map(|f| {
            ScanError::new(
                Stage::Ct,
                None,
                None,
                f.code,
                format!("{domain} ({}): {}", self.source.name(), f.message),
            )
        });
        let entry = CtDomain {
            domain: domain.clone(),
            status,
            issuances: judged.issuances.len(),
            error: error.as_ref().map(|e| e.message.clone()),
            cursor: match status {
                CtStatus::Complete => fetched.cursor,
                // A failed run's cursor is not advanced past what it missed.
                _ => after.map(str::to_string),
            },
        };
        let seen = judged
            .issuances
            .into_iter()
            .map(|issuance| Seen {
                domain: domain.clone(),
                issuance,
            })
            .collect();
        Answered {
            domain: entry,
            shadow: judged.shadow,
            error,
            seen,
        }
    }

    /// Every issuance the earlier run saw for `domain` (known, silenced or not): judged again
    /// with the new inventory and flags.
    fn carried(&self, domain: &str) -> Vec<source::Issuance> {
        let Some(previous) = self.previous else {
            return Vec::new();
        };
        previous
            .seen
            .iter()
            .filter(|s| s.domain == domain)
            .map(|s| s.issuance.clone())
            .collect()
    }
}

/// Per domain, the earlier section's cursors: for `history` and tests.
pub fn cursors(section: &CtSection) -> BTreeMap<String, Option<String>> {
    section
        .domains
        .iter()
        .map(|d| (d.domain.clone(), d.cursor.clone()))
        .collect()
}
