"""Consumer-driven contracts for a fleet: Pact consumer helpers, provider verification
through the fleet lifecycle, readable mismatches, a verification matrix with can-i-deploy,
pact-vs-OpenAPI checks and OpenAPI breaking-change checks. No pytest in here: the plugin
(``harness.pytest.contracts``) and the CLI only adapt it.
"""

from harness.contracts.consumer import PactBook, WrittenPact
from harness.contracts.errors import BrokerError, ContractError, ContractsFileError, PactFileError
from harness.contracts.evolution import Change, diff
from harness.contracts.matrix import Matrix, MatrixRow, Verdict, can_i_deploy
from harness.contracts.matrix_notes import MatrixNotes
from harness.contracts.messages import MessageRequest, ProducedMessage, Producers
from harness.contracts.mismatches import Mismatch
from harness.contracts.openapi_check import Drift, check_pact
from harness.contracts.pactfile import Interaction, InteractionKind, PactFile, load_pacts, read_pact
from harness.contracts.session import ContractPlan, ContractSession, EvolutionResult, make_plan
from harness.contracts.settings import ContractsSettings, load_settings
from harness.contracts.states import ProviderStateBridge
from harness.contracts.verification import InteractionResult, ProviderVerification, verify_provider
from harness.contracts.versions import current_version

__all__ = [
    "BrokerError",
    "Change",
    "ContractError",
    "ContractPlan",
    "ContractSession",
    "ContractsFileError",
    "ContractsSettings",
    "Drift",
    "EvolutionResult",
    "Interaction",
    "InteractionKind",
    "InteractionResult",
    "Matrix",
    "MatrixNotes",
    "MatrixRow",
    "MessageRequest",
    "Mismatch",
    "PactBook",
    "PactFile",
    "PactFileError",
    "ProducedMessage",
    "Producers",
    "ProviderStateBridge",
    "ProviderVerification",
    "Verdict",
    "WrittenPact",
    "can_i_deploy",
    "check_pact",
    "current_version",
    "diff",
    "load_pacts",
    "load_settings",
    "make_plan",
    "read_pact",
    "verify_provider",
]
