// gantry's run view: the run's DAG, timeline, steps and logs, kept up to
// date from the run's event stream (server-sent events, the events of
// gantry run --json). Text from the run is only ever set as textContent;
// the two pieces of HTML (the DAG's SVG and the step summaries' Markdown)
// are made by gantry's server.
"use strict";

const $ = (sel) => document.querySelector(sel);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const svgEl = (tag) => document.createElementNS("http://www.w3.org/2000/svg", tag);

const marks = { success: "✓", failure: "✗", "allowed-failure": "!", skipped: "–", cancelled: "⊘", running: "●", queued: "○" };

const state = {
  id: "", info: null, nodes: new Map(), order: [], annotations: [],
  started: 0, ended: 0, status: "running", last: 0, selected: "",
};

function fmtDur(ms) {
  if (ms === undefined || ms === null || isNaN(ms)) return "";
  if (ms < 1000) return ms + "ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + "s";
  const m = Math.floor(s / 60);
  return m + "m" + String(Math.round(s % 60)).padStart(2, "0") + "s";
}
function fmtSize(n) {
  if (n < 1024) return n + " B";
  const u = ["KiB", "MiB", "GiB"];
  let i = -1;
  do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
  return n.toFixed(n < 10 ? 1 : 0) + " " + u[i];
}

function node(id, name) {
  let n = state.nodes.get(id);
  if (!n) {
    n = { id, name: name || id, status: "queued", started: 0, ended: 0, reason: "", steps: [], pre: newStep("setup"), outputs: null, summary: "", cacheHit: false, pos: "", image: "", stepPos: [] };
    state.nodes.set(id, n);
    state.order.push(id);
  }
  if (name) n.name = name;
  return n;
}
function newStep(name) {
  const root = { items: [], dom: null };
  return { name, status: "running", started: 0, ended: 0, duration: null, exit: null, outputs: null, root, cur: root, dom: null, pos: "" };
}
// current is the step a node's lines belong to: its newest running step,
// else its lines before and between steps.
function current(n) {
  for (let i = n.steps.length - 1; i >= 0; i--) if (n.steps[i].status === "running") return n.steps[i];
  return n.pre;
}

function apply(ev) {
  const t = Date.parse(ev.time) || Date.now();
  if (!state.started) state.started = t;
  switch (ev.event) {
    case "run-started":
      $("#pipeline").textContent = ev.pipeline || ev.source || "";
      break;
    case "node-started": {
      const n = node(ev.node, ev.name);
      n.status = "running"; n.started = t; n.ran = true;
      break;
    }
    case "step-started": {
      const n = node(ev.node);
      const s = newStep(ev.step);
      s.started = t;
      // The DAG knows the step's position: the next unused step of that name.
      const known = (n.stepPos || []).find((p) => !p.used && p.name === ev.step);
      if (known) { known.used = true; s.pos = known.pos; }
      n.steps.push(s);
      if (shown(n)) addStepDOM(n, s);
      break;
    }
    case "log": {
      const n = node(ev.node);
      const s = current(n);
      const item = { text: ev.text, stream: ev.stream };
      s.cur.items.push(item);
      if (shown(n)) addLineDOM(n, s, s.cur, item);
      break;
    }
    case "group": {
      const n = node(ev.node);
      const s = current(n);
      const g = { title: ev.title, items: [], dom: null };
      s.root.items.push(g);
      s.cur = g;
      if (shown(n)) addLineDOM(n, s, s.root, g);
      break;
    }
    case "endgroup": {
      const s = current(node(ev.node));
      s.cur = s.root;
      break;
    }
    case "step-finished": {
      const n = node(ev.node);
      const s = n.steps.slice().reverse().find((x) => x.name === ev.step && x.status === "running");
      if (s) {
        s.status = ev.status; s.ended = t; s.duration = ev.duration_ms; s.cur = s.root;
        if (shown(n)) stepHeader(s);
      }
      break;
    }
    case "node-finished": {
      const n = node(ev.node, ev.name);
      n.status = ev.status; n.reason = ev.reason || ""; n.ended = t;
      if (!n.started) n.started = t;
      n.outputs = ev.outputs || null;
      n.summary = ev.summary_html || "";
      // The result's steps give exit codes and outputs, matched in order
      // by name; those that did not run (skipped) take their place.
      const used = new Set();
      const steps = [];
      // A job all of whose commands BuildKit replayed is a cache hit.
      const ran = (ev.steps || []).filter((r) => r.status !== "skipped");
      if (ran.length && ran.every((r) => r.cached)) n.cacheHit = true;
      for (const r of ev.steps || []) {
        let s = n.steps.find((x) => !used.has(x) && x.name === r.name);
        if (s) used.add(s);
        else {
          s = newStep(r.name);
          s.duration = r.duration ? Math.round(r.duration / 1e6) : null;
          const known = (n.stepPos || []).find((p) => !p.used && p.name === r.name);
          if (known) { known.used = true; s.pos = known.pos; }
        }
        s.exit = r.exit_code; s.outputs = r.outputs || null; s.status = r.status; s.cached = !!r.cached;
        if (r.outputs && r.outputs["cache-hit"] === "true") n.cacheHit = true;
        steps.push(s);
      }
      n.steps = steps.concat(n.steps.filter((x) => !used.has(x)));
      if (shown(n)) renderPanel();
      scheduleArtifacts();
      break;
    }
    case "annotation":
      state.annotations.push(ev);
      renderAnnotations();
      break;
    case "run-finished":
      state.ended = t;
      state.status = ev.failed ? "failure" : "success";
      if (ev.triggered === false) state.status = "skipped";
      break;
  }
  scheduleRender();
}

