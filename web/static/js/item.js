// An item's page: its details, the user's verdict, and similar items of
// its own type and of the others.

import { api, session, myFeedback, types, typeName } from "./api.js";
import { h, page, fill, cover, cards, empty, verdict, loading } from "./ui.js";

export async function itemPage(id) {
  page("Loading…", loading());
  const [item, judged] = await Promise.all([
    api("GET", "/v1/items/" + id),
    session.token ? myFeedback() : new Map(),
  ]);

  const same = h("div", { class: "results" });
  const others = h("div", { class: "results" });
  const mine = judged.get(item.id);
  const kicker = [typeName(item.type), item.year, item.language && item.language !== "en" ? item.language : null].filter(Boolean).join(" · ");

  page(item.title,
    h("article", { class: "item" },
      h("div", { class: "item-cover" }, cover(item, "large")),
      h("div", { class: "item-main" },
        h("p", { class: "kicker" }, kicker),
        item.creators?.length ? h("p", { class: "creators" }, "By ", item.creators.join(", ")) : null,
        item.genres?.length ? h("ul", { class: "tags", "aria-label": "Genres" }, item.genres.map((g) => h("li", {}, g))) : null,
        item.description ? h("p", { class: "description" }, item.description) : null,
        item.tags?.length ? h("p", { class: "tagline" }, "Tagged: ", item.tags.slice(0, 12).flatMap((t, i) => [
          i ? ", " : "", h("a", { href: "#/search?" + new URLSearchParams({ q: t }) }, t)])) : null,
        h("section", { class: "yours", "aria-labelledby": "yours" },
          h("h2", { id: "yours" }, "Your verdict"),
          session.token ? verdict(item, mine) : h("p", {}, h("a", { href: "#/sign-in?next=" + encodeURIComponent("/item/" + item.id) }, "Sign in"), " to like, dislike or rate it.")))),
    h("section", { "aria-labelledby": "same" }, h("h2", { id: "same" }, `More ${typeName(item.type, true).toLowerCase()} like this`), same),
    h("section", { "aria-labelledby": "others" }, h("h2", { id: "others" }, "In other media"), others));

  if (item.embedding_status !== "done") {
    const why = item.embedding_status === "failed" ? "it could not be embedded" : "it has not been embedded yet";
    same.replaceChildren(empty(`No similar items: ${why}.`));
    others.replaceChildren();
    return;
  }
  // Each other type gets its own few, so that a film's page shows the
  // nearest books and podcasts too, however far the films lead.
  const similar = (box, kinds, each) => fill(box, "Finding similar items…", async () => {
    const found = await Promise.all(kinds.map((t) =>
      api("GET", `/v1/items/${item.id}/similar?` + new URLSearchParams({ limit: String(each), types: t }))));
    const all = found.flatMap((res) => res.items);
    if (!all.length) return empty("Nothing similar found.");
    return cards(all, { judgedOf: (x) => judged.get(x.id) }, "Similar items");
  });
  similar(same, [item.type], 6);
  similar(others, types.map((t) => t.id).filter((t) => t !== item.type), 2);
}
