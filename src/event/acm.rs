//! An ACM certificate event: open its account, read the certificate (DescribeCertificate and
//! tags, in the event's region), classify it with the scan's rules, then converge its
//! Security Hub finding — the same Id, fields and severity the scan imports — and publish
//! what people must know. The event's own fields only say which certificate (and when).
//! Security Hub and SNS are delivered to independently: one failing is recorded in the result
//! and never keeps the other from being told.

use aws_sdk_securityhub::types::{AwsSecurityFinding, RecordState};
use chrono::{DateTime, Utc};

use super::parse::{AcmEvent, AcmKind};
use super::result::{Action, EventRef, EventResult, FindingState};
use super::Handler;
use crate::access::aws_error::AwsFailure;
use crate::access::Caller;
use crate::notify::certificate as messages;
use crate::notify::security_hub::{self, account_name_of, archived, finding_id, Hub};
use crate::notify::sns::{self, Message};
use crate::renewal::Checker;
use crate::report::attention::needs_attention;
use crate::report::classify::{classify, days_to_expiry};
use crate::report::{Certificate, FailureKind, Stage};
use crate::scan::{describe_one, OneCertificate};

/// What one event's handling shares.
struct Step<'a> {
    handler: &'a Handler,
    caller: &'a Caller,
    event: &'a AcmEvent,
    hub: Option<Hub>,
    /// The certificate's existing finding could not be read: nothing is imported (its
    /// `CreatedAt` would be lost) and whether one is active is unknown.
    hub_unreadable: bool,
    finding_id: String,
    result: EventResult,
}

pub(super) async fn handle(handler: &Handler, caller: &Caller, event: &AcmEvent) -> EventResult {
    let plan = &handler.plan;
    let result = EventResult::new(EventRef::of(event), Action::Updated, plan.dry_run);
    let hub = plan.scan.notify.security_hub_region.as_deref();
    let mut step = Step {
        handler,
        caller,
        event,
        hub: hub.map(|region| Hub::new(caller, region)),
        hub_unreadable: false,
        finding_id: finding_id(&event.resource),
        result,
    };
    let access = match handler.access(caller, &event.account).await {
        Ok(access) => access,
        Err(failure) => {
            let role = &plan.scan.target.role_name;
            let failure = AwsFailure {
                message: format!(
                    "cannot open account {} (role {role}): {}; check it with `certaudit doctor \
                     --accounts {}`",
                    event.account, failure.message, event.account
                ),
                ..failure
            };
            step.result
                .fail(failure.at(Stage::AssumeRole, Some(&event.account), None));
            return step.result;
        }
    };
    let read = describe_one(
        &access,
        None,
        &event.region,
        &event.resource,
        plan.scan.tags,
    )
    .await;
    let one = match read {
        Ok(one) => Some(one),
        Err((_, failure)) if failure.kind() == FailureKind::NotFound => None,
        Err((stage, failure)) => {
            step.result
                .fail(failure.at(stage, Some(&event.account), Some(&event.region)));
            return step.result;
        }
    };
    let existing = step.existing().await;
    match one {
        None => step.gone(existing).await,
        Some(one) => step.present(one, existing).await,
    }
    step.result
}

/// The renewal check of an event's one certificate, as a scan makes it (SPEC §13): a lookup
/// that fails leaves the check unknown and the event not fully handled.
async fn check_renewal(
    settings: &crate::renewal::Settings,
    certificate: &mut Certificate,
    now: DateTime<Utc>,
    result: &mut EventResult,
) {
    let checker = Checker::new(settings);
    certificate.renewal_check = checker.judge(certificate, now).await.map(Box::new);
    for error in checker.errors() {
        result.fail(error);
    }
}

/// When the event happened, for judging `--notify-days`: ACM sends Approaching Expiration on
/// the reminder days, and an event replayed days later (from the failed-events queue) is still
/// that day's reminder. Now when the event has no readable time, and never later than now (a
/// time in the future would pick a reminder day that has not come).
fn event_time(event: &AcmEvent, now: DateTime<Utc>) -> DateTime<Utc> {
    event
        .time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc).min(now))
        .unwrap_or(now)
}

