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
    /// The certificate's account, region and partition, from its ARN (the envelope agrees).
    pub account: String,
    pub region: String,
    pub partition: String,
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
        /// `resources[0]`, echoed in the result.
        resource: Option<String>,
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

/// How deep arrays and objects may nest: serde_json refuses the text from 128 levels on (its
/// recursion limit). No EventBridge event or Scheduler input comes near it.
pub const MAX_NESTING: usize = 127;

/// Parse an event's text.
pub fn parse(text: &str) -> Result<Event, InvalidEvent> {
    let value: Value = serde_json::from_str(text).map_err(|e| not_json(text, &e))?;
    dispatch(&value)
}

/// The event's text could not be parsed: too deeply nested (valid JSON, but past what the
/// parser takes), or not JSON at all.
pub fn not_json(text: &str, e: &serde_json::Error) -> InvalidEvent {
    if nesting(text) > MAX_NESTING {
        return too_deep();
    }
    invalid(
        "(event)",
        format!(
            "the event is not JSON ({e}): expected an EventBridge event or \
             {{\"certaudit\": \"scan\"}}"
        ),
    )
}

fn too_deep() -> InvalidEvent {
    invalid(
        "(event)",
        format!(
            "the event's JSON is nested too deeply (arrays and objects more than {MAX_NESTING} \
             levels deep): expected an EventBridge event or {{\"certaudit\": \"scan\"}}"
        ),
    )
}

/// The deepest nesting of arrays and objects in `text`, brackets inside strings not counted.
/// Counted by hand because the parser reports its depth limit only as words in its message.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in text.bytes() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            _ if in_string => {}
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Dispatch a parsed event.
pub fn dispatch(v: &Value) -> Result<Event, InvalidEvent> {
    if let Value::String(text) = v {
        // What the Lambda runtime makes of a payload that is not JSON (lambda.rs).
        if nesting(text) > MAX_NESTING {
            return Err(too_deep());
        }
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
            resource: first_resource(v).map(str::to_string),
        }),
    }
}

fn first_resource(v: &Value) -> Option<&str> {
    v.get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_str)
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
    let region = text(v, "region").ok_or_else(|| missing("region"))?;
    let resource = first_resource(v).ok_or_else(|| missing("resources"))?;
    let arn = CertificateArn::parse(resource).map_err(|e| {
        invalid(
            "resources",
            format!("`resources[0]` is '{resource}', not an ACM certificate ARN ({e})"),
        )
    })?;
    // The ARN is what DescribeCertificate reads and the finding is keyed by; an envelope naming
    // another account or region would make a live certificate look deleted there (and its
    // finding archived), so a disagreement is refused rather than resolved either way.
    for (field, envelope, from_arn) in [
        ("account", &account, &arn.account),
        ("region", &region, &arn.region),
    ] {
        if envelope != from_arn {
            return Err(invalid(
                field,
                format!(
                    "`{field}` is '{envelope}' but the certificate `resources[0]` is in \
                     {field} '{from_arn}': the envelope disagrees with the certificate's ARN"
                ),
            ));
        }
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
        account: arn.account,
        region: arn.region,
        partition: arn.partition,
        time: text(v, "time"),
        resource: resource.to_string(),
        exported,
        action: text(&detail, "Action"),
    }))
}

/// An ACM certificate ARN's parts: `arn:PARTITION:acm:REGION:ACCOUNT:certificate/ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CertificateArn {
    partition: String,
    region: String,
    account: String,
}

impl CertificateArn {
    fn parse(arn: &str) -> Result<CertificateArn, String> {
        let parts: Vec<&str> = arn.split(':').collect();
        let [prefix, partition, service, region, account, resource] = parts[..] else {
            return Err("expected arn:PARTITION:acm:REGION:ACCOUNT:certificate/ID".into());
        };
        if prefix != "arn" || service != "acm" {
            return Err(format!("the service is '{service}', not acm"));
        }
        let partition_ok = partition.starts_with("aws")
            && partition
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-');
        if !partition_ok {
            return Err(format!("'{partition}' is not an AWS partition"));
        }
        // Exact, not trimmed: the parts are compared with the envelope's as they are.
        if parse_region(region).as_deref() != Ok(region) {
            return Err(format!("'{region}' is not a region"));
        }
        if parse_account_id(account).as_deref() != Ok(account) {
            return Err(format!("'{account}' is not an account ID"));
        }
        match resource.strip_prefix("certificate/") {
            Some(id) if !id.is_empty() && !id.contains('/') => Ok(CertificateArn {
                partition: partition.to_string(),
                region: region.to_string(),
                account: account.to_string(),
            }),
            _ => Err(format!("'{resource}' is not certificate/ID")),
        }
    }
}

/// Every key a Scheduler input may have.
const SCOPE_KEYS: [&str; 4] = ["certaudit", "accounts", "ou", "regions"];

