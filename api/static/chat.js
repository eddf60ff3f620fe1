/* The chat page: conversation list, streamed answers (SSE over fetch), citations, feedback.
 * Every user-visible string comes from the #chat-strings JSON blob rendered by chat.html. */
(function () {
  "use strict";

  const app = document.getElementById("chat-app");
  if (!app) return;

  const S = JSON.parse(document.getElementById("chat-strings").textContent);
  const CONFIG = JSON.parse(document.getElementById("chat-config").textContent);
  const LANG = app.dataset.lang || "ko";
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const CSRF = csrfMeta ? csrfMeta.content : "";

  const el = {
    history: document.getElementById("chat-history"),
    historyEmpty: document.getElementById("chat-history-empty"),
    newBtn: document.getElementById("chat-new"),
    messages: document.getElementById("chat-messages"),
    welcome: document.getElementById("chat-welcome"),
    error: document.getElementById("chat-error"),
    form: document.getElementById("chat-form"),
    input: document.getElementById("chat-input"),
    send: document.getElementById("chat-send"),
    count: document.getElementById("chat-count"),
    level: document.getElementById("level-badge"),
    panel: document.getElementById("citation-panel"),
    panelNum: document.getElementById("citation-num"),
    panelTitle: document.getElementById("citation-title"),
    panelMeta: document.getElementById("citation-meta"),
    panelText: document.getElementById("citation-text"),
    panelClose: document.getElementById("citation-close"),
  };

  const state = { conversationId: null, streaming: false, conversations: [] };

  // --- small helpers -------------------------------------------------------------------
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

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (c) => (
      { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]
    ));
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function errorFrom(response) {
    let code = "http_" + response.status;
    let message = response.statusText || code;
    try {
      const body = await response.json();
      if (body && body.error) {
        code = body.error.code || code;
        message = body.error.message || message;
      } else if (body && body.detail) {
        // FastAPI's own validation errors: [{loc, msg, ...}]
        message = Array.isArray(body.detail)
          ? body.detail.map((d) => d.msg).join("; ")
          : String(body.detail);
      }
    } catch (_) { /* not JSON */ }
    if (response.status === 401) message = S.chat_error_login;
    return new ApiError(response.status, code, message);
  }

  async function api(path, options) {
    const opts = Object.assign({ credentials: "same-origin" }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (opts.method && opts.method !== "GET") opts.headers["X-CSRF-Token"] = CSRF;
    if (opts.json !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    let response;
    try {
      response = await fetch(path, opts);
    } catch (_) {
      throw new ApiError(0, "network", S.chat_error_network);
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  function showError(message) {
    if (!message) {
      el.error.hidden = true;
      el.error.textContent = "";
      return;
    }
    el.error.replaceChildren(h("strong", { text: S.chat_error + ": " }), message);
    el.error.hidden = false;
  }

  // --- answer rendering: escape first, then code fences, blocks, inline code, [n] chips -----
  function renderInline(text) {
    return text.split(/(`[^`\n]+`)/).map((part) => {
      if (part.length > 2 && part.startsWith("`") && part.endsWith("`")) {
        return "<code>" + escapeHtml(part.slice(1, -1)) + "</code>";
      }
      return escapeHtml(part)
        .replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>")
        .replace(/\[(\d{1,2})\]/g,
          '<button type="button" class="citation-chip" data-testid="citation-chip" ' +
          'data-n="$1" aria-label="' + escapeHtml(S.chat_sources) + ' $1">$1</button>');
    }).join("");
  }

  /** Paragraphs, "- " / "1. " lists and "#" headings; line breaks inside a paragraph. */
  function renderBlocks(text) {
    const out = [];
    let para = [];
    let list = null;
    const flushPara = () => {
      if (para.length) out.push("<p>" + para.map(renderInline).join("<br>") + "</p>");
      para = [];
    };
    const flushList = () => {
      if (list) {
        out.push("<" + list.tag + ">" + list.items.map((i) => "<li>" + renderInline(i) + "</li>")
          .join("") + "</" + list.tag + ">");
      }
      list = null;
    };
    for (const line of text.split("\n")) {
      const bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
      const numbered = /^\s*\d{1,3}[.)]\s+(.*)$/.exec(line);
      const heading = /^\s*#{1,6}\s+(.*)$/.exec(line);
      if (bullet || numbered) {
        const tag = bullet ? "ul" : "ol";
        flushPara();
        if (list && list.tag !== tag) flushList();
        if (!list) list = { tag: tag, items: [] };
        list.items.push((bullet || numbered)[1]);
      } else if (heading) {
        flushPara();
        flushList();
        out.push('<p class="answer-heading">' + renderInline(heading[1]) + "</p>");
      } else if (!line.trim()) {
        flushPara();
        flushList();
      } else if (list && /^\s{2,}\S/.test(line)) {
        list.items[list.items.length - 1] += " " + line.trim();
      } else {
        flushList();
        para.push(line);
      }
    }
    flushPara();
    flushList();
    return out.join("");
  }

  function renderAnswer(text) {
    const html = [];
    const fence = /```([\w+-]*)[^\n]*\n?([\s\S]*?)(?:```|$)/g;
    let last = 0;
    let match;
    while ((match = fence.exec(text)) !== null) {
      html.push(renderBlocks(text.slice(last, match.index)));
      const langClass = match[1] ? ' class="language-' + escapeHtml(match[1]) + '"' : "";
      html.push("<pre><code" + langClass + ">" + escapeHtml(match[2].replace(/\n$/, "")) +
        "</code></pre>");
      last = fence.lastIndex;
      if (match[0].length === 0) break;
    }
    html.push(renderBlocks(text.slice(last)));
    return html.join("");
  }

  // Icons are inline SVG: no icon font, no emoji font needed on the trainee's machine.
  const ICON = {
    up: '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 18.7 10H14V5.5A2.5 2.5 0 0 0 11.5 3L9 10v11z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/></svg>',
    down: '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><g transform="rotate(180 12 12)"><path d="M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 18.7 10H14V5.5A2.5 2.5 0 0 0 11.5 3L9 10v11z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/></g></svg>',
    trash: '<svg viewBox="0 0 24 24" width="15" height="15" aria-hidden="true"><path d="M4 7h16M9 7V4h6v3m-8 0 1 13h8l1-13" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  };

  function iconButton(icon, attrs) {
    const button = h("button", attrs);
    button.innerHTML = ICON[icon];
    return button;
  }

  // --- messages ------------------------------------------------------------------------
  function nearBottom() {
    const m = el.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 120;
  }

  function scrollToBottom(force) {
    if (force || nearBottom()) el.messages.scrollTop = el.messages.scrollHeight;
  }

  function clearMessages() {
    el.messages.replaceChildren(el.welcome);
    el.welcome.hidden = false;
    closePanel();
  }

  function addUserMessage(text) {
    el.welcome.hidden = true;
    const node = h("div", { class: "msg msg-user", "data-testid": "message-user" }, [
      h("div", { class: "msg-who", text: S.chat_you }),
      h("div", { class: "bubble", text: text }),
    ]);
    el.messages.append(node);
    scrollToBottom(true);
    return node;
  }

  /** A tutor message: an object that owns its DOM and re-renders from its state. */
  function TutorMessage(initial) {
    const data = Object.assign(
      { id: null, text: "", citations: [], notices: [], mode: "answer", feedback: null,
        streaming: false, error: null },
      initial || {},
    );
    const root = h("div", { class: "msg msg-assistant", "data-testid": "message-assistant" });
    const who = h("div", { class: "msg-who" });
    const notices = h("div", { class: "msg-notices" });
    const body = h("div", { class: "bubble answer", "data-testid": "answer-text" });
    const sources = h("div", { class: "msg-sources" });
    const footer = h("div", { class: "msg-footer" });
    root.append(who, notices, body, sources, footer);

    function citation(n) {
      return data.citations.find((c) => Number(c.n) === Number(n));
    }

    body.addEventListener("click", (event) => {
      const chip = event.target.closest(".citation-chip");
      if (!chip) return;
      const c = citation(chip.dataset.n);
      if (c) openPanel(c, chip);
    });

    function renderWho() {
      const parts = [h("span", { text: S.chat_tutor })];
      if (data.mode === "hint") {
        parts.push(h("span", { class: "tag mode-hint", text: S.chat_mode_hint }));
      } else if (data.mode === "not_covered") {
        parts.push(h("span", { class: "tag mode-nc", text: S.chat_mode_not_covered }));
      }
      who.replaceChildren(...parts);
    }

    function renderBody() {
      body.innerHTML = renderAnswer(data.text);
      body.classList.toggle("streaming", data.streaming);
      if (data.streaming && !data.text) body.append(h("span", { class: "typing" }, [
        h("i"), h("i"), h("i"),
      ]));
      if (!data.streaming) {
        for (const chip of body.querySelectorAll(".citation-chip")) {
          chip.classList.toggle("missing", !citation(chip.dataset.n));
        }
      }
      if (data.error) body.append(h("div", { class: "msg-error", role: "alert", text: data.error }));
    }

    function renderNotices() {
      notices.replaceChildren(...data.notices.map((text) => (
        h("div", { class: "msg-notice", "data-testid": "message-notice", text: text })
      )));
    }

    function renderSources() {
      if (!data.citations.length) {
        sources.replaceChildren();
        return;
      }
      const items = data.citations.map((c) => {
        const path = (c.heading_path || []).filter((p) => p !== c.title);
        return h("li", {}, [
          h("button", {
            type: "button", class: "source-link", "data-testid": "source-item",
            onclick: (event) => openPanel(c, event.currentTarget),
          }, [
            h("span", { class: "num", text: "[" + c.n + "]" }),
            h("span", { class: "source-title", text: c.title }),
            path.length ? h("span", { class: "path", text: path.join(" › ") }) : null,
          ]),
        ]);
      });
      sources.replaceChildren(
        h("div", { class: "msg-sources-label", text: S.chat_sources }),
        h("ol", { class: "source-list" }, items),
      );
    }

    function renderFooter() {
      if (!data.id || data.streaming) {
        footer.replaceChildren();
        return;
      }
      const status = h("span", { class: "feedback-status", "data-testid": "feedback-status" });
      const comment = h("textarea", {
        class: "feedback-comment", rows: "1", maxlength: "2000",
        placeholder: S.chat_feedback_comment, "aria-label": S.chat_feedback_comment,
      });
      const commentBox = h("div", { class: "feedback-box", hidden: true }, [
        comment,
        h("button", {
          type: "button", class: "feedback-submit", "data-testid": "feedback-submit",
          text: S.chat_feedback_submit,
          onclick: () => submit(data.feedback && data.feedback.rating, comment.value.trim()),
        }),
      ]);
      const up = iconButton("up", {
        type: "button", class: "thumb", "data-testid": "feedback-up",
        title: S.chat_feedback_up, "aria-label": S.chat_feedback_up,
        onclick: () => submit("up", comment.value.trim()),
      });
      const down = iconButton("down", {
        type: "button", class: "thumb", "data-testid": "feedback-down",
        title: S.chat_feedback_down, "aria-label": S.chat_feedback_down,
        onclick: () => submit("down", comment.value.trim()),
      });

      function mark() {
        const rating = data.feedback && data.feedback.rating;
        up.classList.toggle("selected", rating === "up");
        down.classList.toggle("selected", rating === "down");
        up.setAttribute("aria-pressed", String(rating === "up"));
        down.setAttribute("aria-pressed", String(rating === "down"));
      }

      async function submit(rating, text) {
        if (!rating) return;
        commentBox.hidden = false;
        status.textContent = "";
        status.classList.remove("bad");
        try {
          await api("/api/messages/" + encodeURIComponent(data.id) + "/feedback", {
            method: "POST", json: { rating: rating, comment: text || null },
          });
          data.feedback = { rating: rating, comment: text || null };
          status.textContent = "✓ " + S.chat_feedback_saved;
        } catch (err) {
          status.textContent = err.message;
          status.classList.add("bad");
        }
        mark();
      }

      if (data.feedback && data.feedback.comment) comment.value = data.feedback.comment;
      mark();
      footer.replaceChildren(
        h("div", { class: "feedback" }, [up, down, status]),
        commentBox,
      );
    }

    function render() {
      renderWho();
      renderNotices();
      renderBody();
      renderSources();
      renderFooter();
    }

    let pending = false;
    function renderBodySoon() {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        const stick = nearBottom();
        renderBody();
        if (stick) scrollToBottom(true);
      });
    }

    render();
    return {
      root: root,
      data: data,
      meta(d) { data.mode = d.mode || data.mode; renderWho(); },
      token(text) { data.text += text; renderBodySoon(); },
      notice(text) { data.notices.push(text); renderNotices(); },
      sources(citations) { data.citations = citations || []; renderSources(); },
      done(d) {
        // done.text is authoritative: it may differ from the streamed tokens.
        Object.assign(data, {
          id: d.message_id, text: d.text, mode: d.mode || data.mode,
          citations: d.citations || data.citations, notices: d.notices || data.notices,
          streaming: false,
        });
        render();
      },
      fail(message) { data.streaming = false; data.error = message; render(); },
    };
  }

  // --- citation panel ------------------------------------------------------------------
  let panelOpener = null;

  function openPanel(c, opener) {
    const path = (c.heading_path || []).filter((p) => p !== c.title);
    el.panelNum.textContent = "[" + c.n + "]";
    el.panelTitle.replaceChildren(
      h("span", { text: c.title }),
      path.length ? h("span", { class: "path", text: " › " + path.join(" › ") }) : null,
    );
    el.panelMeta.replaceChildren(
      h("code", { text: c.doc_id }),
      " · " + S.chat_lines + " " + c.line_start + "–" + c.line_end,
    );
    el.panelText.textContent = c.text;
    el.panel.hidden = false;
    app.classList.add("panel-open");
    for (const node of document.querySelectorAll(".citation-chip.active, .source-link.active")) {
      node.classList.remove("active");
    }
    if (opener) opener.classList.add("active");
    panelOpener = opener || null;
    el.panelClose.focus({ preventScroll: true });
  }

  function closePanel() {
    el.panel.hidden = true;
    app.classList.remove("panel-open");
    if (panelOpener) {
      panelOpener.classList.remove("active");
      panelOpener.focus({ preventScroll: true });
      panelOpener = null;
    }
  }

  el.panelClose.addEventListener("click", closePanel);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !el.panel.hidden) closePanel();
  });

  // --- conversation list ---------------------------------------------------------------
  function setUrl(id) {
    const url = new URL(window.location.href);
    if (id) url.searchParams.set("c", id);
    else url.searchParams.delete("c");
    window.history.replaceState(null, "", url.pathname + url.search);
    // Keep the language switch on the same conversation.
    const sw = document.querySelector("[data-testid=lang-switch]");
    if (sw) {
      const target = new URL(sw.getAttribute("href"), window.location.href);
      if (id) target.searchParams.set("c", id);
      else target.searchParams.delete("c");
      sw.setAttribute("href", target.pathname + target.search);
    }
  }

  function formatWhen(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const sameDay = date.toDateString() === new Date().toDateString();
    return date.toLocaleString(LANG, sameDay
      ? { hour: "2-digit", minute: "2-digit" }
      : { month: "short", day: "numeric" });
  }

  function renderHistory() {
    el.historyEmpty.hidden = state.conversations.length > 0;
    el.history.replaceChildren(...state.conversations.map((c) => {
      const active = c.id === state.conversationId;
      return h("li", {
        class: "conversation" + (active ? " active" : ""),
        "data-testid": "conversation-item", "data-id": c.id,
      }, [
        h("button", {
          type: "button", class: "conversation-open", title: c.title,
          "aria-current": active ? "true" : null,
          onclick: () => { if (!state.streaming) openConversation(c.id); },
        }, [
          h("span", { class: "conversation-title", text: c.title }),
          h("span", { class: "conversation-when", text: formatWhen(c.updated_at) }),
        ]),
        iconButton("trash", {
          type: "button", class: "conversation-delete", "data-testid": "conversation-delete",
          title: S.chat_delete, "aria-label": S.chat_delete,
          onclick: () => deleteConversation(c.id),
        }),
      ]);
    }));
  }

  async function loadHistory() {
    try {
      const response = await api("/api/conversations");
      state.conversations = await response.json();
    } catch (err) {
      showError(err.message);
      return;
    }
    renderHistory();
  }

  async function openConversation(id) {
    showError(null);
    let conv;
    try {
      conv = await (await api("/api/conversations/" + encodeURIComponent(id))).json();
    } catch (err) {
      if (err.status === 404) {
        setUrl(null);
        return;
      }
      showError(S.chat_error_load + " " + err.message);
      return;
    }
    state.conversationId = conv.id;
    setUrl(conv.id);
    clearMessages();
    for (const m of conv.messages) {
      if (m.role === "user") {
        addUserMessage(m.content);
      } else {
        const msg = TutorMessage({
          id: m.id, text: m.content, citations: m.citations || [], notices: m.notices || [],
          mode: m.mode || "answer", feedback: m.feedback,
        });
        el.welcome.hidden = true;
        el.messages.append(msg.root);
      }
    }
    renderHistory();
    scrollToBottom(true);
    el.input.focus();
  }

  async function deleteConversation(id) {
    if (state.streaming || !window.confirm(S.chat_delete_confirm)) return;
    try {
      await api("/api/conversations/" + encodeURIComponent(id), { method: "DELETE" });
    } catch (err) {
      showError(err.message);
      return;
    }
    if (id === state.conversationId) newConversation();
    state.conversations = state.conversations.filter((c) => c.id !== id);
    renderHistory();
  }

  function newConversation() {
    if (state.streaming) return;
    state.conversationId = null;
    setUrl(null);
    clearMessages();
    showError(null);
    renderHistory();
    el.input.focus();
  }

  el.newBtn.addEventListener("click", newConversation);

  // --- sending and streaming -----------------------------------------------------------
  function setStreaming(on) {
    state.streaming = on;
    el.send.disabled = on;
    el.input.disabled = on;
    el.newBtn.disabled = on;
    el.send.textContent = on ? S.chat_sending : S.chat_send;
    app.classList.toggle("is-streaming", on);
  }

  function parseEvent(block) {
    let name = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return null;
    try {
      return { name: name, data: JSON.parse(data.join("\n")) };
    } catch (_) {
      return null;
    }
  }

  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        const event = parseEvent(block);
        if (event) onEvent(event);
      }
      if (done) break;
    }
    const tail = parseEvent(buffer);
    if (tail) onEvent(tail);
  }

  async function send() {
    const text = el.input.value.trim();
    if (!text || state.streaming) return;
    showError(null);
    closePanel();
    setStreaming(true);
    const userNode = addUserMessage(text);
    el.input.value = "";
    updateCount();

    let response;
    try {
      response = await api("/api/chat", {
        method: "POST",
        headers: { Accept: "text/event-stream" },
        json: { message: text, conversation_id: state.conversationId, lang: null, exercise: null },
      });
    } catch (err) {
      // Nothing was answered: take the question back so it can be fixed and re-sent.
      userNode.remove();
      if (!el.messages.querySelector(".msg")) el.welcome.hidden = false;
      el.input.value = text;
      updateCount();
      setStreaming(false);
      showError(err.message);
      el.input.focus();
      return;
    }

    const msg = TutorMessage({ streaming: true });
    el.messages.append(msg.root);
    scrollToBottom(true);
    let finished = false;
    try {
      await readEvents(response, (event) => {
        const d = event.data || {};
        switch (event.name) {
          case "meta":
            if (d.conversation_id && d.conversation_id !== state.conversationId) {
              state.conversationId = d.conversation_id;
              setUrl(d.conversation_id);
            }
            msg.meta(d);
            break;
          case "token": msg.token(d.text || ""); break;
          case "notice": msg.notice(d.text || ""); break;
          case "sources": msg.sources(d.citations); break;
          case "done":
            finished = true;
            msg.done(d);
            break;
          case "error":
            finished = true;
            msg.fail(d.message || d.code || S.chat_error);
            showError(d.message || d.code);
            break;
          default: break;
        }
      });
      if (!finished) {
        msg.fail(S.chat_error_network);
        showError(S.chat_error_network);
      }
    } catch (_) {
      msg.fail(S.chat_error_network);
      showError(S.chat_error_network);
    } finally {
      setStreaming(false);
      scrollToBottom(false);
      el.input.focus();
      loadHistory();
    }
  }

  function updateCount() {
    const n = el.input.value.length;
    const max = CONFIG.max_chars || 0;
    const over = max && n > max;
    el.count.textContent = max && n > max * 0.8 ? n + " / " + max : "";
    el.count.classList.toggle("bad", Boolean(over));
    el.count.title = over ? S.chat_too_long : "";
    // Grow the box with its content, up to the CSS max-height.
    el.input.style.height = "auto";
    el.input.style.height = el.input.scrollHeight + 2 + "px";
  }

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  el.input.addEventListener("keydown", (event) => {
    // isComposing: Enter that confirms a Hangul syllable in an IME must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      send();
    }
  });
  el.input.addEventListener("input", updateCount);

  // --- start -----------------------------------------------------------------------------
  async function loadLevel() {
    try {
      const me = await (await api("/api/learner/me")).json();
      if (me && me.level) {
        el.level.textContent = "Lv" + me.level;
        el.level.classList.add("lv-" + me.level);
      }
    } catch (_) { /* keep "Lv?" */ }
  }

  loadLevel();
  loadHistory().then(() => {
    const wanted = new URL(window.location.href).searchParams.get("c");
    if (wanted) openConversation(wanted);
  });
})();
