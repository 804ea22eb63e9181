//! What handling one ACM event did: stdout of `certaudit event`, and the
//! Lambda function's response.

use serde::Serialize;

use super::parse::AcmEvent;
use crate::report::{Certificate, ScanError};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Needs attention: finding imported, SNS message published.
    Notified,
    /// Needs attention: finding refreshed, no SNS message (`--notify-days`).
    Updated,
    /// No longer needs attention: an active finding archived (and "resolved" published).
    Resolved,
    /// The certificate no longer exists: its finding archived, if any.
    Gone,
    /// Not an event certaudit acts on.
    Ignored,
    /// Could not be handled: see `errors`.
    Failed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventRef {
    pub id: Option<String>,
    pub detail_type: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<String>,
    pub resource: Option<String>,
}

impl EventRef {
    pub fn of(event: &AcmEvent) -> Self {
        EventRef {
            id: event.id.clone(),
            detail_type: Some(event.detail_type.clone()),
            account: Some(event.account.clone()),
            region: Some(event.region.clone()),
            time: event.time.clone(),
            resource: Some(event.resource.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FindingState {
    Active,
    Archived,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventResult {
    pub schema_version: u32,
    pub event: EventRef,
    pub action: Action,
    pub certificate: Option<Certificate>,
    pub sns_message_id: Option<String>,
    /// The subject of the SNS message published (or, with --dry-run, that would be).
    pub sns_subject: Option<String>,
    pub finding_id: Option<String>,
    pub finding_state: Option<FindingState>,
    /// Days the certificate had left at the event's `time` (now, for an event without one):
    /// what `--notify-days` is judged by, so a replayed reminder is still its day's.
    pub days_at_event: Option<i64>,
    /// Nothing was published, imported or written (`--dry-run`).
    pub dry_run: bool,
    /// Why an event was ignored, when certaudit can say.
    pub reason: Option<String>,
    pub errors: Vec<ScanError>,
}

impl EventResult {
    pub fn new(event: EventRef, action: Action, dry_run: bool) -> Self {
        EventResult {
            schema_version: SCHEMA_VERSION,
            event,
            action,
            certificate: None,
            sns_message_id: None,
            sns_subject: None,
            finding_id: None,
            finding_state: None,
            days_at_event: None,
            dry_run,
            reason: None,
            errors: Vec::new(),
        }
    }

    /// Could not be handled because of `error`.
    pub fn fail(&mut self, error: ScanError) {
        self.action = Action::Failed;
        self.errors.push(error);
    }
}
