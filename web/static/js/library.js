// My library: what the user liked, rated and set aside, each with undo.

import { api, judge, forget } from "./api.js";
import { h, page, fill, cover, meta, empty, toastError } from "./ui.js";

// idsPerCall is the most ids GET /v1/items takes at once.
const idsPerCall = 100;

const sections = [
  { kind: "like", title: "Liked" },
  { kind: "rating", title: "Rated" },
  { kind: "dislike", title: "Not for me" },
];

export function library() {
  const box = h("div", { id: "library" });
  page("My library", box);
  fill(box, "Loading your library…", async () => {
    const feedback = (await api("GET", "/v1/me/feedback")).items;
    if (!feedback.length) {
      return empty("Nothing here yet. Like, rate or set aside items from For you, search or an item's page, and they gather here.",
        h("a", { href: "#/for-you" }, "See your recommendations"));
    }
    const items = new Map();
    const ids = feedback.map((f) => f.item_id);
    for (let i = 0; i < ids.length; i += idsPerCall) {
      const res = await api("GET", "/v1/items?" + new URLSearchParams({ ids: ids.slice(i, i + idsPerCall).join(",") }));
      for (const it of res.items) items.set(it.id, it);
    }
    feedback.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    return sections.map((s) => {
      const mine = feedback.filter((f) => f.kind === s.kind);
      return h("section", { "aria-labelledby": "lib-" + s.kind },
        h("h2", { id: "lib-" + s.kind }, `${s.title} (${mine.length})`),
        mine.length
          ? h("ul", { class: "rows" }, mine.map((f) => row(f, items.get(f.item_id))))
          : h("p", { class: "hint" }, "None yet."));
    });
  });
}

// row is one judgement with its undo; an undone row offers to put it back.
function row(f, item) {
  const title = item ? item.title : `Item ${f.item_id} (no longer in the catalog)`;
  const li = h("li", { class: "row" });
  const action = h("span", { class: "row-action" });
  const when = new Date(f.created_at).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  const verdictText = f.kind === "rating" ? `${f.rating} ★` : f.kind === "like" ? "Liked" : "Not for me";

  const undoButton = () => h("button", { type: "button", "aria-label": `Undo: ${title}`, onclick: async () => {
    try {
      await forget(f.item_id);
      li.classList.add("undone");
      action.replaceChildren(h("span", { class: "hint" }, "Removed. "), putBackButton());
      action.querySelector("button").focus();
    } catch (err) {
      toastError(err);
    }
  } }, "Undo");
  const putBackButton = () => h("button", { type: "button", "aria-label": `Put back: ${title}`, onclick: async () => {
    try {
      await judge(f.item_id, f.kind, f.rating);
      li.classList.remove("undone");
      action.replaceChildren(undoButton());
      action.querySelector("button").focus();
    } catch (err) {
      toastError(err);
    }
  } }, "Put back");

  action.append(undoButton());
  li.append(
    item ? h("a", { href: `#/item/${item.id}`, tabindex: "-1", "aria-hidden": "true" }, cover(item, "small")) : h("span", { class: "cover placeholder small" }),
    h("div", { class: "row-body" },
      item ? h("a", { href: `#/item/${item.id}` }, title) : h("span", {}, title),
      h("p", { class: "meta" }, [item ? meta(item) : "", `${verdictText} on ${when}`].filter(Boolean).join(" — "))),
    action);
  return li;
}
