"""The fidelity layer: a WSGI middleware in front of moto that adds the AWS behaviours moto
does not model, so a test cannot pass only because moto is lenient.

What it adds, each switched by the scenario:
- ACM ListCertificates as AWS answers it: default key-type filter (RSA_1024/RSA_2048 only),
  default key-pair-origin filter (ACME hidden), MaxItems validation, and real pagination
  with a server-side page cap; summaries carry the fields AWS returns, nothing more.
- ACM DescribeCertificate with the renewal state moto cannot produce: RenewalEligibility as
  AWS computes it, RenewalSummary, CertificateKeyPairOrigin, ManagedBy; and the serial as ACM
  writes it (colon-separated hex bytes; moto writes a decimal integer); for a PRIVATE
  certificate, the CertificateAuthorityArn of the private CA that issued it (`issuing_ca` /
  `issuing_ca_arn`; summaries do not carry it, as in AWS).
- IAM ListServerCertificates as AWS answers it: each certificate's own ServerCertificateId
  (ASCA + 17 uppercase letters and digits), its upload date and its real expiry (moto answers
  one hard-coded ID, 2010 and 2012 for all), PathPrefix, MaxItems (1..1000) and Marker paging
  with a server-side page cap (`iam_page_size`); GetServerCertificate / UploadServerCertificate
  with the same metadata, and a name already taken refused (EntityAlreadyExists).
- ACM Private CA ListCertificateAuthorities as AWS answers it: MaxResults validated (1..1000),
  NextToken paging with a server-side page cap (`pca_page_size`), no NotBefore / NotAfter for a
  CA without a certificate (PENDING_CERTIFICATE, CREATING, FAILED), RestorableUntil for a
  deleted one; DescribeCertificateAuthority the same. (Handlers are found by signing name with
  `-` as `_`: on_acm_pca_….)
- Organizations ListAccounts / ListAccountsForParent without the retired `Status`, at most
  20 per page, and an empty page while more remain; a listing that breaks part-way
  (`org_fail_after`: accounts served before AccessDeniedException).
- STS AssumeRole trust: a role that does not exist, or a wrong ExternalId, is a 403
  AccessDenied (moto lets anyone assume anything).
- EC2 DescribeRegions per account: opt-in regions only where the account opted in, and only
  the caller's partition (moto returns every partition's regions).
- A role whose permissions lack some calls (`denied`): the refusal each protocol writes --
  AccessDeniedException (HTTP 400) from JSON services (ACM, Organizations, acm-pca...),
  AccessDenied (HTTP 403) from IAM and STS, UnauthorizedOperation (HTTP 403) from EC2 -- with
  the message AWS writes (caller's assumed-role session, action, resource where IAM names one).
- SNS Publish as AWS validates it: the 256 KiB limit in bytes (moto counts characters), and
  a Subject that must be ASCII, without line breaks, under 100 characters.
- Security Hub as AWS behaves: an account without Security Hub enabled is refused;
  BatchImportFindings takes at most 100 findings, checks ASFF's required fields, and only
  accepts the caller's own account and default product (moto accepts anything); findings for
  chosen resources can be made to fail (`security_hub.reject`); GetFindings applies its
  string Filters (moto ignores them) and pages by MaxResults.
- Faults (`faults`): a seeded share of calls answered 500 / 503 or dropped with a TCP reset;
  a region whose calls hang (`hang`); AssumeRole sessions that expire after `session_seconds`,
  with ExpiredToken answers for calls signed with them afterwards.
- Per-(account, region, operation) throttling with real ThrottlingException bodies
  (`throttle`), or per (account, operation) with `throttle_scope: "account"` -- a quota that
  the account's regions share, as when other tools spend it -- and latency.
- A log of every API call (service, operation, account, region) for the tests to assert on.
"""

import base64
import datetime
import hashlib
import io
import json
import random
import re
import secrets
import socket
import string
import struct
import threading
import time
import urllib.parse
import uuid
import xml.sax.saxutils

from cryptography import x509
from moto.acm.models import acm_backends
from moto.acmpca.models import acmpca_backends
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
from moto.iam.models import get_account_id_from, iam_backends
from moto.organizations.models import organizations_backends
from moto.securityhub.models import securityhub_backends
from moto.sts.models import sts_backends

DEFAULT_KEY_TYPES = ["RSA_1024", "RSA_2048"]
DEFAULT_ORIGINS = ["AWS_MANAGED", "CUSTOMER_PROVIDED"]
CREDENTIAL_RE = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/aws4_request")
SUMMARY_FIELDS = [
    "CertificateArn",
    "DomainName",
    "Status",
    "Type",
    "KeyAlgorithm",
    "KeyUsages",
    "ExtendedKeyUsages",
    "InUse",
    "Exported",
    "RenewalEligibility",
    "NotBefore",
    "NotAfter",
    "CreatedAt",
    "IssuedAt",
    "ImportedAt",
    "ManagedBy",
    "CertificateKeyPairOrigin",
]


# Opt-in regions in AWS that moto lists as enabled by default: AWS enables 17 regions in a new
# account, moto 20.
OPT_IN_REGIONS_MOTO_MISSES = {"af-south-1", "ap-southeast-3", "eu-south-1"}
ACM_OPERATIONS = ["ListCertificates", "DescribeCertificate", "ListTagsForCertificate"]
RESET = object()  # handle()'s answer for "drop the connection"

