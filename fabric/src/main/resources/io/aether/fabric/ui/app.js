// The fabric dashboard: reads the controller's /v1 API every few seconds and draws it.
// Every value goes into the page as text (textContent), never as markup: names, labels and
// command lines come from users and nodes.
"use strict";

const REFRESH_MS = 2000;
const MAX_EVENTS = 500;
const NODE_STATES = new Set(["READY", "DRAINING", "REVOKED", "PENDING"]);
let lastEvent = 0;
// The most the controller reads of a job spec: Controller.MAX_SUBMIT_BYTES, 128 Ki characters of up to 4 bytes.
const MAX_SPEC_BYTES = 4 * 128 * 1024;
// Charts keep the newest HISTORY samples, one per refresh (10 minutes at 2 s).
const HISTORY = 300;
const CHART_WIDTH = 520;
const CHART_HEIGHT = 180;
const whole = (plot, value) => value === null || value === undefined ? "--" : value.toFixed(0);
const nodeCharts = new Map();
let fabricChart = null;
// The login token, in this variable only: no cookie (nothing the browser sends by itself) and no
// storage (a reload logs out). Where no login is needed (the controller's own socket), it stays null.
let token = null;
let refreshing = null;

// A 401: the listener needs a login, or the token is unknown, ended or expired.
class LoginNeeded extends Error { }

function headers(more) {
  const all = Object.assign({ Accept: "application/json" }, more);
  if (token !== null) all.Authorization = "Bearer " + token;
  return all;
}

async function api(path) {
  const answer = await fetch(path, { headers: headers(), cache: "no-store" });
  if (answer.status === 401) throw new LoginNeeded((await answer.json().catch(() => ({}))).message || "log in");
  if (!answer.ok) throw new Error(path + ": " + answer.status);
  return answer.json();
}

// Shows the login form with the controller's reason, and stops refreshing until a login.
function askLogin(reason) {
  token = null;
  document.querySelector("main").hidden = true;
  document.getElementById("login").hidden = false;
  const answer = document.getElementById("login-answer");
  answer.className = reason ? "failing" : "";
  answer.textContent = reason;
  const status = document.getElementById("status");
  status.className = "";
  status.textContent = "not logged in";
}

async function logIn(event) {
  event.preventDefault();
  const field = document.getElementById("login-token");
  token = field.value.trim();
  field.value = "";
  document.getElementById("login-answer").textContent = "logging in…";
  clearTimeout(refreshing);
  await refresh();
}

function cell(row, value, className) {
  const td = row.insertCell();
  td.textContent = value === undefined || value === null ? "" : String(value);
  if (className) td.className = className;
  return td;
}

function fill(tableId, items, columns, emptyText) {
  const body = document.querySelector("#" + tableId + " tbody");
  body.replaceChildren();
  if (items.length === 0) {
    const td = body.insertRow().insertCell();
    td.colSpan = columns;
    td.className = "empty";
    td.textContent = emptyText;
  }
  return body;
}

function mebibytes(bytes) {
  return (bytes / 1048576).toFixed(0) + " MiB";
}

function labels(map) {
  return Object.entries(map || {}).map(([k, v]) => k + "=" + v).join(", ");
}

function workload(w) {
  if (w && w.vm) return "vm " + JSON.stringify(w.vm.boot);
  if (w && w.model) return "model " + w.model.repository + " @ " + w.model.ref;
  return "?";
}

// Joined nodes (ready, draining, revoked), then the nodes heard on the network that have not joined.
function drawNodes(nodes, pending) {
  const body = fill("nodes", nodes.concat(pending), 6, "no node has joined or been heard");
  for (const n of nodes) {
    const used = n.used || { vcpus: 0, memory: 0 };
    const row = body.insertRow();
    cell(row, n.name);
    cell(row, n.status, NODE_STATES.has(n.status) ? "state-" + n.status : "");
    cell(row, labels(n.labels));
    cell(row, used.vcpus + " / " + n.vcpus);
    cell(row, mebibytes(used.memory) + " / " + mebibytes(n.memory));
    cell(row, n.allocations);
  }
  for (const p of pending) {
    const row = body.insertRow();
    cell(row, p.name);
    cell(row, "PENDING", "state-PENDING");
    cell(row, "discovered at " + p.address + ", not registered");
    cell(row, "");
    cell(row, "");
    cell(row, "");
  }
}

