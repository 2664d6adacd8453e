/* Switchman studio: the few behaviours the server-rendered pages need.
   Every call goes to the control plane's REST API with the session cookie; state-changing calls
   carry the session's CSRF token (X-CSRF-Token), which the server checks. */
(function () {
  "use strict";

  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const PALETTE = ["#0a58ca", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d"];

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    return { ok: response.ok, status: response.status, data: data };
  }

  function message(data, fallback) {
    return (data && (data.message || data.detail)) || fallback;
  }

  function show(el, text, kind) {
    if (!el) return;
    el.hidden = false;
    el.textContent = text;
    el.classList.remove("error", "ok");
    if (kind) el.classList.add(kind);
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function (pair) { node.setAttribute(pair[0], pair[1]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* ---- copy buttons ------------------------------------------------------------------------ */
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const from = button.getAttribute("data-copy-from");
    const text = from ? document.getElementById(from).textContent : button.getAttribute("data-copy");
    const done = function (label) {
      const before = button.textContent;
      button.textContent = label;
      setTimeout(function () { button.textContent = before; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("Copied"); }, function () { done("Select and copy"); });
    } else {
      done("Select and copy");
    }
  });

  /* ---- sign out ---------------------------------------------------------------------------- */
  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async function () {
      await fetch("/studio/sign-out", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
      window.location.assign("/studio/");
    });
  }

  /* ---- traffic editor ---------------------------------------------------------------------- */
  // Set slider `index` to `value` and spread the rest over the others in proportion to their
  // current shares (evenly when they are all 0), so live traffic keeps adding up to 100.
  function rebalance(values, index, value) {
    const out = values.slice();
    out[index] = value;
    const others = out.map(function (_, i) { return i; }).filter(function (i) { return i !== index; });
    if (!others.length) return out;
    const rest = 100 - value;
    const sum = others.reduce(function (acc, i) { return acc + values[i]; }, 0);
    let assigned = 0;
    others.forEach(function (i) {
      const share = sum > 0 ? values[i] / sum : 1 / others.length;
      out[i] = Math.floor(rest * share);
      assigned += out[i];
    });
    const order = others.slice().sort(function (a, b) { return values[b] - values[a]; });
    for (let k = 0; assigned < rest; k = (k + 1) % order.length) { out[order[k]] += 1; assigned += 1; }
    return out;
  }
  window.switchmanRebalance = rebalance;  // exposed for the browser tests

  const trafficForm = document.getElementById("traffic-form");
  if (trafficForm) {
    const live = Array.from(trafficForm.querySelectorAll('input[name="traffic"]'));
    const mirror = Array.from(trafficForm.querySelectorAll('input[name="mirror"]'));
    const sumEl = document.getElementById("traffic-sum");
    const note = document.getElementById("traffic-message");
    const render = function () {
      live.concat(mirror).forEach(function (input) {
        document.getElementById(input.id + "-value").textContent = input.value + "%";
      });
      sumEl.textContent = String(live.reduce(function (acc, i) { return acc + Number(i.value); }, 0));
    };
    let previous = live.map(function (i) { return Number(i.value); });
    live.forEach(function (input, index) {
      input.addEventListener("input", function () {
        const next = rebalance(previous, index, Number(input.value));
        next.forEach(function (v, i) { live[i].value = String(v); });
        previous = next;
        render();
      });
    });
    mirror.forEach(function (input) { input.addEventListener("input", render); });
    trafficForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const spec = JSON.parse(document.getElementById("endpoint-spec").textContent);
      spec.traffic = {};
      live.forEach(function (i) { spec.traffic[i.dataset.deployment] = Number(i.value); });
      spec.mirror_traffic = {};
      mirror.forEach(function (i) { if (Number(i.value) > 0) spec.mirror_traffic[i.dataset.deployment] = Number(i.value); });
      const name = trafficForm.dataset.endpoint;
      const result = await api("PUT", "/api/online-endpoints/" + encodeURIComponent(name), { spec: spec });
      if (result.ok) {
        const shown = Object.entries(result.data.traffic || {}).map(function (p) { return p[0] + "=" + p[1]; }).join(" ");
        const mirrored = Object.entries(result.data.mirror_traffic || {}).map(function (p) { return p[0] + "=" + p[1]; }).join(" ");
        show(note, "Saved. Traffic: " + shown + (mirrored ? "; mirror: " + mirrored : ""), "ok");
        previous = live.map(function (i) { return Number(i.value); });
      } else {
        show(note, message(result.data, "Saving failed (HTTP " + result.status + ")."), "error");
      }
    });
  }

  /* ---- shadow agreement beside the mirror sliders (when the platform reports it) ----------- */
  function loadShadow(features) {
    const cells = document.querySelectorAll(".shadow-agreement");
    if (!cells.length || !features.shadow || !trafficForm) return;
    api("GET", features.shadow.replace("{name}", encodeURIComponent(trafficForm.dataset.endpoint))).then(function (result) {
      if (!result.ok) return;
      const pairs = Array.isArray(result.data) ? result.data : (result.data.pairs_report || []);
      pairs.forEach(function (pair) {
        const cell = document.querySelector('.shadow-agreement[data-deployment="' + pair.shadow + '"]');
        if (cell && typeof pair.exact_match_rate === "number") {
          cell.textContent = "agreement with " + pair.live + ": " + (pair.exact_match_rate * 100).toFixed(1) + "% of " + pair.pairs;
        }
      });
    });
  }

  /* ---- test tab ---------------------------------------------------------------------------- */
  const testForm = document.getElementById("test-form");
  if (testForm) {
    testForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const error = document.getElementById("test-error");
      error.hidden = true;
      const button = document.getElementById("test-send");
      button.disabled = true;
      const payload = {
        body: document.getElementById("test-body").value,
        deployment: document.getElementById("test-deployment").value || null,
      };
      const path = "/api/studio/online-endpoints/" + encodeURIComponent(testForm.dataset.endpoint) + "/test";
      const result = await api("POST", path, payload);
      button.disabled = false;
      if (!result.ok) {
        show(error, message(result.data, "The test call failed (HTTP " + result.status + ")."), "error");
        return;
      }
      document.getElementById("test-result").hidden = false;
      document.getElementById("test-status").textContent = String(result.data.status);
      document.getElementById("test-latency").textContent = result.data.latency_ms.toFixed(1);
      document.getElementById("test-response").textContent = result.data.body;
      const body = document.querySelector("#test-headers tbody");
      body.replaceChildren();
      Object.entries(result.data.headers).forEach(function (pair) {
        const row = el("tr");
        row.appendChild(el("th", { scope: "row" }, pair[0]));
        row.appendChild(el("td", {}, pair[1]));
        body.appendChild(row);
      });
    });
  }

  /* ---- consume tab ------------------------------------------------------------------------- */
  const keys = document.getElementById("keys");
  if (keys) {
    const name = encodeURIComponent(keys.dataset.endpoint);
    const note = document.getElementById("keys-message");
    const fill = function (data) {
      const primary = data.primaryKey || data.accessToken || "";
      document.getElementById("key-primary").textContent = primary;
      const secondary = document.getElementById("key-secondary");
      if (secondary) secondary.textContent = data.secondaryKey || "";
      ["primary", "secondary"].forEach(function (kind) {
        const copy = document.getElementById("copy-" + kind);
        if (copy) { copy.disabled = false; copy.setAttribute("data-copy", kind === "primary" ? primary : (data.secondaryKey || "")); }
      });
      document.querySelectorAll(".snippet").forEach(function (pre) {
        pre.textContent = pre.getAttribute("data-template").split("<your-key>").join(primary);
      });
    };
    document.getElementById("keys-reveal").addEventListener("click", async function () {
      const result = await api("POST", "/api/online-endpoints/" + name + "/credentials");
      if (result.ok) { fill(result.data); show(note, "Shown. Keep keys out of source control.", "ok"); }
      else show(note, message(result.data, "Could not read the keys."), "error");
    });
    document.querySelectorAll("[data-key-type]").forEach(function (button) {
      const label = button.textContent;
      button.addEventListener("click", async function () {
        // A second click confirms: a regenerated key stops the old one at once.
        if (button.dataset.armed !== "1") {
          button.dataset.armed = "1";
          button.textContent = "Click again to regenerate";
          show(note, "Regenerating the " + button.dataset.keyType + " key makes the current one stop working.", null);
          return;
        }
        button.dataset.armed = "";
        button.textContent = label;
        const result = await api("POST", "/api/online-endpoints/" + name + "/regenerate-keys", { key_type: button.dataset.keyType, key_value: null });
        if (result.ok) { fill(result.data); show(note, "The " + button.dataset.keyType + " key was regenerated.", "ok"); }
        else show(note, message(result.data, "Could not regenerate the key."), "error");
      });
    });
  }

  /* ---- metrics charts ---------------------------------------------------------------------- */
  const chartsEl = document.getElementById("charts");
  const plots = {};
  function hasData(chart) {
    return chart.series.some(function (s) { return s.values.some(function (v) { return v !== null; }); });
  }
  function drawCharts(payload) {
    payload.charts.forEach(function (chart) {
      let box = document.getElementById("chart-" + chart.key);
      if (!box) {
        box = el("figure", { id: "chart-" + chart.key, class: "chart", "aria-labelledby": "chart-" + chart.key + "-title" });
        box.appendChild(el("h3", { id: "chart-" + chart.key + "-title" }, chart.title + " (" + chart.unit + ")"));
        box.appendChild(el("div", { class: "plot" }));
        chartsEl.appendChild(box);
      }
      const plotEl = box.querySelector(".plot");
      const labels = chart.series.map(function (s) { return s.label; }).join("|");
      if (!hasData(chart)) {
        if (plots[chart.key]) { plots[chart.key].plot.destroy(); delete plots[chart.key]; }
        plotEl.removeAttribute("role");
        plotEl.removeAttribute("aria-label");
        plotEl.replaceChildren(el("p", { class: "no-data" }, "No data in this window."));
        box.dataset.points = "0";
        return;
      }
      const data = [chart.x].concat(chart.series.map(function (s) { return s.values; }));
      const points = chart.series.reduce(function (acc, s) { return acc + s.values.filter(function (v) { return v !== null; }).length; }, 0);
      box.dataset.points = String(points);
      // The canvas has no text: name the latest value of each series for screen readers.
      const latest = chart.series.map(function (s) {
        const seen = s.values.filter(function (v) { return v !== null; });
        return s.label + " " + seen[seen.length - 1] + " " + chart.unit;
      });
      plotEl.setAttribute("role", "img");
      plotEl.setAttribute("aria-label", chart.title + ", latest: " + latest.join(", "));
      const existing = plots[chart.key];
      if (existing && existing.labels === labels) { existing.plot.setData(data); return; }
      if (existing) existing.plot.destroy();
      plotEl.replaceChildren();
      const width = Math.max(260, plotEl.clientWidth || box.clientWidth - 20);
      const opts = {
        width: width,
        height: 200,
        scales: { x: { time: true } },
        series: [{}].concat(chart.series.map(function (s, i) {
          return { label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: false, points: { show: true, size: 5 } };
        })),
        axes: [{}, { label: chart.unit, size: 60 }],
        legend: { live: true },
      };
      plots[chart.key] = { labels: labels, plot: new uPlot(opts, data, plotEl) };
    });
  }
  async function refreshCharts() {
    const status = document.getElementById("charts-status");
    const path = "/api/studio/online-endpoints/" + encodeURIComponent(chartsEl.dataset.endpoint) + "/metrics?window=" + encodeURIComponent(chartsEl.dataset.window);
    const result = await api("GET", path);
    if (!result.ok) { status.textContent = message(result.data, "Could not load the metrics."); return; }
    drawCharts(result.data);
    chartsEl.dataset.loaded = "1";
    chartsEl.dataset.step = String(result.data.step_s);
    status.textContent = "Updated " + new Date().toLocaleTimeString() + " · one point per " + Math.round(result.data.step_s) + " s";
  }
  if (chartsEl) {
    // Refresh as often as a new bucket can appear: every 10 s, or once a bucket for long windows.
    const again = function () {
      refreshCharts().catch(function () { return null; }).then(function () {
        const step = Number(chartsEl.dataset.step || 10);
        setTimeout(again, Math.max(10000, step * 1000));
      });
    };
    again();
  }

  /* ---- logs, tailing ----------------------------------------------------------------------- */
  const logs = document.getElementById("logs");
  if (logs) {
    const select = document.getElementById("log-container");
    const follow = document.getElementById("log-follow");
    let last = null;
    const tail = async function () {
      const response = await fetch(logs.dataset.base + "?container=" + encodeURIComponent(select.value), { credentials: "same-origin" });
      if (!response.ok) return;
      const text = await response.text();
      if (text === last) return;
      last = text;
      logs.textContent = text;
      if (follow.checked) logs.scrollTop = logs.scrollHeight;
    };
    select.addEventListener("change", function () { last = null; tail(); });
    tail();
    setInterval(tail, 2000);
  }

  /* ---- lists backed by APIs other parts add (batch, data, autoscale) ------------------------ */
  function table(rows, columns) {
    const wrap = el("div", { class: "table-wrap" });
    const t = el("table", {});
    const head = el("tr");
    columns.forEach(function (c) { head.appendChild(el("th", { scope: "col" }, c[0])); });
    t.appendChild(el("thead")).appendChild(head);
    const body = t.appendChild(el("tbody"));
    rows.forEach(function (row) {
      const tr = el("tr");
      columns.forEach(function (c) {
        const value = typeof c[1] === "function" ? c[1](row) : row[c[1]];
        const td = el("td", {});
        if (value instanceof Node) td.appendChild(value); else td.textContent = value === undefined || value === null ? "" : String(value);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    wrap.appendChild(t);
    return wrap;
  }
  function empty(text) { return el("p", { class: "empty-state muted" }, text); }

  const LISTS = {
    "batch-endpoints": {
      feature: "batch_endpoints",
      none: "No batch endpoints yet. Create one with switchman batch-endpoint create -f endpoint.yml.",
      missing: "No batch endpoints yet: this build's control plane has no batch API.",
      columns: [["Name", "name"], ["Auth", "auth_mode"], ["Scoring URI", "scoring_uri"], ["State", "provisioning_state"],
        ["Default deployment", function (r) { return (r.defaults || {}).deployment_name || ""; }]],
    },
    "batch-jobs": {
      feature: "jobs",
      none: "No batch jobs yet. Start one with switchman batch-endpoint invoke -n ENDPOINT --input PATH.",
      missing: "No batch jobs yet: this build's control plane has no batch API.",
      columns: [["Job", function (r) { const a = el("a", { href: "/studio/jobs/" + encodeURIComponent(r.name) }, r.name); return a; }],
        ["Status", "status"], ["Endpoint", "endpoint_name"], ["Deployment", "deployment_name"],
        ["Mini-batches done / failed / total", function (r) { const p = r.progress || {}; return [p.mini_batches_completed, p.mini_batches_failed, p.mini_batches_total].map(function (v) { return v === undefined ? "?" : v; }).join(" / "); }],
        ["Created", function (r) { return (r.creation_context || {}).created_at || ""; }]],
    },
    "data-assets": {
      feature: "data",
      none: "No data assets yet. Register one with switchman data create --name N --version 1 --type uri_folder --path P.",
      missing: "No data assets yet: this build's control plane has no data-asset API.",
      columns: [["Name", "name"], ["Version", "version"], ["Type", "type"], ["Path", "path"]],
    },
  };

  async function loadLists(features) {
    Object.keys(LISTS).forEach(async function (id) {
      const box = document.getElementById(id);
      if (!box) return;
      const spec = LISTS[id];
      const path = features[spec.feature];
      if (!path) { box.replaceChildren(empty(spec.missing)); return; }
      const result = await api("GET", path);
      if (!result.ok) { box.replaceChildren(empty(message(result.data, spec.missing))); return; }
      const rows = Array.isArray(result.data) ? result.data : (result.data.value || []);
      box.replaceChildren(rows.length ? table(rows, spec.columns) : empty(spec.none));
    });
  }

  async function loadAutoscale(features) {
    const box = document.getElementById("autoscale");
    if (!box) return;
    if (!features.autoscale) { box.replaceChildren(empty("No autoscale setting: this build's control plane has no autoscale API.")); return; }
    const result = await api("GET", features.autoscale);
    if (!result.ok) { box.replaceChildren(empty(message(result.data, "Could not read autoscale settings."))); return; }
    const id = box.dataset.deploymentId;
    const all = Array.isArray(result.data) ? result.data : (result.data.value || []);
    const mine = all.filter(function (s) { return !s.targetResourceUri || s.targetResourceUri === id || String(s.targetResourceUri).endsWith(id); });
    if (!mine.length) { box.replaceChildren(empty("No autoscale setting for this deployment.")); return; }
    box.replaceChildren();
    mine.forEach(function (s) {
      box.appendChild(el("p", {}, s.name + (s.enabled === false ? " (disabled)" : "")));
      box.appendChild(table(s.profiles || [], [["Profile", "name"],
        ["Min", function (p) { return (p.capacity || {}).minimum; }], ["Max", function (p) { return (p.capacity || {}).maximum; }],
        ["Default", function (p) { return (p.capacity || {}).default; }], ["Rules", function (p) { return (p.rules || []).length; }]]));
    });
  }

  if (document.querySelector("[data-source], #autoscale, .shadow-agreement")) {
    api("GET", "/api/studio/features").then(function (result) {
      const features = result.ok ? result.data : {};
      loadLists(features);
      loadAutoscale(features);
      loadShadow(features);
    });
  }
})();
