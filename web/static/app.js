"use strict";
// Browses the catalog (GET /v1/items), searches it in plain words
// (GET /v1/search), and, once signed in, shows the user's recommendations
// (GET /v1/recommendations) and records likes (POST /v1/me/feedback).
const $ = (id) => document.getElementById(id);
const list = $("items");
const more = $("more");
const status = $("status");
let cursor = "";
let token = sessionStorage.getItem("token") || "";

function text(tag, cls, value) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  el.textContent = value;
  return el;
}

async function api(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? {} : await res.json();
  if (!res.ok) {
    const fields = (data.errors || []).map((e) => e.field + ": " + e.message).join("; ");
    throw new Error([data.detail || data.title || "Something went wrong.", fields].filter(Boolean).join(" "));
  }
  return data;
}

function feedbackButtons(item) {
  const box = document.createElement("span");
  box.className = "feedback";
  for (const [kind, label] of [["like", "👍 Like"], ["dislike", "👎 Not for me"]]) {
    const b = text("button", "", label);
    b.type = "button";
    b.addEventListener("click", async () => {
      try {
        await api("POST", "/v1/me/feedback", { item_id: item.id, kind });
        box.replaceChildren(text("span", "done", kind === "like" ? "Liked" : "Noted"));
      } catch (err) {
        status.textContent = err.message;
      }
    });
    box.append(b);
  }
  return box;
}

function render(item, reason) {
  const li = document.createElement("li");
  const title = document.createElement("div");
  title.append(text("span", "type", item.type), text("strong", "", item.title));
  if (token) title.append(feedbackButtons(item));
  li.append(title);
  if (reason) li.append(text("div", "reason", reason.text));
  const meta = [item.year, (item.creators || []).join(", "), (item.genres || []).join(" · ")].filter(Boolean).join(" — ");
  if (meta) li.append(text("div", "meta", meta));
  if (item.tags && item.tags.length) li.append(text("div", "tags", item.tags.slice(0, 8).join(", ")));
  if (item.description) li.append(text("p", "", item.description));
  return li;
}

async function show(loading, fetcher) {
  status.textContent = loading;
  try {
    await fetcher();
  } catch (err) {
    status.textContent = err.message;
  }
}

function browse(reset) {
  return show("Loading…", async () => {
    const params = new URLSearchParams({ limit: "25" });
    for (const name of ["q", "type", "genre"]) {
      const v = $(name).value.trim();
      if (v) params.set(name, v);
    }
    if (!reset && cursor) params.set("cursor", cursor);
    const body = await api("GET", "/v1/items?" + params);
    if (reset) list.replaceChildren();
    body.items.forEach((item) => list.append(render(item)));
    cursor = body.next_cursor || "";
    more.hidden = !cursor;
    status.textContent = list.children.length ? "" : "Nothing matches.";
  });
}

function search(q) {
  return show("Searching…", async () => {
    const body = await api("GET", "/v1/search?" + new URLSearchParams({ q, limit: "20" }));
    list.replaceChildren(...body.items.map((hit) => render(hit.item)));
    more.hidden = true;
    const types = body.parsed && body.parsed.types.length ? " (" + body.parsed.types.join(", ") + ")" : "";
    status.textContent = body.items.length ? "Results for “" + body.parsed.text + "”" + types : "Nothing found yet: items are searchable once embedded.";
  });
}

function recommend() {
  return show("Finding things for you…", async () => {
    const params = new URLSearchParams({ limit: "20", diversity: $("diversity").value });
    if ($("rtypes").value) params.set("types", $("rtypes").value);
    const body = await api("GET", "/v1/recommendations?" + params);
    list.replaceChildren(...body.items.map((rec) => render(rec.item, rec.reason)));
    more.hidden = true;
    status.textContent = body.items.length ? "" : "Nothing to recommend yet.";
  });
}

async function showAccount() {
  const signedIn = Boolean(token);
  $("signin").hidden = signedIn;
  $("account").hidden = !signedIn;
  $("foryou").hidden = !signedIn;
  if (!signedIn) return;
  try {
    const me = await api("GET", "/v1/me");
    $("who").textContent = me.display_name || me.email;
  } catch {
    signOut();
  }
}

function signOut() {
  token = "";
  sessionStorage.removeItem("token");
  showAccount();
}

$("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  try {
    if (e.submitter && e.submitter.value === "register") {
      token = (await api("POST", "/v1/auth/register", { email, password, display_name: email.split("@")[0] })).token;
    } else {
      token = (await api("POST", "/v1/auth/login", { email, password })).token;
    }
    sessionStorage.setItem("token", token);
    $("password").value = "";
    await showAccount();
    recommend();
  } catch (err) {
    status.textContent = err.message;
  }
});
$("signout").addEventListener("click", signOut);
$("foryou").addEventListener("submit", (e) => { e.preventDefault(); recommend(); });
$("search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = $("ask").value.trim();
  if (q) search(q);
});
$("filters").addEventListener("submit", (e) => { e.preventDefault(); browse(true); });
more.addEventListener("click", () => browse(false));
showAccount();
browse(true);
