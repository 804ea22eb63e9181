//! What an event is: EventBridge's envelope read leniently (every `detail` field optional,
//! numbers may be floats, unknown fields ignored), and dispatched on `source` and
//! `detail-type`. The certificate's truth comes from DescribeCertificate, not from here.

use serde_json::Value;

use crate::plan::{parse_account_id, parse_ou_id, parse_region};

/// The four ACM detail-types certaudit acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmKind {
    ApproachingExpiration,
    Expired,
    RenewalActionRequired,
    Available,
}

impl AcmKind {
    fn of(detail_type: &str) -> Option<AcmKind> {
        Some(match detail_type {
            "ACM Certificate Approaching Expiration" => AcmKind::ApproachingExpiration,
            "ACM Certificate Expired" => AcmKind::Expired,
            "ACM Certificate Renewal Action Required" => AcmKind::RenewalActionRequired,
            "ACM Certificate Available" => AcmKind::Available,
            _ => return None,
        })
    }
}

/// An ACM certificate event, from any account and region.
#[derive(Debug, Clone, PartialEq)]
pub struct AcmEvent {
    pub id: Option<String>,
    pub kind: AcmKind,
    pub detail_type: String,
    pub account: String,
    pub region: String,
    pub time: Option<String>,
    /// `resources[0]`: the certificate's ARN.
    pub resource: String,
    /// `detail.Exported`.
    pub exported: bool,
    /// `detail.Action` (Available: ISSUANCE, RENEWAL, IMPORT, REIMPORT).
    pub action: Option<String>,
}

impl AcmEvent {
    pub fn is_renewal(&self) -> bool {
        self.action
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("renewal"))
    }
}

/// Which accounts and regions a scheduled scan covers, narrowed by the Scheduler input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanScope {
    pub accounts: Vec<String>,
    pub ou: Vec<String>,
    pub regions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Scheduled(ScanScope),
    Acm(AcmEvent),
    /// Any other source or detail-type: logged, ignored, success.
    Other {
        id: Option<String>,
        source: Option<String>,
        detail_type: Option<String>,
        account: Option<String>,
        region: Option<String>,
        time: Option<String>,
    },
}

/// Why an event cannot be handled; `field` names what is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEvent {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for InvalidEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid event: {}", self.message)
    }
}

impl std::error::Error for InvalidEvent {}