# REST-JSON operations the layer handles, by (service, path).
REST_OPERATIONS = {
    ("securityhub", "/findings/import"): "BatchImportFindings",
    ("securityhub", "/findings"): "GetFindings",
}
# What BatchImportFindings requires of every finding (ASFF).
ASFF_REQUIRED = [
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "CreatedAt",
    "UpdatedAt",
    "Title",
    "Description",
    "Resources",
]
SNS_MAX_BYTES = 256 * 1024
# Query-protocol services that refuse with AccessDenied (EC2 says UnauthorizedOperation), with
# the XML namespace of their error bodies.
ACCESS_DENIED_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}
IAM_NAMESPACE = ACCESS_DENIED_NAMESPACES["iam"]
SERVER_CERTIFICATE_ID_CHARS = string.ascii_uppercase + string.digits
_stamp_lock = threading.Lock()
# Private CA states without a CA certificate (AWS answers no NotBefore / NotAfter).
CA_WITHOUT_CERTIFICATE = {"CREATING", "PENDING_CERTIFICATE", "FAILED"}
# How long a deleted private CA stays restorable (PermanentDeletionTimeInDays' default).
CA_RESTORABLE_DAYS = 30


def validation_record(account_id, domain):
    """The CNAME ACM gives an account for a name (one per name, shared with its wildcard), as
    realistic as ACM's: `_<32 hex>.<name>.` -> `_<32 hex>.<10 chars>.acm-validations.aws.`.
    The value is derived from the name's label alone (tests/support/dns.rs derives it the same
    way to answer every validation lookup as ACM expects)."""
    base = domain[2:] if domain.startswith("*.") else domain
    label = hashlib.sha256(f"{account_id}:{base}".encode()).hexdigest()[:32]
    return {"Name": f"_{label}.{base}.", "Type": "CNAME", "Value": validation_value(label)}


def validation_value(label):
    digest = hashlib.sha256(label.encode()).hexdigest()
    return f"_{digest[:32]}.{label[:10]}.acm-validations.aws."


def validation_options(account_id, options, extra):
    """DomainValidationOptions as ACM writes them for the certificate's validation method
    (`validation`: DNS by default, EMAIL, or HTTP with `http_redirect`)."""
    method = extra.get("validation", "DNS")
    out = []
    for option in options:
        option = {k: v for k, v in option.items() if k != "ResourceRecord"}
        option["ValidationMethod"] = method
        domain = option["DomainName"]
        base = domain[2:] if domain.startswith("*.") else domain
        if method == "DNS":
            option["ResourceRecord"] = validation_record(account_id, domain)
        elif method == "EMAIL":
            option["ValidationEmails"] = [f"admin@{base}", f"hostmaster@{base}"]
        elif method == "HTTP":
            redirect = extra.get("http_redirect", {})
            option["HttpRedirect"] = {
                "RedirectFrom": redirect.get(
                    "from", f"http://{base}/.well-known/pki-validation/{base}.txt"
                ),
                "RedirectTo": redirect.get(
                    "to", f"http://{base}.pki-validation.acm-validations.aws/{base}.txt"
                ),
            }
        out.append(option)
    return out


def server_certificate_id():
    """An IAM server certificate ID as IAM writes them: `ASCA` and 17 uppercase letters and
    digits (moto answers the same `ASCACKCEVSQ6C2EXAMPLE` for every certificate)."""
    return "ASCA" + "".join(secrets.choice(SERVER_CERTIFICATE_ID_CHARS) for _ in range(17))


def stamp_server_certificate(cert, uploaded=None):
    """Give a moto IAM server certificate what IAM keeps and moto does not: a distinct ID and
    the time it was uploaded (moto answers 2010 for every certificate). Once per certificate."""
    with _stamp_lock:
        if not hasattr(cert, "server_certificate_id"):
            cert.server_certificate_id = server_certificate_id()
            cert.upload_date = uploaded or datetime.datetime.now(datetime.timezone.utc)
    return cert


