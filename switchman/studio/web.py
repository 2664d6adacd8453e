"""The studio's HTTP surface: sign-in, server-rendered pages and htmx fragments under ``/studio``.

Pages are Jinja2 templates rendered from the same service calls the REST API makes; what a page
changes (traffic, keys, test calls) its script sends to the REST API itself, so Save does exactly
what `switchman online-endpoint update` does. A request without a valid session gets the sign-in
page (401) and no data. Static files (our CSS/JS and the vendored htmx and uPlot builds) carry no
data and need no session.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.staticfiles import StaticFiles

from switchman.controlplane.platform import Platform
from switchman.studio import views
from switchman.studio.sessions import COOKIE, SESSION_TTL_S, Session, StudioSessions

HERE = Path(__file__).parent
STATIC = HERE / "static"
# The browser enforces what the pages may load: our own files only, no inline script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NAV = (
    ("endpoints", "Endpoints", "/studio/"),
    ("jobs", "Batch jobs", "/studio/jobs"),
    ("cost", "Cost", "/studio/cost"),
    ("assets", "Assets", "/studio/assets"),
)

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["when"] = views.when
templates.filters["pct"] = views.pct
pages = APIRouter(prefix="/studio", include_in_schema=False)


def own_origin(request: Request) -> str:
    """``scheme://host[:port]`` as the browser addressed this server (for the Origin check)."""
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _session(request: Request) -> Session | None:
    sessions: StudioSessions = request.app.state.studio
    return sessions.lookup(request.cookies.get(COOKIE))


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=SECURITY_HEADERS)


