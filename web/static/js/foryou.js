// For you: the signed-in user's recommendations with their reasons, type
// chips, the variety slider, and the verdict control on each item.

import { api, session, types, typeName } from "./api.js";
import { h, page, cards, empty, problem, chip } from "./ui.js";

const varietyKey = "mediarec.variety";

// Feedback and preferences reach the recommender as events, moments after
// the users service took them: a refresh waits that long, at most, for the
// change to show.
const settle = [100, 200, 400, 800, 1600];

export function forYou() {
  const prefs = session.user?.preferences || { tags: [], media_types: [] };
  const chosen = new Set(prefs.media_types);
  let variety = Number(localStorage.getItem(varietyKey) ?? "0.3");
  if (!(variety >= 0 && variety <= 1)) variety = 0.3;

  const list = h("div", { class: "results", id: "recommendations" });
  const summary = h("p", { class: "summary", role: "status" });
  let shown = [];
  let pending = 0;

  // refresh shows the recommendations; with expect, it asks again while
  // the answer does not show the change just made.
  const refresh = async (expect) => {
    const ticket = ++pending;
    list.setAttribute("aria-busy", "true");
    summary.textContent = shown.length ? "Updating your recommendations…" : "Finding things for you…";
    const params = new URLSearchParams({ limit: "20", diversity: String(variety) });
    if (chosen.size) params.set("types", [...chosen].join(","));
    try {
      let res = await api("GET", "/v1/recommendations?" + params);
      for (const wait of expect ? settle : []) {
        if (expect(res.items) || ticket !== pending) break;
        await new Promise((r) => setTimeout(r, wait));
        res = await api("GET", "/v1/recommendations?" + params);
      }
      if (ticket !== pending) return; // a newer request answers instead
      shown = res.items;
      show();
    } catch (err) {
      if (ticket === pending) list.replaceChildren(problem(err));
      summary.textContent = "";
    } finally {
      if (ticket === pending) list.removeAttribute("aria-busy");
    }
  };

  const show = () => {
    if (!shown.length) {
      summary.textContent = "";
      list.replaceChildren(empty("Nothing to recommend yet. Items are recommended once the catalog has embedded them; meanwhile, try a search.",
        h("a", { href: "#/search" }, "Search the catalog")));
      return;
    }
    const kinds = [...new Set(shown.map((r) => r.item.type))].map((t) => typeName(t, true)).join(", ");
    summary.textContent = `${shown.length} picks: ${kinds}.`;
    list.replaceChildren(cards(shown, {
      // A judged item leaves the list: refresh until the recommender has
      // heard of it.
      onJudged: (item, kind, undo) => refresh(undo ? null : (items) => !items.some((r) => r.item.id === item.id)),
    }, "Recommendations"));
  };

  const slider = h("input", { id: "variety", type: "range", min: "0", max: "1", step: "0.1", value: String(variety), "aria-describedby": "variety-hint" });
  const sliderText = h("output", { for: "variety", id: "variety-value" }, varietyWord(variety));
  let timer = 0;
  slider.addEventListener("input", () => {
    variety = Number(slider.value);
    sliderText.textContent = varietyWord(variety);
    localStorage.setItem(varietyKey, String(variety));
    clearTimeout(timer);
    timer = setTimeout(() => refresh(), 200);
  });

  const noTastes = prefs.tags.length === 0 && prefs.media_types.length === 0;
  page("For you",
    noTastes ? h("p", { class: "notice" }, "Tell us what you enjoy and these get personal at once. ", h("a", { href: "#/welcome" }, "Pick your tastes.")) : null,
    h("div", { class: "controls" },
      h("div", { class: "chips", role: "group", "aria-label": "Media types" },
        types.map((t) => chip(t.many, chosen.has(t.id), (on) => {
          if (on) chosen.add(t.id);
          else chosen.delete(t.id);
          refresh();
        }))),
      h("p", { class: "slider" },
        h("label", { for: "variety" }, "Variety"),
        h("span", { id: "variety-hint", class: "hint" }, "Most relevant"),
        slider,
        h("span", { class: "hint" }, "Most varied"),
        sliderText)),
    summary,
    list);
  const fromTastes = prefs.tags.length > 0;
  refresh(fromTastes ? (items) => items.some((r) => r.reason.kind !== "popular") : null);
}

function varietyWord(v) {
  if (v < 0.25) return "focused";
  if (v < 0.6) return "balanced";
  return "varied";
}
