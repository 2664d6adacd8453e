"""The control-plane API fuzzed with schemathesis from its own OpenAPI document, against a real
control plane: no 5xx for any generated request with the admin token, and no success without it.

Bounded: ``SWITCHMAN_FUZZ_EXAMPLES`` examples per operation (a few in `make test`, many in
`make fuzz`), derandomized so a failure reproduces. Operations whose bodies name server-side paths
to snapshot (deployments, models, environments) are fuzzed only unauthenticated: a random path
like ``/`` would copy a whole file system into the home (the API trusts its admin, who runs as the
same user anyway).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests.support.platform import Platform, running_platform  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = int(os.environ.get("SWITCHMAN_FUZZ_EXAMPLES", "4"))
PUBLIC = {("GET", "/api/v1/health")}
# bodies that name server-side folders to upload, or that stop the platform's instances
PATH_TAKING = {
    ("POST", "/api/v1/online-endpoints/{endpoint}/deployments"),
    ("PUT", "/api/v1/online-endpoints/{endpoint}/deployments/{name}"),
    ("POST", "/api/v1/{segment}"),
    ("POST", "/api/v1/admin/stop-instances"),
}


@pytest.fixture(scope="module")
def fuzz_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("fuzz-home")) as platform:
        yield platform


@pytest.fixture(scope="module")
def operations(fuzz_platform: Platform) -> list[Any]:
    url = fuzz_platform.server()["api_url"]
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) >= 20  # the whole document, not an empty one
    return ops


def _fuzz(ops: list[Any], skip: set[tuple[str, str]], check: Callable[[Any], str | None]) -> None:
    """Run ``check`` on EXAMPLES generated cases of every operation; fail listing every problem."""
    problems: list[str] = []
    for op in ops:
        if (op.method.upper(), op.path) in skip:
            continue

        @given(op.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            problem = check(case)
            if problem and len(problems) < 50:
                problems.append(problem)

        run()
    assert problems == [], "\n".join(problems)


def test_no_request_without_the_admin_token_succeeds(operations: list[Any]) -> None:
    def check(case: Any) -> str | None:
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        response = case.call(headers=headers, timeout=15)
        # 401; or 400 for a body that is not JSON at all (parsed before the token is checked)
        if response.status_code in (400, 401):
            return None
        return (
            f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:200]}"
        )

    _fuzz(operations, PUBLIC, check)


def test_no_request_with_the_admin_token_is_a_server_error(
    operations: list[Any], fuzz_platform: Platform
) -> None:
    token = (fuzz_platform.home / "admin-token").read_text().strip()

    def check(case: Any) -> str | None:
        response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=15)
        if response.status_code < 500:
            return None
        return (
            f"{case.method} {case.formatted_path} body={getattr(case, 'body', None)!r:.200} → "
            f"{response.status_code}: {response.text[:300]}"
        )

    _fuzz(operations, PATH_TAKING, check)