// The DAG: the server's SVG, each node's group marked with its id.
function setupGraph(svg) {
  const box = $("#graph");
  box.innerHTML = svg;
  for (const g of box.querySelectorAll("svg g")) {
    const title = g.querySelector("title");
    const rect = g.querySelector("rect");
    if (!title || !rect) continue;
    const id = title.textContent.trim().split(/\s+/)[0];
    if (!state.nodes.has(id)) continue;
    g.dataset.node = id;
    g.addEventListener("click", () => select(id));
    if (state.nodes.get(id).join) continue; // a stage's end: its colour says enough
    // The status takes the box's second line (where it runs, which the
    // panel shows), or a line of its own under the name.
    const texts = g.querySelectorAll("text");
    let badge = g.querySelector("text.where") || texts[1];
    if (badge) {
      // Fitted to the text it had: the status is another length.
      badge.removeAttribute("textLength");
      badge.removeAttribute("lengthAdjust");
    }
    if (!badge) {
      // No line to take: a status under the name only where the box has
      // room for it.
      if (+rect.getAttribute("height") < 44) continue;
      badge = svgEl("text");
      badge.setAttribute("x", +rect.getAttribute("x") + +rect.getAttribute("width") / 2);
      badge.setAttribute("y", +rect.getAttribute("y") + +rect.getAttribute("height") - 6);
      badge.setAttribute("text-anchor", "middle");
      g.appendChild(badge);
    }
    badge.classList.add("badge");
  }
  // A DAG somewhat wider than its box is shrunk to fit; a much wider one
  // scrolls.
  const svgRoot = box.querySelector("svg");
  const w = svgRoot && +svgRoot.getAttribute("width");
  if (w && box.clientWidth > 0 && w > box.clientWidth - 20 && w < 1.6 * box.clientWidth) {
    svgRoot.style.width = "100%";
    svgRoot.style.height = "auto";
  }
}

