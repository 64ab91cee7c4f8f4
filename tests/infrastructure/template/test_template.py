"""template.yaml as CloudFormation will see it: translated once by samtranslator, offline, then inspected."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from learning_sessions.config.settings import Settings
from tools.api_functions import API_FUNCTIONS as API_FUNCTIONS_BY_ID
from tools.template_check import REPO_ROOT, cfn_lint, load_template, sam_validate_lint, translate

Template = dict[str, Any]

API_FUNCTIONS = tuple(API_FUNCTIONS_BY_ID)
ALL_FUNCTIONS = (*API_FUNCTIONS, "MigrateFunction")
EXPECTED_ROUTES = {
    ("GET", "/api/sessions/"): "ListSessionsFunction",
    ("GET", "/api/sessions"): "ListSessionsFunction",
    ("POST", "/api/sessions/"): "CreateSessionFunction",
    ("POST", "/api/sessions"): "CreateSessionFunction",
    ("GET", "/api/sessions/{id}"): "GetSessionFunction",
    ("PATCH", "/api/sessions/{id}"): "UpdateSessionFunction",
    ("DELETE", "/api/sessions/{id}"): "DeleteSessionFunction",
}
SECRET_ARN = {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}
APP_SECRET_ARN = {"Ref": "AppDatabaseSecret"}


def secret_of(function: str) -> dict[str, Any]:
    """The API functions connect as the least-privilege role; only the migrate function as the master user."""
    return SECRET_ARN if function == "MigrateFunction" else APP_SECRET_ARN


ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


@pytest.fixture(scope="module")
def sam_template() -> Template:
    return load_template()


@pytest.fixture(scope="module")
def translated(sam_template: Template) -> Template:
    return translate(sam_template)


@pytest.fixture(scope="module")
def resources(translated: Template) -> dict[str, Any]:
    result: dict[str, Any] = translated["Resources"]
    return result


def of_type(resources: dict[str, Any], type_name: str) -> dict[str, Any]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == type_name}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(value: Any) -> Iterator[str]:
    """Logical ids that ``value`` refers to through Ref, Fn::GetAtt and Fn::Sub."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                yield inner.split(".")[0] if isinstance(inner, str) else inner[0]
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                yield from _SUB_NAME.findall(text)
                if isinstance(inner, list):
                    yield from references(inner[1])
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def direct_dependencies(resources: dict[str, Any], name: str) -> set[str]:
    resource = resources[name]
    found = set(as_list(resource.get("DependsOn", [])))
    found.update(references(resource.get("Properties", {})))
    return found & set(resources)


def depends_on(resources: dict[str, Any], name: str, target: str) -> bool:
    """Whether CloudFormation creates ``target`` before ``name`` (transitively)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        for dependency in direct_dependencies(resources, current) - seen:
            if dependency == target:
                return True
            seen.add(dependency)
            todo.append(dependency)
    return False


def integration_targets(resources: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(METHOD, path) -> the resource its integration invokes (a function or an alias), from the OpenAPI body."""
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    found = {}
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, operation in methods.items():
            uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            (target,) = _SUB_NAME.findall(uri.replace("${AWS::Partition}", "").replace("${AWS::Region}", ""))
            found[(method.upper(), path)] = target
    return found


def function_of(resources: dict[str, Any], target: str) -> str:
    """The function behind a function or an alias of it."""
    if resources[target]["Type"] == "AWS::Lambda::Alias":
        (function,) = references(resources[target]["Properties"]["FunctionName"])
        return function
    return target


