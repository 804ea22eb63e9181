"""Turns a scenario (JSON) into moto state: an organization with OUs and accounts, audit-role
trust per account, opt-in regions, ACM certificates of every type, key algorithm and age, IAM
server certificates, and AWS Private CAs.

Per account (and `management`):
- `certificates`: ACM certificates; a PRIVATE one may name its CA, `issuing_ca` (a CA label
  of the scenario) or `issuing_ca_arn` (any CA ARN, e.g. shared from outside the organization):
  DescribeCertificate then carries CertificateAuthorityArn, and the CA's name is its issuer.
- `server_certificates`: IAM server certificates, [{"label", "name", "path" ("/"), "domain",
  "days_left", "valid_days", "count", "key", "issuer", "uploaded_days_ago"}]; `label` defaults
  to the name; `count: N` numbers names, domains and labels (`name-0000`, `n0000.domain`).
- `certificate_authorities`: private CAs, [{"label", "region" (us-east-1), "type" (ROOT |
  SUBORDINATE), "status" (ACTIVE | DISABLED | EXPIRED | PENDING_CERTIFICATE | DELETED | FAILED
  | CREATING), "common_name", "days_left", "valid_days", "usage_mode" (GENERAL_PURPOSE |
  SHORT_LIVED_CERTIFICATE), "organization", "tags"}]; `label` defaults to the common name.
  Seeded before the certificates, so any certificate can name any CA.
State written back: `accounts`, `certificates`, `server_certificates` and
`certificate_authorities` (label -> ARN), and the rest below.

Certificates are real X.509 certificates made here with `cryptography`. Imported ones go
through moto's own ImportCertificate (so its validation applies); state AWS reaches only with
time (an expired certificate, an ACM-issued certificate with a chosen expiry) is placed in
moto's store directly, as the fidelity layer's job is to produce what moto cannot. Server
certificates go through moto's IAM backend (it checks nothing, so expired ones too) and are
stamped with the ID and upload date IAM would keep; a private CA gets a real self-signed CA
certificate (signed with the key moto made for it) through ImportCertificateAuthorityCertificate,
then its status (a CA that has no certificate yet gets none).
"""

import datetime
import re
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from moto.acm.models import acm_backends
from moto.acmpca.models import acmpca_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends
from moto.organizations.models import organizations_backends
from moto.sns.models import sns_backends

from fidelity import CA_WITHOUT_CERTIFICATE, find_server_certificate, stamp_server_certificate

MANAGEMENT_ACCOUNT = DEFAULT_ACCOUNT_ID
CURVES = {
    "EC_prime256v1": ec.SECP256R1,
    "EC_secp384r1": ec.SECP384R1,
    "EC_secp521r1": ec.SECP521R1,
}
ISSUERS = {
    "AMAZON_ISSUED": "Amazon RSA 2048 M03",
    "PRIVATE": "certaudit demo private CA",
    "IMPORTED": "certaudit demo external CA",
}

CA_TYPES = {"ROOT", "SUBORDINATE"}
CA_STATUSES = {
    "CREATING", "PENDING_CERTIFICATE", "ACTIVE", "DELETED", "DISABLED", "EXPIRED", "FAILED"
}
CA_USAGE_MODES = {"GENERAL_PURPOSE", "SHORT_LIVED_CERTIFICATE"}
IAM_PATH_RE = re.compile(r"/|/[\x21-\x7e]+/")

_keys = {}
_keys_lock = threading.Lock()


def private_key(algorithm):
    """One key per algorithm per run: generating RSA 4096 keys is slow and the key is not
    what the audit looks at."""
    with _keys_lock:
        if algorithm not in _keys:
            if algorithm in CURVES:
                _keys[algorithm] = ec.generate_private_key(CURVES[algorithm]())
            elif algorithm.startswith("RSA_"):
                bits = int(algorithm.split("_")[1])
                _keys[algorithm] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            else:
                raise ValueError(f"unknown key algorithm {algorithm!r}")
        return _keys[algorithm]


