// DOM helpers and the pieces every page shows: item cards, covers, the
// like / dislike / rate control, toasts, loading and error states.

import { judge, forget, typeName, session } from "./api.js";

// h builds an element: h("a", {href: "#/", class: "x", onclick: fn}, "text", child…).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// page replaces the view with a titled page and moves focus to its title,
// so that keyboard and screen-reader users start at the top of it.
export function page(title, ...children) {
  const view = document.getElementById("view");
  const heading = h("h1", { tabindex: "-1" }, title);
  view.replaceChildren(heading, ...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  document.title = title + " · mediarec";
  heading.focus({ preventScroll: true });
  window.scrollTo(0, 0);
  return view;
}

export function loading(text) {
  return h("p", { class: "loading", role: "status" }, text || "Loading…");
}

export function empty(text, ...more) {
  return h("div", { class: "empty" }, h("p", {}, text), ...more);
}

export function problem(err) {
  return h("p", { class: "problem", role: "alert" }, err.message || String(err));
}

// fill replaces box's content with a loading line, then with what build
// returns, or with the error in words.
export async function fill(box, text, build) {
  box.setAttribute("aria-busy", "true");
  box.replaceChildren(loading(text));
  try {
    box.replaceChildren(...[await build()].flat());
  } catch (err) {
    box.replaceChildren(problem(err));
  } finally {
    box.removeAttribute("aria-busy");
  }
}

export function toast(text, action) {
  const box = document.getElementById("toasts");
  const t = h("div", { class: "toast" }, h("span", {}, text));
  if (action) {
    t.append(h("button", { type: "button", onclick: () => { t.remove(); action.run(); } }, action.label));
  }
  box.replaceChildren(t);
  setTimeout(() => t.remove(), 8000);
}

export function toastError(err) {
  toast(err.message || String(err));
}

// cover shows the item's image, or a placeholder with its type and
// initials when it has none or the image fails to load.
export function cover(item, size) {
  const placeholder = () =>
    h("div", { class: `cover placeholder ${item.type} ${size || ""}`, "aria-hidden": "true" },
      h("span", { class: "initials" }, initials(item.title)),
      h("span", { class: "kind" }, typeName(item.type)));
  if (!item.image_url) return placeholder();
  const img = h("img", { class: `cover ${size || ""}`, src: item.image_url, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
  img.addEventListener("error", () => img.replaceWith(placeholder()));
  return img;
}

function initials(title) {
  const words = title.replace(/\(.*?\)/g, "").split(/\s+/).filter((w) => /^[\p{L}\p{N}]/u.test(w) && !/^(the|a|an|of|and)$/i.test(w));
  return words.slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
}

export function meta(item) {
  const parts = [typeName(item.type)];
  if (item.year) parts.push(String(item.year));
  if (item.creators && item.creators.length) parts.push(item.creators.slice(0, 2).join(", "));
  return parts.join(" · ");
}

// card is one item in a list: cover, title linking to its page, type,
// year and creators, an optional reason, and the verdict control when
// someone is signed in.
export function card(item, opts = {}) {
  const li = h("li", { class: "card", "data-item": String(item.id) },
    h("a", { class: "card-cover", href: `#/item/${item.id}`, tabindex: "-1", "aria-hidden": "true" }, cover(item)),
    h("div", { class: "card-body" },
      h("h3", {}, h("a", { href: `#/item/${item.id}` }, item.title)),
      h("p", { class: "meta" }, meta(item)),
      opts.reason ? h("p", { class: "reason" }, opts.reason.text) : null,
      item.genres && item.genres.length ? h("p", { class: "genres" }, item.genres.slice(0, 4).join(", ")) : null,
      session.token && opts.verdict !== false
        ? verdict(item, opts.judged, opts.onJudged && ((kind, undo) => opts.onJudged(item, kind, undo)))
        : null));
  return li;
}

export function cards(items, opts = {}, label) {
  return h("ul", { class: "cards", "aria-label": label || "Items" },
    items.map((x) => card(x.item || x, { ...opts, reason: x.reason, judged: opts.judgedOf ? opts.judgedOf(x.item || x) : undefined })));
}

const ratings = ["5", "4.5", "4", "3.5", "3", "2.5", "2", "1.5", "1", "0.5"];

// verdict is the like / not for me / rate control of an item. judged is
// the user's current feedback ({kind, rating}) if any; onJudged(kind,
// undo) runs after each change so that the page can refresh.
export function verdict(item, judged, onJudged) {
  const box = h("div", { class: "verdict", role: "group", "aria-label": `Your verdict on ${item.title}` });
  let current = judged || null;
  const done = onJudged || (() => {});

  const set = async (kind, rating) => {
    const before = current;
    try {
      if (current && current.kind === kind && (kind !== "rating" || current.rating === rating)) {
        await forget(item.id);
        current = null;
      } else {
        await judge(item.id, kind, rating);
        current = { kind, rating };
      }
    } catch (err) {
      toastError(err);
      return;
    }
    render();
    const undo = async () => {
      try {
        if (before) await judge(item.id, before.kind, before.rating);
        else await forget(item.id);
        current = before;
        render();
        done(before ? before.kind : "", true);
      } catch (err) {
        toastError(err);
      }
    };
    toast(current ? said(current, item) : `Removed your verdict on “${item.title}”.`, { label: "Undo", run: undo });
    done(current ? kind : "", false);
  };

  const render = () => {
    const rated = current && current.kind === "rating" ? String(current.rating) : "";
    const select = h("select", { "aria-label": `Rate ${item.title}`, onchange: (e) => e.target.value && set("rating", Number(e.target.value)) },
      h("option", { value: "" }, "Rate…"),
      ratings.map((r) => h("option", { value: r, selected: r === rated }, `${r} ★`)));
    box.replaceChildren(
      h("button", { type: "button", class: "like", "aria-pressed": String(current?.kind === "like"), onclick: () => set("like") }, "♥ Like"),
      h("button", { type: "button", class: "dislike", "aria-pressed": String(current?.kind === "dislike"), onclick: () => set("dislike") }, "Not for me"),
      select);
  };
  render();
  return box;
}

function said(f, item) {
  if (f.kind === "like") return `You liked “${item.title}”.`;
  if (f.kind === "dislike") return `Noted: “${item.title}” is not for you.`;
  return `You rated “${item.title}” ${f.rating} ★.`;
}

// chip is a toggle button: pressed or not.
export function chip(label, pressed, onToggle, extra) {
  const b = h("button", { type: "button", class: "chip", "aria-pressed": String(Boolean(pressed)), ...extra }, label);
  b.addEventListener("click", () => {
    const on = b.getAttribute("aria-pressed") !== "true";
    b.setAttribute("aria-pressed", String(on));
    onToggle(on);
  });
  return b;
}
