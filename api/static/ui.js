/* The helpers every page script uses (chat.js, learn.js, review.js, console_*.js), in one
 * place: building elements, reading and formatting the page's UI strings, calling the JSON API
 * with the CSRF token, showing a page's errors, and copying text to the clipboard. Loaded before the page script;
 * exposes window.KdtUi and nothing else. */
(function () {
  "use strict";

  /** An element: h("a", {href: "/x", class: "c", text: "hi", onclick: fn}, [children]). */
  function h(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of [].concat(children || [])) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return node;
  }

  /** The JSON a page rendered into <script type="application/json" id="...">, e.g. its
   * UI strings ("chat-strings"). */
  function readJson(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  /** A formatter over a strings table: fmt("key", {n: 3}) fills {n}. */
  function formatter(strings) {
    return function fmt(key, values) {
      return (strings[key] || key).replace(/\{(\w+)\}/g, (m, name) => (
        values && name in values ? String(values[name]) : m
      ));
    };
  }

  /** A failed API call: the HTTP status (0: no answer), the error code, the message to
   * show, and the parsed JSON body of the answer when it had one. */
  class ApiError extends Error {
    constructor(status, code, message, body) {
      super(message);
      this.status = status;
      this.code = code;
      this.body = body === undefined ? null : body;
    }
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /** fetch() for the JSON API: CSRF header on writes, {json} bodies, errors as ApiError
   * with the server's message ({"error": {"code", "message"}}). ``messages`` gives the page's
   * words for {network, login} failures. */
  async function api(path, options, messages) {
    const texts = messages || {};
    const opts = Object.assign({ credentials: "same-origin" }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (opts.method && opts.method !== "GET") opts.headers["X-CSRF-Token"] = csrfToken();
    if (opts.json !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    let response;
    try {
      response = await fetch(path, opts);
    } catch (_) {
      throw new ApiError(0, "network", texts.network || "network error");
    }
    if (response.redirected && /\/login/.test(response.url)) {
      throw new ApiError(401, "unauthorized", texts.login || "please log in");
    }
    if (!response.ok) {
      let code = "http_" + response.status;
      let message = response.statusText || code;
      let body = null;
      try {
        body = await response.json();
        if (body && body.error) {
          code = body.error.code || code;
          message = body.error.message || message;
        } else if (body && Array.isArray(body.detail)) {
          message = body.detail.map((d) => d.msg).join("; ");
        }
      } catch (_) { /* not JSON */ }
      if (response.status === 401 && texts.login) message = texts.login;
      throw new ApiError(response.status, code, message, body);
    }
    return response;
  }

  /** ``api`` with the page's words for failures fixed: client(path, options). */
  function apiClient(messages) {
    return (path, options) => api(path, options, messages);
  }

  /** A page's error box: show("text") fills ``node`` with "<label>: text" and shows it;
   * show("") (or nothing) hides it again. */
  function errorBox(node, label) {
    return function show(message) {
      if (!message) {
        node.hidden = true;
        node.textContent = "";
        return;
      }
      node.replaceChildren(h("strong", { text: label + ": " }), message);
      node.hidden = false;
    };
  }

  /** Put ``text`` on the clipboard; resolves true when it got there. The Clipboard API
   * needs a secure context (HTTPS or localhost); a tutor served over plain HTTP on a
   * classroom network falls back to a hidden textarea and execCommand("copy"). */
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (_) { /* denied: try the old way */ }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    area.style.pointerEvents = "none";
    const focused = document.activeElement;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (_) {
      ok = false;
    }
    area.remove();
    if (focused && focused.focus) focused.focus({ preventScroll: true });
    return ok;
  }

  window.KdtUi = {
    h, readJson, formatter, csrfToken, api, apiClient, ApiError, errorBox, copyText,
  };
})();
