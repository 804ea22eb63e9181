"""What the deployment templates must hold, over the templates as cfn-lint parses them: the
things a linter cannot know (an alarm that can reach its topic, a scan Lambda never retries, a
dead-man's switch that outlasts the schedule, a secret kept out of the environment). Run by
scripts/lint-access.sh: .venv/bin/python -m unittest discover -s tests/templates"""

import datetime
import pathlib
import re
import unittest

from cfnlint.decode import decode

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(path):
    template, errors = decode(str(ROOT / path))
    if errors:
        raise AssertionError(f"{path} does not parse: {errors}")
    return template


HUB = load("deploy/certaudit-hub.yaml")
ROLE = load("stacksets/certaudit-role.yaml")
FORWARDER = load("stacksets/certaudit-acm-events.yaml")


def resources(template, kind):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def statements(policy):
    """A policy document's statements, with every Fn::If branch that is a statement."""
    found = []

    def walk(item):
        if isinstance(item, dict) and "Fn::If" in item:
            for branch in item["Fn::If"][1:]:
                walk(branch)
        elif isinstance(item, dict) and "Effect" in item:
            found.append(item)

    for statement in policy["Statement"]:
        walk(statement)
    return found


def as_list(value):
    return value if isinstance(value, list) else [value]


def function_statements():
    role = HUB["Resources"]["FunctionRole"]["Properties"]
    return [s for p in role["Policies"] for s in statements(p["PolicyDocument"])]


def granting(action):
    return [s for s in function_statements() if action in as_list(s["Action"])]


TOPIC = {"Fn::If": ["CreateTopic", {"Ref": "Topic"}, {"Ref": "ExistingTopicArn"}]}


# -- schedules --------------------------------------------------------------------------------

DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


def cron_values(field, low, high, names=None):
    """The values an EventBridge cron field allows (numbers, names, lists, ranges, steps)."""
    if field in ("*", "?"):
        return set(range(low, high + 1))
    allowed = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step = part.split("/")
            step = int(step)
        number = lambda text: int(names[text]) if names and text in names else int(text)
        if part == "*":
            first, last = low, high
        elif "-" in part:
            first, last = map(number, part.split("-"))
        else:
            first = last = number(part)
        allowed.update(range(first, last + 1, step))
    return allowed


def runs(expression, days=21):
    """When a schedule runs over `days` days from a Monday, to the minute."""
    start = datetime.datetime(2026, 11, 2)
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if rate:
        unit = {"minute": 1, "hour": 60, "day": 1440}[rate.group(2).rstrip("s")]
        every = datetime.timedelta(minutes=int(rate.group(1)) * unit)
        return [start + every * i for i in range(int(datetime.timedelta(days=days) / every))]
    cron = re.fullmatch(r"cron\((.+)\)", expression)
    if not cron:
        raise ValueError(f"not a rate() or cron() expression: {expression}")
    minute, hour, dom, month, dow, _year = cron.group(1).split()
    if month != "*" or dom not in ("*", "?"):
        raise ValueError(f"day-of-month and month schedules are not modelled: {expression}")
    minutes, hours = cron_values(minute, 0, 59), cron_values(hour, 0, 23)
    weekdays = cron_values(dow, 1, 7, DAYS)
    times = []
    for day in range(days):
        date = start + datetime.timedelta(days=day)
        if date.isoweekday() % 7 + 1 not in weekdays:
            continue
        for h in sorted(hours):
            for m in sorted(minutes):
                times.append(date + datetime.timedelta(hours=h, minutes=m))
    return times


def longest_gap_hours(expression):
    times = runs(expression)
    gaps = [(b - a).total_seconds() / 3600 for a, b in zip(times, times[1:])]
    return max(gaps)


class ScheduleArithmetic(unittest.TestCase):
    def test_gaps_of_known_schedules(self):
        self.assertEqual(longest_gap_hours("rate(1 day)"), 24)
        self.assertEqual(longest_gap_hours("rate(6 hours)"), 6)
        self.assertEqual(longest_gap_hours("cron(0 6 ? * MON-FRI *)"), 72)
        self.assertEqual(longest_gap_hours("cron(30 7 ? * 2-6 *)"), 72)
        self.assertEqual(longest_gap_hours("cron(0 6 ? * MON *)"), 168)


# -- Rules, evaluated as CloudFormation does ---------------------------------------------------


