"use strict";
// Browses the catalog through GET /v1/items with its filters and cursor, and
// searches it in plain words through GET /v1/search.
const form = document.getElementById("filters");
const list = document.getElementById("items");
const more = document.getElementById("more");
const status = document.getElementById("status");
let cursor = "";

function text(tag, cls, value) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  el.textContent = value;
  return el;
}

function render(item) {
  const li = document.createElement("li");
  const title = document.createElement("div");
  title.append(text("span", "type", item.type), text("strong", "", item.title));
  li.append(title);
  const meta = [item.year, (item.creators || []).join(", "), (item.genres || []).join(" · ")].filter(Boolean).join(" — ");
  if (meta) li.append(text("div", "meta", meta));
  if (item.tags && item.tags.length) li.append(text("div", "tags", item.tags.slice(0, 8).join(", ")));
  if (item.description) li.append(text("p", "", item.description));
  return li;
}

async function load(reset) {
  const params = new URLSearchParams();
  for (const name of ["q", "type", "genre"]) {
    const v = document.getElementById(name).value.trim();
    if (v) params.set(name, v);
  }
  params.set("limit", "25");
  if (!reset && cursor) params.set("cursor", cursor);
  status.textContent = "Loading…";
  const res = await fetch("/v1/items?" + params);
  const body = await res.json();
  if (!res.ok) {
    status.textContent = body.detail || "Something went wrong.";
    return;
  }
  if (reset) list.replaceChildren();
  body.items.forEach((item) => list.append(render(item)));
  cursor = body.next_cursor || "";
  more.hidden = !cursor;
  status.textContent = list.children.length ? "" : "Nothing matches.";
}

async function search(q) {
  status.textContent = "Searching…";
  const res = await fetch("/v1/search?" + new URLSearchParams({ q, limit: "20" }));
  const body = await res.json();
  if (!res.ok) {
    status.textContent = body.detail || "Something went wrong.";
    return;
  }
  list.replaceChildren(...body.items.map((hit) => render(hit.item)));
  more.hidden = true;
  status.textContent = body.items.length ? "" : "Nothing found yet: items are searchable once embedded.";
}

document.getElementById("search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("ask").value.trim();
  if (q) search(q);
});
form.addEventListener("submit", (e) => { e.preventDefault(); load(true); });
more.addEventListener("click", () => load(false));
load(true);
