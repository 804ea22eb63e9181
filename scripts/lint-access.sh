#!/usr/bin/env bash
# Lint the access and deployment deliverables with real linters: cfn-lint for the templates
# (stacksets/ for member accounts, deploy/ for the hub; informational checks included, so a
# stateful resource without an explicit DeletionPolicy fails), the tests over the parsed
# templates (tests/templates/: what no linter knows), checkov on both folders (zero failed
# checks; each skip is in its template's Metadata with its reason), and parliament for the IAM
# identity policies in iam/ and in the templates. (Trust policies are not identity policies:
# tests/policy_coverage.rs checks their shape.) Placeholders are filled with example values
# first, so the linter sees the policy as it will be deployed.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for template in stacksets/*.yaml deploy/*.yaml; do
  .venv/bin/cfn-lint --include-checks I -- "$template" \
    || { echo "cfn-lint: $template fails" >&2; status=1; }
done
.venv/bin/python -m unittest discover --quiet -s tests/templates \
  || { echo "tests/templates: the templates break a promise" >&2; status=1; }
# checkov asks Prisma Cloud for its guidelines unless told not to; anything it still tries to
# reach goes to a closed port on loopback, never out of this machine.
for folder in deploy stacksets; do
  HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY= \
    .venv-checkov/bin/checkov -d "$folder" --framework cloudformation --skip-download \
      --compact --quiet \
    || { echo "checkov: $folder has failed checks" >&2; status=1; }
done
for policy in iam/*-policy.json; do
  case "$policy" in *trust-policy.json) continue ;; esac
  sed -e 's/HUB_ACCOUNT_ID/111122223333/g' -e 's/TOPIC_NAME/certaudit-alerts/g' \
      -e 's/OPERATOR_ROLE_NAME/certaudit-operator/g' -e 's/ROLE_NAME/CertAuditReadOnly/g' \
      -e 's/EXTERNAL_ID/example-external-id/g' -e 's/ORGANIZATION_ID/o-a1b2c3d4e5/g' "$policy" \
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
[ $status -eq 0 ] && echo "access and deployment deliverables: cfn-lint, template tests, checkov and parliament clean"
exit $status