fn invalid(field: &str, message: impl Into<String>) -> InvalidEvent {
    InvalidEvent {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Parse an event's text.
pub fn parse(text: &str) -> Result<Event, InvalidEvent> {
    let value: Value = serde_json::from_str(text).map_err(|e| not_json(&e))?;
    dispatch(&value)
}

/// The event's text is not JSON.
pub fn not_json(e: &serde_json::Error) -> InvalidEvent {
    invalid(
        "(event)",
        format!(
            "the event is not JSON ({e}): expected an EventBridge event or \
             {{\"certaudit\": \"scan\"}}"
        ),
    )
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Dispatch a parsed event.
pub fn dispatch(v: &Value) -> Result<Event, InvalidEvent> {
    if let Value::String(text) = v {
        // What the Lambda runtime makes of a payload that is not JSON (lambda.rs).
        let start: String = text.chars().take(40).collect();
        return Err(invalid(
            "(event)",
            format!(
                "the event is not JSON (it starts {start:?}): expected an EventBridge event or \
                 {{\"certaudit\": \"scan\"}}"
            ),
        ));
    }
    if !v.is_object() {
        return Err(invalid(
            "(event)",
            "the event is not a JSON object: expected an EventBridge event or {\"certaudit\": \"scan\"}",
        ));
    }
    // A Lambda failure record (the failed-events queue, `requestPayload` the event itself):
    // replaying it is replaying its event.
    if let (Some(payload), Some(_)) = (v.get("requestPayload"), v.get("requestContext")) {
        return dispatch(payload);
    }
    if let Some(command) = v.get("certaudit") {
        return match command.as_str() {
            Some("scan") => Ok(Event::Scheduled(scope(v)?)),
            _ => Err(invalid(
                "certaudit",
                format!("`certaudit` is {command}: the only command is \"scan\""),
            )),
        };
    }
    let source = text(v, "source");
    let detail_type = text(v, "detail-type");
    match (source.as_deref(), detail_type.as_deref()) {
        (Some("aws.events"), Some("Scheduled Event")) => Ok(Event::Scheduled(ScanScope::default())),
        (Some("aws.acm"), Some(kind)) if AcmKind::of(kind).is_some() => acm(v, kind),
        _ => Ok(Event::Other {
            id: text(v, "id"),
            source,
            detail_type,
            account: text(v, "account"),
            region: text(v, "region"),
            time: text(v, "time"),
        }),
    }
}

fn acm(v: &Value, detail_type: &str) -> Result<Event, InvalidEvent> {
    let kind = AcmKind::of(detail_type).expect("checked by the caller");
    let missing = |field: &str| {
        invalid(
            field,
            format!("an `{detail_type}` event without `{field}`: cannot tell which certificate"),
        )
    };
    let account = text(v, "account").ok_or_else(|| missing("account"))?;
    parse_account_id(&account).map_err(|e| invalid("account", format!("`account`: {e}")))?;
    let region = text(v, "region").ok_or_else(|| missing("region"))?;
    parse_region(&region).map_err(|e| invalid("region", format!("`region`: {e}")))?;
    let resource = v
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_str)
        .ok_or_else(|| missing("resources"))?;
    if !(resource.starts_with("arn:") && resource.contains(":acm:")) {
        return Err(invalid(
            "resources",
            format!("`resources[0]` is '{resource}', not an ACM certificate ARN"),
        ));
    }
    let detail = v.get("detail").cloned().unwrap_or(Value::Null);
    let exported = match detail.get("Exported") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    Ok(Event::Acm(AcmEvent {
        id: text(v, "id"),
        kind,
        detail_type: detail_type.to_string(),
        account,
        region,
        time: text(v, "time"),
        resource: resource.to_string(),
        exported,
        action: text(&detail, "Action"),
    }))
}

/// A Scheduler input's optional `accounts`, `ou` and `regions`: a string (comma-separated) or
/// an array of strings each.
fn scope(v: &Value) -> Result<ScanScope, InvalidEvent> {
    let list = |key: &str, check: fn(&str) -> Result<String, String>| {
        let items: Vec<String> = match v.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.as_str().map(str::to_string).ok_or_else(|| {
                        invalid(
                            &format!("{key}[{i}]"),
                            format!("`{key}[{i}]` is not a string"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(invalid(
                    key,
                    format!("`{key}` must be a string or an array of strings"),
                ))
            }
        };
        items
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| check(s).map_err(|e| invalid(key, format!("`{key}`: {e}"))))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(ScanScope {
        accounts: list("accounts", parse_account_id)?,
        ou: list("ou", parse_ou_id)?,
        regions: list("regions", parse_region)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn approaching() -> Value {
        json!({
            "version": "0", "id": "9c95e8e4-96a4-ef3f-b739-b6aa5b193afb",
            "detail-type": "ACM Certificate Approaching Expiration", "source": "aws.acm",
            "account": "123456789012", "time": "2020-09-30T06:51:08Z", "region": "us-east-1",
            "resources": ["arn:aws:acm:us-east-1:123456789012:certificate/61f50cd4-45b9-4259-b049-d0a53682fa4b"],
            "detail": {"DaysToExpiry": 31.0, "CommonName": "example.com", "Unknown": [1]}
        })
    }

    #[test]
    fn acm_events_are_read_leniently() {
        let Event::Acm(event) = dispatch(&approaching()).unwrap() else {
            panic!("not an ACM event")
        };
        assert_eq!(event.kind, AcmKind::ApproachingExpiration);
        assert_eq!(event.account, "123456789012");
        assert!(!event.exported);
        let mut bare = approaching();
        bare.as_object_mut().unwrap().remove("detail");
        assert!(matches!(dispatch(&bare), Ok(Event::Acm(_))));
    }

    #[test]
    fn missing_fields_are_named() {
        for field in ["account", "region", "resources"] {
            let mut event = approaching();
            event.as_object_mut().unwrap().remove(field);
            let err = dispatch(&event).unwrap_err();
            assert_eq!(err.field, field);
            assert!(err.message.contains(field), "{}", err.message);
        }
        assert_eq!(parse("{not json").unwrap_err().field, "(event)");
        assert_eq!(parse("[1]").unwrap_err().field, "(event)");
    }

    #[test]
    fn schedules_and_scheduler_input_run_a_scan() {
        let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event",
                               "resources": ["arn:aws:events:us-east-1:1:rule/x"], "detail": {}});
        assert_eq!(
            dispatch(&scheduled).unwrap(),
            Event::Scheduled(ScanScope::default())
        );
        let narrowed = json!({"certaudit": "scan", "accounts": ["111111111111"], "regions": "eu-west-1,us-east-1"});
        let Event::Scheduled(scope) = dispatch(&narrowed).unwrap() else {
            panic!()
        };
        assert_eq!(scope.accounts, ["111111111111"]);
        assert_eq!(scope.regions, ["eu-west-1", "us-east-1"]);
        let bad = json!({"certaudit": "scan", "accounts": ["111111111111", 7]});
        assert_eq!(dispatch(&bad).unwrap_err().field, "accounts[1]");
        let bad = json!({"certaudit": "rescan"});
        assert_eq!(dispatch(&bad).unwrap_err().field, "certaudit");
    }

    #[test]
    fn a_lambda_failure_record_replays_its_event() {
        let record = json!({
            "version": "1.0", "timestamp": "2026-11-26T07:00:00.000Z",
            "requestContext": {"requestId": "e4b46cbf", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:certaudit:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": approaching(),
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorType": "AccessDenied", "errorMessage": "…"}
        });
        assert_eq!(
            dispatch(&record).unwrap(),
            dispatch(&approaching()).unwrap()
        );
    }

    #[test]
    fn anything_else_is_ignored() {
        let other =
            json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"});
        assert!(matches!(dispatch(&other), Ok(Event::Other { .. })));
        let acm_other = json!({"source": "aws.acm", "detail-type": "AWS API Call via CloudTrail"});
        assert!(matches!(dispatch(&acm_other), Ok(Event::Other { .. })));
    }
}
