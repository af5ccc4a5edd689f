// The page's behaviour: it reads the model through the public API and scores through it, so what
// it shows is what any client gets. Everything from the server is put in as text, never as HTML.
"use strict";

const ROOT = document.body.dataset.root;
const API = document.body.dataset.api;
const DEPLOYMENT = document.body.dataset.deployment;
const CREDENTIAL_KEY = "scorer-credential";
const CHARTED_ROWS = 10;
const CHARTED_FEATURES = 20;

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls the API (relative to the page's deployment, or from the server root when `fromRoot`). */
async function call(path, { method = "GET", body, fromRoot = false } = {}) {
  const headers = {};
  const credential = sessionStorage.getItem(CREDENTIAL_KEY);
  if (credential) headers.Authorization = `Bearer ${credential}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const url = (fromRoot ? `${ROOT}/` : API) + path;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const json = (response.headers.get("content-type") || "").includes("json");
  let payload = text;
  if (json) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = text;
    }
  }
  if (!response.ok) {
    const message = (payload && (payload.detail || payload.error || payload.message)) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, typeof message === "string" ? message : JSON.stringify(message));
  }
  return { payload, headers: response.headers };
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function show(id, visible = true) {
  $(id).hidden = !visible;
}

function fail(id, message) {
  $(id).textContent = message;
  show(id, message !== "");
}

// ---- loading the model -------------------------------------------------------------------

let model = null;

async function load() {
  fail("load-error", "");
  try {
    const [schema, capabilities, sample] = await Promise.all([
      call("model/schema?levels=true"),
      call("model/capabilities"),
      call("model/sample_request"),
    ]);
    show("credential", false);
    model = {
      document: schema.payload,
      served: schema.headers.get("x-scorer-model") || schema.payload.name,
      capabilities: capabilities.payload,
      sample: sample.payload,
    };
    renderCard(model);
    renderForm(model);
    renderRuntime(model);
  } catch (error) {
    if (error.status === 401) {
      askCredential(error.message);
    } else if (error.status === 503) {
      $("model-description").textContent = `Not ready yet: ${error.message} Trying again…`;
      setTimeout(load, 2000);
    } else {
      fail("load-error", error.message || String(error));
    }
  }
}

function askCredential(message) {
  show("credential");
  $("credential-message").textContent = message;
  $("model-description").textContent = "The model's details need a credential.";
  $("credential-input").focus();
}

function fact(list, term, value) {
  const row = element("div");
  row.append(element("dt", term), element("dd", value));
  row.dataset.fact = term;
  list.append(row);
}

function renderCard({ document: doc, capabilities }) {
  $("model-name").textContent = DEPLOYMENT ? `${DEPLOYMENT}: ${doc.name}` : doc.name;
  document.title = `${doc.name} · Scoring runtime`;
  $("model-description").textContent = doc.description;
  const facts = $("facts");
  facts.replaceChildren();
  fact(facts, "Name", doc.name);
  fact(facts, "Id", doc.id);
  fact(facts, "Runtime", "…");
  fact(facts, "Scoring type", doc.properties.scoringType);
  if (doc.properties.scoringResponLabels.length) fact(facts, "Classes", doc.properties.scoringResponLabels.join(", "));
  fact(facts, "Capabilities", capabilities.join(", "));
  const body = $("inputs-table").tBodies[0];
  body.replaceChildren();
  for (const field of doc.schema.inputFields) {
    const row = element("tr");
    row.append(element("td", field.name), element("td", field.dataType), element("td", levelsText(field.levels)));
    body.append(row);
  }
  const outputs = $("outputs");
  outputs.replaceChildren(...doc.schema.outputFields.map((f) => element("li", `${f.name} (${f.dataType})`)));
  show("card");
}

function levelsText(levels) {
  if (!levels) return "";
  const shown = levels.slice(0, 8).join(", ");
  return levels.length > 8 ? `${levels.length} levels: ${shown}, …` : shown;
}

async function renderRuntime({ served }) {
  const cell = document.querySelector('[data-fact="Runtime"] dd');
  try {
    const { payload } = await call(`v2/models/${encodeURIComponent(DEPLOYMENT || served)}`, { fromRoot: true });
    cell.textContent = payload.platform;
  } catch (error) {
    cell.textContent = `unknown (${error.message})`;
  }
}

// ---- the form ----------------------------------------------------------------------------

let fileRows = null;

function renderForm({ document: doc, capabilities, sample }) {
  const fields = $("fields");
  fields.replaceChildren();
  const example = sample.rows[0] || [];
  doc.schema.inputFields.forEach((field, index) => {
    const id = `field-${index}`;
    const label = element("label");
    label.htmlFor = id;
    label.append(element("span", field.name), element("span", field.dataType, "type"));
    const input = element("input");
    input.id = id;
    input.name = field.name;
    const at = sample.fields.indexOf(field.name);
    input.value = at >= 0 && example[at] !== null && example[at] !== undefined ? String(example[at]) : "";
    const box = element("div", undefined, "field");
    box.append(label, input);
    if (field.levels) {
      const list = element("datalist");
      list.id = `${id}-levels`;
      list.append(...field.levels.map((level) => Object.assign(element("option"), { value: level })));
      input.setAttribute("list", list.id);
      box.append(list);
    }
    fields.append(box);
  });
  const shapley = $("shapley-input");
  shapley.replaceChildren(Object.assign(element("option", "none"), { value: "NONE" }));
  for (const kind of ["ORIGINAL", "TRANSFORMED"]) {
    if (capabilities.includes(`CONTRIBUTION_${kind}`)) {
      shapley.append(Object.assign(element("option", kind.toLowerCase()), { value: kind }));
    }
  }
  const offersShapley = shapley.options.length > 1;
  const offersIntervals = capabilities.includes("SCORE_PREDICTION_INTERVAL");
  show("shapley-option", offersShapley);
  show("intervals-option", offersIntervals);
  show("no-options", !offersShapley && !offersIntervals);
  show("try");
}

/** RFC 4180 CSV: quoted cells may hold commas, quotes ("") and line breaks. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else {
      cell += c;
    }
  }
  if (cell !== "" || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

async function readCsv(event) {
  const file = event.target.files[0];
  if (!file) return;
  const table = parseCsv((await file.text()).replace(/^\uFEFF/, ""));
  if (table.length < 2) {
    fileRows = null;
    $("csv-summary").textContent = `${file.name} has no rows under its header.`;
    return;
  }
  fileRows = { fields: table[0], rows: table.slice(1) };
  $("csv-summary").textContent = `${fileRows.rows.length} rows from ${file.name} will be scored.`;
  show("csv-clear");
  show("fields", false);
}

function clearCsv() {
  fileRows = null;
  $("csv-input").value = "";
  $("csv-summary").textContent = "";
  show("csv-clear", false);
  show("fields");
}

function scoreRequest() {
  const request = fileRows
    ? { fields: fileRows.fields, rows: fileRows.rows }
    : {
        fields: model.document.schema.inputFields.map((f) => f.name),
        rows: [model.document.schema.inputFields.map((_, i) => $(`field-${i}`).value)],
      };
  const shapley = $("shapley-input").value;
  if (!$("shapley-option").hidden && shapley !== "NONE") request.requestShapleyValueType = shapley;
  if (!$("intervals-option").hidden && $("intervals-input").checked) request.requestPredictionIntervals = true;
  return request;
}

async function score(event) {
  event.preventDefault();
  fail("score-error", "");
  const request = scoreRequest();
  $("score-button").disabled = true;
  $("status").textContent = `Scoring ${request.rows.length} row${request.rows.length === 1 ? "" : "s"}…`;
  const started = performance.now();
  try {
    const { payload } = await call("model/score", { method: "POST", body: request });
    $("status").textContent = `Scored ${payload.score.length} row${payload.score.length === 1 ? "" : "s"} in ${Math.round(performance.now() - started)} ms.`;
    renderScores(payload);
    renderShapley(payload.featureShapleyContributions);
  } catch (error) {
    $("status").textContent = "";
    if (error.status === 401) askCredential(error.message);
    fail("score-error", error.message || String(error));
  } finally {
    $("score-button").disabled = false;
  }
}

// ---- results -----------------------------------------------------------------------------

function renderScores(answer) {
  const intervals = answer.predictionIntervals;
  const fields = [...answer.fields, ...(intervals ? intervals.fields : [])];
  const head = element("tr");
  head.append(element("th", "row"), ...fields.map((f) => element("th", f)));
  $("scores").tHead.replaceChildren(head);
  const body = $("scores").tBodies[0];
  body.replaceChildren();
  answer.score.forEach((cells, index) => {
    const row = element("tr");
    const all = [...cells, ...(intervals ? intervals.rows[index] : [])];
    row.append(element("td", String(index + 1)), ...all.map((c) => element("td", c)));
    body.append(row);
  });
  show("results");
}

function renderShapley(contributions) {
  const charts = $("charts");
  charts.replaceChildren();
  if (!contributions) {
    show("shapley", false);
    return;
  }
  const features = contributions.features.filter((f) => f !== "contrib_bias");
  const biasAt = contributions.features.indexOf("contrib_bias");
  const rows = contributions.contributionGroups[0].contributions.length;
  const charted = Math.min(rows, CHARTED_ROWS);
  $("shapley-note").textContent =
    `Each bar is a feature's contribution to the model's output in the space it explains (margin or value), ` +
    `largest first; with the bias they add up to the output.` +
    (rows > charted ? ` Charts for the first ${charted} of ${rows} rows.` : "");
  for (let row = 0; row < charted; row++) {
    for (const group of contributions.contributionGroups) {
      const values = group.contributions[row].map(Number);
      const title = `Row ${row + 1}` + (group.outputGroup !== undefined ? ` · ${group.outputGroup}` : "");
      charts.append(chart(title, features, values, biasAt >= 0 ? values[biasAt] : null, contributions.features));
    }
  }
  show("shapley");
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

/** A horizontal bar per feature, positive to the right of the axis, negative to the left. */
function chart(title, features, values, bias, names) {
  const bars = features
    .map((feature) => ({ feature, value: values[names.indexOf(feature)] }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value))
    .slice(0, CHARTED_FEATURES);
  const figure = element("figure", undefined, "chart");
  figure.dataset.title = title;
  const caption = element("figcaption", title + (bias === null ? "" : ` (bias ${bias.toPrecision(6)})`));
  const rowHeight = 20;
  const labelWidth = 190;
  const width = 640;
  const plot = width - labelWidth - 90;
  const height = bars.length * rowHeight + 10;
  const largest = Math.max(...bars.map((b) => Math.abs(b.value)), Number.MIN_VALUE);
  const negatives = bars.some((b) => b.value < 0);
  const positives = bars.some((b) => b.value > 0);
  const zero = labelWidth + (negatives && positives ? plot / 2 : negatives ? plot : 0);
  const scale = (negatives && positives ? plot / 2 : plot) / largest;
  const picture = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  picture.append(svg("line", { x1: zero, x2: zero, y1: 0, y2: height, class: "axis" }));
  bars.forEach(({ feature, value }, index) => {
    const y = 5 + index * rowHeight;
    const length = Math.abs(value) * scale;
    const x = value < 0 ? zero - length : zero;
    const label = svg("text", { x: labelWidth - 6, y: y + 13, class: "label", "text-anchor": "end" });
    label.textContent = feature.replace(/^contrib_/, "");
    const bar = svg("rect", { x, y: y + 2, width: Math.max(length, 0.5), height: rowHeight - 6, class: value < 0 ? "bar negative" : "bar positive" });
    bar.dataset.feature = feature;
    bar.dataset.value = String(value);
    const tip = svg("title", {});
    tip.textContent = `${feature}: ${value}`;
    bar.append(tip);
    const number = svg("text", { x: width - 4, y: y + 13, class: "value", "text-anchor": "end" });
    number.textContent = value.toPrecision(4);
    picture.append(label, bar, number);
  });
  figure.append(caption, picture);
  return figure;
}

// ---- wiring ------------------------------------------------------------------------------

$("credential-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(CREDENTIAL_KEY, $("credential-input").value);
  $("credential-input").value = "";
  load();
});
$("score-form").addEventListener("submit", score);
$("csv-input").addEventListener("change", readCsv);
$("csv-clear").addEventListener("click", clearCsv);
load();
