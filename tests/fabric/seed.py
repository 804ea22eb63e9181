"""Turns a scenario (JSON) into moto state: an organization with OUs and accounts, audit-role
trust per account, opt-in regions, and ACM certificates of every type, key algorithm and age.

Certificates are real X.509 certificates made here with `cryptography`. Imported ones go
through moto's own ImportCertificate (so its validation applies); state AWS reaches only with
time (an expired certificate, an ACM-issued certificate with a chosen expiry) is placed in
moto's store directly, as the fidelity layer's job is to produce what moto cannot.
"""

import datetime
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from moto.acm.models import acm_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.organizations.models import organizations_backends
from moto.sns.models import sns_backends

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


def seed_certificate(account_id, spec, extras, now):
    region = spec.get("region", "us-east-1")
    backend = acm_backends[account_id][region]
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
    extras.set(arn, extra)
    return arn


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
    owners = [(MANAGEMENT_ACCOUNT, management.get("certificates", []))]
    owners += [(state["accounts"][a["name"]], a.get("certificates", [])) for a in accounts]
    for account_id, certificates in owners:
        for spec in expand(certificates):
            arn = seed_certificate(account_id, spec, extras, now)
            state["certificates"][spec.get("label", arn)] = arn
    state["certificate_count"] = sum(1 for _ in state["certificates"])
    state["sns_topics"] = {
        name: sns_backends[MANAGEMENT_ACCOUNT]["us-east-1"].create_topic(name).arn
        for name in scenario.get("sns_topics", [])
    }
    hub = scenario.get("security_hub") or {}
    hub["reject_arns"] = [state["certificates"][label] for label in hub.get("reject", [])]
    return state
