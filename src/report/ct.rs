//! What Certificate Transparency shows for the organization's names (SPEC §12): each domain
//! asked and how it went, and the issuances found in no inventory — shadow certificates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// report.json's `ct`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CtSection {
    /// `certspotter` or `crtsh`.
    pub source: String,
    pub domains: Vec<CtDomain>,
    /// Unexpired issuances in no scanned inventory, soonest to expire first.
    pub shadow: Vec<Shadow>,
    /// False when the scan could not read every account and region: an issuance listed here
    /// may be in an inventory the scan did not read.
    #[serde(default = "yes")]
    pub inventory_complete: bool,
}

fn yes() -> bool {
    true
}

/// One (pre)certificate a log holds, as the sources give it (kept by the history, every one
/// seen, so the next run judges them all again).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Issuance {
    pub names: Vec<String>,
    pub issuer: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Lowercase hex, no leading zeros.
    pub serial: String,
    pub sha256: Option<String>,
    pub revoked: Option<bool>,
    #[serde(default)]
    pub precert: bool,
    pub link: String,
}

/// An issuance seen under one asked domain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Seen {
    pub domain: String,
    #[serde(flatten)]
    pub issuance: Issuance,
}

/// One registrable domain asked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CtDomain {
    pub domain: String,
    pub status: CtStatus,
    /// Unexpired issuances the source gave (a precertificate and its certificate are one).
    pub issuances: usize,
    /// Why the domain is not complete; null when it is.
    pub error: Option<String>,
    /// Cert Spotter's last issuance ID: a later run with `--history` asks only for newer ones.
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CtStatus {
    /// Every issuance was read.
    Complete,
    /// The source failed: nothing is known of this domain ("no certificates" is not implied).
    Failed,
    /// The source gave part of the answer (crt.sh's row cap): some issuances are missing.
    Truncated,
}

/// One issuance in no inventory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Shadow {
    pub kind: ShadowKind,
    /// The registrable domain it was found under.
    pub domain: String,
    pub names: Vec<String>,
    /// The issuer's distinguished name, as the source writes it.
    pub issuer: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub days_to_expiry: i64,
    /// Within `--expiring-days`; never for a superseded one (a later one replaced it).
    pub expiring: bool,
    /// Null when the source does not say.
    pub revoked: Option<bool>,
    /// Lowercase hex, no leading zeros, as certaudit compares serials.
    pub serial: String,
    /// SHA-256 of the certificate's DER; null when the source does not give it (crt.sh).
    pub sha256: Option<String>,
    /// Where to see it.
    pub link: String,
}

impl CtStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CtStatus::Complete => "complete",
            CtStatus::Failed => "failed",
            CtStatus::Truncated => "truncated",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum ShadowKind {
    /// Issued by a CA other than Amazon's, for one of the organization's names.
    Shadow,
    /// A shadow certificate a later issuance with the same names replaced.
    Superseded,
    /// Issued by Amazon's CAs, yet in no scanned inventory: an account outside the scan, or
    /// an earlier issuance.
    AmazonNotInInventory,
}

impl ShadowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ShadowKind::Shadow => "shadow",
            ShadowKind::Superseded => "superseded",
            ShadowKind::AmazonNotInInventory => "amazon-not-in-inventory",
        }
    }
}

impl Shadow {
    /// A shadow certificate someone must renew or retire soon.
    pub fn is_expiring_shadow(&self) -> bool {
        self.kind == ShadowKind::Shadow && self.expiring
    }

    /// The identity two runs compare by, whichever source each asked: its serial and expiry
    /// (crt.sh gives no hash, and the sources write issuer names their own ways).
    pub fn key(&self) -> String {
        format!("{}/{}", self.serial, self.not_after.timestamp())
    }
}

impl Default for CtSection {
    fn default() -> Self {
        CtSection {
            source: String::new(),
            domains: Vec::new(),
            shadow: Vec::new(),
            inventory_complete: true,
        }
    }
}

impl CtSection {
    pub fn shadow_count(&self) -> usize {
        self.shadow
            .iter()
            .filter(|s| s.kind == ShadowKind::Shadow)
            .count()
    }

    pub fn expiring_count(&self) -> usize {
        self.shadow
            .iter()
            .filter(|s| s.is_expiring_shadow())
            .count()
    }
}
