"""Print the IAM identity policies of a CloudFormation template as JSON, one per line, with
the template's references filled with example values, so parliament can lint them as they
will be deployed (lint-access.sh). Usage: template-policies.py TEMPLATE.yaml"""

import json
import re
import sys

import yaml

EXAMPLES = {
    "AWS::Partition": "aws",
    "AWS::AccountId": "111122223333",
    "AWS::Region": "us-east-1",
    "HubAccountId": "111122223333",
    "HubRegion": "us-east-1",
    "EventBusName": "certaudit",
    "RoleName": "CertAuditReadOnly",
    "ReportBucket": "certaudit-reports",
    "ReportBucket.Arn": "arn:aws:s3:::certaudit-reports",
    "ReportPrefix": "certaudit",
    "Topic": "arn:aws:sns:us-east-1:111122223333:certaudit-alerts",
    "ExistingTopicArn": "arn:aws:sns:us-east-1:111122223333:certaudit-alerts",
    "Function.Arn": "arn:aws:lambda:us-east-1:111122223333:function:certaudit",
    "FunctionLogs.Arn": "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/certaudit:*",
    "FailedEvents.Arn": "arn:aws:sqs:us-east-1:111122223333:certaudit-failed-events",
    "Key.Arn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "ExistingTopicKeyArn":
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "ExternalIdParameterName": "/certaudit/external-id",
    "OrganizationId": "o-a1b2c3d4e5",
    "ScheduledScans": "arn:aws:lambda:us-east-1:111122223333:function:certaudit:scheduled",
}


def example(name):
    """An example value for a parameter or attribute; an ARN-shaped one for the rest (outputs,
    properties no policy uses)."""
    return EXAMPLES.get(name, f"arn:aws:example:us-east-1:111122223333:{name}")


class Tagged(yaml.SafeLoader):
    """CloudFormation's short-form functions, resolved to example values."""


def sub(loader, node):
    text = loader.construct_scalar(node)
    return re.sub(r"\$\{([^}]+)\}", lambda m: example(m.group(1)), text)


def ref(loader, node):
    return example(loader.construct_scalar(node))


def get_att(loader, node):
    value = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else ".".join(
        loader.construct_sequence(node))
    return example(value)


def first_branch(loader, node):
    return loader.construct_sequence(node, deep=True)[1]


def opaque(loader, node):
    return None


Tagged.add_constructor("!Sub", sub)
Tagged.add_constructor("!Ref", ref)
Tagged.add_constructor("!GetAtt", get_att)
Tagged.add_constructor("!If", first_branch)
for tag in ("!Equals", "!Not", "!And", "!Or", "!Condition", "!Contains", "!Join"):
    Tagged.add_constructor(tag, opaque)


def main():
    with open(sys.argv[1]) as f:
        template = yaml.load(f, Loader=Tagged)
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            print(json.dumps(policy["PolicyDocument"]))


if __name__ == "__main__":
    main()