function nodeWord(n, now) {
  switch (n.status) {
    case "running": return "running " + fmtDur(now - n.started);
    case "queued": return state.ended ? "did not run" : "queued";
    default: return n.status + (n.cacheHit ? " · cache hit" : "") + (n.ran ? " " + fmtDur(n.ended - n.started) : "");
  }
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function render() {
  const now = state.ended || Date.now();
  for (const g of document.querySelectorAll("#graph g[data-node]")) {
    const n = state.nodes.get(g.dataset.node);
    g.dataset.status = n.status;
    g.classList.toggle("selected", n.id === state.selected);
    const badge = g.querySelector("text.badge");
    if (badge) badge.textContent = (marks[n.status] || "") + " " + nodeWord(n, now);
    const t = g.querySelector("title");
    if (t) t.textContent = n.id + " " + n.status + (n.reason ? ": " + n.reason : "");
  }
  const rs = $("#runstatus");
  rs.textContent = state.status;
  rs.className = "badge s-" + state.status;
  document.body.dataset.run = state.ended ? "ended" : "running";
  if (state.started && state.last) $("#elapsed").textContent = fmtDur(now - state.started);
  renderTimeline(now);
  if (state.selected) {
    const n = state.nodes.get(state.selected);
    const h = $("#panel .nodestatus");
    if (n && h) { h.textContent = nodeWord(n, now); h.className = "badge nodestatus s-" + n.status; }
    for (const s of (n ? n.steps : [])) if (s.status === "running" && s.dom) stepHeader(s, now);
  }
}

function renderTimeline(now) {
  const box = $("#timeline");
  const start = state.started || now;
  const span = Math.max(now - start, 1);
  box.replaceChildren();
  for (const id of state.order) {
    const n = state.nodes.get(id);
    if (n.join) continue;
    const row = el("div", "trow");
    row.dataset.node = id;
    row.append(el("span", "tname", (marks[n.status] || "") + " " + n.name));
    const track = el("span", "track");
    if (n.ran) {
      const end = n.ended || now;
      const bar = el("span", "bar " + n.status);
      bar.style.left = ((n.started - start) / span * 100).toFixed(2) + "%";
      bar.style.width = ((end - n.started) / span * 100).toFixed(2) + "%";
      bar.title = n.name + ": " + n.status + " " + fmtDur(end - n.started);
      track.append(bar);
    }
    row.append(track, el("span", "tdur", n.ran ? fmtDur((n.ended || now) - n.started) : n.status === "queued" ? "" : n.status));
    row.addEventListener("click", () => select(id));
    box.append(row);
  }
}

// The panel shows the selected node: its steps, each with its log.
function shown(n) { return state.selected === n.id; }

function select(id) {
  state.selected = id;
  renderPanel();
  scheduleRender();
}

function renderPanel() {
  const p = $("#panel");
  const n = state.nodes.get(state.selected);
  if (!n) return;
  // A step left open (or opened) stays so when the panel is drawn again.
  for (const s of [n.pre, ...n.steps]) if (s.dom) s.keepOpen = s.dom.details.open;
  p.replaceChildren();
  const h = el("h3", "", n.name + " ");
  h.append(el("span", "badge nodestatus s-" + n.status, nodeWord(n, state.ended || Date.now())));
  p.append(h);
  const meta = [n.id];
  if (n.pos) meta.push(n.pos);
  if (n.image) meta.push(n.image);
  p.append(el("div", "meta", meta.join(" · ")));
  if (n.reason) p.append(el("div", "reason", (n.status === "skipped" ? "skipped: " : "") + n.reason));
  if (n.pre.root.items.length) addStepDOM(n, n.pre);
  for (const s of n.steps) addStepDOM(n, s);
  if (n.outputs && Object.keys(n.outputs).length) {
    p.append(el("h2", "", "Outputs"), kvTable(n.outputs));
  }
  if (n.summary) {
    p.append(el("h2", "", "Summary"));
    const d = el("div", "summary");
    d.innerHTML = n.summary; // rendered by gantry from Markdown, raw HTML omitted
    p.append(d);
  }
}

function kvTable(obj) {
  const t = el("table", "kv");
  for (const k of Object.keys(obj).sort()) {
    const tr = el("tr");
    tr.append(el("td", "", k), el("td", "", obj[k]));
    t.append(tr);
  }
  return t;
}

function addStepDOM(n, s) {
  const d = el("details", "step");
  const sum = el("summary");
  d.append(sum);
  const log = el("div", "log");
  s.dom = { details: d, summary: sum, log, extra: el("div") };
  s.root.dom = log;
  d.append(s.dom.extra, log);
  // A failed step is open; a running one too, so its lines are seen.
  d.open = s.keepOpen !== undefined ? s.keepOpen || s.status === "failure" : s.status === "failure" || s.status === "running" || s === n.pre;
  stepHeader(s);
  for (const item of s.root.items) addLineDOM(n, s, s.root, item);
  const panel = $("#panel");
  const before = panel.querySelector("h2");
  panel.insertBefore(d, before);
}

function stepHeader(s, now) {
  if (!s.dom) return;
  const sum = s.dom.summary;
  sum.replaceChildren();
  sum.append(el("span", "mark " + s.status, marks[s.status] || ""), el("span", "sname", s.name));
  const info = [];
  if (s.status === "running") info.push(fmtDur((now || Date.now()) - s.started));
  else if (s.duration !== null) info.push(fmtDur(s.duration));
  if (s.exit !== null && s.exit !== undefined && s.status !== "skipped") info.push("exit " + s.exit);
  if (s.cached) info.push("cached");
  sum.append(el("span", "sinfo", info.join(" · ")));
  s.dom.extra.replaceChildren();
  if (s.pos) s.dom.extra.append(el("div", "meta", s.pos));
  if (s.outputs && Object.keys(s.outputs).length) s.dom.extra.append(kvTable(s.outputs));
  if (s.status === "failure") s.dom.details.open = true;
  s.dom.log.hidden = s.root.items.length === 0;
}

function addLineDOM(n, s, container, item) {
  const parent = container.dom;
  if (!parent) return;
  s.dom.log.hidden = false;
  if (item.items) {
    // A ::group:: folds its lines.
    const d = el("details");
    d.append(el("summary", "", item.title));
    const body = el("div");
    d.append(body);
    item.dom = body;
    for (const sub of item.items) addLineDOM(n, s, item, sub);
    parent.append(d);
    return;
  }
  parent.append(el("div", "line " + (item.stream || ""), item.text));
}

function renderAnnotations() {
  const box = $("#annotations");
  $("#annotations-title").hidden = state.annotations.length === 0;
  box.replaceChildren();
  for (const a of state.annotations) {
    const d = el("div", "annotation " + a.level);
    const where = a.file ? a.file + (a.line ? ":" + a.line + (a.col ? ":" + a.col : "") : "") : "";
    d.append(el("div", "where", a.level + " · " + a.node + (where ? " · " + where : "")), el("div", "", a.message));
    if (a.excerpt) {
      const pre = el("div", "excerpt");
      a.excerpt.forEach((line, i) => {
        const num = a.excerpt_line + i;
        const row = el("div", num === a.line ? "hit" : "");
        row.append(el("span", "ln", String(num)), document.createTextNode(line));
        pre.append(row);
      });
      d.append(pre);
    }
    d.addEventListener("click", () => select(a.node));
    box.append(d);
  }
}

let artifactsTimer = 0;
function scheduleArtifacts() {
  clearTimeout(artifactsTimer);
  artifactsTimer = setTimeout(loadArtifacts, 400);
}
async function loadArtifacts() {
  const r = await fetch("/api/runs/" + encodeURIComponent(state.id));
  if (!r.ok) return;
  renderArtifacts((await r.json()).artifacts || []);
}
function renderArtifacts(list) {
  const t = $("#artifacts");
  t.hidden = $("#artifacts-title").hidden = list.length === 0;
  const body = t.querySelector("tbody");
  body.replaceChildren();
  for (const a of list) {
    const tr = el("tr");
    const link = el("a", "", a.path);
    link.href = a.url;
    link.setAttribute("download", "");
    const file = el("td");
    file.append(link);
    // upload-artifact's artifacts are the run's, not a job's.
    tr.append(el("td", "", a.node === "_named" ? "" : a.node), el("td", "", a.name), file, el("td", "num", fmtSize(a.size)));
    body.append(tr);
  }
}

// watchNewer links to a run that starts after this one (the next run of
// gantry run --watch --ui, or another gantry run).
function watchNewer() {
  const timer = setInterval(async () => {
    const r = await fetch("/api/runs").catch(() => null);
    if (!r || !r.ok) return;
    const runs = await r.json();
    const newer = runs.find((x) => x.id > state.id);
    if (!newer) return;
    clearInterval(timer);
    const a = el("a", "newer", "newer run " + newer.id + " →");
    a.href = "?run=" + encodeURIComponent(newer.id);
    $("#elapsed").after(a);
  }, 2000);
}

async function main() {
  // The token came in the printed address; the server has set its cookie,
  // so it leaves the address bar (and any link copied from it).
  const q = new URLSearchParams(location.search);
  if (q.has("token")) {
    q.delete("token");
    history.replaceState(null, "", location.pathname + (q.size ? "?" + q : "") + location.hash);
  }
  const runs = await (await fetch("/api/runs")).json();
  const want = new URLSearchParams(location.search).get("run");
  const pick = runs.find((r) => r.id === want) || runs.find((r) => r.live) || runs[0];
  const sel = $("#runs");
  for (const r of runs) {
    const o = el("option", "", r.id + " · " + (r.pipeline || r.source || "") + " · " + r.status);
    o.value = r.id;
    if (pick && r.id === pick.id) o.selected = true;
    sel.append(o);
  }
  sel.addEventListener("change", () => { location.search = "?run=" + encodeURIComponent(sel.value); });
  if (!pick) { $("#panel").textContent = "No run records here yet: gantry run writes them under .gantry/runs."; return; }
  state.id = pick.id;
  const info = await (await fetch("/api/runs/" + encodeURIComponent(pick.id))).json();
  state.info = info;
  $("#pipeline").textContent = info.pipeline || info.source || "";
  document.title = "gantry · " + (info.pipeline || info.id);
  for (const nd of info.nodes) {
    const n = node(nd.id, nd.name);
    n.pos = nd.pos || ""; n.image = nd.image || "";
    n.stepPos = (nd.steps || []).map((s) => ({ name: s.name, pos: s.pos || "", used: false }));
    // GitLab's stage barriers are gantry's plumbing, not jobs.
    n.join = nd.id.startsWith("stage.") && !(nd.steps || []).length;
  }
  if (info.svg) setupGraph(info.svg);
  else $("#graph").textContent = "This record has no DAG (it is older than the web view).";
  renderArtifacts(info.artifacts || []);
  const es = new EventSource("/api/runs/" + encodeURIComponent(pick.id) + "/events");
  es.onmessage = (e) => {
    // The server resumes after Last-Event-ID; a line seen is never applied twice.
    const seq = Number(e.lastEventId);
    if (seq && seq <= state.last) return;
    if (seq) state.last = seq;
    apply(JSON.parse(e.data));
  };
  es.addEventListener("end", () => {
    es.close();
    watchNewer();
    // A record from before the view has no events: its result stands in.
    if (!state.last && info.result) {
      for (const r of info.result.nodes || []) apply({ event: "node-finished", node: r.id, name: r.name, status: r.status, reason: r.reason, outputs: r.outputs, steps: r.steps, time: "" });
      state.status = info.result.failed ? "failure" : "success";
      if (node0 && state.nodes.has(node0)) select(node0);
    }
    if (!state.ended) { state.ended = Date.now(); if (state.status === "running") state.status = "incomplete"; }
    scheduleRender();
  });
  // ?node=ID opens that job's panel (a link to one job of a run).
  const node0 = new URLSearchParams(location.search).get("node");
  if (node0 && state.nodes.has(node0)) select(node0);
  setInterval(() => { if (!state.ended) scheduleRender(); }, 1000);
  scheduleRender();
}

main();
