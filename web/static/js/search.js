// Search in plain words: the results, how the query was understood, and a
// way to drop any filter read into it.

import { api, session, myFeedback, typeName } from "./api.js";
import { h, page, fill, cards, empty } from "./ui.js";
import { go, location } from "./router.js";

// The parts of the reading a user can remove, as the API names them.
const partNames = { types: "the media type", title: "the title", years: "the years", genres: "the genres" };

export function search() {
  const { query } = location();
  const q = (query.get("q") || "").trim();
  const ignore = (query.get("ignore") || "").split(",").filter((p) => p in partNames);
  document.getElementById("ask-q").value = q;

  const understood = h("div", { class: "understood", "aria-label": "How your search was understood" });
  const results = h("div", { class: "results", id: "results" });
  page(q ? `Results for “${q}”` : "Search", understood, results);
  if (!q) {
    results.replaceChildren(empty("Type into the search box above the way you would ask a friend: “a podcast about history”, “like Interstellar but a documentary”, “horror films before 1980”."));
    document.getElementById("ask-q").focus();
    return;
  }

  const params = new URLSearchParams({ q, limit: "20" });
  if (ignore.length) params.set("ignore", ignore.join(","));
  const withIgnored = (parts) => {
    const p = new URLSearchParams({ q });
    if (parts.length) p.set("ignore", parts.join(","));
    return "/search?" + p;
  };

  fill(results, "Searching…", async () => {
    const [res, judged] = await Promise.all([
      api("GET", "/v1/search?" + params),
      session.token ? myFeedback() : new Map(),
    ]);
    understood.replaceChildren(...reading(res.parsed, ignore, (part) => go(withIgnored([...ignore, part]))));
    if (ignore.length) {
      understood.append(h("p", { class: "removed" },
        `Searching without ${ignore.map((p) => partNames[p]).join(" and ")}. `,
        h("a", { href: "#" + withIgnored([]) }, "Put back")));
    }
    if (!res.items.length) {
      return empty("Nothing found. Items become searchable once embedded; try other words, or remove a filter above.");
    }
    return cards(res.items, { judgedOf: (item) => judged.get(item.id) }, "Search results");
  });
}

// reading shows each filter the service read into the query as a chip
// that removes it.
function reading(parsed, ignore, remove) {
  const chips = [];
  const add = (part, label) => {
    if (ignore.includes(part)) return;
    chips.push(h("li", {}, h("button", { type: "button", class: "chip removable", "aria-label": `${label}: remove this filter`, onclick: () => remove(part) }, label, h("span", { "aria-hidden": "true" }, " ✕"))));
  };
  if (parsed.types.length) add("types", parsed.types.map((t) => typeName(t, true)).join(" or "));
  if (parsed.title) add("title", (parsed.title.like ? "Like " : "Titled ") + parsed.title.title);
  if (parsed.year_from || parsed.year_to) add("years", years(parsed.year_from, parsed.year_to));
  if (parsed.genres && parsed.genres.length) add("genres", parsed.genres.join(" + "));
  if (!chips.length) return [];
  return [h("p", { class: "hint", id: "understood-label" }, "Understood as:"), h("ul", { class: "chips", "aria-labelledby": "understood-label" }, chips)];
}

function years(from, to) {
  if (from && to) return from === to ? String(from) : `${from}–${to}`;
  if (from) return `From ${from}`;
  return `Up to ${to}`;
}
