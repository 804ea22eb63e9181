//! Which issuances are in no inventory. A precertificate and its certificate are one issuance
//! (same serial, same expiry); an expired one is gone; one whose serial an inventory holds is
//! known; `--ct-allow-issuers` and `--ct-ignore-names` silence the known unknowns. What is left
//! is `amazon-not-in-inventory` when Amazon's CAs issued it, else a shadow certificate — and a
//! shadow certificate replaced by a later one for the same names is `superseded`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use wildmatch::WildMatch;

use super::source::{normalise_serial, Issuance};
use crate::report::classify::days_to_expiry;
use crate::report::ct::{Shadow, ShadowKind};
use crate::report::Report;

/// The serials every scanned inventory holds (ACM's; IAM's listing gives none), each with its
/// issuer as ACM names it (lowercase; None when not read): a serial is the issuer's to give,
/// so another CA's certificate with the same serial is not the inventory's.
pub struct Inventory(HashMap<String, Vec<Option<String>>>);

impl Inventory {
    pub fn of(report: &Report) -> Inventory {
        let mut serials: HashMap<String, Vec<Option<String>>> = HashMap::new();
        for c in &report.certificates {
            if let Some(serial) = c.serial.as_deref() {
                serials
                    .entry(normalise_serial(serial))
                    .or_default()
                    .push(c.issuer.as_ref().map(|i| i.to_lowercase()));
            }
        }
        Inventory(serials)
    }

    fn holds(&self, issuance: &Issuance) -> bool {
        let issuer = issuance.issuer.to_lowercase();
        self.0.get(&issuance.serial).is_some_and(|issuers| {
            issuers
                .iter()
                .any(|i| i.as_deref().is_none_or(|i| issuer.contains(i)))
        })
    }
}

/// What silences a known issuance.
#[derive(Debug, Clone, Default)]
pub struct Silence {
    /// Issuer substrings, compared without case (a CDN's CA).
    pub issuers: Vec<String>,
    /// Globs (`*.cdn.example.com`): an issuance all of whose names match one is silenced.
    pub names: Vec<String>,
}

impl Silence {
    fn silences(&self, issuance: &Issuance) -> bool {
        let issuer = issuance.issuer.to_lowercase();
        if self
            .issuers
            .iter()
            .any(|i| !i.is_empty() && issuer.contains(&i.to_lowercase()))
        {
            return true;
        }
        !self.names.is_empty()
            && !issuance.names.is_empty()
            && issuance.names.iter().all(|name| {
                let name = name.to_lowercase();
                self.names
                    .iter()
                    .any(|glob| WildMatch::new(&glob.to_lowercase()).matches(&name))
            })
    }
}

/// Issued by one of Amazon's CAs (`O=Amazon`, `CN=Amazon RSA 2048 M03`, …).
pub fn amazon(issuer: &str) -> bool {
    issuer.split([',', '/']).any(|part| {
        let part = part.trim().to_ascii_lowercase();
        part == "o=amazon" || part.starts_with("cn=amazon ")
    })
}

/// A domain's issuances, once each, unexpired; and those in no inventory.
pub struct Judged {
    pub issuances: Vec<Issuance>,
    pub shadow: Vec<Shadow>,
}

