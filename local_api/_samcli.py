"""Every aws-sam-cli internal this package relies on, imported in one place.

None of these are a public API of aws-sam-cli, so tests/e2e/local_api/test_samcli_contract.py pins
their names and signatures: an upgrade that moves or reshapes them fails there, loudly, instead
of at the first request.
"""

from samcli.commands.exceptions import UserException
from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
from samcli.commands.validate.lib.exceptions import InvalidSamDocumentException
from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.apigw.event_constructor import construct_v2_event_http
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.apigw.path_converter import PathConverter
from samcli.local.apigw.route import Route

__all__ = [
    "ApiProvider",
    "IntrinsicResolver",
    "IntrinsicsSymbolTable",
    "InvalidSamDocumentException",
    "LocalApigwService",
    "LocalLambdaRunner",
    "PathConverter",
    "Route",
    "SamFunctionProvider",
    "SamLocalStackProvider",
    "StreamWriter",
    "UserException",
    "construct_v2_event_http",
]
