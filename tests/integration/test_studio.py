"""The studio in a real headless Chromium against a real platform (issue #15).

`switchman up` in a temporary home (router roll-ups every second so charts fill quickly), the
example blue/green deployments, then a browser signs in with the URL `switchman studio` prints
and uses the pages as a person would: keyboard on the traffic slider, Save, the Test tab, charts,
live logs. Screenshots of every page go to $SWITCHMAN_STUDIO_SCREENSHOTS (docs/studio/ when the
README's pictures are refreshed), else to a temporary folder.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.batch import deploy as deploy_batch
from tests.support.batch import invoke, numbers, project, wait
from tests.support.browser import PHONE, Console, chromium, playwright
from tests.support.platform import Platform, running_platform
from tests.support.proc import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REQUEST = json.dumps({"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]})
EP = "my-endpoint"
ECHO = "echo-endpoint"  # a script that prints: the logs test looks for its own lines
TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "studio"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory, example_dir: Path) -> Iterator[Platform]:
    home = tmp_path_factory.mktemp("studio-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWITCHMAN_METRICS_INTERVAL", "1")  # inherited by the router `up` starts
        with running_platform(home) as platform:
            platform.run("online-endpoint", "create", "-f", str(example_dir / "endpoint.yml"))
            platform.run(
                "online-deployment",
                "create",
                "-f",
                str(example_dir / "blue-deployment.yml"),
                "--all-traffic",
            )
            platform.run(
                "online-deployment", "create", "-f", str(example_dir / "green-deployment.yml")
            )
            platform.run("online-endpoint", "create", "-f", str(TESTDATA / "endpoint.yml"))
            platform.run(
                "online-deployment",
                "create",
                "-f",
                str(TESTDATA / "echo-deployment.yml"),
                "--all-traffic",
            )
            yield platform


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("SWITCHMAN_STUDIO_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def console() -> Console:
    return Console()


@pytest.fixture(scope="module")
def pw() -> Iterator[Any]:
    with playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(pw: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(pw, tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture(scope="module")
def page(browser: Any, console: Console) -> Any:
    return console.watch(browser.new_page())


def sign_in_url(platform: Platform) -> str:
    return platform.run("studio").stdout.strip()


def base(platform: Platform) -> str:
    return str(platform.json("status")["studio_url"])


def score(platform: Platform, count: int, endpoint: str = EP) -> None:
    key = platform.key(endpoint)
    uri = platform.json("online-endpoint", "show", "-n", endpoint)["scoring_uri"]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with httpx.Client(trust_env=False, timeout=30) as client:
        for _ in range(count):
            assert client.post(uri, content=REQUEST, headers=headers).status_code == 200


def test_status_has_the_studio_url_without_credentials(studio: Platform) -> None:
    status = studio.json("status")
    assert status["studio_url"] == studio.server()["api_url"] + "/studio/"
    link = sign_in_url(studio)
    assert link.startswith(status["studio_url"] + "sign-in?token=")
    assert "token" not in status["studio_url"]


def test_sign_in_sets_a_strict_http_only_cookie_and_lists_endpoints(
    studio: Platform, browser: Any, page: Any, shots: Path
) -> None:
    page.goto(sign_in_url(studio))
    assert page.url == base(studio)  # the token is gone from the address bar
    [cookie] = [c for c in browser.cookies() if c["name"] == "switchman_studio"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    row = page.locator('#online-endpoints tr[data-endpoint="my-endpoint"]')
    row.wait_for()
    text = row.inner_text()
    assert "key" in text and "Succeeded" in text and "blue 100%" in text and "green 0%" in text
    scoring_uri = studio.json("online-endpoint", "show", "-n", EP)["scoring_uri"]
    assert scoring_uri in text
    page.locator("#batch-endpoints .empty-state").wait_for()
    page.screenshot(path=str(shots / "endpoints.png"), full_page=True)


def test_a_sign_in_link_works_once(studio: Platform, pw: Any, tmp_path: Path) -> None:
    link = sign_in_url(studio)
    with chromium(pw, tmp_path / "first") as first:
        assert first.new_page().goto(link).status == 200
    with chromium(pw, tmp_path / "second") as second:
        again = second.new_page()
        response = again.goto(link)
        assert response.status == 401
        assert "already used or has expired" in again.inner_text("#signed-out-message")
        assert second.cookies() == []


def test_a_page_without_a_session_shows_no_data(studio: Platform, pw: Any, tmp_path: Path) -> None:
    root = base(studio)
    with chromium(pw, tmp_path / "anonymous") as context:
        anonymous = context.new_page()
        for path in ("", "endpoints/my-endpoint", "endpoints/my-endpoint/deployments/blue", "cost"):
            response = anonymous.goto(root + path)
            assert response.status == 401
            body = anonymous.inner_text("body")
            assert "my-endpoint" not in body and "blue" not in body
            assert "switchman studio" in body
        for path in (
            "/api/online-endpoints",
            f"/api/online-endpoints/{EP}",
            "/api/monitor/cost",
            f"/api/studio/online-endpoints/{EP}/metrics",
        ):
            answer = context.request.get(studio.server()["api_url"] + path)
            assert answer.status == 401
            assert "my-endpoint" not in answer.text()
        fragment = context.request.get(root + "fragments/endpoint-rows")
        assert fragment.status == 401 and fragment.text() == ""


def test_a_change_without_the_csrf_token_is_refused(studio: Platform, page: Any) -> None:
    spec = {"name": EP, "traffic": {"blue": 0, "green": 100}}
    api = studio.server()["api_url"]
    refused = page.request.put(f"{api}/api/online-endpoints/{EP}", data={"spec": spec})
    assert refused.status == 401 and "CSRF" in refused.json()["message"]
    csrf = page.get_attribute('meta[name="csrf-token"]', "content")
    foreign = page.request.put(
        f"{api}/api/online-endpoints/{EP}",
        data={"spec": spec},
        headers={"X-CSRF-Token": csrf, "Origin": "http://evil.localhost"},
    )
    assert foreign.status == 401
    assert studio.json("online-endpoint", "show", "-n", EP)["traffic"] == {"blue": 100, "green": 0}


def test_moving_the_slider_and_saving_changes_what_show_returns(
    studio: Platform, page: Any, shots: Path
) -> None:
    page.goto(base(studio) + f"endpoints/{EP}")
    green = page.locator("#traffic-green")
    green.focus()  # keyboard: the slider is a reachable, labelled control
    for _ in range(30):
        page.keyboard.press("ArrowRight")
    assert page.input_value("#traffic-green") == "30"
    assert page.input_value("#traffic-blue") == "70"
    assert page.inner_text("#traffic-sum") == "100"
    page.get_by_role("button", name="Save").click()
    page.locator("#traffic-message.ok").wait_for()
    assert "blue=70 green=30" in page.inner_text("#traffic-message")
    assert studio.json("online-endpoint", "show", "-n", EP)["traffic"] == {"blue": 70, "green": 30}
    page.screenshot(path=str(shots / "endpoint-traffic.png"), full_page=True)


def test_a_rejected_change_shows_the_cli_message(studio: Platform, page: Any) -> None:
    page.goto(base(studio) + f"endpoints/{EP}")
    page.fill("#traffic-blue", "100")
    page.dispatch_event("#traffic-blue", "input")
    page.fill("#mirror-green", "60")
    page.dispatch_event("#mirror-green", "input")
    page.get_by_role("button", name="Save").click()
    page.locator("#traffic-message.error").wait_for()
    shown = page.inner_text("#traffic-message")
    cli = studio.run(
        "online-endpoint",
        "update",
        "-n",
        EP,
        "--traffic",
        "blue=100 green=0",
        "--mirror-traffic",
        "green=60",
        check=False,
    )
    assert cli.returncode != 0
    assert "at most 50 percent can be mirrored" in shown
    assert "at most 50 percent can be mirrored" in cli.stderr
    assert studio.json("online-endpoint", "show", "-n", EP)["traffic"] == {"blue": 70, "green": 30}


def test_the_test_tab_returns_a_prediction(studio: Platform, page: Any, shots: Path) -> None:
    page.goto(base(studio) + f"endpoints/{EP}/test")
    page.fill("#test-body", REQUEST)
    page.select_option("#test-deployment", "blue")
    page.get_by_role("button", name="Send").click()
    page.locator("#test-result:not([hidden])").wait_for()
    assert page.inner_text("#test-status") == "200"
    predictions = json.loads(page.inner_text("#test-response"))
    assert len(predictions) == 2 and all(isinstance(p, float) for p in predictions)
    headers = page.text_content("#test-headers") or ""  # inside a closed <details>
    assert "azureml-model-deployment" in headers and "blue" in headers
    page.screenshot(path=str(shots / "endpoint-test.png"), full_page=True)


def test_the_consume_tab_reveals_keys_into_the_snippets(
    studio: Platform, page: Any, shots: Path
) -> None:
    page.goto(base(studio) + f"endpoints/{EP}/consume")
    assert "Bearer <your-key>" in page.inner_text("#snippet-curl")
    page.screenshot(path=str(shots / "endpoint-consume.png"), full_page=True)  # keys hidden
    page.get_by_role("button", name="Reveal keys").click()
    key = studio.key(EP)
    page.wait_for_function("k => document.getElementById('key-primary').textContent === k", arg=key)
    assert f"Bearer {key}" in page.inner_text("#snippet-curl")
    assert f'KEY = "{key}"' in page.inner_text("#snippet-python")
    regenerate = page.locator("#regenerate-secondary")
    old_secondary = studio.json("online-endpoint", "get-credentials", "-n", EP)["secondaryKey"]
    regenerate.click()
    regenerate.click()  # the second click confirms
    page.wait_for_function(
        "k => document.getElementById('key-secondary').textContent.length > 0 && "
        "document.getElementById('key-secondary').textContent !== k",
        arg=old_secondary,
    )
    fresh = studio.json("online-endpoint", "get-credentials", "-n", EP)["secondaryKey"]
    assert fresh != old_secondary and page.inner_text("#key-secondary") == fresh


def test_charts_render_with_data(studio: Platform, page: Any, shots: Path) -> None:
    score(studio, 20)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the router rolls up every second here
        rows = studio.json(
            "monitor", "metrics", "-e", EP, "--metric-name", "RequestsPerMinute", "--since", "5m"
        )
        if rows:
            break
        time.sleep(0.2)
    assert rows, "no RequestsPerMinute roll-up appeared"
    page.goto(base(studio) + f"endpoints/{EP}/metrics?window=15m")
    for key in ("rpm", "rpm_status", "p50", "p99", "cpu", "memory", "capacity"):
        page.wait_for_function(
            "key => { const c = document.getElementById('chart-' + key);"
            " return c && Number(c.dataset.points) > 0 && c.querySelector('canvas'); }",
            arg=key,
            timeout=30_000,
        )
    legend = page.inner_text("#chart-rpm")
    assert "blue" in legend
    described = page.get_attribute("#chart-rpm .plot", "aria-label") or ""
    assert described.startswith("Requests per minute by deployment, latest: blue ")
    assert "blue 200" in page.inner_text("#chart-rpm_status")
    page.screenshot(path=str(shots / "endpoint-metrics.png"), full_page=True)
    page.goto(base(studio) + f"endpoints/{EP}/metrics?window=24h")
    page.wait_for_function(
        "() => { const c = document.getElementById('chart-rpm');"
        " return c && Number(c.dataset.points) > 0; }"
    )


def test_the_traffic_log_lists_requests_with_filters(
    studio: Platform, page: Any, shots: Path
) -> None:
    page.goto(base(studio) + f"endpoints/{EP}/traffic-log?deployment=blue&status=2xx&since=1h")
    rows = page.locator("#traffic-log tbody tr")
    assert rows.count() >= 1
    assert "blue" in rows.first.inner_text() and "200" in rows.first.inner_text()
    page.goto(base(studio) + f"endpoints/{EP}/traffic-log?status=5xx")
    assert "No requests match" in page.inner_text("#traffic-log")
    page.goto(base(studio) + f"endpoints/{EP}/traffic-log")
    page.screenshot(path=str(shots / "endpoint-traffic-log.png"), full_page=True)


def test_the_deployment_page_tails_the_scripts_logs(
    studio: Platform, page: Any, shots: Path
) -> None:
    page.goto(base(studio) + f"endpoints/{ECHO}/deployments/echo")
    assert "Ready" in page.inner_text("#instances")
    assert "instance_type: Standard_F2s_v2" in page.inner_text("#spec")
    assert "Started" in page.inner_text("#events")
    page.wait_for_function(
        "() => document.getElementById('logs').textContent.includes('studio-echo: init done')"
    )
    score(studio, 1, ECHO)  # tailing: the script's new line shows without a reload
    page.wait_for_function(
        "() => document.getElementById('logs').textContent.includes('studio-echo: scored')",
        timeout=15_000,
    )
    page.select_option("#log-container", "storage-initializer")
    page.wait_for_function(
        "() => !document.getElementById('logs').textContent.includes('studio-echo: scored')"
    )
    page.select_option("#log-container", "inference-server")
    page.wait_for_function(
        "() => document.getElementById('logs').textContent.includes('studio-echo: scored')"
    )
    page.locator("#autoscale .empty-state").wait_for()
    page.screenshot(path=str(shots / "deployment.png"), full_page=True)


def test_cost_page_and_cli_show_the_same_figures(studio: Platform, page: Any, shots: Path) -> None:
    cli = studio.json("monitor", "cost")
    page.goto(base(studio) + "cost")
    table = page.inner_text("#cost-deployments")
    assert {(r["endpoint"], r["deployment"]) for r in cli} == {
        (EP, "blue"),
        (EP, "green"),
        (ECHO, "echo"),
    }
    prices = {"Standard_DS3_v2": 0.293, "Standard_F2s_v2": 0.0846}
    for row in cli:
        assert row["price_per_hour"] == prices[row["instance_type"]]
        assert row["instance_hours_today"] > 0 and row["cost_30d"] > 0
        assert f"{row['price_per_hour']:.4f}" in table
    texts = studio.run("monitor", "cost", "-o", "table").stdout
    assert "Standard_DS3_v2" in texts and "cost_30d" in texts
    assert "Prices taken" in page.inner_text("main")
    page.screenshot(path=str(shots / "cost.png"), full_page=True)


def test_jobs_and_assets_pages(studio: Platform, page: Any, shots: Path) -> None:
    page.goto(base(studio) + "jobs")
    page.locator("#batch-jobs .empty-state").wait_for()
    page.screenshot(path=str(shots / "jobs.png"), full_page=True)
    page.goto(base(studio) + "assets")
    page.locator("#data-assets .empty-state").wait_for()
    assert "No registered models" in page.inner_text("#models")
    page.screenshot(path=str(shots / "assets.png"), full_page=True)


def test_the_autoscale_panel_shows_the_deployments_setting(
    studio: Platform, page: Any, shots: Path
) -> None:
    dep_id = studio.json("online-deployment", "show", "-e", ECHO, "-n", "echo")["id"]
    studio.run(
        "monitor", "autoscale", "create", "--name", "echo-scale", "--resource", dep_id,
        "--min-count", "1", "--max-count", "2", "--count", "1",
    )  # fmt: skip
    page.goto(base(studio) + f"endpoints/{ECHO}/deployments/echo")
    page.locator("#autoscale table").wait_for()
    panel = page.inner_text("#autoscale")
    assert "echo-scale" in panel and "1" in panel and "2" in panel
    assert "AutoscaleSettingCreated" in page.inner_text("#autoscale-history")
    page.wait_for_function(
        "() => document.getElementById('logs').textContent.includes('studio-echo: init done')"
    )
    page.screenshot(path=str(shots / "deployment.png"), full_page=True)


def test_shadow_agreement_shows_beside_the_mirror_slider(studio: Platform, page: Any) -> None:
    studio.run(
        "online-endpoint", "update", "-n", EP, "--traffic", "blue=100 green=0",
        "--mirror-traffic", "green=50",
    )  # fmt: skip
    score(studio, 30)

    def pairs() -> int | None:
        found = studio.json("monitor", "shadow", "-e", EP)
        return found[0]["pairs"] if found and found[0]["pairs"] > 0 else None

    wait_for(pairs, timeout=30, what="shadow pairs")
    page.goto(base(studio) + f"endpoints/{EP}")
    assert page.input_value("#mirror-green") == "50"
    cell = page.locator('.shadow-agreement[data-deployment="green"]')
    page.wait_for_function(
        "() => document.querySelector('.shadow-agreement[data-deployment=\"green\"]')"
        ".textContent.includes('agreement with blue')"
    )
    assert "%" in cell.inner_text()


def test_a_rollout_shows_on_the_endpoint_page(studio: Platform, page: Any, shots: Path) -> None:
    studio.run("online-endpoint", "update", "-n", EP, "--traffic", "blue=100 green=0")
    done = studio.run(
        "online-endpoint", "rollout", "-n", EP, "--to", "green", "--steps", "50,100",
        "--bake", "1s",
    )  # fmt: skip
    assert json.loads(done.stdout)["state"] == "succeeded"
    page.goto(base(studio) + f"endpoints/{EP}")
    assert page.inner_text("#rollout-state") == "succeeded"
    assert "50%" in page.inner_text("#rollout") and "100%" in page.inner_text("#rollout")
    assert page.input_value("#traffic-green") == "100"
    page.screenshot(path=str(shots / "endpoint-rollout.png"), full_page=True)


def test_batch_endpoints_jobs_and_a_jobs_page(
    studio: Platform, page: Any, shots: Path, tmp_path: Path
) -> None:
    folder = project(tmp_path)
    deploy_batch(studio, folder)
    job = invoke(studio, str(numbers(tmp_path / "data", 6)))
    assert wait(studio, job)["status"] == "Completed"
    page.goto(base(studio))
    page.locator("#batch-endpoints table").wait_for()
    assert "numbers" in page.inner_text("#batch-endpoints")
    page.goto(base(studio) + "jobs")
    link = page.get_by_role("link", name=job)
    link.wait_for()
    row = page.locator("#batch-jobs tr", has=link).inner_text()
    assert "Completed" in row and "0 /" in row
    page.screenshot(path=str(shots / "jobs.png"), full_page=True)
    link.click()
    page.wait_for_url(f"**/studio/jobs/{job}")
    assert page.inner_text("#job-status") == "Completed"
    done, failed, total = (int(v) for v in page.inner_text("#job-progress").split(" / "))
    assert (done, failed) == (total, 0) and total > 0
    assert "job_progress_overview.txt" in page.inner_text("main")
    page.screenshot(path=str(shots / "job.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#job-outputs a").first.click()
    saved = tmp_path / "predictions.csv"
    download.value.save_as(saved)
    assert len(saved.read_text().splitlines()) == 6


def test_every_page_loads_without_console_errors(
    studio: Platform, browser: Any, console: Console
) -> None:
    console.errors.clear()
    fresh = console.watch(browser.new_page())
    root = base(studio)
    for path in (
        "",
        f"endpoints/{EP}",
        f"endpoints/{EP}/test",
        f"endpoints/{EP}/consume",
        f"endpoints/{EP}/metrics",
        f"endpoints/{EP}/traffic-log",
        f"endpoints/{EP}/deployments/blue",
        f"endpoints/{ECHO}/deployments/echo",
        "jobs",
        "cost",
        "assets",
    ):
        fresh.goto(root + path)
        fresh.wait_for_load_state("networkidle")
    fresh.close()
    assert console.errors == []


def test_phone_width_has_no_sideways_scrolling(studio: Platform, browser: Any, shots: Path) -> None:
    phone = browser.new_page()
    phone.set_viewport_size(PHONE)
    root = base(studio)
    for path, name in ((f"endpoints/{EP}", "phone-endpoint.png"), ("", "phone-endpoints.png")):
        phone.goto(root + path)
        phone.wait_for_load_state("networkidle")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path or 'endpoints'} is {width}px wide at phone width"
        phone.screenshot(path=str(shots / name), full_page=True)
    phone.close()
