// The app: a router over the location's hash (#/for-you, #/item/42, …),
// the header's navigation, and the pages.

import { session, refreshUser, whenSignedOut } from "./api.js";
import { location, go } from "./router.js";
import { h, page, problem } from "./ui.js";
import { home, signIn, signUp, welcome } from "./account.js";
import { forYou } from "./foryou.js";
import { search } from "./search.js";
import { itemPage } from "./item.js";
import { library } from "./library.js";
import { operator } from "./operator.js";

// Each route: a pattern over the hash path, whether it needs a signed-in
// user, and the page.
const routes = [
  { path: /^\/$/, show: () => (session.token ? forYou() : home()) },
  { path: /^\/sign-in$/, show: signIn },
  { path: /^\/sign-up$/, show: signUp },
  { path: /^\/welcome$/, user: true, show: welcome },
  { path: /^\/for-you$/, user: true, show: forYou },
  { path: /^\/search$/, show: search },
  { path: /^\/item\/(\d+)$/, show: (m) => itemPage(Number(m[1])) },
  { path: /^\/library$/, user: true, show: library },
  { path: /^\/operator$/, user: true, show: operator },
];

async function route() {
  const { path } = location();
  nav(path);
  if (path !== "/search") document.getElementById("ask-q").value = "";
  const r = routes.find((x) => x.path.test(path));
  if (!r) {
    page("Not found", h("p", {}, "There is no such page. ", h("a", { href: "#/" }, "Go to the start.")));
    return;
  }
  if (r.user && !session.token) {
    go("/sign-in?next=" + encodeURIComponent(path));
    return;
  }
  try {
    await r.show(r.path.exec(path));
  } catch (err) {
    page("Something went wrong", problem(err));
  }
}

function nav(path) {
  const link = (href, text) => h("a", { href: "#" + href, "aria-current": path === href ? "page" : null }, text);
  const links = [];
  if (session.token) {
    links.push(link("/for-you", "For you"), link("/library", "My library"), link("/welcome", "My tastes"));
    if (session.admin) links.push(link("/operator", "Operator"));
    links.push(h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"));
  } else {
    links.push(link("/sign-in", "Sign in"), link("/sign-up", "Sign up"));
  }
  document.getElementById("nav").replaceChildren(...links);
}

function signOut() {
  session.clear();
  go("/");
}

document.getElementById("ask").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("ask-q").value.trim();
  if (q) go("/search?" + new URLSearchParams({ q }));
});

whenSignedOut(() => go("/sign-in?expired=1"));
window.addEventListener("hashchange", route);

session.load();
try {
  await refreshUser();
} catch {
  session.clear(); // the account is gone or the token no longer holds
}
route();