def make_certificate(spec, now):
    key = private_key(spec.get("key", "RSA_2048"))
    not_after = now + datetime.timedelta(days=spec.get("days_left", 200))
    not_before = min(
        now - datetime.timedelta(days=1),
        not_after - datetime.timedelta(days=spec.get("valid_days", 395)),
    )
    domain = spec["domain"]
    sans = [domain] + [s for s in spec.get("sans", []) if s != domain]
    # A subject name that a DNS name cannot hold (bidi controls, any Unicode): ACM's DomainName.
    common_name = spec.get("common_name", domain)
    issuer = spec.get("issuer", ISSUERS[spec.get("type", "IMPORTED")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert, cert_pem, key, key_pem


def issuing_ca_arn(spec, authorities):
    """The private CA a PRIVATE certificate names: `issuing_ca` (a CA label of the scenario)
    or `issuing_ca_arn` (any CA, e.g. one in an account outside the organization, shared
    through RAM)."""
    if "issuing_ca" in spec:
        label = spec["issuing_ca"]
        if label not in (authorities or {}):
            raise ValueError(f"issuing_ca {label!r}: no certificate authority has that label")
        arn = authorities[label]
    else:
        arn = spec.get("issuing_ca_arn")
    if arn and spec.get("type", "IMPORTED") != "PRIVATE":
        raise ValueError(f"{spec.get('domain')}: only a PRIVATE certificate has an issuing CA")
    return arn


def ca_common_name(arn):
    """The subject CommonName of a CA seeded here, or None (a CA outside the scenario)."""
    try:
        _, _, _, region, account, _ = arn.split(":", 5)
        ca = acmpca_backends[account][region].certificate_authorities.get(arn)
    except Exception:
        return None
    return ca.subject.get("CommonName") if ca else None


def seed_certificate(account_id, spec, extras, now, authorities=None):
    region = spec.get("region", "us-east-1")
    backend = acm_backends[account_id][region]
    ca_arn = issuing_ca_arn(spec, authorities)
    if ca_arn and "issuer" not in spec:
        # Issued by that CA: its name is the certificate's issuer.
        spec = {**spec, "issuer": ca_common_name(ca_arn) or ISSUERS["PRIVATE"]}
    cert, cert_pem, key, key_pem = make_certificate(spec, now)
    expired = spec.get("days_left", 200) < 0
    tags = [{"Key": k, "Value": v} for k, v in spec.get("tags", {}).items()]
    kind = spec.get("type", "IMPORTED")
    if kind == "IMPORTED" and not expired:
        arn = backend.import_certificate(cert_pem, key_pem, None, None, tags)
    else:
        # Start from a certificate moto accepts, then put the real one in its place: moto
        # refuses expired imports and issues ACM certificates with its own validity.
        _, ok_pem, _, ok_key_pem = make_certificate({**spec, "days_left": 30}, now)
        arn = backend.import_certificate(ok_pem, ok_key_pem, None, None, tags)
        bundle = backend._certificates[arn]
        bundle.cert, bundle._cert = cert_pem, cert
        bundle.key, bundle._key = key_pem, key
        bundle.type = kind
        bundle.status = "ISSUED"
    bundle = backend._certificates[arn]
    bundle.in_use_by = list(spec.get("in_use_by", []))
    extra = {
        k: spec[k]
        for k in (
            "origin",
            "managed_by",
            "status",
            "exported",
            "renewal_eligibility",
            "renewal_status",
            "renewal_status_reason",
            "validation",
            "http_redirect",
        )
        if k in spec
    }
    if ca_arn:
        extra["issuing_ca_arn"] = ca_arn
    extras.set(arn, extra)
    return arn


def seed_certificate_authority(account_id, spec, now):
    """A private CA in moto's acm-pca backend with a real self-signed CA certificate (basic
    constraints CA) of the chosen validity, then the chosen status. moto makes the CA's key;
    the certificate is signed with it, so what moto issues later chains to it."""
    region = spec.get("region", "us-east-1")
    kind = spec.get("type", "ROOT")
    status = spec.get("status", "ACTIVE")
    usage = spec.get("usage_mode", "GENERAL_PURPOSE")
    for value, allowed, what in (
        (kind, CA_TYPES, "type"),
        (status, CA_STATUSES, "status"),
        (usage, CA_USAGE_MODES, "usage_mode"),
    ):
        if value not in allowed:
            raise ValueError(
                f"certificate authority {what} {value!r}: not one of {sorted(allowed)}"
            )
    subject = {"CommonName": spec.get("common_name") or spec.get("label") or "certaudit test CA"}
    if spec.get("organization"):
        subject["Organization"] = spec["organization"]
    backend = acmpca_backends[account_id][region]
    arn = backend.create_certificate_authority(
        certificate_authority_configuration={
            "KeyAlgorithm": "RSA_2048",
            "SigningAlgorithm": "SHA256WITHRSA",
            "Subject": subject,
        },
        revocation_configuration=None,
        certificate_authority_type=kind,
        security_standard=None,
        tags=[{"Key": k, "Value": v} for k, v in spec.get("tags", {}).items()],
    )
    ca = backend.certificate_authorities[arn]
    ca.usage_mode = usage  # moto writes SHORT_LIVED_CERTIFICATE; AWS's default is GENERAL_PURPOSE
    if status not in CA_WITHOUT_CERTIFICATE:
        key = ca.key
        not_after = now + datetime.timedelta(days=spec.get("days_left", 3000))
        not_before = min(
            now - datetime.timedelta(days=1),
            not_after - datetime.timedelta(days=spec.get("valid_days", 3650)),
        )
        name = ca.issuer  # the subject above, as an X.509 name
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=0 if kind == "SUBORDINATE" else None),
                True,
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        # moto takes expired CA certificates too; importing makes the CA ACTIVE.
        ca.import_certificate_authority_certificate(
            cert.public_bytes(serialization.Encoding.PEM), None
        )
    ca.status = status
    if status == "FAILED":
        ca.failure_reason = spec.get("failure_reason", "OTHER")
    return arn


def expand_server_certificates(specs):
    """`count: N` repeats a server certificate spec N times: numbered names, domains and
    labels (`name-0000`, `n0000.domain`)."""
    for spec in specs:
        count = spec.get("count", 1)
        if count == 1:
            yield spec
            continue
        for i in range(count):
            yield {
                **spec,
                "name": f"{spec['name']}-{i:04d}",
                "label": f"{spec.get('label', spec['name'])}-{i:04d}",
                "domain": f"n{i:04d}.{spec['domain']}",
                "count": 1,
            }


def seed_server_certificate(account_id, spec, now):
    """An IAM server certificate with a real certificate, uploaded through moto's IAM backend
    (moto checks nothing, so an expired one goes in the same way), stamped with its ID and
    upload date (`uploaded_days_ago`, 0 by default) for the fidelity layer to answer."""
    backend = iam_backends[account_id]["aws"]
    name = spec["name"]
    path = spec.get("path", "/")
    if not IAM_PATH_RE.fullmatch(path):
        raise ValueError(f"server certificate {name!r}: path {path!r} must begin and end with /")
    if find_server_certificate(backend, name):
        raise ValueError(f"server certificate {name!r} twice in account {account_id}")
    _, cert_pem, _, key_pem = make_certificate(spec, now)
    cert = backend.upload_server_certificate(
        name, cert_pem.decode(), key_pem.decode(), cert_chain=None, path=path
    )
    stamp_server_certificate(cert, now - datetime.timedelta(days=spec.get("uploaded_days_ago", 0)))
    return cert.arn


def expand(certificates):
    """`count: N` repeats a certificate spec N times with numbered domains."""
    for spec in certificates:
        count = spec.get("count", 1)
        if count == 1:
            yield spec
            continue
        for i in range(count):
            yield {**spec, "domain": f"n{i:04d}.{spec['domain']}", "count": 1}


def seed(scenario, layer, extras):
    """Build the organization and certificates. Returns the state the tests read back:
    account names to IDs and certificate labels to ARNs."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    role_name = scenario.get("role_name", "CertAuditReadOnly")
    external_id = scenario.get("external_id", "certaudit-test-external-id")
    state = {"management_account": MANAGEMENT_ACCOUNT, "accounts": {}, "certificates": {}}

    management = scenario.get("management", {})
    org = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
    accounts = scenario.get("accounts", [])
    if scenario.get("organization", True):
        org.create_organization(region="us-east-1", FeatureSet="ALL")
        org.accounts[0].name = management.get("name", "management")
        root_id = org.ou[0].id
        ou_ids = {}
        for path in scenario.get("organizational_units", []):
            parent = ou_ids.get(path.rsplit("/", 1)[0], root_id) if "/" in path else root_id
            made = org.create_organizational_unit(ParentId=parent, Name=path.rsplit("/", 1)[-1])
            ou_ids[path] = made["OrganizationalUnit"]["Id"]
        state["organizational_units"] = ou_ids
        state["root_id"] = root_id
    state["accounts"][management.get("name", "management")] = MANAGEMENT_ACCOUNT

    for spec in accounts:
        if scenario.get("organization", True):
            org.create_account(AccountName=spec["name"], Email=f"{spec['name']}@example.com")
            account = org.accounts[-1]
            account.state = spec.get("state", "ACTIVE")
            account.status = account.state
            if spec.get("ou"):
                org.move_account(
                    AccountId=account.id,
                    SourceParentId=root_id,
                    DestinationParentId=state["organizational_units"][spec["ou"]],
                )
            account_id = account.id
        else:
            account_id = spec["id"]
        state["accounts"][spec["name"]] = account_id
        role = spec.get("role", "present")
        layer.trust[account_id] = {
            "role": role_name if role == "present" else None,
            "external_id": spec.get("external_id", external_id),
        }
        layer.opt_in[account_id] = set(spec.get("opt_in_regions", []))
        layer.denied[account_id] = set(spec.get("denied", []))

    layer.opt_in[MANAGEMENT_ACCOUNT] = set(management.get("opt_in_regions", []))
    everyone = [(MANAGEMENT_ACCOUNT, management)]
    everyone += [(state["accounts"][a["name"]], a) for a in accounts]
    # Private CAs first: a PRIVATE certificate names its CA by label (`issuing_ca`).
    state["certificate_authorities"] = {}
    for account_id, spec in everyone:
        for ca_spec in spec.get("certificate_authorities", []):
            arn = seed_certificate_authority(account_id, ca_spec, now)
            label = ca_spec.get("label") or ca_spec.get("common_name") or arn
            state["certificate_authorities"][label] = arn
    for account_id, spec in everyone:
        for cert_spec in expand(spec.get("certificates", [])):
            arn = seed_certificate(
                account_id, cert_spec, extras, now, state["certificate_authorities"]
            )
            state["certificates"][cert_spec.get("label", arn)] = arn
    state["certificate_count"] = sum(1 for _ in state["certificates"])
    state["server_certificates"] = {}
    for account_id, spec in everyone:
        for cert_spec in expand_server_certificates(spec.get("server_certificates", [])):
            arn = seed_server_certificate(account_id, cert_spec, now)
            state["server_certificates"][cert_spec.get("label", cert_spec["name"])] = arn
    state["sns_topics"] = {
        name: sns_backends[MANAGEMENT_ACCOUNT]["us-east-1"].create_topic(name).arn
        for name in scenario.get("sns_topics", [])
    }
    hub = scenario.get("security_hub") or {}
    hub["reject_arns"] = [state["certificates"][label] for label in hub.get("reject", [])]
    return state
