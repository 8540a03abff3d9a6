// Where the app is: the path and query of the location's hash
// ("#/search?q=x"), and how to go elsewhere.

export function location() {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const i = hash.indexOf("?");
  return { path: i < 0 ? hash : hash.slice(0, i), query: new URLSearchParams(i < 0 ? "" : hash.slice(i + 1)) };
}

// go shows path; going to where one already is shows it afresh.
export function go(path) {
  if (window.location.hash === "#" + path) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else window.location.hash = path;
}