/// Judge one domain's issuances.
pub fn judge(
    domain: &str,
    issuances: Vec<Issuance>,
    inventory: &Inventory,
    silence: &Silence,
    now: DateTime<Utc>,
    expiring_days: i64,
) -> Judged {
    // One issuance per (serial, expiry): the certificate over its precertificate.
    let mut once: BTreeMap<(String, i64), Issuance> = BTreeMap::new();
    for mut issuance in issuances.into_iter().filter(|i| i.not_after > now) {
        for name in &mut issuance.names {
            *name = name.trim_end_matches('.').to_lowercase();
        }
        issuance.names.sort();
        issuance.names.dedup();
        let key = (issuance.serial.clone(), issuance.not_after.timestamp());
        match once.get(&key) {
            Some(kept) if kept.precert && !issuance.precert => {
                once.insert(key, issuance);
            }
            Some(_) => {}
            None => {
                once.insert(key, issuance);
            }
        }
    }
    let issuances: Vec<Issuance> = once.into_values().collect();
    // The latest issuance for each set of names that can serve (not revoked), whoever holds
    // it: a shadow certificate replaced by the inventory's, or a silenced one, is replaced too.
    let mut latest: BTreeMap<&[String], DateTime<Utc>> = BTreeMap::new();
    for i in issuances.iter().filter(|i| i.revoked != Some(true)) {
        let at = latest.entry(&i.names).or_insert(i.not_before);
        *at = (*at).max(i.not_before);
    }
    let shadow: Vec<Shadow> = issuances
        .iter()
        .filter(|i| !inventory.holds(i) && !silence.silences(i))
        .map(|i| {
            let days = days_to_expiry(i.not_after, now);
            let replaced = latest
                .get(i.names.as_slice())
                .is_some_and(|at| i.not_before < *at);
            let kind = match (amazon(&i.issuer), replaced) {
                (true, _) => ShadowKind::AmazonNotInInventory,
                (false, true) => ShadowKind::Superseded,
                (false, false) => ShadowKind::Shadow,
            };
            Shadow {
                kind,
                domain: domain.to_string(),
                names: i.names.clone(),
                issuer: i.issuer.clone(),
                not_before: i.not_before,
                not_after: i.not_after,
                days_to_expiry: days,
                // A superseded one is no alarm: someone replaced it.
                expiring: kind != ShadowKind::Superseded && days <= expiring_days,
                revoked: i.revoked,
                serial: i.serial.clone(),
                sha256: i.sha256.clone(),
                link: i.link.clone(),
            }
        })
        .collect();
    Judged { issuances, shadow }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap()
    }

    fn issued(names: &[&str], issuer: &str, serial: &str, from: i64, left: i64) -> Issuance {
        Issuance {
            names: names.iter().map(|n| n.to_string()).collect(),
            issuer: issuer.into(),
            not_before: now() - Duration::days(from),
            not_after: now() + Duration::days(left) + Duration::hours(1),
            serial: serial.into(),
            sha256: Some(format!("sha-{serial}")),
            revoked: Some(false),
            precert: false,
            link: format!("https://crt.sh/?serial={serial}"),
        }
    }

    const LE: &str = "C=US, O=Let's Encrypt, CN=R11";

    /// A report whose inventory holds one certificate: `serial`, issued by `issuer`.
    fn holding(serial: &str, issuer: &str) -> Report {
        let mut report = Report::new(now(), 45, "1");
        let mut known = crate::report::Certificate::new("arn:x", "1", None, "us-east-1");
        known.serial = Some(serial.into());
        known.issuer = Some(issuer.into());
        report.certificates.push(known);
        report
    }

    #[test]
    fn known_expired_silenced_and_amazon_issuances_are_told_apart() {
        let report = holding("0a:bc", "Let's Encrypt");
        let precert = Issuance {
            precert: true,
            sha256: Some("sha-pre".into()),
            ..issued(&["a.corp.example"], LE, "aaa", 10, 20)
        };
        let all = vec![
            issued(&["www.corp.example"], LE, "abc", 10, 80),
            precert,
            issued(&["a.corp.example"], LE, "aaa", 10, 20),
            issued(&["old.corp.example"], LE, "dead", 100, -1),
            issued(
                &["cdn.corp.example"],
                "C=US, O=Fastly, CN=GlobalSign",
                "c1",
                5,
                60,
            ),
            issued(
                &["*.corp.example"],
                "C=US, O=Amazon, CN=Amazon RSA 2048 M03",
                "a2",
                5,
                300,
            ),
        ];
        let silence = Silence {
            issuers: vec!["fastly".into()],
            names: vec![],
        };
        let judged = judge(
            "corp.example",
            all,
            &Inventory::of(&report),
            &silence,
            now(),
            45,
        );
        assert_eq!(
            judged.issuances.len(),
            4,
            "precert and certificate once; expired gone"
        );
        let kinds: Vec<(&str, ShadowKind, bool)> = judged
            .shadow
            .iter()
            .map(|s| (s.serial.as_str(), s.kind, s.expiring))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a2", ShadowKind::AmazonNotInInventory, false),
                ("aaa", ShadowKind::Shadow, true),
            ]
        );
        assert_eq!(
            judged.shadow[1].sha256.as_deref(),
            Some("sha-aaa"),
            "the certificate, not the precertificate"
        );
    }

    #[test]
    fn a_replaced_shadow_certificate_is_superseded_and_no_alarm() {
        let all = vec![
            issued(&["shop.corp.example"], LE, "01", 80, 9),
            issued(&["shop.corp.example"], LE, "02", 10, 80),
            issued(&["blog.corp.example"], LE, "03", 80, 9),
        ];
        let judged = judge(
            "corp.example",
            all,
            &Inventory(HashMap::new()),
            &Silence::default(),
            now(),
            45,
        );
        let by_serial: BTreeMap<&str, (ShadowKind, bool)> = judged
            .shadow
            .iter()
            .map(|s| (s.serial.as_str(), (s.kind, s.expiring)))
            .collect();
        assert_eq!(by_serial["01"], (ShadowKind::Superseded, false));
        assert_eq!(by_serial["02"], (ShadowKind::Shadow, false));
        assert_eq!(by_serial["03"], (ShadowKind::Shadow, true));
    }

    #[test]
    fn a_serial_is_known_only_from_its_own_issuer_and_a_known_replacement_supersedes() {
        let report = holding("0a:1b", "Amazon");
        let inventory = Inventory::of(&report);
        let amazon_dn = "C=US, O=Amazon, CN=Amazon RSA 2048 M03";
        let all = vec![
            // Another CA's certificate with the inventory's serial: not the inventory's.
            issued(
                &["evil.corp.example"],
                "C=US, O=Totally Different CA, CN=X",
                "a1b",
                5,
                60,
            ),
            // An old shadow certificate for www, replaced by the inventory's (known) one.
            issued(&["WWW.corp.example."], LE, "77", 80, 5),
            issued(&["www.corp.example"], amazon_dn, "a1b", 10, 300),
        ];
        let judged = judge(
            "corp.example",
            all,
            &inventory,
            &Silence::default(),
            now(),
            45,
        );
        let kinds: BTreeMap<&str, ShadowKind> = judged
            .shadow
            .iter()
            .map(|s| (s.serial.as_str(), s.kind))
            .collect();
        assert!(
            !judged
                .shadow
                .iter()
                .any(|s| s.names == ["www.corp.example"] && s.serial == "a1b"),
            "the inventory's own"
        );
        assert_eq!(
            kinds["a1b"],
            ShadowKind::Shadow,
            "the other CA's, same serial"
        );
        assert_eq!(
            kinds["77"],
            ShadowKind::Superseded,
            "replaced, case and dot aside"
        );
        assert_eq!(judged.shadow.len(), 2, "{:?}", judged.shadow);
        assert!(judged
            .shadow
            .iter()
            .any(|s| s.names == ["evil.corp.example"]));
    }

    #[test]
    fn ignored_names_silence_an_issuance_only_when_every_name_matches() {
        let silence = Silence {
            issuers: vec![],
            names: vec!["*.staging.corp.example".into()],
        };
        assert!(silence.silences(&issued(&["a.staging.corp.example"], LE, "1", 1, 10)));
        assert!(!silence.silences(&issued(
            &["a.staging.corp.example", "www.corp.example"],
            LE,
            "1",
            1,
            10
        )));
        assert!(amazon("CN=Amazon RSA 2048 M03, O=Amazon, C=US"));
        assert!(!amazon("C=US, O=Amazonas Certs, CN=Fake"));
    }
}
