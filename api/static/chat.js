/* The chat page: conversation list (search, rename, delete), streamed answers (SSE over
 * fetch) that can be stopped and answered again, server-rendered Markdown with copyable
 * code, citations, feedback. Every user-visible string comes from the #chat-strings JSON
 * blob rendered by chat.html; the answers' HTML comes from the server (api/markdown.py). */
(function () {
  "use strict";

  const app = document.getElementById("chat-app");
  if (!app || !window.KdtUi) return;
  const { h, readJson, apiClient, errorBox, formatter, copyText } = window.KdtUi;

  const S = readJson("chat-strings");
  const CONFIG = readJson("chat-config");
  const LANG = app.dataset.lang || "ko";
  const fmt = formatter(S);
  const NARROW = window.matchMedia("(max-width: 900px)");

  const el = {
    main: app.querySelector(".chat-main"),
    backdrop: document.getElementById("chat-backdrop"),
    drawerToggle: document.getElementById("chat-drawer-toggle"),
    drawerClose: document.getElementById("chat-drawer-close"),
    search: document.getElementById("chat-search"),
    history: document.getElementById("chat-history"),
    historyEmpty: document.getElementById("chat-history-empty"),
    newBtn: document.getElementById("chat-new"),
    messages: document.getElementById("chat-messages"),
    welcome: document.getElementById("chat-welcome"),
    error: document.getElementById("chat-error"),
    form: document.getElementById("chat-form"),
    input: document.getElementById("chat-input"),
    send: document.getElementById("chat-send"),
    stop: document.getElementById("chat-stop"),
    count: document.getElementById("chat-count"),
    level: document.getElementById("level-badge"),
    panel: document.getElementById("citation-panel"),
    panelNum: document.getElementById("citation-num"),
    panelTitle: document.getElementById("citation-title"),
    panelMeta: document.getElementById("citation-meta"),
    panelText: document.getElementById("citation-text"),
    panelClose: document.getElementById("citation-close"),
  };

  const state = {
    conversationId: null,
    streaming: false,
    abort: null, // the AbortController of the answer being streamed
    conversations: [],
    query: "", // the conversation search being shown ("" = all)
  };

  const api = apiClient({ network: S.chat_error_network, login: S.chat_error_login });
  const showError = errorBox(el.error, S.chat_error);

  // Icons are inline SVG: no icon font, no emoji font needed on the trainee's machine.
  const PATHS = {
    up: '<path d="M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 18.7 10H14V5.5A2.5 2.5 0 0 0 11.5 3L9 10v11z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/>',
    trash: '<path d="M4 7h16M9 7V4h6v3m-8 0 1 13h8l1-13" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>',
    pencil: '<path d="M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>',
    copy: '<rect x="8" y="8" width="12" height="12" rx="2" fill="none" stroke="currentColor" stroke-width="1.8"/><path d="M16 8V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h3" fill="none" stroke="currentColor" stroke-width="1.8"/>',
    check: '<path d="M5 12.5l4.5 4.5L19 7.5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
    again: '<path d="M20 12a8 8 0 1 1-2.3-5.6M20 4v5h-5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>',
  };

  function icon(name, size) {
    const px = size || 16;
    const span = h("span", { class: "icon", "aria-hidden": "true" });
    const inner = name === "down"
      ? '<g transform="rotate(180 12 12)">' + PATHS.up + "</g>"
      : PATHS[name];
    span.innerHTML = '<svg viewBox="0 0 24 24" width="' + px + '" height="' + px + '">' +
      inner + "</svg>";
    return span;
  }

  /** A button that copies ``getText()`` and says so for a moment (in its label and a
   * polite live region), or says it could not. */
  function copyButton(attrs, label, getText) {
    const text = h("span", { class: "label", text: label });
    const button = h("button", Object.assign({
      type: "button", title: attrs["aria-label"] || label,
    }, attrs), [icon("copy", 15), text]);
    let timer = null;
    button.addEventListener("click", async () => {
      const ok = await copyText(getText());
      button.classList.toggle("copied", ok);
      button.classList.toggle("copy-failed", !ok);
      button.replaceChildren(icon(ok ? "check" : "copy", 15), text);
      text.textContent = ok ? S.chat_copied : label;
      button.dataset.copied = ok ? "true" : "false";
      if (!ok) showError(S.chat_copy_failed);
      clearTimeout(timer);
      timer = setTimeout(() => {
        button.classList.remove("copied", "copy-failed");
        button.replaceChildren(icon("copy", 15), text);
        text.textContent = label;
      }, 1800);
    });
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

  /** Code blocks from the server get a bar with their language and a copy button. */
  function enhanceCode(container) {
    for (const pre of container.querySelectorAll("pre.code")) {
      if (pre.parentElement.classList.contains("code-block")) continue;
      const code = pre.querySelector("code") || pre;
      const bar = h("div", { class: "code-bar" }, [
        h("span", { class: "code-lang", text: pre.dataset.lang || "" }),
        copyButton(
          { class: "code-copy", "data-testid": "copy-code", "aria-label": S.chat_copy_code },
          S.chat_copy_code, () => code.textContent,
        ),
      ]);
      const block = h("div", { class: "code-block" });
      pre.replaceWith(block);
      block.append(bar, pre);
    }
  }

  /** A tutor message: an object that owns its DOM and re-renders from its state. While it
   * streams, the text shows as it arrives (plain); the ``done`` event brings its HTML. */
  function TutorMessage(initial) {
    const blank = {
      id: null, text: "", html: null, citations: [], notices: [], mode: "answer",
      feedback: null, streaming: false, error: null, stopped: false, unanswered: false,
    };
    const data = Object.assign({}, blank, initial || {});
    const root = h("div", { class: "msg msg-assistant", "data-testid": "message-assistant" });
    const who = h("div", { class: "msg-who" });
    const notices = h("div", { class: "msg-notices" });
    const body = h("div", { class: "bubble answer", "data-testid": "answer-text" });
    const note = h("div", { class: "msg-note" });
    const sources = h("div", { class: "msg-sources" });
    const footer = h("div", { class: "msg-footer" });
    root.append(who, notices, body, note, sources, footer);
    const self = { root: root, data: data };

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
      const rendered = !data.streaming && data.html;
      body.classList.toggle("plain", !rendered);
      body.classList.toggle("streaming", data.streaming);
      body.hidden = !data.streaming && !data.text && !data.error;
      if (rendered) {
        body.innerHTML = data.html;
        enhanceCode(body);
      } else {
        body.textContent = data.text;
      }
      if (data.streaming && !data.text) {
        body.append(h("span", { class: "typing" }, [h("i"), h("i"), h("i")]));
      }
      if (data.error) body.append(h("div", { class: "msg-error", role: "alert", text: data.error }));
    }

    function renderNote() {
      const text = data.stopped ? S.chat_stopped : data.unanswered ? S.chat_unanswered : "";
      note.replaceChildren(text ? h("span", { "data-testid": "answer-stopped", text: text }) : "");
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

    function feedbackButtons() {
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
      const thumb = (rating, label) => h("button", {
        type: "button", class: "thumb", "data-testid": "feedback-" + rating,
        title: label, "aria-label": label,
        onclick: () => submit(rating, comment.value.trim()),
      }, [icon(rating)]);
      const up = thumb("up", S.chat_feedback_up);
      const down = thumb("down", S.chat_feedback_down);

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
      return { thumbs: [up, down, status], commentBox: commentBox };
    }

    function renderFooter() {
      if (data.streaming) {
        footer.replaceChildren();
        return;
      }
      const actions = [];
      if (data.text) {
        actions.push(copyButton(
          { class: "msg-action", "data-testid": "copy-answer", "aria-label": S.chat_copy },
          S.chat_copy, () => data.text,
        ));
      }
      // Shown on the conversation's last answer only (CSS), and only when it has a question.
      actions.push(h("button", {
        type: "button", class: "msg-action msg-regenerate", "data-testid": "regenerate",
        title: S.chat_regenerate_label, "aria-label": S.chat_regenerate_label,
        onclick: () => regenerate(self),
      }, [icon("again", 15), h("span", { class: "label", text: S.chat_regenerate })]));
      let box = null;
      if (data.id) {
        const fb = feedbackButtons();
        actions.push(h("span", { class: "msg-actions-sep", "aria-hidden": "true" }), ...fb.thumbs);
        box = fb.commentBox;
      }
      footer.replaceChildren(h("div", { class: "msg-actions" }, actions), ...(box ? [box] : []));
    }

    function render() {
      renderWho();
      renderNotices();
      renderBody();
      renderNote();
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
    return Object.assign(self, {
      /** Start over, streaming (regenerate answers in the same place). */
      restart() {
        Object.assign(data, blank, { streaming: true });
        render();
      },
      /** Back to what it was (a regenerate that never started). */
      restore(saved) {
        Object.assign(data, saved);
        render();
      },
      snapshot() { return Object.assign({}, data); },
      meta(d) { data.mode = d.mode || data.mode; renderWho(); },
      token(text) { data.text += text; renderBodySoon(); },
      notice(text) { data.notices.push(text); renderNotices(); },
      sources(citations) { data.citations = citations || []; renderSources(); },
      done(d) {
        // done.text is authoritative: it may differ from the streamed tokens.
        Object.assign(data, {
          id: d.message_id, text: d.text, html: d.html || null, mode: d.mode || data.mode,
          citations: d.citations || data.citations, notices: d.notices || data.notices,
          streaming: false,
        });
        render();
      },
      stopped() { data.streaming = false; data.stopped = true; render(); },
      fail(message) { data.streaming = false; data.error = message; render(); },
    });
  }

  // --- citation panel ------------------------------------------------------------------
  let panelOpener = null;

  function openPanel(c, opener) {
    const path = (c.heading_path || []).filter((p) => p !== c.title);
    el.panelNum.textContent = "[" + c.n + "]";
    el.panelTitle.replaceChildren(h("span", { text: c.title }));
    if (path.length) el.panelTitle.append(h("span", { class: "path", text: " › " + path.join(" › ") }));
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

  // --- the conversation list as a drawer on narrow screens -------------------------------
  function drawerOpen() {
    return app.classList.contains("drawer-open");
  }

  function openDrawer() {
    closePanel();
    app.classList.add("drawer-open");
    el.backdrop.hidden = false;
    el.main.inert = true; // the page behind the drawer takes no focus or clicks
    el.drawerToggle.setAttribute("aria-expanded", "true");
    el.search.focus({ preventScroll: true });
  }

  function closeDrawer(returnFocus) {
    if (!drawerOpen()) return;
    app.classList.remove("drawer-open");
    el.backdrop.hidden = true;
    el.main.inert = false;
    el.drawerToggle.setAttribute("aria-expanded", "false");
    if (returnFocus) el.drawerToggle.focus({ preventScroll: true });
  }

  el.drawerToggle.addEventListener("click", () => (drawerOpen() ? closeDrawer(true) : openDrawer()));
  el.drawerClose.addEventListener("click", () => closeDrawer(true));
  el.backdrop.addEventListener("click", () => closeDrawer(true));
  NARROW.addEventListener("change", () => closeDrawer(false));

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    if (!el.panel.hidden) closePanel();
    else if (drawerOpen()) closeDrawer(true);
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

  function conversationItem(c) {
    const active = c.id === state.conversationId;
    const item = h("li", {
      class: "conversation" + (active ? " active" : ""),
      "data-testid": "conversation-item", "data-id": c.id,
    });
    const iconButton = (name, label, testid, onclick) => h("button", {
      type: "button", class: "conversation-tool conversation-" + testid,
      "data-testid": "conversation-" + testid, title: label, "aria-label": label,
      onclick: onclick,
    }, [icon(name, 15)]);
    item.append(
      h("button", {
        type: "button", class: "conversation-open", title: c.title,
        "aria-current": active ? "true" : null,
        onclick: () => {
          if (state.streaming) return;
          closeDrawer(false);
          openConversation(c.id);
        },
      }, [
        h("span", { class: "conversation-title", "data-testid": "conversation-title", text: c.title }),
        c.match ? h("span", { class: "conversation-match", "data-testid": "conversation-match", text: c.match }) : null,
        h("span", { class: "conversation-when", text: formatWhen(c.updated_at) }),
      ]),
      iconButton("pencil", S.chat_rename, "rename", () => startRename(item, c)),
      iconButton("trash", S.chat_delete, "delete", () => deleteConversation(c.id)),
    );
    return item;
  }

  function renderHistory() {
    const empty = state.conversations.length === 0;
    el.historyEmpty.hidden = !empty;
    el.historyEmpty.textContent = state.query
      ? fmt("chat_search_none", { q: state.query })
      : S.chat_no_history;
    el.history.replaceChildren(...state.conversations.map(conversationItem));
  }

  /** Replace the item with a small form: Enter saves, Escape (or Cancel) puts it back. */
  function startRename(item, c) {
    const input = h("input", {
      type: "text", class: "rename-input", "data-testid": "rename-input",
      value: c.title, maxlength: String(CONFIG.max_title || 200), "aria-label": S.chat_rename_label,
      required: true,
    });
    const problem = h("p", { class: "rename-error", role: "alert", "data-testid": "rename-error" });
    const cancel = () => item.replaceWith(conversationItem(c));
    const form = h("form", { class: "rename-form", "data-testid": "rename-form" }, [
      input,
      h("div", { class: "rename-buttons" }, [
        h("button", { type: "submit", class: "rename-save", "data-testid": "rename-save", text: S.chat_rename_save }),
        h("button", {
          type: "button", class: "rename-cancel secondary", "data-testid": "rename-cancel",
          text: S.chat_rename_cancel, onclick: () => { cancel(); },
        }),
      ]),
      problem,
    ]);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const title = input.value.trim();
      if (!title) {
        problem.textContent = S.chat_rename_empty;
        input.focus();
        return;
      }
      try {
        const saved = await (await api("/api/conversations/" + encodeURIComponent(c.id), {
          method: "PATCH", json: { title: title },
        })).json();
        Object.assign(c, { title: saved.title });
        const fresh = conversationItem(c);
        item.replaceWith(fresh);
        fresh.querySelector(".conversation-rename").focus();
      } catch (err) {
        problem.textContent = err.message;
        input.focus();
      }
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault(); // the page's Escape (close the drawer) waits for this one
        cancel();
        const back = el.history.querySelector('[data-id="' + c.id + '"] .conversation-rename');
        if (back) back.focus();
      }
    });
    item.replaceChildren(form);
    input.focus();
    input.select();
  }

  async function loadHistory() {
    const query = state.query;
    const path = "/api/conversations" + (query ? "?q=" + encodeURIComponent(query) : "");
    let found;
    try {
      found = await (await api(path)).json();
    } catch (err) {
      showError(err.message);
      return;
    }
    if (query !== state.query) return; // a newer search is on its way
    state.conversations = found;
    renderHistory();
  }

  let searchTimer = null;
  el.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.query = el.search.value.trim();
      loadHistory();
    }, 250);
  });

  function tutorMessageFrom(m) {
    return TutorMessage({
      id: m.id, text: m.content, html: m.html, citations: m.citations || [],
      notices: m.notices || [], mode: m.mode || "answer", feedback: m.feedback,
    });
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
    conv.messages.forEach((m, i) => {
      if (m.role === "user") {
        addUserMessage(m.content);
        const next = conv.messages[i + 1];
        // A question without an answer (stopped, or the answer failed): say so, and let
        // the last one be answered again.
        if (!next || next.role === "user") {
          el.messages.append(TutorMessage({ unanswered: true }).root);
        }
      } else {
        el.welcome.hidden = true;
        el.messages.append(tutorMessageFrom(m).root);
      }
    });
    renderHistory();
    scrollToBottom(true);
    if (!NARROW.matches) el.input.focus();
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
    closeDrawer(false);
    el.input.focus();
  }

  el.newBtn.addEventListener("click", newConversation);

  // --- sending, streaming, stopping ----------------------------------------------------
  function setStreaming(on) {
    state.streaming = on;
    el.send.disabled = on;
    el.send.hidden = on;
    el.stop.hidden = !on;
    el.input.disabled = on;
    el.newBtn.disabled = on;
    app.classList.toggle("is-streaming", on);
    if (on) el.stop.focus({ preventScroll: true });
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

  function adoptConversation(id) {
    if (id && id !== state.conversationId) {
      state.conversationId = id;
      setUrl(id);
    }
  }

  /** Stream an answer into ``msg`` from ``response`` (an SSE response); Stop aborts it. */
  async function streamInto(msg, response, controller) {
    adoptConversation(response.headers.get("X-Conversation-Id"));
    let finished = false;
    try {
      await readEvents(response, (event) => {
        const d = event.data || {};
        switch (event.name) {
          case "meta":
            adoptConversation(d.conversation_id);
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
      if (finished) {
        // the answer was complete; the connection closed after it
      } else if (controller.signal.aborted) {
        msg.stopped();
      } else {
        msg.fail(S.chat_error_network);
        showError(S.chat_error_network);
      }
    }
  }

  async function post(path, json, controller) {
    return api(path, {
      method: "POST", headers: { Accept: "text/event-stream" }, json: json,
      signal: controller.signal,
    });
  }

  function finishStreaming() {
    state.abort = null;
    setStreaming(false);
    scrollToBottom(false);
    if (!NARROW.matches) el.input.focus();
    loadHistory();
  }

  async function send() {
    const text = el.input.value.trim();
    if (!text || state.streaming) return;
    showError(null);
    closePanel();
    const controller = new AbortController();
    state.abort = controller;
    setStreaming(true);
    const userNode = addUserMessage(text);
    el.input.value = "";
    updateCount();
    const msg = TutorMessage({ streaming: true });

    let response;
    try {
      response = await post("/api/chat", {
        message: text, conversation_id: state.conversationId, lang: null, exercise: null,
      }, controller);
    } catch (err) {
      // Nothing was answered: take the question back so it can be fixed and re-sent.
      userNode.remove();
      if (!el.messages.querySelector(".msg")) el.welcome.hidden = false;
      el.input.value = text;
      updateCount();
      state.abort = null;
      setStreaming(false);
      if (!controller.signal.aborted) showError(err.message);
      el.input.focus();
      return;
    }
    el.messages.append(msg.root);
    scrollToBottom(true);
    try {
      await streamInto(msg, response, controller);
    } finally {
      finishStreaming();
    }
  }

  /** Answer the conversation's last question again, in place of ``msg`` (its answer). */
  async function regenerate(msg) {
    if (state.streaming || !state.conversationId) return;
    showError(null);
    closePanel();
    const saved = msg.snapshot();
    const controller = new AbortController();
    state.abort = controller;
    setStreaming(true);
    msg.restart();
    let response;
    try {
      response = await post(
        "/api/conversations/" + encodeURIComponent(state.conversationId) + "/regenerate",
        {}, controller,
      );
    } catch (err) {
      msg.restore(saved); // the server changed nothing
      state.abort = null;
      setStreaming(false);
      if (!controller.signal.aborted) showError(err.message);
      return;
    }
    try {
      await streamInto(msg, response, controller);
    } finally {
      finishStreaming();
    }
  }

  el.stop.addEventListener("click", () => {
    if (state.abort) state.abort.abort();
  });

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
