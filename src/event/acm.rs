//! An ACM certificate event: open its account, read the certificate (DescribeCertificate and
//! tags, in the event's region), classify it with the scan's rules, then converge its
//! Security Hub finding — the same Id, fields and severity the scan imports — and publish
//! what people must know. The event's own fields only say which certificate.

use aws_sdk_securityhub::types::{AwsSecurityFinding, RecordState};

use super::parse::{AcmEvent, AcmKind};
use super::result::{Action, EventRef, EventResult, FindingState};
use super::Handler;
use crate::access::aws_error::AwsFailure;
use crate::access::Caller;
use crate::notify::certificate as messages;
use crate::notify::security_hub::{self, account_name_of, archived, finding_id, Hub};
use crate::notify::sns::{self, Message};
use crate::report::attention::needs_attention;
use crate::report::classify::classify;
use crate::report::{Certificate, FailureKind, Stage};
use crate::scan::describe_one;

/// What one event's handling shares.
struct Step<'a> {
    handler: &'a Handler,
    caller: &'a Caller,
    event: &'a AcmEvent,
    hub: Option<Hub>,
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
    let existing = match step.existing().await {
        Ok(existing) => existing,
        Err(()) => return step.result,
    };
    match one {
        None => step.gone(existing).await,
        Some(one) => {
            let mut certificate = one.certificate;
            classify(
                &mut certificate,
                chrono::Utc::now(),
                plan.scan.expiring_days,
            );
            if certificate.account_name.is_none() {
                certificate.account_name =
                    existing.as_ref().and_then(account_name_of).map(Into::into);
            }
            let export = event.kind == AcmKind::Available
                && event.is_renewal()
                && (certificate.cert_type.as_deref() == Some("PRIVATE")
                    || event.exported
                    || one.exportable);
            if needs_attention(&certificate) {
                step.attention(&certificate, existing).await;
            } else {
                step.resolved(&certificate, existing, export).await;
            }
            step.result.certificate = Some(certificate);
        }
    }
    step.result
}

impl Step<'_> {
    /// The certificate's existing finding, when Security Hub is configured. `Err` when it
    /// cannot be read: the result has failed.
    async fn existing(&mut self) -> Result<Option<AwsSecurityFinding>, ()> {
        let Some(hub) = &self.hub else {
            return Ok(None);
        };
        match hub.existing(&self.finding_id).await {
            Ok(found) => Ok(found),
            Err(failure) => {
                let error = self.hub_error(failure, "cannot read the certificate's finding");
                self.result.fail(error);
                Err(())
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

    /// Publish `message` to the topic (unless a dry run) and record it in the result.
    async fn publish(&mut self, message: Message) {
        let Some(topic) = &self.handler.plan.scan.notify.sns_topic_arn else {
            return;
        };
        self.result.sns_subject = Some(message.subject.clone());
        if self.handler.plan.dry_run {
            return;
        }
        let client = sns::client(self.caller, topic);
        let dedup = match &self.event.id {
            Some(id) => format!("certaudit-event-{id}"),
            None => format!("certaudit-{}", chrono::Utc::now().timestamp_millis()),
        };
        match sns::publish_one(&client, topic, message, &dedup).await {
            Ok(id) => self.result.sns_message_id = Some(id),
            Err(failure) => {
                let region = topic.split(':').nth(3);
                let failure = AwsFailure {
                    message: format!("SNS Publish to {topic} failed: {}", failure.message),
                    ..failure
                };
                let error = failure.at(Stage::Sns, Some(&self.caller.account_id), region);
                self.result.fail(error);
            }
        }
    }

    /// It needs attention: the scan's finding, and one message unless --notify-days says
    /// this day of an Approaching Expiration is not one to write about.
    async fn attention(&mut self, c: &Certificate, existing: Option<AwsSecurityFinding>) {
        if let Some(hub) = &self.hub {
            let scope = hub.scope();
            let created = existing.as_ref().and_then(|f| f.created_at());
            let finding = security_hub::finding(c, &scope, created);
            self.import(finding, FindingState::Active).await;
        }
        let notify = match self.event.kind {
            AcmKind::Expired | AcmKind::RenewalActionRequired => true,
            AcmKind::ApproachingExpiration | AcmKind::Available => c
                .days_to_expiry
                .is_some_and(|d| self.handler.plan.notify_days.includes(d)),
        };
        if notify && self.handler.plan.scan.notify.sns_topic_arn.is_some() {
            self.publish(messages::attention(c, &self.event.detail_type))
                .await;
            if self.result.action != Action::Failed {
                self.result.action = Action::Notified;
            }
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
        let was_active = self.archive_active(existing).await;
        if export {
            self.publish(messages::export_again(c)).await;
        } else if was_active {
            self.publish(messages::resolved(c, &self.finding_id)).await;
        }
    }

    /// It no longer exists: archive its finding, if one is active.
    async fn gone(&mut self, existing: Option<AwsSecurityFinding>) {
        self.result.action = Action::Gone;
        self.archive_active(existing).await;
    }

    /// Archive the certificate's finding if it is active; whether it was.
    async fn archive_active(&mut self, existing: Option<AwsSecurityFinding>) -> bool {
        let Some(active) = existing.filter(|f| f.record_state() == Some(&RecordState::Active))
        else {
            return false;
        };
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.import(archived(&active, &now), FindingState::Archived)
            .await;
        true
    }
}