def render(
    request: Request, name: str, session: Session | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    page = templates.get_template(name).render(
        csrf=session.csrf if session else "", nav=NAV, signed_in=session is not None, **ctx
    )
    return _html(page, status)


def signed_out(request: Request, message: str | None = None) -> HTMLResponse:
    return render(
        request,
        "signed_out.html",
        None,
        status=401,
        title="Sign in",
        section="",
        message=message
        or "You are not signed in. Run `switchman studio` and open the link it prints.",
    )


def not_found(request: Request, session: Session, what: str) -> HTMLResponse:
    return render(
        request, "not_found.html", session, status=404, title="Not found", section="", what=what
    )


@pages.get("", include_in_schema=False)
def studio_root() -> RedirectResponse:
    return RedirectResponse("/studio/", status_code=307)


@pages.get("/sign-in")
def sign_in(request: Request, token: str = "") -> Response:
    sessions: StudioSessions = request.app.state.studio
    redeemed = sessions.redeem(token) if token else None
    if redeemed is None:
        return signed_out(
            request,
            "This sign-in link was already used or has expired (links work once, for ten "
            "minutes). Run `switchman studio` for a new one.",
        )
    session_token, _ = redeemed
    response = RedirectResponse("/studio/", status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        COOKIE,
        session_token,
        max_age=int(SESSION_TTL_S),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@pages.post("/sign-out")
def sign_out(request: Request) -> Response:
    sessions: StudioSessions = request.app.state.studio
    from switchman.controlplane.api import studio_session

    if studio_session(request):  # CSRF-checked: a foreign page cannot sign you out
        sessions.end(request.cookies.get(COOKIE))
    response = PlainTextResponse("signed out", headers=SECURITY_HEADERS)
    response.delete_cookie(COOKIE, path="/")
    return response


@pages.get("/")
def endpoints_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return signed_out(request)
    rows = views.endpoint_rows(_platform(request), time.time())
    return render(
        request, "endpoints.html", session, title="Endpoints", section="endpoints", rows=rows
    )


@pages.get("/fragments/endpoint-rows")
def endpoint_rows_fragment(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _html("", 401)
    rows = views.endpoint_rows(_platform(request), time.time())
    return render(request, "_endpoint_rows.html", session, rows=rows)


TABS = (
    ("overview", "Traffic", ""),
    ("test", "Test", "/test"),
    ("consume", "Consume", "/consume"),
    ("metrics", "Metrics", "/metrics"),
    ("traffic-log", "Traffic log", "/traffic-log"),
)


def _endpoint_page(request: Request, name: str, tab: str, **extra: Any) -> Response:
    session = _session(request)
    if session is None:
        return signed_out(request)
    p = _platform(request)
    record = p.store.find_endpoint(name)
    if record is None:
        return not_found(request, session, f"online endpoint {name!r}")
    context = views.endpoint_detail(p, record)
    context["rollout"] = views.rollout_of(request.app.state, name)
    return render(
        request,
        "endpoint.html",
        session,
        title=name,
        section="endpoints",
        tab=tab,
        tabs=TABS,
        **context,
        **extra,
    )


@pages.get("/endpoints/{name}")
def endpoint_page(request: Request, name: str) -> Response:
    return _endpoint_page(request, name, "overview")


@pages.get("/endpoints/{name}/test")
def endpoint_test(request: Request, name: str) -> Response:
    return _endpoint_page(request, name, "test")


@pages.get("/endpoints/{name}/consume")
def endpoint_consume(request: Request, name: str) -> Response:
    return _endpoint_page(request, name, "consume")


@pages.get("/endpoints/{name}/metrics")
def endpoint_metrics(request: Request, name: str, window: str = "15m") -> Response:
    from switchman.studio.telemetry import WINDOWS

    chosen = window if window in WINDOWS else "15m"
    return _endpoint_page(request, name, "metrics", window=chosen, windows=list(WINDOWS))


@pages.get("/endpoints/{name}/traffic-log")
def endpoint_traffic(
    request: Request,
    name: str,
    deployment: str = "",
    status: str = "",
    since: str = "1h",
) -> Response:
    session = _session(request)
    if session is None:
        return signed_out(request)
    p = _platform(request)
    if p.store.find_endpoint(name) is None:
        return not_found(request, session, f"online endpoint {name!r}")
    filters = views.traffic_filters(deployment, status, since)
    rows = views.traffic_rows(p, name, filters, time.time())
    return _endpoint_page(request, name, "traffic-log", log_rows=rows, filters=filters)


@pages.get("/endpoints/{endpoint}/deployments/{name}")
def deployment_page(request: Request, endpoint: str, name: str) -> Response:
    session = _session(request)
    if session is None:
        return signed_out(request)
    p = _platform(request)
    record = p.store.find_deployment(endpoint, name)
    if record is None:
        return not_found(request, session, f"deployment {name!r} of endpoint {endpoint!r}")
    return render(
        request,
        "deployment.html",
        session,
        title=f"{endpoint} / {name}",
        section="endpoints",
        **views.deployment_detail(p, record),
    )


@pages.get("/fragments/instances/{endpoint}/{name}")
def instances_fragment(request: Request, endpoint: str, name: str) -> Response:
    session = _session(request)
    if session is None:
        return _html("", 401)
    p = _platform(request)
    record = p.store.find_deployment(endpoint, name)
    if record is None:
        return _html("<p>This deployment no longer exists.</p>", 404)
    return render(request, "_instances.html", session, **views.deployment_detail(p, record))


@pages.get("/fragments/logs/{endpoint}/{name}")
def logs_fragment(
    request: Request,
    endpoint: str,
    name: str,
    container: str = "inference-server",
    lines: int = 300,
) -> Response:
    session = _session(request)
    if session is None:
        return PlainTextResponse("", status_code=401, headers=SECURITY_HEADERS)
    p = _platform(request)
    if p.store.find_deployment(endpoint, name) is None:
        return PlainTextResponse("(deployment deleted)", status_code=404, headers=SECURITY_HEADERS)
    if container not in ("inference-server", "storage-initializer"):
        container = "inference-server"
    text = p.service.logs(endpoint, name, container, max(1, min(lines, 5000)), p.backend.read_log)
    return PlainTextResponse(text["text"] or "(no output yet)", headers=SECURITY_HEADERS)


@pages.get("/jobs")
def jobs_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return signed_out(request)
    return render(request, "jobs.html", session, title="Batch jobs", section="jobs")


def _job(request: Request, name: str) -> tuple[Any, dict[str, Any]] | None:
    """The batch service and the job's view; None when there is no batch part or no such job."""
    try:
        from switchman.controlplane.api_batch import batch_of
    except ModuleNotFoundError:
        return None
    batch = batch_of(_platform(request))
    record = batch.store.find_job(name)
    return (batch, batch.service.job_view(record)) if record is not None else None


@pages.get("/jobs/{name}")
def job_page(request: Request, name: str) -> Response:
    session = _session(request)
    if session is None:
        return signed_out(request)
    found = _job(request, name)
    if found is None:
        return not_found(request, session, f"batch job {name!r}")
    batch, job = found
    files = batch.service.files(name, True, None)
    return render(
        request,
        "job.html",
        session,
        title=f"Job {name}",
        section="jobs",
        job=job,
        **views.job_files(files),
    )


@pages.get("/fragments/job/{name}")
def job_fragment(request: Request, name: str) -> Response:
    session = _session(request)
    if session is None:
        return _html("", 401)
    found = _job(request, name)
    if found is None:
        return _html("<p>This job no longer exists.</p>", 404)
    return render(request, "_job_progress.html", session, job=found[1])


@pages.get("/jobs/{name}/download")
def job_download(request: Request, name: str, path: str) -> Response:
    """One file of the job (what `job download --all` writes), as an attachment."""
    session = _session(request)
    if session is None:
        return PlainTextResponse("", status_code=401, headers=SECURITY_HEADERS)
    found = _job(request, name)
    files = found[0].service.files(name, True, None) if found else {}
    if path not in files:
        return PlainTextResponse(
            f"Job {name!r} has no file {path!r}.", status_code=404, headers=SECURITY_HEADERS
        )
    leaf = path.rsplit("/", 1)[-1].replace('"', "")
    return Response(
        files[path],
        media_type="application/octet-stream",
        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{leaf}"'},
    )


@pages.get("/cost")
def cost_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return signed_out(request)
    from switchman.controlplane.cost import cost_report

    p = _platform(request)
    report = cost_report(p.store, p.home, time.time())
    return render(request, "cost.html", session, title="Cost", section="cost", report=report)


@pages.get("/assets")
def assets_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return signed_out(request)
    return render(
        request,
        "assets.html",
        session,
        title="Assets",
        section="assets",
        **views.asset_lists(_platform(request)),
    )


def mount(app: FastAPI, platform: Platform) -> None:
    """Serve the studio from this control plane: sessions, pages, static files."""
    app.state.studio = StudioSessions(platform.home.db_path)
    app.include_router(pages)
    app.mount("/studio/static", StaticFiles(directory=STATIC), name="studio-static")