// A model job's version is its ref and the commits its replicas report serving.
function drawJobs(jobs, allocations) {
  const placed = new Map();
  const commits = new Map();
  for (const a of allocations) {
    placed.set(a.job, (placed.get(a.job) || 0) + 1);
    if (a.commit) commits.set(a.job, (commits.get(a.job) || new Set()).add(a.commit.substring(0, 12)));
  }
  const body = fill("jobs", jobs, 6, "no jobs");
  for (const j of jobs) {
    const row = body.insertRow();
    cell(row, j.spec.name);
    cell(row, j.version);
    const served = commits.get(j.spec.name);
    cell(row, workload(j.spec.workload) + (served ? ", commit " + [...served].sort().join(", ") : ""));
    cell(row, j.spec.priority);
    cell(row, (placed.get(j.spec.name) || 0) + " / " + j.spec.replicas);
    cell(row, j.pending || "", "pending");
  }
}

// The allocation's state: placed until its node reports one (running, failed: why, ...).
function reported(a) {
  return a.state || "";
}

function drawAllocations(allocations) {
  const body = fill("allocations", allocations, 7, "nothing placed");
  for (const a of allocations) {
    const row = body.insertRow();
    cell(row, a.job);
    cell(row, a.replica);
    cell(row, a.node);
    cell(row, a.vcpus);
    cell(row, mebibytes(a.memory));
    cell(row, a.priority);
    cell(row, reported(a), "state-" + reported(a).split(":")[0].replace(/[^a-z]/g, ""));
  }
}

// Job volumes: bound to a node, attached while their replica runs there, kept when the job stops.
function drawVolumes(volumes) {
  const body = fill("volumes", volumes, 6, "no job volumes");
  for (const v of volumes) {
    const row = body.insertRow();
    cell(row, v.name);
    cell(row, v.job);
    cell(row, v.replica);
    cell(row, v.node);
    cell(row, mebibytes(v.size));
    cell(row, v.state, "state-" + v.state);
  }
}

