// The fabric dashboard: reads the controller's /v1 API every few seconds and draws it.
// Every value goes into the page as text (textContent), never as markup: names, labels and
// command lines come from users and nodes.
"use strict";

const REFRESH_MS = 2000;
const MAX_EVENTS = 500;
const NODE_STATES = new Set(["READY", "DRAINING", "REVOKED", "PENDING"]);
let lastEvent = 0;

async function api(path) {
  const answer = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!answer.ok) throw new Error(path + ": " + answer.status);
  return answer.json();
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

function drawAllocations(allocations) {
  const body = fill("allocations", allocations, 6, "nothing placed");
  for (const a of allocations) {
    const row = body.insertRow();
    cell(row, a.job);
    cell(row, a.replica);
    cell(row, a.node);
    cell(row, a.vcpus);
    cell(row, mebibytes(a.memory));
    cell(row, a.priority);
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

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [nodes, pending, jobs, allocations, events] = await Promise.all([
      api("/v1/nodes"), api("/v1/nodes/pending"), api("/v1/jobs"), api("/v1/allocations"), api("/v1/events?after=" + lastEvent)]);
    drawNodes(nodes.nodes, pending.pending);
    drawJobs(jobs.jobs, allocations.allocations);
    drawAllocations(allocations.allocations);
    drawEvents(events.events);
    status.className = "";
    status.textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    status.className = "failing";
    status.textContent = "cannot read the API: " + e.message;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();