def iam_timestamp(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_certificate_expiration(cert):
    """The certificate's real NotAfter (moto answers 2012 for every certificate), or None when
    the body is no certificate (moto accepts anything; IAM would have refused the upload)."""
    try:
        return x509.load_pem_x509_certificate(cert.cert_body.encode()).not_valid_after_utc
    except (ValueError, AttributeError):
        return None


def server_certificate_metadata(cert):
    """A ServerCertificateMetadata's members as IAM writes them, in the shape's order."""
    stamp_server_certificate(cert)
    esc = xml.sax.saxutils.escape
    expiration = server_certificate_expiration(cert)
    return (
        f"<Path>{esc(cert.path)}</Path>"
        f"<ServerCertificateName>{esc(cert.cert_name)}</ServerCertificateName>"
        f"<ServerCertificateId>{cert.server_certificate_id}</ServerCertificateId>"
        f"<Arn>{esc(cert.arn)}</Arn>"
        f"<UploadDate>{iam_timestamp(cert.upload_date)}</UploadDate>"
        + (f"<Expiration>{iam_timestamp(expiration)}</Expiration>" if expiration else "")
    )


def find_server_certificate(backend, name):
    for cert in list(backend.certificates.values()):
        if cert.cert_name == name:
            return cert
    return None


def certificate_authority_view(ca):
    """A moto private CA as ListCertificateAuthorities / DescribeCertificateAuthority describe
    it in AWS: no validity without a CA certificate, RestorableUntil once deleted."""
    out = ca.to_json()
    if ca.status in CA_WITHOUT_CERTIFICATE:
        out.pop("NotBefore", None)
        out.pop("NotAfter", None)
    if ca.status == "FAILED":
        out["FailureReason"] = getattr(ca, "failure_reason", "OTHER")
    if ca.status == "DELETED":
        deleted = ca.updated_at or ca.created_at
        out["RestorableUntil"] = deleted + CA_RESTORABLE_DAYS * 86400
    return out


class Extras:
    """What the scenario says about a certificate beyond what moto stores."""

    def __init__(self):
        self.by_arn = {}
        self.lock = threading.Lock()

    def set(self, arn, extra):
        with self.lock:
            self.by_arn[arn] = extra

    def get(self, arn):
        with self.lock:
            return dict(self.by_arn.get(arn, {}))


class TokenBucket:
    def __init__(self, rate):
        self.rate = float(rate)
        self.tokens = float(rate)
        self.updated = time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Request:
    """One parsed AWS request: who, where, what."""

    def __init__(self, environ, body):
        self.environ = environ
        self.body = body
        auth = environ.get("HTTP_AUTHORIZATION", "")
        match = CREDENTIAL_RE.search(auth)
        self.access_key, self.region, self.service = (
            match.groups() if match else (None, "us-east-1", None)
        )
        target = environ.get("HTTP_X_AMZ_TARGET")
        self.json = None
        self.form = {}
        rest = REST_OPERATIONS.get((self.service, environ.get("PATH_INFO", "")))
        if rest:
            self.operation = rest
            self.json = json.loads(body or b"{}")
        elif target:
            self.operation = target.split(".")[-1]
            self.json = json.loads(body or b"{}")
        elif environ.get("CONTENT_TYPE", "").startswith("application/cbor"):
            # Smithy RPC v2 CBOR (boto3's first choice for acm-pca; the Rust SDK speaks JSON):
            # the operation is the path's last segment, the body is not form data. moto does
            # not speak it, so such calls are only logged and passed on.
            self.operation = environ.get("PATH_INFO", "").rstrip("/").rsplit("/", 1)[-1]
        else:
            self.form = dict(urllib.parse.parse_qsl(body.decode()))
            query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
            self.form = {**query, **self.form}
            self.operation = self.form.get("Action")
        if self.service == "s3" and not self.operation:
            self.operation = s3_operation(environ)
        self.account = get_account_id_from(self.access_key) if self.access_key else None

    @property
    def partition(self):
        return partition_of(self.region)


def s3_operation(environ):
    """S3's REST operations by method and path (path-style: /bucket[/key]), for the call log."""
    method = environ.get("REQUEST_METHOD", "GET")
    has_key = "/" in environ.get("PATH_INFO", "/").strip("/")
    if has_key:
        return {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject",
                "DELETE": "DeleteObject"}.get(method, method)
    return {"PUT": "CreateBucket", "GET": "ListObjectsV2", "HEAD": "HeadBucket",
            "DELETE": "DeleteBucket"}.get(method, method)


def partition_of(region):
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def json_response(status, payload, error_type=None):
    headers = [("Content-Type", "application/x-amz-json-1.1")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return status, headers, json.dumps(payload).encode()


def xml_response(status, text):
    return status, [("Content-Type", "text/xml")], text.encode()


def query_error(code, message, status="403 Forbidden", namespace=None):
    esc = xml.sax.saxutils.escape
    opening = f'<ErrorResponse xmlns="{namespace}">' if namespace else "<ErrorResponse>"
    return xml_response(
        status,
        f"{opening}<Error><Type>Sender</Type>"
        f"<Code>{esc(code)}</Code><Message>{esc(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
    )


def iam_validation_error(message):
    return query_error("ValidationError", message, "400 Bad Request", IAM_NAMESPACE)


def pca_error(code, message):
    return json_response("400 Bad Request", {"__type": code, "message": message}, code)


def rest_json(status, payload):
    return status, [("Content-Type", "application/json")], json.dumps(payload).encode()


def rest_error(status, code, message):
    return (
        status,
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)],
        json.dumps({"__type": code, "Message": message}).encode(),
    )


def matches_filters(finding, filters):
    """GetFindings' string filters on top-level fields: EQUALS / NOT_EQUALS / PREFIX, values of
    one field ORed, fields ANDed (as Security Hub combines them)."""
    for field, conditions in filters.items():
        value = finding.get(field)
        if not isinstance(value, str):
            return False
        positive = [c for c in conditions if c.get("Comparison") in ("EQUALS", "PREFIX")]
        negative = [c for c in conditions if c.get("Comparison") == "NOT_EQUALS"]
        if any(value == c["Value"] for c in negative):
            return False
        if positive and not any(
            value == c["Value"] if c["Comparison"] == "EQUALS" else value.startswith(c["Value"])
            for c in positive
        ):
            return False
    return True


def encode_token(offset, **extra):
    return base64.b64encode(json.dumps({"o": offset, **extra}).encode()).decode()


def decode_token(token):
    try:
        return json.loads(base64.b64decode(token))
    except Exception:
        return None


