#!/usr/bin/env bash
# Lint the access and deployment deliverables with real linters: cfn-lint for the templates
# (stacksets/ for member accounts, deploy/ for the hub), parliament for the IAM identity
# policies in iam/ and in the templates. (Trust policies are not identity policies:
# tests/policy_coverage.rs checks their shape.) Placeholders are filled with example values
# first, so the linter sees the policy as it will be deployed.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for template in stacksets/*.yaml deploy/*.yaml; do
  .venv/bin/cfn-lint "$template" || { echo "cfn-lint: $template fails" >&2; status=1; }
done
for policy in iam/*-policy.json; do
  case "$policy" in *trust-policy.json) continue ;; esac
  sed -e 's/HUB_ACCOUNT_ID/111122223333/g' -e 's/TOPIC_NAME/certaudit-alerts/g' \
      -e 's/ROLE_NAME/CertAuditReadOnly/g' -e 's/EXTERNAL_ID/example-external-id/g' "$policy" \
    | .venv/bin/parliament || { echo "parliament: $policy has findings" >&2; status=1; }
done
# The templates' own IAM policies (the Lambda function's, the forwarder's, the member role's),
# as deployed: references filled with example values by template-policies.py.
for template in stacksets/*.yaml deploy/*.yaml; do
  policies=$(.venv/bin/python scripts/template-policies.py "$template") \
    || { echo "cannot read the policies of $template" >&2; status=1; continue; }
  while IFS= read -r policy; do
    [ -n "$policy" ] || continue
    echo "$policy" | .venv/bin/parliament \
      || { echo "parliament: a policy in $template has findings" >&2; status=1; }
  done <<< "$policies"
done
[ $status -eq 0 ] && echo "access and deployment deliverables: cfn-lint and parliament clean"
exit $status
