// The search page: calls GET /health once (filters, auth) and POST /search on submit.
"use strict";
const $ = (id) => document.getElementById(id);
const fmtPrice = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

function option(select, value) {
  const o = document.createElement("option");
  o.value = value; o.textContent = value;
  select.appendChild(o);
}

async function loadHealth() {
  try {
    const r = await fetch("/health");
    const h = await r.json();
    const idx = h.index;
    $("status").textContent = `${h.model} · ${h.backend} · ${h.dim}-d` + (idx ? ` · ${idx.size} items (${idx.kind})` : " · no index loaded");
    if (idx) {
      idx.categories.forEach((c) => option($("category"), c));
      idx.languages.forEach((l) => option($("lang"), l));
    }
    if (h.auth) {
      $("key-label").hidden = false;
      $("api_key").value = localStorage.getItem("seaembed_key") || "";
    }
  } catch (e) {
    $("status").textContent = "server not reachable";
  }
}

function render(results) {
  const list = $("results");
  list.replaceChildren();
  for (const hit of results) {
    const li = document.createElement("li");
    li.className = "hit";
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = hit.title || hit.name || hit.id;
    const meta = document.createElement("div");
    meta.className = "meta";
    const parts = [
      ["category", hit.category],
      ["price", hit.price == null ? "–" : fmtPrice.format(hit.price)],
      ["lang", hit.lang || "?"],
      ["score", Number(hit.score).toFixed(4)],
    ];
    for (const [name, value] of parts) {
      const span = document.createElement("span");
      span.className = name;
      span.textContent = `${name}: ${value ?? "–"}`;
      meta.appendChild(span);
    }
    li.append(title, meta);
    list.appendChild(li);
  }
}

async function search(event) {
  event.preventDefault();
  const filters = {};
  if ($("category").value) filters.category = $("category").value;
  if ($("lang").value) filters.lang = $("lang").value;
  if ($("price_min").value !== "") filters.price_min = Number($("price_min").value);
  if ($("price_max").value !== "") filters.price_max = Number($("price_max").value);
  const body = { query: $("query").value, mode: $("mode").value, k: Number($("k").value) || 10, filters };
  const headers = { "Content-Type": "application/json" };
  const key = $("api_key").value;
  if (key) { headers.Authorization = `Bearer ${key}`; localStorage.setItem("seaembed_key", key); }
  $("message").textContent = "searching…";
  try {
    const r = await fetch("/search", { method: "POST", headers, body: JSON.stringify(body) });
    const data = await r.json();
    if (!r.ok) {
      $("message").textContent = data.error ? data.error.message : `error ${r.status}`;
      render([]);
      return;
    }
    $("message").textContent = `${data.results.length} results · ${data.mode} · ${data.took_ms} ms`;
    render(data.results);
  } catch (e) {
    $("message").textContent = `request failed: ${e}`;
  }
}

$("search-form").addEventListener("submit", search);
loadHealth();