class FidelityLayer:
    def __init__(self, inner, scenario, extras, calls_log=None):
        self.inner = inner
        self.scenario = scenario
        self.extras = extras
        self.calls_log = calls_log
        self.log_lock = threading.Lock()
        self.buckets = {}
        self.bucket_lock = threading.Lock()
        self.recording = False
        self.trust = {}  # account id -> {"role": name or None, "external_id": str}
        self.opt_in = {}  # account id -> set of opted-in regions
        self.denied = {}  # account id -> operations its role may not call
        self.session_expiry = {}  # assumed-role access key -> epoch seconds it expires
        self.random = random.Random(scenario.get("seed", 1))

    # -- plumbing -------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        request = Request(environ, body)
        response = self.handle(request)
        if response is RESET:
            # Drop the connection with a TCP RST, as a load balancer or NAT gateway may.
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        status, headers, payload = response
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(payload))))
        start_response(status, headers)
        return [payload]

    def forward(self, request, body=None):
        environ = dict(request.environ)
        if body is not None:
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        else:
            environ["wsgi.input"] = io.BytesIO(request.body)
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        chunks = self.inner(environ, start_response)
        try:
            payload = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return captured["status"], captured["headers"], payload

    def record(self, request, outcome):
        if not self.recording or not self.calls_log or not request.service:
            return
        line = json.dumps(
            {
                "service": request.service,
                "operation": request.operation,
                "account": request.account,
                "region": request.region,
                "outcome": outcome,
            }
        )
        with self.log_lock:
            with open(self.calls_log, "a") as f:
                f.write(line + "\n")

    def throttled(self, request):
        rates = self.scenario.get("throttle") or {}
        rate = rates.get(request.operation)
        if not rate:
            return False
        region = None if self.scenario.get("throttle_scope") == "account" else request.region
        key = (request.account, region, request.operation)
        with self.bucket_lock:
            bucket = self.buckets.setdefault(key, TokenBucket(rate))
            return not bucket.take()

    def fault(self, request):
        """A scenario's `faults`: {"rate": 0.2, "kinds": ["500", "503", "reset"],
        "operations": [...]} fails that share of those calls at random (seeded)."""
        faults = self.scenario.get("faults")
        if not faults or request.operation not in faults.get("operations", ACM_OPERATIONS):
            return None
        with self.bucket_lock:
            if self.random.random() >= faults.get("rate", 0.2):
                return None
            kind = self.random.choice(faults.get("kinds", ["500", "503", "reset"]))
        self.record(request, f"fault-{kind}")
        if kind == "reset":
            return RESET
        code, status = (
            ("InternalFailure", "500 Internal Server Error")
            if kind == "500"
            else ("ServiceUnavailable", "503 Service Unavailable")
        )
        if request.json is not None:
            return json_response(status, {"__type": code, "message": "injected fault"}, code)
        return query_error(code, "injected fault", status)

    def hangs(self, request):
        """A scenario's `hang`: {"region": ..., "operations": [...], "seconds": 600} never
        answers those calls in time."""
        hang = self.scenario.get("hang")
        return (
            hang is not None
            and request.region == hang.get("region")
            and request.operation in hang.get("operations", ACM_OPERATIONS)
        )

    def expired(self, request):
        expiry = self.session_expiry.get(request.access_key)
        return expiry is not None and time.time() > expiry

    def handle(self, request):
        latency = self.scenario.get("latency_ms", 0)
        if latency and request.service:
            time.sleep(latency / 1000.0)
        if self.hangs(request):
            self.record(request, "hang")
            time.sleep(self.scenario["hang"].get("seconds", 600))
        if self.expired(request):
            self.record(request, "ExpiredToken")
            if request.json is not None:
                return json_response(
                    "400 Bad Request",
                    {
                        "__type": "ExpiredTokenException",
                        "message": "The security token included in the request is expired",
                    },
                    "ExpiredTokenException",
                )
            return query_error(
                "ExpiredToken", "The security token included in the request is expired"
            )
        fault = self.fault(request)
        if fault is not None:
            return fault
        if self.throttled(request):
            self.record(request, "ThrottlingException")
            if request.json is not None:
                return json_response(
                    "400 Bad Request",
                    {"__type": "ThrottlingException", "message": "Rate exceeded"},
                    "ThrottlingException",
                )
            return query_error("Throttling", "Rate exceeded", "400 Bad Request")
        if request.operation in self.denied.get(request.account, ()):
            response = self.deny(request)
        else:
            # Handlers are named by the signing name, `-` as `_`: on_acm_pca_… for acm-pca.
            service = (request.service or "").replace("-", "_")
            handler = getattr(self, f"on_{service}_{request.operation}", None)
            response = handler(request) if handler else self.forward(request)
        outcome = "ok" if response[0].startswith("2") else f"http-{response[0][:3]}"
        self.record(request, outcome)
        return response

    def caller_arn(self, request):
        """The caller as AWS names it in a refusal: the assumed-role session its access key
        belongs to (moto keeps those in the STS backend of the role's account), else a session
        of the audit role."""
        try:
            sts = sts_backends[request.account][request.partition]
            role = sts.get_assumed_role_from_access_key(request.access_key)
        except Exception:
            role = None
        if role is not None:
            return role.arn
        role_name = self.scenario.get("role_name", "CertAuditReadOnly")
        return f"arn:{request.partition}:sts::{request.account}:assumed-role/{role_name}/certaudit"

    def denied_resource(self, request):
        """The resource AWS names in a refusal of a Query-protocol call, or None (a JSON
        service's list call names none)."""
        account, partition = request.account, request.partition
        if request.service == "iam":
            if request.operation == "ListServerCertificates":
                prefix = request.form.get("PathPrefix") or "/"
                return f"arn:{partition}:iam::{account}:server-certificate{prefix}"
            name = request.form.get("ServerCertificateName")
            if name:
                cert = find_server_certificate(iam_backends[account][partition], name)
                if cert:
                    return cert.arn
                return f"arn:{partition}:iam::{account}:server-certificate/{name}"
            return f"arn:{partition}:iam::{account}:*"
        if request.service == "sts" and request.form.get("RoleArn"):
            return request.form["RoleArn"]
        return None

    def deny(self, request):
        """The answer of a role whose policy lacks the call: AccessDeniedException from a JSON
        service (HTTP 400), AccessDenied from IAM and STS (HTTP 403), UnauthorizedOperation
        from EC2 (HTTP 403), with the message AWS writes."""
        action = f"{request.service}:{request.operation}"
        resource = self.denied_resource(request)
        message = (
            f"User: {self.caller_arn(request)} is not authorized to perform: {action}"
            + (f" on resource: {resource}" if resource else "")
            + f" because no identity-based policy allows the {action} action"
        )
        if request.json is not None:
            return json_response(
                "400 Bad Request",
                {"__type": "AccessDeniedException", "message": message},
                "AccessDeniedException",
            )
        namespace = ACCESS_DENIED_NAMESPACES.get(request.service)
        if namespace:
            return query_error("AccessDenied", message, namespace=namespace)
        return query_error("UnauthorizedOperation", message)

    # -- SNS ------------------------------------------------------------------------------

    def on_sns_Publish(self, request):
        message = request.form.get("Message", "")
        subject = request.form.get("Subject")
        if len(message.encode("utf-8")) > SNS_MAX_BYTES:
            return query_error(
                "InvalidParameter", "Invalid parameter: Message too long", "400 Bad Request"
            )
        if subject is not None and (
            not subject.isascii()
            or any(ch in subject for ch in "\r\n")
            or not 1 <= len(subject) < 100
        ):
            return query_error(
                "InvalidParameter",
                "Invalid parameter: Subject must be ASCII text that begins with a letter, "
                "number, or punctuation mark; must not include line breaks or control "
                "characters; and must be less than 100 characters long.",
                "400 Bad Request",
            )
        return self.forward(request)

    # -- Security Hub -----------------------------------------------------------------------

    def security_hub_refusal(self, request):
        if (self.scenario.get("security_hub") or {}).get("enabled", True):
            return None
        return rest_error(
            "401 Unauthorized",
            "InvalidAccessException",
            f"Account {request.account} is not subscribed to AWS Security Hub",
        )

    def on_securityhub_BatchImportFindings(self, request):
        refused = self.security_hub_refusal(request)
        if refused:
            return refused
        findings = request.json.get("Findings", [])
        if not 1 <= len(findings) <= 100:
            return rest_error(
                "400 Bad Request",
                "InvalidInputException",
                "Findings must contain between 1 and 100 findings",
            )
        product = (
            f"arn:{request.partition}:securityhub:{request.region}:{request.account}:"
            f"product/{request.account}/default"
        )
        rejected = set((self.scenario.get("security_hub") or {}).get("reject_arns", []))
        accepted, failed = [], []
        for finding in findings:
            problem = None
            missing = [k for k in ASFF_REQUIRED if not finding.get(k)]
            resources = finding.get("Resources") or [{}]
            if missing:
                problem = ("InvalidInput", f"Finding is missing {', '.join(missing)}")
            elif not finding.get("Severity") or not finding.get("Types"):
                problem = ("InvalidInput", "Finding must have Severity and Types")
            elif finding["AwsAccountId"] != request.account:
                problem = (
                    "AccessDeniedException",
                    f"AwsAccountId {finding['AwsAccountId']} is not the importing account",
                )
            elif finding["ProductArn"] != product:
                problem = ("AccessDeniedException", f"Not authorized to import into {finding['ProductArn']}")
            elif len(finding["Title"]) > 256 or len(finding["Description"]) > 1024:
                problem = ("InvalidInput", "Title or Description too long")
            elif resources[0].get("Id") in rejected:
                problem = ("InvalidInput", "Finding rejected by the test scenario")
            if problem:
                failed.append(
                    {"Id": finding.get("Id", ""), "ErrorCode": problem[0], "ErrorMessage": problem[1]}
                )
            else:
                accepted.append(finding)
        if accepted:
            body = json.dumps({"Findings": accepted}).encode()
            self.forward(request, body)
        return rest_json(
            "200 OK",
            {"FailedCount": len(failed), "SuccessCount": len(accepted), "FailedFindings": failed},
        )

    def on_securityhub_GetFindings(self, request):
        refused = self.security_hub_refusal(request)
        if refused:
            return refused
        max_results = request.json.get("MaxResults", 100)
        if not 1 <= max_results <= 100:
            return rest_error(
                "400 Bad Request", "InvalidInputException", "MaxResults must be between 1 and 100"
            )
        backend = securityhub_backends[request.account][request.region]
        filters = request.json.get("Filters") or {}
        found = [f.as_dict() for f in backend.findings if matches_filters(f.as_dict(), filters)]
        token = decode_token(request.json.get("NextToken")) if request.json.get("NextToken") else {"o": 0}
        start = token["o"] if token else 0
        page = found[start : start + max_results]
        out = {"Findings": page}
        if start + max_results < len(found):
            out["NextToken"] = encode_token(start + max_results)
        return rest_json("200 OK", out)

    # -- STS ------------------------------------------------------------------------------

    def on_sts_AssumeRole(self, request):
        arn = request.form.get("RoleArn", "")
        match = re.match(r"arn:[\w-]+:iam::(\d{12}):role/(.+)$", arn)
        denied = (
            f"User: arn:aws:iam::{request.account}:user/certaudit is not authorized to "
            f"perform: sts:AssumeRole on resource: {arn}"
        )
        if not match:
            return query_error("ValidationError", f"{arn} is not a valid role ARN", "400 Bad Request")
        account, role = match.groups()
        trust = self.trust.get(account)
        if trust is None or trust["role"] != role:
            return query_error("AccessDenied", denied)
        if trust["external_id"] != request.form.get("ExternalId"):
            return query_error("AccessDenied", denied)
        response = self.forward(request)
        seconds = self.scenario.get("session_seconds")
        if seconds and response[0].startswith("2"):
            # Short-lived sessions: credentials that expire mid-scan, then are refused.
            text = response[2].decode()
            key = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", text).group(1)
            until = time.time() + seconds
            self.session_expiry[key] = until
            stamp = datetime.datetime.fromtimestamp(until, datetime.timezone.utc)
            text = re.sub(
                r"<Expiration>[^<]+</Expiration>",
                f"<Expiration>{stamp.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>",
                text,
            )
            response = (response[0], response[1], text.encode())
        return response

    # -- EC2 ------------------------------------------------------------------------------

    def on_ec2_DescribeRegions(self, request):
        all_regions = request.form.get("AllRegions", "false").lower() == "true"
        opted = self.opt_in.get(request.account, set())
        items = []
        for region in RegionsAndZonesBackend.regions:
            if partition_of(region.name) != request.partition:
                continue
            status = region.opt_in_status
            if region.name in OPT_IN_REGIONS_MOTO_MISSES:
                status = "not-opted-in"
            if status == "not-opted-in" and region.name in opted:
                status = "opted-in"
            if status == "not-opted-in" and not all_regions:
                continue
            items.append(
                f"<item><regionName>{region.name}</regionName>"
                f"<regionEndpoint>{region.endpoint}</regionEndpoint>"
                f"<optInStatus>{status}</optInStatus></item>"
            )
        return xml_response(
            "200 OK",
            '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            f"<requestId>{uuid.uuid4()}</requestId><regionInfo>{''.join(items)}</regionInfo>"
            "</DescribeRegionsResponse>",
        )

    # -- Organizations --------------------------------------------------------------------

    def org_accounts(self, request):
        """The organization's accounts, or the error AWS answers a caller that may not list
        them (moto answers an empty list instead)."""
        backend = organizations_backends[request.account][request.partition]
        if backend.org is not None:
            return sorted(backend.accounts, key=lambda a: a.create_time)
        member = any(
            any(a.id == request.account for a in other[request.partition].accounts)
            for other in list(organizations_backends.values())
        )
        if member:
            return json_response(
                "400 Bad Request",
                {
                    "__type": "AccessDeniedException",
                    "Message": "You don't have permissions to access this resource.",
                },
                "AccessDeniedException",
            )
        return json_response(
            "400 Bad Request",
            {
                "__type": "AWSOrganizationsNotInUseException",
                "Message": "Your account is not a member of an organization.",
            },
            "AWSOrganizationsNotInUseException",
        )

    def paged_accounts(self, request, accounts):
        max_results = request.json.get("MaxResults", 20)
        if not 1 <= max_results <= 20:
            return json_response(
                "400 Bad Request",
                {
                    "__type": "InvalidInputException",
                    "Reason": "INVALID_INPUT",
                    "Message": "MaxResults must be between 1 and 20",
                },
                "InvalidInputException",
            )
        page = min(max_results, self.scenario.get("org_page_size", 20))
        token = request.json.get("NextToken")
        state = decode_token(token) if token else {"o": 0}
        if state is None:
            return json_response(
                "400 Bad Request",
                {"__type": "InvalidInputException", "Message": "Invalid NextToken"},
                "InvalidInputException",
            )
        offset = state["o"]
        fail_after = self.scenario.get("org_fail_after")
        if fail_after is not None and offset >= fail_after:
            # The listing breaks part-way (an SCP changed, the session was revoked).
            return json_response(
                "400 Bad Request",
                {
                    "__type": "AccessDeniedException",
                    "Message": "You don't have permissions to access this resource.",
                },
                "AccessDeniedException",
            )
        # AWS may answer an empty page while more remain; serve one after the first page.
        if self.scenario.get("org_empty_page", True) and offset == page and not state.get("e"):
            return json_response("200 OK", {"Accounts": [], "NextToken": encode_token(offset, e=1)})
        chunk = accounts[offset : offset + page]
        out = []
        for account in chunk:
            described = account.describe()
            described.pop("Status", None)  # retired 2026-09-09
            out.append(described)
        body = {"Accounts": out}
        if offset + page < len(accounts):
            body["NextToken"] = encode_token(offset + page, e=state.get("e", 0))
        return json_response("200 OK", body)

    def on_organizations_ListAccounts(self, request):
        accounts = self.org_accounts(request)
        if not isinstance(accounts, list):
            return accounts
        return self.paged_accounts(request, accounts)

    def on_organizations_ListAccountsForParent(self, request):
        accounts = self.org_accounts(request)
        if not isinstance(accounts, list):
            return accounts
        parent = request.json.get("ParentId")
        return self.paged_accounts(request, [a for a in accounts if a.parent_id == parent])

    # -- ACM ------------------------------------------------------------------------------

    def renewal_view(self, arn, described):
        """Patch a moto DescribeCertificate body with what AWS would say."""
        extra = self.extras.get(arn)
        cert = described
        cert["CertificateKeyPairOrigin"] = extra.get(
            "origin", "CUSTOMER_PROVIDED" if cert["Type"] == "IMPORTED" else "AWS_MANAGED"
        )
        if extra.get("managed_by"):
            cert["ManagedBy"] = extra["managed_by"]
        if extra.get("status"):
            cert["Status"] = extra["status"]
        if extra.get("issuing_ca_arn"):
            # The private CA that issued it (DescribeCertificate only: not in summaries).
            cert["CertificateAuthorityArn"] = extra["issuing_ca_arn"]
        in_use = bool(cert.get("InUseBy"))
        exported = bool(extra.get("exported"))
        eligible = cert["Type"] != "IMPORTED" and (in_use or exported)
        cert["RenewalEligibility"] = extra.get(
            "renewal_eligibility", "ELIGIBLE" if eligible else "INELIGIBLE"
        )
        if cert.get("DomainValidationOptions"):
            account_id = arn.split(":")[4]
            cert["DomainValidationOptions"] = validation_options(
                account_id, cert["DomainValidationOptions"], extra
            )
        if extra.get("renewal_status"):
            summary = {
                "RenewalStatus": extra["renewal_status"],
                "DomainValidationOptions": cert.get("DomainValidationOptions", []),
                "UpdatedAt": time.time() - 3600,
            }
            if extra.get("renewal_status_reason"):
                summary["RenewalStatusReason"] = extra["renewal_status_reason"]
            cert["RenewalSummary"] = summary
        cert["_Exported"] = exported
        if str(cert.get("Serial", "")).isdigit():
            # moto writes the serial as a decimal integer; ACM as colon-separated hex bytes.
            digits = format(int(cert["Serial"]), "x")
            digits = digits.rjust(len(digits) + len(digits) % 2, "0")
            cert["Serial"] = ":".join(digits[i:i + 2] for i in range(0, len(digits), 2))
        return cert

    def on_acm_DescribeCertificate(self, request):
        status, headers, payload = self.forward(request)
        if not status.startswith("2"):
            return status, headers, payload
        body = json.loads(payload)
        cert = self.renewal_view(body["Certificate"]["CertificateArn"], body["Certificate"])
        cert.pop("_Exported")
        return json_response("200 OK", body)

    def on_acm_ListCertificates(self, request):
        params = request.json
        max_items = params.get("MaxItems", 1000)
        if not isinstance(max_items, int) or not 1 <= max_items <= 1000:
            return json_response(
                "400 Bad Request",
                {
                    "__type": "ValidationException",
                    "message": "1 validation error detected: Value at 'maxItems' failed "
                    "to satisfy constraint: Member must have value between 1 and 1000",
                },
                "ValidationException",
            )
        includes = params.get("Includes") or {}
        key_types = includes.get("keyTypes") or DEFAULT_KEY_TYPES
        origins = params.get("CertificateKeyPairOrigins") or DEFAULT_ORIGINS
        statuses = params.get("CertificateStatuses") or []
        backend = acm_backends[request.account][request.region]
        matched = []
        for bundle in list(backend._certificates.values()):
            bundle.check()
            cert = self.renewal_view(bundle.arn, bundle.describe()["Certificate"])
            if cert["KeyAlgorithm"] not in key_types:
                continue
            if cert["CertificateKeyPairOrigin"] not in origins:
                continue
            if statuses and cert["Status"] not in statuses:
                continue
            if "managedBy" in includes and cert.get("ManagedBy") != includes["managedBy"]:
                continue
            summary = {k: cert[k] for k in SUMMARY_FIELDS if k in cert}
            sans = cert.get("SubjectAlternativeNames", [])
            summary["SubjectAlternativeNameSummaries"] = sans[:100]
            summary["HasAdditionalSubjectAlternativeNames"] = len(sans) > 100
            summary["InUse"] = bool(bundle.in_use_by)
            summary["Exported"] = cert["_Exported"]
            matched.append(summary)
        page = min(max_items, self.scenario.get("acm_page_size", 1000))
        token = params.get("NextToken")
        offset = (decode_token(token) or {}).get("o") if token else 0
        if offset is None:
            return json_response(
                "400 Bad Request",
                {"__type": "InvalidArgsException", "message": "Invalid NextToken"},
                "InvalidArgsException",
            )
        body = {"CertificateSummaryList": matched[offset : offset + page]}
        if offset + page < len(matched):
            body["NextToken"] = encode_token(offset + page)
        return json_response("200 OK", body)

    # -- IAM ------------------------------------------------------------------------------

    def on_iam_ListServerCertificates(self, request):
        """As IAM answers it: each certificate's own ID, upload date and real expiry (moto
        answers one hard-coded ID, 2010 and 2012 for all), PathPrefix, and MaxItems / Marker
        paging with a server-side page cap (`iam_page_size`, 100 by default)."""
        form = request.form
        raw = form.get("MaxItems", "100")
        try:
            max_items = int(raw)
        except ValueError:
            return iam_validation_error(f"Invalid value '{raw}' for MaxItems")
        if not 1 <= max_items <= 1000:
            bound = (
                "greater than or equal to 1" if max_items < 1 else "less than or equal to 1000"
            )
            return iam_validation_error(
                f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to "
                f"satisfy constraint: Member must have value {bound}"
            )
        prefix = form.get("PathPrefix", "/")
        if not re.fullmatch(r"/[\x21-\x7f]*", prefix):
            return iam_validation_error(
                f"1 validation error detected: Value '{prefix}' at 'pathPrefix' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: "
                "\\u002F[\\u0021-\\u007F]*"
            )
        marker = form.get("Marker")
        offset = (decode_token(marker) or {}).get("o") if marker else 0
        if not isinstance(offset, int) or offset < 0:
            return iam_validation_error("Invalid Marker.")
        backend = iam_backends[request.account][request.partition]
        certs = [c for c in list(backend.certificates.values()) if c.path.startswith(prefix)]
        page = min(max_items, self.scenario.get("iam_page_size", 100))
        chunk = certs[offset : offset + page]
        truncated = offset + page < len(certs)
        members = "".join(f"<member>{server_certificate_metadata(c)}</member>" for c in chunk)
        marker_xml = f"<Marker>{encode_token(offset + page)}</Marker>" if truncated else ""
        broken = self.broken_paging("ListServerCertificates")
        if broken == "loop":
            # The same Marker, and the same first page, every time: a listing that never ends.
            chunk = certs[:page]
            members = "".join(f"<member>{server_certificate_metadata(c)}</member>" for c in chunk)
            truncated, marker_xml = True, f"<Marker>{encode_token(0, loop=1)}</Marker>"
        elif broken == "no_token" and truncated:
            marker_xml = ""
        return xml_response(
            "200 OK",
            f'<ListServerCertificatesResponse xmlns="{IAM_NAMESPACE}">'
            "<ListServerCertificatesResult>"
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>{marker_xml}"
            f"<ServerCertificateMetadataList>{members}</ServerCertificateMetadataList>"
            "</ListServerCertificatesResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</ListServerCertificatesResponse>",
        )

    def on_iam_GetServerCertificate(self, request):
        """moto's answer with the certificate's own ID, upload date and expiry."""
        return self.server_certificate_answer(request, self.forward(request))

    def on_iam_UploadServerCertificate(self, request):
        """moto's answer with a fresh ID, the upload time and the expiry; a name already taken
        is refused (moto keeps both)."""
        name = request.form.get("ServerCertificateName", "")
        backend = iam_backends[request.account][request.partition]
        if find_server_certificate(backend, name):
            return query_error(
                "EntityAlreadyExists",
                f"The Server Certificate with name {name} already exists.",
                "409 Conflict",
                IAM_NAMESPACE,
            )
        return self.server_certificate_answer(request, self.forward(request))

    def server_certificate_answer(self, request, response):
        status, headers, payload = response
        if not status.startswith("2"):
            return response
        backend = iam_backends[request.account][request.partition]
        cert = find_server_certificate(backend, request.form.get("ServerCertificateName", ""))
        if cert is None:
            return response
        text = re.sub(
            r"<ServerCertificateMetadata>.*?</ServerCertificateMetadata>",
            lambda _: f"<ServerCertificateMetadata>{server_certificate_metadata(cert)}"
            "</ServerCertificateMetadata>",
            payload.decode(),
            count=1,
            flags=re.S,
        )
        return status, headers, text.encode()

    # -- ACM Private CA (signing name acm-pca) ---------------------------------------------

    def on_acm_pca_ListCertificateAuthorities(self, request):
        """As AWS answers it: MaxResults validated (1..1000), NextToken paging with a
        server-side page cap (`pca_page_size`, 20 by default), no `"NextToken": null` on the
        last page, and each CA as certificate_authority_view() describes it."""
        if request.json is None:
            return self.forward(request)
        params = request.json
        max_results = params.get("MaxResults")
        if max_results is not None and (
            not isinstance(max_results, int)
            or isinstance(max_results, bool)
            or not 1 <= max_results <= 1000
        ):
            return pca_error(
                "ValidationException",
                f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
                "satisfy constraint: Member must have value between 1 and 1000",
            )
        owner = params.get("ResourceOwner", "SELF")
        if owner not in ("SELF", "OTHER_ACCOUNTS"):
            return pca_error(
                "ValidationException",
                f"1 validation error detected: Value '{owner}' at 'resourceOwner' failed to "
                "satisfy constraint: Member must satisfy enum value set: [SELF, OTHER_ACCOUNTS]",
            )
        token = params.get("NextToken")
        offset = (decode_token(token) or {}).get("o") if token else 0
        if not isinstance(offset, int) or offset < 0:
            return pca_error("InvalidNextTokenException", "The token specified is invalid.")
        backend = acmpca_backends[request.account][request.region]
        own = owner == "SELF"
        cas = [
            ca
            for ca in list(backend.certificate_authorities.values())
            if (ca.account_id == request.account) == own
        ]
        cap = self.scenario.get("pca_page_size", 20)
        page = min(max_results or cap, cap)
        chunk = cas[offset : offset + page]
        broken = self.broken_paging("ListCertificateAuthorities")
        if broken == "duplicate":
            chunk = chunk + chunk
        body = {"CertificateAuthorities": [certificate_authority_view(ca) for ca in chunk]}
        if broken == "loop":
            body["NextToken"] = encode_token(0, loop=1)
        elif offset + page < len(cas):
            body["NextToken"] = encode_token(offset + page)
        return json_response("200 OK", body)

    def broken_paging(self, operation):
        """A scenario's `broken_paging`: {"ListServerCertificates": "loop" | "no_token",
        "ListCertificateAuthorities": "loop" | "duplicate"} answers pages as a broken service
        or proxy might: the same token forever, IsTruncated without a Marker, an entry twice."""
        return (self.scenario.get("broken_paging") or {}).get(operation)

    def on_acm_pca_DescribeCertificateAuthority(self, request):
        response = self.forward(request)
        if request.json is None or not response[0].startswith("2"):
            return response
        backend = acmpca_backends[request.account][request.region]
        ca = backend.certificate_authorities.get(request.json.get("CertificateAuthorityArn"))
        if ca is None:
            return response
        return json_response("200 OK", {"CertificateAuthority": certificate_authority_view(ca)})