impl Step<'_> {
    /// The certificate as it is now: checked, classified, and its finding raised, resolved or
    /// (when the check could not be made) left as it is.
    async fn present(&mut self, one: OneCertificate, existing: Option<AwsSecurityFinding>) {
        let plan = &self.handler.plan;
        let event = self.event;
        let mut certificate = one.certificate;
        let now = chrono::Utc::now();
        if let Some(settings) = &plan.scan.renewal {
            check_renewal(settings, &mut certificate, now, &mut self.result).await;
        }
        certificate.validation = None;
        classify(&mut certificate, now, plan.scan.expiring_days);
        self.result.days_at_event = certificate
            .not_after
            .map(|not_after| days_to_expiry(not_after, event_time(event, now)));
        if certificate.account_name.is_none() {
            certificate.account_name = existing.as_ref().and_then(account_name_of).map(Into::into);
        }
        let export = event.kind == AcmKind::Available
            && event.is_renewal()
            && (certificate.cert_type.as_deref() == Some("PRIVATE")
                || event.exported
                || one.exportable);
        let unjudged = security_hub::unjudged(&certificate, existing.as_ref());
        if needs_attention(&certificate) {
            self.attention(&certificate, existing).await;
        } else if unjudged {
            // The renewal check could not be made (its error is recorded): whether the
            // finding still applies is unknown, so it is left as it is, not resolved.
        } else {
            self.resolved(&certificate, existing, export).await;
        }
        self.result.certificate = Some(certificate);
    }

    /// The certificate's existing finding, when Security Hub is configured and answers. When
    /// it does not (not enabled, suspended, throttled), the error is recorded and the rest of
    /// the handling goes on without Security Hub.
    async fn existing(&mut self) -> Option<AwsSecurityFinding> {
        let hub = self.hub.as_ref()?;
        match hub.existing(&self.finding_id).await {
            Ok(found) => found,
            Err(failure) => {
                let error = self.hub_error(failure, "cannot read the certificate's finding");
                self.result.fail(error);
                self.hub_unreadable = true;
                None
            }
        }
    }

    fn hub_error(&self, failure: AwsFailure, doing: &str) -> crate::report::ScanError {
        let region = self.hub.as_ref().map(Hub::region);
        AwsFailure {
            message: format!("{doing} ({}): {}", self.finding_id, failure.message),
            ..failure
        }
        .at(Stage::SecurityHub, Some(&self.caller.account_id), region)
    }

    /// Import `finding` (unless a dry run) and record it in the result.
    async fn import(&mut self, finding: AwsSecurityFinding, state: FindingState) {
        self.result.finding_id = Some(self.finding_id.clone());
        self.result.finding_state = Some(state);
        let Some(hub) = &self.hub else { return };
        if self.handler.plan.dry_run {
            return;
        }
        if let Err(failure) = hub.import(finding).await {
            let error = self.hub_error(failure, "cannot import the finding");
            self.result.fail(error);
        }
    }

    /// Publish `message` to the topic (unless a dry run) and record it in the result. Whether
    /// it went out (or would have, in a dry run).
    async fn publish(&mut self, message: Message) -> bool {
        let Some(topic) = &self.handler.plan.scan.notify.sns_topic_arn else {
            return false;
        };
        self.result.sns_subject = Some(message.subject.clone());
        if self.handler.plan.dry_run {
            return true;
        }
        let client = sns::client(self.caller, topic);
        let dedup = match &self.event.id {
            Some(id) => format!("certaudit-event-{id}"),
            None => format!("certaudit-{}", chrono::Utc::now().timestamp_millis()),
        };
        match sns::publish_one(&client, topic, message, &dedup).await {
            Ok(id) => {
                self.result.sns_message_id = Some(id);
                true
            }
            Err(failure) => {
                let region = topic.split(':').nth(3);
                let failure = AwsFailure {
                    message: format!("SNS Publish to {topic} failed: {}", failure.message),
                    ..failure
                };
                let error = failure.at(Stage::Sns, Some(&self.caller.account_id), region);
                self.result.fail(error);
                false
            }
        }
    }

    /// It needs attention: the scan's finding, and one message unless --notify-days says
    /// the day of an Approaching Expiration (the day it was sent) is not one to write about.
    async fn attention(&mut self, c: &Certificate, existing: Option<AwsSecurityFinding>) {
        if let Some(hub) = self.hub.as_ref().filter(|_| !self.hub_unreadable) {
            let scope = hub.scope();
            let created = existing.as_ref().and_then(|f| f.created_at());
            let finding = security_hub::finding(c, &scope, created);
            self.import(finding, FindingState::Active).await;
        }
        let notify = match self.event.kind {
            AcmKind::Expired | AcmKind::RenewalActionRequired => true,
            AcmKind::ApproachingExpiration | AcmKind::Available => self
                .result
                .days_at_event
                .is_some_and(|d| self.handler.plan.notify_days.includes(d)),
        };
        let sent = notify
            && self
                .publish(messages::attention(c, &self.event.detail_type))
                .await;
        if sent && self.result.action != Action::Failed {
            self.result.action = Action::Notified;
        }
    }

    /// It no longer needs attention: archive an active finding and say so once; a renewed
    /// private or exported certificate always gets the "export it again" message instead.
    async fn resolved(
        &mut self,
        c: &Certificate,
        existing: Option<AwsSecurityFinding>,
        export: bool,
    ) {
        self.result.action = Action::Resolved;
        let active = existing.filter(|f| f.record_state() == Some(&RecordState::Active));
        if export {
            // Sent for every such event whatever the finding's state, so a retry owes nothing.
            self.publish(messages::export_again(c)).await;
            self.archive(active).await;
            return;
        }
        let Some(active) = active else { return };
        // The ACTIVE finding is the only record that a "resolved" message is owed: archived
        // first, a publish that then failed would leave a retry (or any later event) nothing
        // to resolve, and the message would be lost. So the message goes first and the
        // finding is archived only once it is out; a publish that fails leaves the finding
        // ACTIVE and the event failed, and its retry sends the message. The price under partial
        // failure (published, then the archive failed) is the message sent again on retry —
        // once more rather than never (a FIFO topic drops the repeat by the event's id).
        let topic = self.handler.plan.scan.notify.sns_topic_arn.is_some();
        if topic && !self.publish(messages::resolved(c, &self.finding_id)).await {
            self.result.finding_id = Some(self.finding_id.clone());
            self.result.finding_state = Some(FindingState::Active);
            return;
        }
        self.archive(Some(active)).await;
    }

    /// It no longer exists: archive its finding, if one is active.
    async fn gone(&mut self, existing: Option<AwsSecurityFinding>) {
        self.result.action = Action::Gone;
        let active = existing.filter(|f| f.record_state() == Some(&RecordState::Active));
        self.archive(active).await;
    }

    /// Archive the certificate's active finding, if there is one.
    async fn archive(&mut self, active: Option<AwsSecurityFinding>) {
        let Some(active) = active else { return };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.import(archived(&active, &now), FindingState::Archived)
            .await;
    }
}
