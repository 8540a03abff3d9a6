// The operator's page: the catalog by type, embedding progress and
// failures, the live model, and a re-embedding with its progress.

import { api, session, types, typeName } from "./api.js";
import { h, page, fill, empty, problem } from "./ui.js";
import { location } from "./router.js";

// pollEvery is how often the page asks again while work is under way.
const pollEvery = 1500;

export function operator() {
  if (!session.admin) {
    page("Operators only", h("p", {}, "This page shows the catalog's embedding and lets an operator re-embed it. Your account is not an administrator: an operator makes one by listing its email in MEDIAREC_ADMIN_EMAILS."));
    return;
  }
  const model = h("div", { id: "model" });
  const progress = h("div", { id: "progress" });
  const byType = h("div", { id: "by-type" });
  const reembed = h("div", { id: "reembed" });
  const failures = h("div", { id: "failures" });
  page("Operator",
    h("section", { "aria-labelledby": "op-model" }, h("h2", { id: "op-model" }, "Live model"), model),
    h("section", { "aria-labelledby": "op-progress" }, h("h2", { id: "op-progress" }, "Embedding"), progress, byType),
    h("section", { "aria-labelledby": "op-reembed" }, h("h2", { id: "op-reembed" }, "Re-embedding"), reembed),
    h("section", { "aria-labelledby": "op-failures" }, h("h2", { id: "op-failures" }, "Failures"), failures));

  let starting = false;
  const update = async () => {
    let s;
    try {
      s = await api("GET", "/v1/admin/embedding");
    } catch (err) {
      progress.replaceChildren(problem(err));
      return false;
    }
    const total = s.pending + s.done + s.failed;
    model.replaceChildren(h("p", {}, s.model
      ? `${s.model}, ${s.dimensions} dimensions, collection ${s.collection}.`
      : "No model is live yet: the first items are being embedded."));
    progress.replaceChildren(
      h("progress", { id: "embedded", max: String(Math.max(total, 1)), value: String(s.done), "aria-label": "Items embedded" }),
      h("p", { role: "status" }, `${fmt(s.done)} of ${fmt(total)} items embedded · ${fmt(s.pending)} pending · ${fmt(s.failed)} failed`));
    byType.replaceChildren(typeTable(s.by_type || {}));
    showReembed(s.reembed, total);
    return s.pending > 0 || Boolean(s.reembed);
  };

  const showReembed = (r, total) => {
    if (r) {
      const text = r.fitting ? "Fitting a new model on the catalog…"
        : `Embedding with ${r.target.model}: ${fmt(r.done || 0)} of ${fmt(r.total || total)} items. Search answers from the live model until this one is complete.`;
      reembed.replaceChildren(
        r.fitting ? h("progress", { "aria-label": "Re-embedding" }) : h("progress", { max: String(Math.max(r.total || total, 1)), value: String(r.done || 0), "aria-label": "Re-embedding" }),
        h("p", { role: "status" }, text));
      return;
    }
    if (starting) return;
    const start = h("button", { type: "button", class: "primary", onclick: async () => {
      starting = true;
      start.disabled = true;
      try {
        const res = await api("POST", "/v1/admin/reembed");
        reembed.replaceChildren(h("p", { role: "status" }, `Re-embedding ${fmt(res.items)} items (job ${res.job_id})…`));
        poll();
      } catch (err) {
        reembed.append(problem(err));
        start.disabled = false;
      } finally {
        starting = false;
      }
    } }, "Re-embed the catalog");
    reembed.replaceChildren(
      h("p", {}, `Embeds all ${fmt(total)} items again with a model fitted on today's catalog, into a new collection; search keeps answering from the live one and switches when the new one is complete.`),
      start);
  };

  const loadFailures = () => fill(failures, "Loading failures…", async () => {
    const res = await api("GET", "/v1/items?" + new URLSearchParams({ embedding_status: "failed", limit: "20" }));
    if (!res.items.length) return empty("No item has failed to embed.");
    return h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Why it failed"))),
      h("tbody", {}, res.items.map((it) => h("tr", {},
        h("td", {}, h("a", { href: `#/item/${it.id}` }, it.title)),
        h("td", {}, typeName(it.type)),
        h("td", {}, it.embedding_error || "unknown")))));
  });

  // poll asks again while work is under way and the page is shown.
  const poll = async () => {
    const busy = await update();
    if (busy && location().path === "/operator" && document.getElementById("reembed") === reembed) {
      setTimeout(poll, pollEvery);
    } else {
      loadFailures();
    }
  };
  poll();
}

function typeTable(byType) {
  const row = (name, c) => h("tr", {},
    h("th", { scope: "row" }, name),
    ...[c.pending + c.done + c.failed, c.done, c.pending, c.failed].map((n) => h("td", { class: "num" }, fmt(n))));
  const zero = { pending: 0, done: 0, failed: 0 };
  return h("table", { class: "by-type" },
    h("caption", {}, "Catalog by media type"),
    h("thead", {}, h("tr", {}, ["Type", "Items", "Embedded", "Pending", "Failed"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, types.map((t) => row(t.many, byType[t.id] || zero))));
}

function fmt(n) {
  return Number(n || 0).toLocaleString("en");
}