def evaluate(expression, parameters):
    if isinstance(expression, str):
        return expression
    if isinstance(expression, list):
        return [evaluate(e, parameters) for e in expression]
    (function, argument), = expression.items()
    if function == "Ref":
        return str(parameters[argument])
    if function == "Fn::Equals":
        a, b = evaluate(argument, parameters)
        return a == b
    if function == "Fn::Not":
        return not evaluate(argument[0], parameters)
    if function == "Fn::And":
        return all(evaluate(a, parameters) for a in argument)
    if function == "Fn::Or":
        return any(evaluate(a, parameters) for a in argument)
    if function == "Fn::Contains":
        values, value = evaluate(argument, parameters)
        return value in values
    raise ValueError(f"rule function {function} is not modelled")


def refused_by_rules(template, parameters):
    """The rules whose assertions these parameter values fail."""
    defaults = {k: p.get("Default") for k, p in template["Parameters"].items()}
    values = {**defaults, **parameters}
    refused = []
    for name, rule in (template.get("Rules") or {}).items():
        condition = rule.get("RuleCondition")
        if condition is not None and not evaluate(condition, values):
            continue
        if not all(evaluate(a["Assert"], values) for a in rule["Assertions"]):
            refused.append(name)
    return refused


def schedules_the_rules_know(template):
    """Every schedule expression a rule's condition names."""
    known = set()

    def walk(item):
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ("Fn::Equals", "Fn::Contains"):
                    for v in value:
                        for s in as_list(v):
                            if isinstance(s, str) and s.startswith(("rate(", "cron(")):
                                known.add(s)
                walk(value)
        elif isinstance(item, list):
            for v in item:
                walk(v)

    for rule in template["Rules"].values():
        walk(rule.get("RuleCondition"))
    return known


class DeadMansSwitch(unittest.TestCase):
    def setUp(self):
        self.alarm = HUB["Resources"]["ScanMissingAlarm"]["Properties"]
        self.window = HUB["Parameters"]["ScanMissingAfterHours"]

    def test_each_hour_without_a_completed_scan_counts_toward_the_window(self):
        self.assertEqual(self.alarm["MetricName"], "ScanCompleted")
        self.assertEqual(self.alarm["Period"], 3600)
        self.assertEqual(self.alarm["EvaluationPeriods"], {"Ref": "ScanMissingAfterHours"})
        self.assertEqual(self.alarm["DatapointsToAlarm"], {"Ref": "ScanMissingAfterHours"})
        self.assertEqual(self.alarm["TreatMissingData"], "breaching")
        # CloudWatch evaluates at most seven days of hourly periods.
        self.assertLessEqual(self.window["MaxValue"], 168)

    def test_the_default_window_outlasts_the_default_schedules_longest_gap(self):
        gap = longest_gap_hours(HUB["Parameters"]["ScheduleExpression"]["Default"])
        self.assertGreaterEqual(self.window["Default"], gap + 2)
        self.assertEqual(refused_by_rules(HUB, {}), [])

    def test_rules_refuse_a_window_the_schedule_outlasts(self):
        known = schedules_the_rules_know(HUB)
        self.assertIn("rate(1 day)", known)
        self.assertIn("cron(0 6 ? * MON-FRI *)", known)
        for schedule in sorted(known):
            gap = int(longest_gap_hours(schedule))
            too_short = {"ScheduleExpression": schedule, "ScanMissingAfterHours": gap + 1}
            enough = {"ScheduleExpression": schedule, "ScanMissingAfterHours": gap + 2}
            self.assertNotEqual(refused_by_rules(HUB, too_short), [], too_short)
            self.assertEqual(refused_by_rules(HUB, enough), [], enough)


# -- #20 items ---------------------------------------------------------------------------------