/// A Scheduler input's optional `accounts`, `ou` and `regions`: a string (comma-separated) or
/// an array of strings each.
fn scope(v: &Value) -> Result<ScanScope, InvalidEvent> {
    // A misspelt key (`Accounts`, `region`) would otherwise be a whole-organization scan that
    // publishes to everyone and counts for the dead-man's switch.
    if let Some(unknown) = v
        .as_object()
        .and_then(|o| o.keys().find(|k| !SCOPE_KEYS.contains(&k.as_str())))
    {
        return Err(invalid(
            unknown,
            format!(
                "`{unknown}` is not a key of certaudit's Scheduler input: the keys are \
                 `certaudit`, `accounts`, `ou` and `regions`"
            ),
        ));
    }
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
        let items: Vec<&String> = items.iter().filter(|s| !s.trim().is_empty()).collect();
        // An empty value is a template or variable that expanded to nothing, not a request
        // for everything: scanning the whole organization instead is the surprise to avoid.
        if items.is_empty() && !matches!(v.get(key), None | Some(Value::Null)) {
            return Err(invalid(
                key,
                format!("`{key}` is empty: leave it out to scan everything, or name some"),
            ));
        }
        items
            .into_iter()
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

    #[test]
    fn an_envelope_that_disagrees_with_its_certificate_arn_is_invalid_naming_both() {
        let live = "arn:aws:acm:us-east-1:123456789012:certificate/61f50cd4";
        for (field, value) in [("account", "210987654321"), ("region", "eu-west-1")] {
            let mut event = approaching();
            event["resources"] = json!([live]);
            event[field] = json!(value);
            let err = dispatch(&event).unwrap_err();
            assert_eq!(err.field, field);
            let expected = if field == "account" {
                "123456789012"
            } else {
                "us-east-1"
            };
            assert!(
                err.message.contains(value) && err.message.contains(expected),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn account_region_and_partition_come_from_the_certificate_arn() {
        let mut event = approaching();
        event["resources"] = json!(["arn:aws-cn:acm:cn-north-1:123456789012:certificate/abc"]);
        event["region"] = json!("cn-north-1");
        let Event::Acm(event) = dispatch(&event).unwrap() else {
            panic!("not an ACM event")
        };
        assert_eq!(
            (event.partition.as_str(), event.region.as_str()),
            ("aws-cn", "cn-north-1")
        );
    }

    #[test]
    fn a_resource_that_is_not_an_acm_certificate_arn_is_invalid() {
        for arn in [
            "arn:aws:s3:::bucket:acm:x",
            "arn:aws:iam::123456789012:server-certificate/acm",
            "arn:aws:acm:us-east-1:123456789012:certificate/",
            "arn:aws:acm:us-east-1:123456789012:certificate/a/b",
            "arn:aws:acm:us-east-1: 123456789012:certificate/abc",
            "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/abc",
            "arn:aws:acm:us-east-1:123456789012:certificate/abc:extra",
            "arn:EVIL:acm:us-east-1:123456789012:certificate/abc",
        ] {
            let mut event = approaching();
            event["resources"] = json!([arn]);
            let err = dispatch(&event).unwrap_err();
            assert_eq!(err.field, "resources", "{arn}: {}", err.message);
        }
    }

    #[test]
    fn an_empty_scheduler_scope_is_invalid_naming_the_field() {
        for field in ["accounts", "ou", "regions"] {
            for empty in [json!(""), json!([]), json!([""]), json!(" , ")] {
                let input = json!({"certaudit": "scan", field: empty});
                let err = dispatch(&input).unwrap_err();
                assert_eq!(err.field, field, "{input}");
                assert!(err.message.contains("empty"), "{}", err.message);
            }
        }
        let absent = json!({"certaudit": "scan", "accounts": null});
        assert_eq!(
            dispatch(&absent).unwrap(),
            Event::Scheduled(ScanScope::default())
        );
    }

    #[test]
    fn an_ignored_event_keeps_its_resource() {
        let other = json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification",
                           "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"]});
        let Event::Other { resource, .. } = dispatch(&other).unwrap() else {
            panic!("not ignored")
        };
        assert_eq!(
            resource.as_deref(),
            Some("arn:aws:ec2:us-east-1:123456789012:instance/i-1")
        );
    }

    #[test]
    fn json_nested_too_deeply_says_so_and_names_the_limit() {
        for depth in [MAX_NESTING, MAX_NESTING + 1] {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let parsed = serde_json::from_str::<Value>(&text);
            assert_eq!(parsed.is_ok(), depth <= MAX_NESTING, "depth {depth}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = parse(&deep).unwrap_err();
        assert!(
            err.message.contains("nested too deeply")
                && err.message.contains(&MAX_NESTING.to_string()),
            "{}",
            err.message
        );
        // As the Lambda runtime hands it over: the text as a JSON string.
        let err = dispatch(&Value::String(deep)).unwrap_err();
        assert!(err.message.contains("nested too deeply"), "{}", err.message);
        // Brackets in strings do not count; shallow text that is not JSON is "not JSON".
        let quoted = format!("{{\"a\": \"{}\"", "[".repeat(200));
        assert!(parse(&quoted).unwrap_err().message.contains("not JSON"));
    }

    #[test]
    fn a_misspelt_scheduler_key_is_invalid_not_a_whole_organization_scan() {
        for key in ["Accounts", "region", "ous"] {
            let input = json!({"certaudit": "scan", key: ["111111111111"]});
            let error = dispatch(&input).unwrap_err();
            assert_eq!(error.field, key);
            assert!(error.message.contains("not a key"), "{}", error.message);
        }
    }
}