function drawEvents(events) {
  const list = document.getElementById("events");
  for (const e of events) {
    const item = document.createElement("li");
    item.value = e.sequence;
    item.textContent = new Date(e.at).toISOString() + " " + e.kind + " " + e.subject + (e.detail ? ": " + e.detail : "");
    list.prepend(item);
    lastEvent = Math.max(lastEvent, e.sequence);
  }
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

// One uPlot chart with its columns: time in seconds (uPlot's unit), then one column per series.
class Timeline {
  constructor(caption, series, axes) {
    this.figure = document.createElement("figure");
    const title = document.createElement("figcaption");
    title.textContent = caption;
    this.figure.append(title);
    document.getElementById("charts").append(this.figure);
    this.columns = [[]].concat(series.map(() => []));
    this.plot = new uPlot({
      width: CHART_WIDTH, height: CHART_HEIGHT,
      series: [{}].concat(series.map(s => Object.assign({ value: whole, width: 2 }, s))),
      axes: [{}].concat(axes),
    }, this.columns, this.figure);
  }

  add(at, values) {
    this.columns[0].push(at);
    values.forEach((value, i) => this.columns[i + 1].push(value));
    if (this.columns[0].length > HISTORY) for (const column of this.columns) column.shift();
    this.plot.setData(this.columns);
    // The legend shows the newest sample until the pointer picks another.
    this.plot.setLegend({ idx: this.columns[0].length - 1 });
  }

  remove() {
    this.plot.destroy();
    this.figure.remove();
  }
}

function nodeChart(name) {
  return new Timeline("node " + name + ": allocated against capacity", [
    { label: "vCPUs allocated", scale: "vcpus", stroke: "#2f6fdf" },
    { label: "vCPUs capacity", scale: "vcpus", stroke: "#2f6fdf", dash: [6, 4], width: 1 },
    { label: "memory allocated MiB", scale: "mib", stroke: "#ad5700" },
    { label: "memory capacity MiB", scale: "mib", stroke: "#ad5700", dash: [6, 4], width: 1 },
  ], [{ scale: "vcpus", label: "vCPUs" }, { scale: "mib", label: "MiB", side: 1, grid: { show: false } }]);
}

// Samples what this refresh read. The first read of the events is the whole backlog, not one interval's.
function drawCharts(nodes, jobs, allocations, newEvents) {
  const at = Date.now() / 1000;
  const placed = new Map();
  for (const a of allocations) placed.set(a.job, (placed.get(a.job) || 0) + 1);
  const pending = jobs.reduce((sum, j) => sum + Math.max(0, j.spec.replicas - (placed.get(j.spec.name) || 0)), 0);
  const firstRead = fabricChart === null;
  if (firstRead) {
    fabricChart = new Timeline("fabric: replicas placed, running and pending, events per refresh", [
      { label: "replicas placed", scale: "replicas", stroke: "#18794e" },
      { label: "replicas running", scale: "replicas", stroke: "#2f6fdf" },
      { label: "replicas pending", scale: "replicas", stroke: "#c4320a" },
      { label: "events per refresh", scale: "events", stroke: "#5b6475" },
    ], [{ scale: "replicas", label: "replicas" }, { scale: "events", label: "events", side: 1, grid: { show: false } }]);
  }
  const running = allocations.filter(a => reported(a) === "running").length;
  fabricChart.add(at, [allocations.length, running, pending, firstRead ? null : newEvents.length]);
  const seen = new Set();
  for (const n of nodes) {
    seen.add(n.name);
    if (!nodeCharts.has(n.name)) nodeCharts.set(n.name, nodeChart(n.name));
    const used = n.used || { vcpus: 0, memory: 0 };
    nodeCharts.get(n.name).add(at, [used.vcpus, n.vcpus, used.memory / 1048576, n.memory / 1048576]);
  }
  for (const [name, chart] of nodeCharts) {
    if (!seen.has(name)) {
      chart.remove();
      nodeCharts.delete(name);
    }
  }
}

// Sends the spec as written: the controller validates it and its 400 names the bad field.
// The JSON content type is also what keeps other sites out: a cross-origin page cannot send it
// without a CORS preflight, which the controller never answers.
async function submitJob(event) {
  event.preventDefault();
  const answer = document.getElementById("submit-answer");
  answer.className = "";
  answer.textContent = "submitting…";
  try {
    const reply = await fetch("/v1/jobs", {
      method: "POST", cache: "no-store",
      headers: headers({ "Content-Type": "application/json" }),
      body: document.getElementById("job-spec").value,
    });
    const body = await reply.json().catch(() => ({}));
    if (reply.status === 401) {
      answer.textContent = "";
      askLogin(reply.status + " " + (body.message || reply.statusText));
    } else if (reply.status === 201) {
      answer.textContent = "submitted: job " + body.job + " version " + body.version;
    } else {
      answer.className = "failing";
      answer.textContent = reply.status + " " + (body.message || reply.statusText);
    }
  } catch (e) {
    answer.className = "failing";
    answer.textContent = "cannot reach the API: " + e.message;
  }
}

// A picked file only fills the text area, up to the controller's own limit on a spec.
async function pickJob(event) {
  const file = event.target.files[0];
  if (!file) return;
  const answer = document.getElementById("submit-answer");
  if (file.size > MAX_SPEC_BYTES) {
    answer.className = "failing";
    answer.textContent = file.name + " is " + file.size + " bytes; a job spec is at most " + MAX_SPEC_BYTES;
    return;
  }
  document.getElementById("job-spec").value = await file.text();
  answer.className = "";
  answer.textContent = "";
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [nodes, pending, jobs, allocations, volumes, events] = await Promise.all([
      api("/v1/nodes"), api("/v1/nodes/pending"), api("/v1/jobs"), api("/v1/allocations"), api("/v1/volumes"),
      api("/v1/events?after=" + lastEvent)]);
    drawNodes(nodes.nodes, pending.pending);
    drawJobs(jobs.jobs, allocations.allocations);
    drawAllocations(allocations.allocations);
    drawVolumes(volumes.volumes);
    drawEvents(events.events);
    drawCharts(nodes.nodes, jobs.jobs, allocations.allocations, events.events);
    status.className = "";
    status.textContent = "updated " + new Date().toLocaleTimeString();
    document.getElementById("login").hidden = true;
    document.querySelector("main").hidden = false;
  } catch (e) {
    if (e instanceof LoginNeeded) {
      // Without a token this is the first visit; with one, the controller refused it.
      askLogin(token === null ? "" : "401 " + e.message);
      return;
    }
    status.className = "failing";
    status.textContent = "cannot read the API: " + e.message;
  }
  refreshing = setTimeout(refresh, REFRESH_MS);
}

document.getElementById("login").addEventListener("submit", logIn);
document.getElementById("submit-job").addEventListener("submit", submitJob);
document.getElementById("job-file").addEventListener("change", pickJob);
refresh();