class AlarmsReachPeople(unittest.TestCase):
    def test_the_topic_key_lets_cloudwatch_publish_alarms(self):
        topic = HUB["Resources"]["Topic"]["Properties"]
        self.assertNotEqual(topic.get("KmsMasterKeyId"), "alias/aws/sns")
        self.assertEqual(topic["KmsMasterKeyId"], {"Fn::GetAtt": ["Key", "Arn"]})
        key = HUB["Resources"]["Key"]["Properties"]
        self.assertTrue(key["EnableKeyRotation"])
        by_cloudwatch = [
            s for s in statements(key["KeyPolicy"])
            if s["Effect"] == "Allow"
            and s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
        ]
        self.assertEqual(len(by_cloudwatch), 1, "a key policy statement for CloudWatch")
        self.assertEqual(
            set(as_list(by_cloudwatch[0]["Action"])), {"kms:Decrypt", "kms:GenerateDataKey*"}
        )

    def test_every_alarm_notifies_the_topic(self):
        alarms = resources(HUB, "AWS::CloudWatch::Alarm")
        self.assertGreaterEqual(len(alarms), 5)
        for name, alarm in alarms.items():
            self.assertEqual(alarm["Properties"]["AlarmActions"], [TOPIC], name)

    def test_the_function_may_use_the_created_or_the_existing_topics_key(self):
        kms = granting("kms:GenerateDataKey*")
        self.assertEqual(
            sorted(str(s["Resource"]) for s in kms),
            sorted([str({"Fn::GetAtt": ["Key", "Arn"]}), str({"Ref": "ExistingTopicKeyArn"})]),
        )
        for statement in kms:
            self.assertIn("kms:Decrypt", as_list(statement["Action"]))

    def test_failed_notifications_alarm(self):
        alarm = HUB["Resources"]["NotificationsFailedAlarm"]["Properties"]
        self.assertEqual((alarm["Namespace"], alarm["MetricName"]), ("certaudit", "NotificationsFailed"))
        self.assertEqual(alarm["Threshold"], 1)
        self.assertEqual(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold")
        self.assertEqual(alarm["TreatMissingData"], "notBreaching")


class ScheduledScansRunOnce(unittest.TestCase):
    def test_scheduled_scans_are_never_retried_by_lambda(self):
        schedule = HUB["Resources"]["Schedule"]["Properties"]["Target"]
        self.assertEqual(schedule["RetryPolicy"]["MaximumRetryAttempts"], 0)
        target = schedule["Arn"]
        self.assertIn("Ref", target, "the schedule invokes an alias, not the function")
        alias = HUB["Resources"][target["Ref"]]
        self.assertEqual(alias["Type"], "AWS::Lambda::Alias")
        configs = [
            c["Properties"] for c in resources(HUB, "AWS::Lambda::EventInvokeConfig").values()
            if c["Properties"]["Qualifier"] == alias["Properties"]["Name"]
        ]
        self.assertEqual(len(configs), 1, "the alias has its own asynchronous settings")
        self.assertEqual(configs[0]["MaximumRetryAttempts"], 0)
        # The Scheduler may invoke only that alias: the function itself retries ACM events.
        scheduler = HUB["Resources"]["SchedulerRole"]["Properties"]["Policies"][0]
        (invoke,) = statements(scheduler["PolicyDocument"])
        self.assertEqual(invoke["Resource"], target)

    def test_the_failed_events_alarm_says_whether_an_event_or_a_scan_failed(self):
        text = HUB["Resources"]["FailedEventsAlarm"]["Properties"]["AlarmDescription"]
        self.assertIn("ACM certificate event", text)
        self.assertIn("scheduled scan", text)


class AccessIsNarrow(unittest.TestCase):
    def test_the_hub_assumes_the_audit_role_only_in_its_organization(self):
        (assume,) = granting("sts:AssumeRole")
        self.assertEqual(
            assume["Condition"]["StringEquals"]["aws:ResourceOrgID"], {"Ref": "OrganizationId"}
        )

    def test_the_forwarder_forwards_only_its_own_accounts_events(self):
        rule = FORWARDER["Resources"]["ForwardAcmEvents"]["Properties"]
        self.assertEqual(rule["EventPattern"]["account"], [{"Ref": "AWS::AccountId"}])

    def test_member_role_trusts_the_hubs_function_role_not_the_whole_account(self):
        trust = ROLE["Resources"]["CertAuditRole"]["Properties"]["AssumeRolePolicyDocument"]
        (statement,) = statements(trust)
        principals = statement["Condition"]["ArnLike"]["aws:PrincipalArn"]["Fn::If"]
        self.assertEqual(principals[0], "OperatorsToo")
        function_role = {"Fn::Sub": "arn:${AWS::Partition}:iam::${HubAccountId}:role/${HubFunctionRoleName}"}
        self.assertEqual(principals[2], [function_role])
        self.assertEqual(principals[1][0], function_role)
        self.assertIn("${OperatorRoleNamePattern}", principals[1][1]["Fn::Sub"])
        operators = ROLE["Parameters"]["OperatorRoleNamePattern"]
        self.assertEqual(operators["Default"], "")
        # CloudFormation matches AllowedPattern against the whole value.
        allowed = lambda value: re.fullmatch(operators["AllowedPattern"], value) is not None
        for pattern in ["", "*AWSReservedSSO_SecurityAudit_*", "certaudit-operator"]:
            self.assertTrue(allowed(pattern), pattern)
        # Wildcards alone would trust every role of the hub account again.
        for pattern in ["*", "**", "*/*", "/"]:
            self.assertFalse(allowed(pattern), pattern)
        # The name the member role trusts is the name the hub gives its function's role.
        self.assertEqual(
            ROLE["Parameters"]["HubFunctionRoleName"]["Default"],
            HUB["Resources"]["FunctionRole"]["Properties"]["RoleName"],
        )


class TheExternalIdStaysSecret(unittest.TestCase):
    def test_the_external_id_is_read_from_ssm_not_kept_in_the_environment(self):
        variables = HUB["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
        self.assertNotIn("CERTAUDIT_EXTERNAL_ID", variables)
        self.assertNotIn("ExternalId", HUB["Parameters"])
        self.assertEqual(
            variables["CERTAUDIT_EXTERNAL_ID_PARAMETER"], {"Ref": "ExternalIdParameterName"}
        )

    def test_the_function_reads_that_one_parameter_only(self):
        ssm = [s for s in function_statements()
               if any(a.startswith("ssm:") for a in as_list(s["Action"]))]
        self.assertEqual(len(ssm), 1)
        self.assertEqual(as_list(ssm[0]["Action"]), ["ssm:GetParameter"])
        self.assertTrue(
            ssm[0]["Resource"]["Fn::Sub"].endswith(":parameter${ExternalIdParameterName}"),
            ssm[0]["Resource"],
        )
        # The name starts with "/", so the ARN above is well formed.
        self.assertTrue(HUB["Parameters"]["ExternalIdParameterName"]["AllowedPattern"].startswith("^/"))


class ReportsAndEventsAreKept(unittest.TestCase):
    def setUp(self):
        self.bucket = HUB["Resources"]["ReportBucket"]

    def test_the_report_bucket_refuses_plain_http(self):
        policy = HUB["Resources"]["ReportBucketPolicy"]["Properties"]
        self.assertEqual(policy["Bucket"], {"Ref": "ReportBucket"})
        (deny,) = [s for s in statements(policy["PolicyDocument"]) if s["Effect"] == "Deny"]
        self.assertEqual(deny["Principal"], "*")
        self.assertEqual(deny["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
        self.assertEqual(
            deny["Resource"],
            [{"Fn::GetAtt": ["ReportBucket", "Arn"]}, {"Fn::Sub": "${ReportBucket.Arn}/*"}],
        )

    def test_the_report_bucket_keeps_versions_and_expires_dated_reports(self):
        properties = self.bucket["Properties"]
        self.assertEqual(properties["VersioningConfiguration"], {"Status": "Enabled"})
        (rule,) = properties["LifecycleConfiguration"]["Rules"]
        self.assertEqual(rule["ExpirationInDays"], {"Ref": "ReportRetentionDays"})
        self.assertEqual(HUB["Parameters"]["ReportRetentionDays"]["Default"], 400)
        self.assertEqual(
            rule["NoncurrentVersionExpiration"], {"NoncurrentDays": {"Ref": "NoncurrentReportDays"}}
        )
        self.assertEqual(self.bucket["DeletionPolicy"], "Retain")

    def test_the_failed_events_queue_outlives_the_stack(self):
        queue = HUB["Resources"]["FailedEvents"]
        self.assertEqual(queue["DeletionPolicy"], "Retain")
        self.assertEqual(queue["UpdateReplacePolicy"], "Retain")



class TheRenewalCheckAsksTheResolverGiven(unittest.TestCase):
    def test_dns_servers_reach_the_function_only_when_given(self):
        variables = HUB["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
        # An empty CERTAUDIT_DNS_SERVER would be a value to parse: absent unless set.
        self.assertEqual(
            variables["CERTAUDIT_DNS_SERVER"],
            {"Fn::If": ["UseDnsServers", {"Ref": "DnsServers"}, {"Ref": "AWS::NoValue"}]},
        )
        self.assertEqual(HUB["Parameters"]["DnsServers"]["Default"], "")
        pattern = re.compile(HUB["Parameters"]["DnsServers"]["AllowedPattern"])
        for good in ["", "10.0.0.2", "10.0.0.2:53,10.0.1.2", "[fd00::2]:53"]:
            self.assertTrue(pattern.match(good), good)
        for bad in ["dns.example.com", "10.0.0.2; rm"]:
            self.assertFalse(pattern.match(bad), bad)

if __name__ == "__main__":
    unittest.main()