def routes(resources: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(METHOD, path) -> the function its integration invokes."""
    return {route: function_of(resources, target) for route, target in integration_targets(resources).items()}


# ---------------------------------------------------------------- API


def test_the_api_has_exactly_the_seed_routes_each_on_its_own_function(resources: dict[str, Any]) -> None:
    assert routes(resources) == EXPECTED_ROUTES


def test_there_is_one_api_and_no_route_outside_its_body(resources: dict[str, Any]) -> None:
    assert len(of_type(resources, "AWS::ApiGatewayV2::Api")) == 1
    assert of_type(resources, "AWS::ApiGatewayV2::Route") == {}
    assert of_type(resources, "AWS::ApiGateway::RestApi") == {}


def test_api_gateway_may_invoke_the_api_functions_and_only_them(resources: dict[str, Any]) -> None:
    invoked = {
        function_of(resources, next(references(permission["Properties"]["FunctionName"])))
        for permission in of_type(resources, "AWS::Lambda::Permission").values()
    }
    assert invoked == set(API_FUNCTIONS)


def test_the_migrate_function_is_not_routed(sam_template: Template, resources: dict[str, Any]) -> None:
    assert "Events" not in sam_template["Resources"]["MigrateFunction"]["Properties"]
    assert "MigrateFunction" not in routes(resources).values()


def test_api_throttling_and_cors_come_from_parameters(resources: dict[str, Any]) -> None:
    (stage,) = of_type(resources, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    condition, cors, absent = api["Properties"]["Body"]["x-amazon-apigateway-cors"]["Fn::If"]
    assert condition == "EnableCors"
    assert absent == {"Ref": "AWS::NoValue"}
    assert set(cors) >= {"allowOrigins", "allowMethods", "allowHeaders"}
    assert "Fn::Split" in cors["allowOrigins"]


def test_cors_lets_browsers_send_and_read_the_apis_own_headers(resources: dict[str, Any]) -> None:
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    _, cors, _ = api["Properties"]["Body"]["x-amazon-apigateway-cors"]["Fn::If"]
    # API Gateway compares header names case-insensitively; so does this.
    allowed = {header.lower() for header in cors["allowHeaders"]}
    assert allowed >= {"content-type", "authorization", "if-match", "idempotency-key"}
    assert {header.lower() for header in cors["exposeHeaders"]} >= {"etag", "location", "retry-after"}
    assert set(cors["allowMethods"]) >= {"GET", "POST", "PATCH", "DELETE"}


def test_every_route_requires_a_token_from_the_jwt_authorizer(resources: dict[str, Any]) -> None:
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    body = api["Properties"]["Body"]
    (scheme,) = body["components"]["securitySchemes"].values()
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "jwt"
    assert authorizer["identitySource"] == "$request.header.Authorization"
    operations = [
        (path, method, operation) for path, methods in body["paths"].items() for method, operation in methods.items()
    ]
    assert {(method.upper(), path) for path, method, _ in operations} == set(EXPECTED_ROUTES)
    (scheme_name,) = body["components"]["securitySchemes"]
    for path, method, operation in operations:
        # An empty list, or a missing "security", would make the route public.
        assert operation.get("security") == [{scheme_name: []}], (method, path)
    # Nothing else reaches a function: no function URL, no other API, no catch-all route.
    assert of_type(resources, "AWS::Lambda::Url") == {}
    assert not any(path.startswith("$default") or "{proxy+}" in path for path in body["paths"])


def test_the_issuer_and_audience_are_parameters_with_a_cognito_default(translated: Template) -> None:
    resources = translated["Resources"]
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    (scheme,) = api["Properties"]["Body"]["components"]["securitySchemes"].values()
    jwt = scheme["x-amazon-apigateway-authorizer"]["jwtConfiguration"]
    condition, cognito_issuer, given_issuer = jwt["issuer"]["Fn::If"]
    assert condition == "CreateUserPool"
    assert given_issuer == {"Ref": "JwtIssuer"}
    assert set(references(cognito_issuer)) == {"UserPool"}
    condition, cognito_audience, given_audience = jwt["audience"]["Fn::If"]
    assert condition == "CreateUserPool"
    assert cognito_audience == [{"Ref": "UserPoolClient"}]
    assert given_audience == {"Fn::Split": [",", {"Ref": "JwtAudience"}]}
    # The pool exists exactly when both parameters are empty, and a half-set pair is refused.
    assert translated["Conditions"]["CreateUserPool"] == {
        "Fn::And": [{"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}, {"Fn::Equals": [{"Ref": "JwtAudience"}, ""]}]
    }
    for name in ("UserPool", "UserPoolClient"):
        assert resources[name]["Condition"] == "CreateUserPool", name
    assert translated["Rules"]["JwtIssuerAndAudienceTogether"]["Assertions"]
    # Users are made by an administrator: a fresh stack is not open to self sign-up.
    assert resources["UserPool"]["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert resources["UserPoolClient"]["Properties"]["GenerateSecret"] is False


def test_sam_deploy_guided_sees_every_route_as_authorized() -> None:
    # The check `sam deploy --guided` runs: a route it finds unauthorized asks "... Is this okay? [y/N]",
    # and Enter stops the deployment.
    from samcli.commands.deploy.auth_utils import auth_per_resource
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    from tools.template_check import TEMPLATE

    stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE))
    found = dict(auth_per_resource(stacks))
    assert set(found) == set(API_FUNCTIONS)
    assert all(found.values()), found


def test_the_api_url_is_an_output(translated: Template) -> None:
    assert "SessionsApi" in set(references(translated["Outputs"]["ApiUrl"]["Value"]))


def test_routes_invoke_the_live_alias_that_codedeploy_moves(resources: dict[str, Any]) -> None:
    for route, target in integration_targets(resources).items():
        alias = resources[target]
        assert alias["Type"] == "AWS::Lambda::Alias", route
        assert alias["Properties"]["Name"] == "live", route
        # CloudFormation moves the alias only through the CodeDeploy deployment group.
        (group,) = references(alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"])
        assert resources[group]["Type"] == "AWS::CodeDeploy::DeploymentGroup", route
    for permission in of_type(resources, "AWS::Lambda::Permission").values():
        (target,) = references(permission["Properties"]["FunctionName"])
        assert resources[target]["Type"] == "AWS::Lambda::Alias"


def test_a_release_rolls_back_on_the_alarms(resources: dict[str, Any]) -> None:
    groups = of_type(resources, "AWS::CodeDeploy::DeploymentGroup")
    assert len(groups) == len(API_FUNCTIONS)
    for name, group in groups.items():
        properties = group["Properties"]
        alarms = {next(references(alarm["Name"])) for alarm in properties["AlarmConfiguration"]["Alarms"]}
        assert alarms == {"ReleaseServerErrorsAlarm", "FunctionErrorsAlarm"}, name
        assert properties["AlarmConfiguration"]["Enabled"] is True, name
        assert "DEPLOYMENT_STOP_ON_ALARM" in properties["AutoRollbackConfiguration"]["Events"], name
    # The migrate function is invoked by CloudFormation, not shifted by CodeDeploy.
    assert not any(
        resource["Type"] == "AWS::Lambda::Alias" and "MigrateFunction" in set(references(resource["Properties"]))
        for resource in resources.values()
    )


@pytest.mark.parametrize(
    ("deployment_type", "config"), [("AllAtOnce", "AllAtOnce"), ("Canary10Percent5Minutes", "Canary10Percent5Minutes")]
)
def test_the_deployment_type_parameter_picks_the_codedeploy_configuration(
    sam_template: Template, deployment_type: str, config: str
) -> None:
    # SAM resolves the parameter when it transforms the template (CloudFormation does it with the deployed value).
    translated = translate(sam_template, {"DeploymentType": deployment_type})
    for group in of_type(translated["Resources"], "AWS::CodeDeploy::DeploymentGroup").values():
        name = group["Properties"]["DeploymentConfigName"]["Fn::Sub"]
        assert name == ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": config}]


def test_snapstart_is_a_switch_on_the_api_functions_published_versions(resources: dict[str, Any]) -> None:
    for name in API_FUNCTIONS:
        assert resources[name]["Properties"]["SnapStart"] == {
            "ApplyOn": {"Fn::If": ["UseSnapStart", "PublishedVersions", "None"]}
        }, name
    assert resources["MigrateFunction"]["Properties"]["SnapStart"] == {"ApplyOn": "None"}
    # Lambda refuses SnapStart together with provisioned concurrency or ephemeral storage over 512 MB.
    for name in API_FUNCTIONS:
        assert "ProvisionedConcurrencyConfig" not in str(resources[name]), name
        assert resources[name]["Properties"].get("EphemeralStorage", {"Size": 512})["Size"] <= 512, name


# ---------------------------------------------------------------- functions


def test_every_function_runs_python_312_on_the_chosen_architecture_with_tracing(resources: dict[str, Any]) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    assert set(functions) == set(ALL_FUNCTIONS)
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.12", name
        assert properties["Architectures"] == [{"Ref": "Architecture"}], name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        assert properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"], name


def test_every_function_uses_the_shared_layer(resources: dict[str, Any]) -> None:
    (layer,) = of_type(resources, "AWS::Lambda::LayerVersion")
    assert resources[layer]["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    for name in ALL_FUNCTIONS:
        assert resources[name]["Properties"]["Layers"] == [{"Ref": layer}], name


def test_each_api_function_is_built_from_its_folder(sam_template: Template) -> None:
    # tools/api_functions.py is the one list the rest of the repository reads.
    for logical_id, folder in API_FUNCTIONS_BY_ID.items():
        properties = sam_template["Resources"][logical_id]["Properties"]
        assert properties["CodeUri"] == f"functions/{folder}/", logical_id


def test_the_layer_and_the_migrate_function_are_built_by_their_makefiles(sam_template: Template) -> None:
    layer = sam_template["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": {"Ref": "Architecture"}}
    migrate = sam_template["Resources"]["MigrateFunction"]
    assert migrate["Properties"]["CodeUri"] == "functions/migrate/"
    assert migrate["Properties"]["Handler"] == "app.lambda_handler"
    assert migrate["Metadata"] == {"BuildMethod": "makefile"}


def test_timeouts_suit_each_function(resources: dict[str, Any]) -> None:
    for name in API_FUNCTIONS:
        # Below API Gateway's 30-second integration timeout.
        assert resources[name]["Properties"]["Timeout"] <= 15, name
    migrate_timeout = resources["MigrateFunction"]["Properties"]["Timeout"]
    assert 60 <= migrate_timeout <= 900
    assert resources["DatabaseMigration"]["Properties"]["ServiceTimeout"] >= migrate_timeout


def test_every_function_logs_to_its_own_group_with_a_retention(resources: dict[str, Any]) -> None:
    groups = set()
    for name in ALL_FUNCTIONS:
        (group,) = references(resources[name]["Properties"]["LoggingConfig"]["LogGroup"])
        assert resources[group]["Type"] == "AWS::Logs::LogGroup"
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        groups.add(group)
    assert len(groups) == len(ALL_FUNCTIONS)


def test_every_function_reads_the_database_secret_over_tls(resources: dict[str, Any]) -> None:
    for name in ALL_FUNCTIONS:
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["POSTGRES_SECRET_ARN"] == secret_of(name), name
        assert variables["POSTGRES_SSLMODE"] != "disable", name
        assert "POSTGRES_HOST_OVERRIDE" in variables, name
        # Only `sam local` fills these in (the env-vars file); deployed, they stay empty and so ignored.
        for local_only in ("POSTGRES_HOST", "POSTGRES_USER", "POSTGRES_PASSWORD"):
            assert variables[local_only] == "", (name, local_only)


def test_the_migrate_function_sets_the_app_roles_password_from_its_secret(resources: dict[str, Any]) -> None:
    variables = resources["MigrateFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["APP_DB_SECRET_ARN"] == APP_SECRET_ARN
    generated = resources["AppDatabaseSecret"]["Properties"]["GenerateSecretString"]
    role = resources["ListSessionsFunction"]["Properties"]["Environment"]["Variables"]["APP_DB_ROLE"]
    assert json.loads(generated["SecretStringTemplate"]) == {"username": role}
    assert generated["GenerateStringKey"] == "password"


def test_the_backfill_owner_is_a_parameter_for_the_migrate_function_only(
    translated: Template, resources: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    parameter = translated["Parameters"]["MigrationBackfillOwner"]
    assert parameter["Type"] == "String"
    # Empty: the migration's own default owner; at most the owner column's size.
    assert parameter["Default"] == ""
    assert parameter["MaxLength"] == 255
    variables = resources["MigrateFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["MIGRATION_BACKFILL_OWNER"] == {"Ref": "MigrationBackfillOwner"}
    for function in API_FUNCTIONS:
        assert "MIGRATION_BACKFILL_OWNER" not in resources[function]["Properties"]["Environment"]["Variables"]
    # The parameter left empty reaches the migration as an empty variable: its default owner.
    spec = importlib.util.spec_from_file_location(
        "owner_migration", REPO_ROOT / "migrations/versions/0005_session_owner.py"
    )
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    monkeypatch.setenv("MIGRATION_BACKFILL_OWNER", "")
    assert migration.backfill_owner() == "local-user"


def test_every_function_runs_in_the_private_subnets(resources: dict[str, Any]) -> None:
    for name in ALL_FUNCTIONS:
        vpc_config = resources[name]["Properties"]["VpcConfig"]
        assert vpc_config["SecurityGroupIds"] == [{"Ref": "FunctionSecurityGroup"}], name
        assert vpc_config["SubnetIds"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}], name


# ---------------------------------------------------------------- migrations and ordering


def test_the_migration_custom_resource_is_backed_by_migrate(resources: dict[str, Any]) -> None:
    migration = resources["DatabaseMigration"]
    assert migration["Type"] == "Custom::DatabaseMigration"
    properties = migration["Properties"]
    assert properties["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    assert 1 <= properties["ServiceTimeout"] <= 900
    assert properties["MigrationsHash"] == {"Ref": "MigrationsHash"}


def test_a_replaced_database_is_migrated_before_the_api_uses_it(resources: dict[str, Any]) -> None:
    # CloudFormation sends Update only when a property changes: the instance's identity is one, so a new
    # (empty) instance gets the migrations, and the API functions still wait for them.
    properties = resources["DatabaseMigration"]["Properties"]
    assert properties["DatabaseResourceId"] == {"Fn::GetAtt": ["Database", "DbiResourceId"]}


def test_the_migrate_function_is_never_retried_by_lambda(resources: dict[str, Any]) -> None:
    # CloudFormation invokes it asynchronously; Lambda's two default retries could run a migration again
    # alongside a rollback.
    (config,) = of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
    properties = config["Properties"]
    assert properties["FunctionName"] == {"Ref": "MigrateFunction"}
    # The custom resource's ServiceToken is the unqualified ARN, which invokes $LATEST.
    assert resources["DatabaseMigration"]["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    assert properties["Qualifier"] == "$LATEST"
    assert properties["MaximumRetryAttempts"] == 0
    assert properties["MaximumEventAgeInSeconds"] < resources["DatabaseMigration"]["Properties"]["ServiceTimeout"]


def test_api_functions_wait_for_the_migration(resources: dict[str, Any]) -> None:
    for name in API_FUNCTIONS:
        assert "DatabaseMigration" in as_list(resources[name].get("DependsOn", [])), name
        assert depends_on(resources, name, "Database"), name


def test_the_migration_waits_for_the_database_and_the_network_paths_it_needs(resources: dict[str, Any]) -> None:
    for target in (
        "Database",
        "MigrateFunction",
        "SecretsManagerEndpoint",
        "S3GatewayEndpoint",
        "DatabaseIngressFromFunctions",
        "FunctionToDatabaseEgress",
        "PrivateSubnetARouteTableAssociation",
        "PrivateSubnetBRouteTableAssociation",
    ):
        assert depends_on(resources, "DatabaseMigration", target), target
    assert not depends_on(resources, "Database", "DatabaseMigration")


# ---------------------------------------------------------------- database and network


def test_the_database_is_never_dropped_with_the_stack(resources: dict[str, Any]) -> None:
    database = resources["Database"]
    assert database["DeletionPolicy"] == "Snapshot"
    assert database["UpdateReplacePolicy"] == "Snapshot"
    properties = database["Properties"]
    assert properties["DeletionProtection"] == {"Ref": "DeletionProtection"}
    assert properties["StorageEncrypted"] is True
    assert properties["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in properties
    assert properties["PubliclyAccessible"] is False
    assert properties["Engine"] == "postgres"
    assert properties["DBInstanceClass"] == {"Ref": "DatabaseInstanceClass"}


def test_the_engine_is_a_major_version_and_the_zones_are_parameters(
    sam_template: Template, resources: dict[str, Any]
) -> None:
    engine = sam_template["Parameters"]["DatabaseEngineVersion"]
    # A pinned minor is deprecated within a year, and RDS's own minor upgrades would drift from it.
    assert all(re.fullmatch(r"\d+", version) for version in engine["AllowedValues"])
    assert engine["Default"] in engine["AllowedValues"]
    assert resources["Database"]["Properties"]["EngineVersion"] == {"Ref": "DatabaseEngineVersion"}
    assert resources["Database"]["Properties"]["AutoMinorVersionUpgrade"] is True
    family = resources["DatabaseParameterGroup"]["Properties"]["Family"]
    assert family == {"Fn::Sub": "postgres${DatabaseEngineVersion}"}
    for subnet, parameter, index in (
        ("PrivateSubnetA", "AvailabilityZoneA", 0),
        ("PrivateSubnetB", "AvailabilityZoneB", 1),
    ):
        _, given, default = resources[subnet]["Properties"]["AvailabilityZone"]["Fn::If"]
        assert given == {"Ref": parameter}
        assert default == {"Fn::Select": [index, {"Fn::GetAZs": ""}]}
        assert sam_template["Parameters"][parameter]["Default"] == ""


def test_the_stack_policy_refuses_to_replace_what_holds_data(resources: dict[str, Any]) -> None:
    policy = json.loads((REPO_ROOT / "docs" / "stack-policy.json").read_text(encoding="utf-8"))
    denied = {
        resource.removeprefix("LogicalResourceId/")
        for statement in policy["Statement"]
        if statement["Effect"] == "Deny" and "Update:Replace" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    # Everything that keeps data (a snapshot or the resource itself) on replacement, and nothing unknown.
    keeps_data = {
        name for name, resource in resources.items() if resource.get("UpdateReplacePolicy") in ("Snapshot", "Retain")
    }
    assert keeps_data == {"Database", "UserPool"}
    assert denied == keeps_data


def test_only_the_functions_and_the_proxy_reach_the_database_on_5432(resources: dict[str, Any]) -> None:
    assert "SecurityGroupIngress" not in resources["DatabaseSecurityGroup"]["Properties"]
    ingress = [
        rule["Properties"]
        for rule in of_type(resources, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Ref": "DatabaseSecurityGroup"}
    ]
    assert {next(references(rule["SourceSecurityGroupId"])) for rule in ingress} == {
        "FunctionSecurityGroup",
        "ProxySecurityGroup",
    }
    for rule in ingress:
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5432, 5432)
        assert "CidrIp" not in rule


def test_the_vpc_has_no_route_to_the_internet_but_the_endpoints_it_needs(resources: dict[str, Any]) -> None:
    for type_name in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::Route"):
        assert of_type(resources, type_name) == {}, type_name
    endpoints = {
        resource["Properties"]["ServiceName"]["Fn::Sub"]: resource["Properties"]
        for resource in of_type(resources, "AWS::EC2::VPCEndpoint").values()
    }
    assert endpoints["com.amazonaws.${AWS::Region}.s3"]["VpcEndpointType"] == "Gateway"
    secrets = endpoints["com.amazonaws.${AWS::Region}.secretsmanager"]
    assert secrets["VpcEndpointType"] == "Interface"
    assert secrets["PrivateDnsEnabled"] is True


def test_idempotency_records_need_no_store_of_their_own(resources: dict[str, Any]) -> None:
    # They live in Postgres, written in the same transaction as the row they answer for.
    assert of_type(resources, "AWS::DynamoDB::Table") == {}
    services = {
        resource["Properties"]["ServiceName"]["Fn::Sub"]
        for resource in of_type(resources, "AWS::EC2::VPCEndpoint").values()
    }
    assert not any("dynamodb" in service for service in services)
    for name in ALL_FUNCTIONS:
        assert "IDEMPOTENCY_TABLE" not in resources[name]["Properties"]["Environment"]["Variables"], name


def test_the_rds_proxy_is_optional_and_used_only_by_the_api_functions(resources: dict[str, Any]) -> None:
    for name in ("DatabaseProxy", "DatabaseProxyTargetGroup", "ProxyRole", "ProxySecurityGroup"):
        assert resources[name]["Condition"] == "UseRdsProxy", name
    for name in API_FUNCTIONS:
        host = resources[name]["Properties"]["Environment"]["Variables"]["POSTGRES_HOST_OVERRIDE"]
        assert host["Fn::If"][0] == "UseRdsProxy", name
    migrate_host = resources["MigrateFunction"]["Properties"]["Environment"]["Variables"]["POSTGRES_HOST_OVERRIDE"]
    assert migrate_host == {"Fn::GetAtt": ["Database", "Endpoint.Address"]}


def test_database_connections_are_bounded(sam_template: Template, resources: dict[str, Any]) -> None:
    # Postgres closes idle sessions, so frozen or discarded environments give their slot back.
    parameters = resources["DatabaseParameterGroup"]["Properties"]["Parameters"]
    assert parameters["idle_session_timeout"] == {"Ref": "DatabaseIdleSessionTimeoutMs"}
    timeout_ms = sam_template["Parameters"]["DatabaseIdleSessionTimeoutMs"]["Default"]
    assert 30_000 < timeout_ms <= 15 * 60_000
    # Reserved concurrency caps each API function's environments, when the parameter asks for it.
    for name in API_FUNCTIONS:
        assert resources[name]["Properties"]["ReservedConcurrentExecutions"] == {
            "Fn::If": ["ReserveConcurrency", {"Ref": "FunctionReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
        }, name
    assert resources["MigrateFunction"]["Properties"]["ReservedConcurrentExecutions"] == {"Ref": "AWS::NoValue"}
    assert sam_template["Parameters"]["FunctionReservedConcurrency"]["Default"] == 0
    # With the proxy: a share of max_connections, and a borrow wait shorter than the function's timeout.
    pool = resources["DatabaseProxyTargetGroup"]["Properties"]["ConnectionPoolConfigurationInfo"]
    assert pool["MaxConnectionsPercent"] < 100
    assert pool["ConnectionBorrowTimeout"] < min(resources[name]["Properties"]["Timeout"] for name in API_FUNCTIONS)


# ---------------------------------------------------------------- observability

ALARM_TOPIC_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def alarm_metrics(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, metric name) pairs that an alarm watches, directly or through metric math."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return {(str(properties["Namespace"]), properties["MetricName"])}
    return {
        (str(query["MetricStat"]["Metric"]["Namespace"]), query["MetricStat"]["Metric"]["MetricName"])
        for query in properties["Metrics"]
        if "MetricStat" in query
    }


def test_api_access_logs_are_json_in_a_group_with_a_retention(resources: dict[str, Any]) -> None:
    (stage,) = of_type(resources, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["AccessLogSettings"]
    fields = json.loads(settings["Format"])
    assert {"requestId", "routeKey", "status", "responseLatency", "integrationError", "authorizerError"} <= set(fields)
    (group,) = references(settings["DestinationArn"])
    assert resources[group]["Type"] == "AWS::Logs::LogGroup"
    assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_the_api_functions_publish_metrics_under_one_namespace(resources: dict[str, Any]) -> None:
    namespace = resources["ListSessionsFunction"]["Properties"]["Environment"]["Variables"][
        "POWERTOOLS_METRICS_NAMESPACE"
    ]
    for name in API_FUNCTIONS:
        assert resources[name]["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == namespace
    # One namespace per stack: dev's errors must not move prod's alarms in a shared account.
    assert namespace == {"Fn::Sub": "LearningSessions/${AWS::StackName}"}
    dashboard = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    assert "{" + namespace["Fn::Sub"] + "," in dashboard
    release_alarm = resources["ReleaseServerErrorsAlarm"]["Properties"]
    assert release_alarm["Namespace"] == namespace
    assert release_alarm["MetricName"] == "ServerErrors"


def test_the_powertools_tracer_is_a_switch_read_by_the_settings_and_off_by_default(translated: Template) -> None:
    parameter = translated["Parameters"]["EnableTracer"]
    # Off unless asked for: it costs cold-start time and every request (docs/deploying.md, Tracing).
    assert parameter["Default"] == "false"
    assert sorted(parameter["AllowedValues"]) == ["false", "true"]
    variable = Settings.model_fields["enable_tracer"].alias
    assert variable == "ENABLE_TRACER"
    for name in API_FUNCTIONS:
        properties = translated["Resources"][name]["Properties"]
        assert properties["Environment"]["Variables"][variable] == {"Ref": "EnableTracer"}, name
        # Lambda's own segments are recorded whatever the switch says.
        assert properties["TracingConfig"] == {"Mode": "Active"}, name


def test_alarms_cover_the_api_the_functions_and_the_database_and_notify_the_topic(
    resources: dict[str, Any],
) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    watched = set().union(*(alarm_metrics(alarm) for alarm in alarms.values()))
    assert {
        ("AWS/ApiGateway", "5xx"),
        ("AWS/ApiGateway", "Latency"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Errors"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
    } <= watched
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == ALARM_TOPIC_ACTIONS, name
        assert alarm["Properties"]["OKActions"] == ALARM_TOPIC_ACTIONS, name
    assert alarms["ApiLatencyP99Alarm"]["Properties"]["ExtendedStatistic"] == "p99"
    # The function alarms add up every API function, not just one.
    for name in ("FunctionErrorsAlarm", "FunctionThrottlesAlarm"):
        summed = {
            next(references(query["MetricStat"]["Metric"]["Dimensions"][0]["Value"]))
            for query in alarms[name]["Properties"]["Metrics"]
            if "MetricStat" in query
        }
        assert summed == set(API_FUNCTIONS), name


def test_the_dashboard_shows_every_api_function_and_the_database(resources: dict[str, Any]) -> None:
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    assert json.loads(body)["widgets"]
    for name in (*API_FUNCTIONS, "Database", "SessionsApi"):
        assert "${" + name + "}" in body, name


def test_the_database_grows_its_storage_and_has_insights_and_an_optional_standby(resources: dict[str, Any]) -> None:
    properties = resources["Database"]["Properties"]
    assert properties["MaxAllocatedStorage"] == {"Ref": "DatabaseMaxAllocatedStorage"}
    assert properties["EnablePerformanceInsights"] == {"Ref": "EnablePerformanceInsights"}
    assert properties["MultiAZ"] == {"Ref": "DatabaseMultiAz"}


# ---------------------------------------------------------------- IAM


def policy_statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties["PolicyDocument"]]
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield name, statement


def test_no_policy_grants_wildcards_on_secrets(resources: dict[str, Any]) -> None:
    statements = list(policy_statements(resources))
    assert statements
    for name, statement in statements:
        actions = [action.lower() for action in as_list(statement.get("Action", []))]
        assert "*" not in actions, name
        assert "secretsmanager:*" not in actions, name
        if any(action.startswith("secretsmanager:") for action in actions):
            assert actions == ["secretsmanager:getsecretvalue"], name
            assert set(map(json.dumps, as_list(statement["Resource"]))) <= {
                json.dumps(SECRET_ARN),
                json.dumps(APP_SECRET_ARN),
            }, name
        assert "NotAction" not in statement, name
        assert "NotResource" not in statement, name


def test_each_function_may_read_that_one_secret_and_nothing_more(resources: dict[str, Any]) -> None:
    # Idempotency-Key records live in Postgres, in the row's own transaction: no function needs DynamoDB.
    for name in ALL_FUNCTIONS:
        (role,) = references(resources[name]["Properties"]["Role"])
        properties = resources[role]["Properties"]
        assert set(properties["ManagedPolicyArns"]) <= ALLOWED_MANAGED_POLICIES, name
        statements = [
            statement
            for policy in properties["Policies"]
            for statement in as_list(policy["PolicyDocument"]["Statement"])
        ]
        expected: list[dict[str, Any]] = [
            {
                "Sid": "ReadDatabaseSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": [SECRET_ARN, APP_SECRET_ARN] if name == "MigrateFunction" else APP_SECRET_ARN,
            }
        ]
        assert statements == expected, name


# ---------------------------------------------------------------- the linters themselves


def test_the_translated_template_is_cfn_lint_clean(translated: Template) -> None:
    assert [str(finding) for finding in cfn_lint(translated)] == []


def test_cfn_lint_catches_a_broken_copy(sam_template: Template) -> None:
    broken = copy.deepcopy(sam_template)
    properties = broken["Resources"]["ListSessionsFunction"]["Properties"]
    properties["Timeout"] = 1000
    # A misspelt resource whose name starts with a real one: `sam validate --lint` lets it through.
    properties["Environment"] = {"Variables": {"BROKEN": {"Fn::GetAtt": ["MigrateFunctionTypo", "Arn"]}}}
    rules = {finding.rule for finding in cfn_lint(translate(broken))}
    assert {"E1010", "E3717"} <= rules


@pytest.mark.slow
def test_sam_validate_lint_is_clean() -> None:
    assert [str(finding) for finding in sam_validate_lint()] == []
