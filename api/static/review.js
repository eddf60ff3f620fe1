/* The code review page: a CodeMirror editor, the exercise picker, submitting (text or
 * uploads), polling a running review, and showing it: verdict, narrative, the test table,
 * findings anchored to lines (gutter markers), suspicious lines highlighted, the attempts
 * and the diff against the previous attempt. Strings come from #review-strings. */
(function () {
  "use strict";

  const app = document.getElementById("review-app");
  if (!app || !window.KdtUi) return;
  const { h, readJson, formatter, api } = window.KdtUi;

  const S = readJson("review-strings");
  const fmt = formatter(S);
  const LANG = app.dataset.lang || "ko";
  const POLL_MS = 600;

  const el = {
    form: document.getElementById("review-form"),
    exercise: document.getElementById("review-exercise"),
    starter: document.getElementById("review-starter"),
    filename: document.getElementById("review-filename"),
    code: document.getElementById("review-code"),
    submit: document.getElementById("review-submit"),
    files: document.getElementById("review-files"),
    error: document.getElementById("review-error"),
    result: document.getElementById("review-result"),
    attempts: document.getElementById("review-attempts"),
  };

  const editor = window.CodeMirror.fromTextArea(el.code, {
    mode: "python",
    lineNumbers: true,
    indentUnit: 4,
    tabSize: 4,
    indentWithTabs: false,
    gutters: ["review-marks", "CodeMirror-linenumbers"],
    extraKeys: { Tab: (cm) => cm.replaceSelection("    ") },
    viewportMargin: Infinity,
  });
  app.dataset.editorReady = "1";

  const state = { review: null, file: null, marked: [], pollTimer: null };
  const apiTexts = { network: S.review_failed, login: S.review_login };

  function showError(message) {
    el.error.hidden = !message;
    el.error.textContent = message || "";
  }

  // --- exercises ---------------------------------------------------------------------------
  async function loadExercises() {
    const response = await api("/api/reviews/exercises", {}, apiTexts);
    const exercises = await response.json();
    for (const ex of exercises) {
      const label = ex.title + (ex.level ? " (Lv" + ex.level + ")" : "");
      el.exercise.append(h("option", { value: ex.id, text: label }));
    }
    const wanted = new URL(window.location.href).searchParams.get("exercise");
    if (wanted && exercises.some((e) => e.id === wanted)) el.exercise.value = wanted;
    await exerciseChanged(Boolean(wanted));
    app.dataset.exercisesReady = "1";
  }

  async function exerciseChanged(loadStarter) {
    el.starter.disabled = !el.exercise.value;
    if (loadStarter && el.exercise.value && !editor.getValue().trim()) await loadStarterCode();
    await loadHistory();
  }

  async function loadStarterCode() {
    if (!el.exercise.value) return;
    const path = "/api/reviews/exercises/" + encodeURIComponent(el.exercise.value);
    const exercise = await (await api(path, {}, apiTexts)).json();
    if (exercise.starter !== null && exercise.starter !== undefined) {
      clearMarks();
      editor.setValue(exercise.starter);
    }
  }

  // --- submitting --------------------------------------------------------------------------
  async function submit(event) {
    event.preventDefault();
    showError("");
    const code = editor.getValue();
    if (!code.trim()) {
      showError(S.review_empty_code);
      return;
    }
    const body = {
      files: [{ name: el.filename.value.trim() || "solution.py", content: code }],
      exercise_id: el.exercise.value || null,
      lang: LANG,
    };
    await send(() => api("/api/reviews", { method: "POST", json: body }, apiTexts));
  }

  async function upload() {
    const chosen = Array.from(el.files.files || []);
    if (!chosen.length) return;
    showError("");
    const form = new FormData();
    for (const file of chosen) form.append("files", file, file.name);
    if (el.exercise.value) form.append("exercise_id", el.exercise.value);
    form.append("lang", LANG);
    await send(() => api("/api/reviews/upload", { method: "POST", body: form }, apiTexts));
    el.files.value = "";
  }

  async function send(request) {
    el.submit.disabled = true;
    try {
      const review = await (await request()).json();
      show(review, true);
      if (review.status === "running") poll(review.id);
      else await loadHistory();
    } catch (err) {
      showError(err.message);
    } finally {
      el.submit.disabled = false;
    }
  }

  function poll(id) {
    window.clearTimeout(state.pollTimer);
    state.pollTimer = window.setTimeout(async () => {
      try {
        const review = await (await api("/api/reviews/" + id, {}, apiTexts)).json();
        if (!state.review || state.review.id !== id) return; // another review on screen
        show(review, false);
        if (review.status === "running") poll(id);
        else await loadHistory();
      } catch (err) {
        showError(err.message);
      }
    }, POLL_MS);
  }

  // --- showing a review --------------------------------------------------------------------
  function clearMarks() {
    for (const mark of state.marked) editor.removeLineClass(mark, "background", "cm-suspicious");
    state.marked = [];
    editor.clearGutter("review-marks");
  }

  function markEditor(review) {
    clearMarks();
    const file = state.file;
    const findings = (review.findings_shown || []).concat(review.findings_hidden || []);
    for (const f of findings) {
      if (f.file !== file || f.line < 1 || f.line > editor.lineCount()) continue;
      const marker = h("span", {
        class: "review-gutter sev-" + f.severity,
        title: fmt("review_line", { n: f.line }) + ": " + f.title,
        text: "●",
      });
      editor.setGutterMarker(f.line - 1, "review-marks", marker);
    }
    for (const s of (review.suspicious || []).slice(0, 3)) {  // the lines listed on the page
      if (s.file !== file || s.line < 1 || s.line > editor.lineCount()) continue;
      const handle = editor.addLineClass(s.line - 1, "background", "cm-suspicious");
      state.marked.push(handle);
    }
  }

  function goToLine(line) {
    editor.focus();
    editor.setCursor({ line: line - 1, ch: 0 });
    editor.scrollIntoView({ line: line - 1, ch: 0 }, 80);
  }

  function lineButton(line) {
    return h("button", {
      type: "button",
      class: "link review-line",
      "data-line": line,
      text: fmt("review_line", { n: line }),
      onclick: () => goToLine(line),
    });
  }

  function verdictBadge(review) {
    if (review.status === "running") {
      return h("p", { class: "review-verdict running", "data-testid": "review-verdict",
        "data-verdict": "running", text: S.review_running });
    }
    if (review.status === "failed") {
      return h("p", { class: "review-verdict failed", "data-testid": "review-verdict",
        "data-verdict": "failed", text: S.review_failed + ": " + (review.error || "") });
    }
    const verdict = review.verdict || "no_tests";
    const parts = [S["review_verdict_" + verdict] || verdict];
    if (review.total !== null && review.total !== undefined && review.total > 0) {
      parts.push(fmt("review_passed_of", { p: review.passed, n: review.total }));
    }
    return h("p", { class: "review-verdict v-" + verdict, "data-testid": "review-verdict",
      "data-verdict": verdict, text: parts.join(" · ") });
  }

  function testsTable(tests) {
    const head = h("tr", {}, [S.review_col_test, S.review_col_status, S.review_col_input,
      S.review_col_expected, S.review_col_actual, S.review_col_error]
      .map((text) => h("th", { text })));
    const rows = (tests.cases || []).map((c) => h("tr", {
      class: "case-" + c.status, "data-status": c.status, "data-testid": "review-case",
    }, [
      h("td", { text: c.name }),
      h("td", { class: "case-status", text: S["review_status_" + c.status] || c.status }),
      c.hidden && !c.input
        ? h("td", { class: "muted", "data-testid": "review-case-hidden", text: S.review_case_hidden })
        : h("td", {}, h("code", { text: c.input || "" })),
      h("td", {}, h("code", { text: c.expected === null || c.expected === undefined ? "" : c.expected })),
      h("td", {}, [
        h("code", { text: c.actual === null || c.actual === undefined ? "" : c.actual }),
        // what the code printed while the case ran: shown, never compared
        c.output ? h("div", { class: "case-output muted", "data-testid": "review-case-output" }, [
          S.review_case_printed + " ", h("code", { text: c.output })]) : null,
      ]),
      h("td", { class: "case-error", text: c.error || "" }),
    ]));
    const parts = [h("h3", { text: S.review_tests })];
    if (tests.message) parts.push(h("p", { class: "muted", "data-testid": "review-tests-message",
      text: tests.message }));
    if (rows.length) {
      parts.push(h("div", { class: "table-scroll" }, h("table", {
        class: "review-tests", "data-testid": "review-tests" }, [h("thead", {}, head),
        h("tbody", {}, rows)])));
    }
    return h("section", {}, parts);
  }

  function findingItem(f) {
    const link = f.link ? h("span", { class: "review-link muted" }, [
      " · " + S.review_read + ": ", h("span", { class: "review-link-title",
        title: f.link.text || "", text: f.link.title + (f.link.heading ? " › " + f.link.heading : "") }),
    ]) : null;
    return h("li", { class: "finding sev-" + f.severity, "data-testid": "review-finding",
      "data-line": f.line, "data-code": f.code }, [
      lineButton(f.line), " ", h("strong", { text: f.title }),
      f.folded ? h("span", { class: "muted", text: " (+" + f.folded + ")" }) : null,
      h("div", { class: "finding-expl", text: f.explanation }),
      link,
    ]);
  }

  function findingsSection(review) {
    const shown = review.findings_shown || [];
    const hidden = review.findings_hidden || [];
    const list = h("ul", { class: "review-findings", "data-testid": "review-findings" },
      shown.map(findingItem));
    const parts = [h("h3", { text: S.review_findings }), list];
    if (!shown.length) parts.push(h("p", { class: "muted", text: S.review_no_findings }));
    if (hidden.length) {
      const more = h("button", { type: "button", class: "link", "data-testid": "review-more",
        text: fmt("review_show_more", { n: hidden.length }),
        onclick: () => { for (const f of hidden) list.append(findingItem(f)); more.remove(); } });
      parts.push(more);
    }
    return h("section", {}, parts);
  }

  function suspiciousSection(review) {
    const items = (review.suspicious || []).slice(0, 3).map((s) => h("li", {
      "data-testid": "review-suspicious", "data-line": s.line }, [
      lineButton(s.line), s.code ? [" ", h("code", { text: s.code })] : null,
      h("div", { class: "finding-expl", text: s.question }),
    ].flat()));
    if (!items.length) return null;
    return h("section", {}, [h("h3", { text: S.review_suspicious }),
      h("ul", { class: "review-suspicious" }, items)]);
  }

  function diffSection(review) {
    if (!review.diff) return null;
    const pre = h("pre", { class: "review-diff", "data-testid": "review-diff" },
      review.diff.split("\n").map((line) => h("span", {
        class: line.startsWith("+") && !line.startsWith("+++") ? "add"
          : line.startsWith("-") && !line.startsWith("---") ? "del" : "",
        text: line + "\n",
      })));
    return h("details", { class: "review-diff-box" }, [h("summary", { text: S.review_diff }), pre]);
  }

  function fileTabs(review) {
    if ((review.files || []).length < 2) return null;
    return h("div", { class: "review-files-tabs" }, review.files.map((f) => h("button", {
      type: "button", class: f.name === state.file ? "tab active" : "tab", text: f.name,
      onclick: () => { state.file = f.name; loadFile(review); show(review, false); },
    })));
  }

  function loadFile(review) {
    const file = (review.files || []).find((f) => f.name === state.file) || review.files[0];
    if (!file) return;
    state.file = file.name;
    el.filename.value = file.name;
    if (editor.getValue() !== file.text) editor.setValue(file.text);
  }

  function show(review, fresh) {
    const changed = !state.review || state.review.id !== review.id;
    state.review = review;
    if (changed || fresh) {
      state.file = (review.files[0] || {}).name || null;
      loadFile(review);
    }
    app.dataset.reviewId = review.id;
    app.dataset.reviewStatus = review.status;
    const parts = [verdictBadge(review), fileTabs(review)];
    for (const notice of review.notices || []) {
      parts.push(h("p", { class: "notice", text: notice }));
    }
    if (review.narrative) {
      parts.push(h("section", {}, [h("h3", { text: S.review_summary }),
        h("div", { class: "review-narrative", "data-testid": "review-narrative",
          text: review.narrative })]));
    }
    const sus = suspiciousSection(review);
    if (sus) parts.push(sus);
    if (review.tests) parts.push(testsTable(review.tests));
    parts.push(findingsSection(review));
    const diff = diffSection(review);
    if (diff) parts.push(diff);
    el.result.replaceChildren(...parts.filter(Boolean));
    el.result.hidden = false;
    markEditor(review);
  }

  // --- history -----------------------------------------------------------------------------
  async function loadHistory() {
    const params = new URLSearchParams({ limit: "20" });
    if (el.exercise.value) params.set("exercise_id", el.exercise.value);
    let items = [];
    try {
      items = await (await api("/api/reviews?" + params, {}, apiTexts)).json();
    } catch (err) {
      showError(err.message);
      return;
    }
    if (!el.exercise.value) items = items.filter((r) => !r.exercise_id);
    if (!items.length) {
      el.attempts.replaceChildren(h("li", { class: "muted", text: S.review_no_history }));
      return;
    }
    el.attempts.replaceChildren(...items.map((r) => {
      const verdict = r.status === "complete" ? (S["review_verdict_" + r.verdict] || r.verdict)
        : r.status === "running" ? S.review_running : S.review_failed;
      const score = r.total ? " · " + r.passed + "/" + r.total : "";
      return h("li", { "data-testid": "review-attempt", "data-id": r.id }, h("button", {
        type: "button", class: "link" + (state.review && state.review.id === r.id ? " active" : ""),
        text: fmt("review_attempt", { n: r.attempt }) + " — " + verdict + score,
        onclick: async () => {
          const review = await (await api("/api/reviews/" + r.id, {}, apiTexts)).json();
          show(review, true);
          if (review.status === "running") poll(review.id);
        },
      }));
    }));
  }

  el.form.addEventListener("submit", submit);
  el.exercise.addEventListener("change", () => exerciseChanged(true).catch((e) => showError(e.message)));
  el.starter.addEventListener("click", () => loadStarterCode().catch((e) => showError(e.message)));
  el.files.addEventListener("change", upload);
  loadExercises().catch((err) => showError(err.message));
})();
