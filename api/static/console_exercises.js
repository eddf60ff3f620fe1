/* Console page "Exercises & quizzes": the exercise editor (CodeMirror for the code fields),
 * "run the tests against the solution", saving (refused with the failing tests shown when the
 * solution fails them), the quiz item editor, quiz.jsonl import. Calls /api/authoring/...;
 * strings come from #authoring-strings. Exposes nothing. */
(function () {
  "use strict";

  const app = document.getElementById("authoring-app");
  if (!app || !window.KdtUi || !document.getElementById("ex-form")) return;
  const { h, readJson, formatter, api, ApiError } = window.KdtUi;
  const S = readJson("authoring-strings");
  const fmt = formatter(S);
  const course = app.dataset.course;
  const base = "/api/authoring/" + encodeURIComponent(course);
  const IMPORT_NOTE = "kdt-authoring-import";

  // --- talking to the API ------------------------------------------------------------------
  /** An API call as {ok, status, body}: the parsed JSON answer, or the error's ApiError. */
  async function send(path, options) {
    try {
      const response = await api(path, options);
      const body = await response.json().catch(() => null);
      return { ok: true, status: response.status, body };
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return { ok: false, status: err.status, body: err.body, error: err };
    }
  }

  function errorText(result) {
    if (result.status === 409) return S.authoring_conflict + " (" + result.error.message + ")";
    return result.error.message;
  }

  function show(node, text) {
    node.hidden = !text;
    node.textContent = text || "";
  }

  function names(text) {
    return String(text || "").split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
  }

  function orNull(text) {
    return text && String(text).trim() ? String(text) : null;
  }

  // --- the exercise editor -------------------------------------------------------------------
  const exForm = document.getElementById("ex-form");
  const exError = document.getElementById("ex-error");
  const checkBox = document.getElementById("ex-check-result");
  const editors = {};
  for (const area of exForm.querySelectorAll("textarea[data-code]")) {
    editors[area.name] = window.CodeMirror.fromTextArea(area, {
      mode: area.dataset.code === "python" ? "python" : null,
      lineNumbers: true,
      indentUnit: 4,
      tabSize: 4,
      indentWithTabs: false,
      extraKeys: { Tab: (cm) => cm.replaceSelection("    ") },
    });
  }
  const exState = { version: null, id: null };

  function field(name) {
    return exForm.elements.namedItem(name);
  }

  function openExercise(exercise, version) {
    exState.version = version;
    exState.id = version ? exercise.id : null;
    document.getElementById("ex-form-title").textContent = version
      ? fmt("authoring_edit_exercise_title", { id: exercise.id })
      : S.authoring_new_exercise_title;
    field("id").value = exercise.id || "";
    field("id").readOnly = Boolean(version);
    field("title").value = exercise.title || "";
    field("level").value = exercise.level ? String(exercise.level) : "";
    field("lang").value = exercise.lang || "en";
    field("skills").value = (exercise.skills || []).join(", ");
    field("prerequisites").value = (exercise.prerequisites || []).join(", ");
    field("module").value = exercise.module || "";
    field("statement").value = exercise.statement || "";
    field("title_ko").value = exercise.title_ko || "";
    field("statement_ko").value = exercise.statement_ko || "";
    for (const [name, editor] of Object.entries(editors)) editor.setValue(exercise[name] || "");
    exForm.querySelector(".authoring-ko").open = Boolean(exercise.statement_ko);
    show(exError, "");
    checkBox.hidden = true;
    exForm.hidden = false;
    for (const editor of Object.values(editors)) editor.refresh();
    exForm.scrollIntoView({ behavior: "smooth", block: "start" });
    app.dataset.exerciseFormReady = "1";
  }

  function exerciseBody() {
    const level = field("level").value;
    return {
      id: field("id").value.trim(),
      title: field("title").value,
      level: level ? Number(level) : null,
      lang: field("lang").value,
      skills: names(field("skills").value),
      prerequisites: names(field("prerequisites").value),
      module: orNull(field("module").value),
      statement: field("statement").value,
      title_ko: orNull(field("title_ko").value),
      statement_ko: orNull(field("statement_ko").value),
      starter: editors.starter.getValue(),
      solution: editors.solution.getValue(),
      tests_json: orNull(editors.tests_json.getValue()),
      tests_py: orNull(editors.tests_py.getValue()),
    };
  }

  function renderCheck(check) {
    checkBox.replaceChildren();
    checkBox.hidden = false;
    checkBox.dataset.ok = check.ok ? "1" : "0";
    checkBox.dataset.verdict = check.verdict;
    let headline = check.message;  // e.g. the solution could not even be loaded
    if (check.ok) headline = fmt("authoring_check_ok", { n: check.total });
    else if (check.total) {
      headline = fmt("authoring_check_failed", { passed: check.passed, total: check.total });
    }
    checkBox.append(h("p", { class: "verdict " + (check.ok ? "ok" : "bad"),
      "data-testid": "ex-check-verdict", text: headline }));
    checkBox.append(h("p", { class: "muted small", text: check.message }));
    for (const warning of check.warnings || []) {
      checkBox.append(h("p", { class: "small bad", text: "⚠ " + warning }));
    }
    if (check.cases && check.cases.length) {
      const head = h("tr", {}, [S.authoring_check_case, S.authoring_check_status,
        S.authoring_check_input, S.authoring_check_expected, S.authoring_check_actual]
        .map((text) => h("th", { text })));
      const rows = check.cases.map((c) => h("tr", { "data-testid": "ex-check-case",
        "data-status": c.status }, [
        h("td", {}, h("code", { text: c.name })),
        h("td", { class: "status-" + c.status, text: c.status }),
        h("td", {}, h("pre", { text: c.input || "" })),
        h("td", {}, h("pre", { text: c.expected === null ? "" : c.expected })),
        h("td", {}, h("pre", { text: c.error ? c.error : (c.actual === null ? "" : c.actual) })),
      ]));
      checkBox.append(h("table", { class: "console-table" }, [h("thead", {}, head),
        h("tbody", {}, rows)]));
    }
    if (!check.ok && check.stderr) {
      checkBox.append(h("pre", { class: "small", text: check.stderr.slice(-2000) }));
    }
  }

  async function runCheck() {
    const button = document.getElementById("ex-check");
    button.disabled = true;
    show(exError, "");
    checkBox.hidden = false;
    checkBox.textContent = S.authoring_checking;
    delete checkBox.dataset.ok;
    try {
      const result = await send(base + "/exercises/check",
        { method: "POST", json: exerciseBody() });
      if (result.ok) renderCheck(result.body.check);
      else {
        checkBox.hidden = true;
        show(exError, errorText(result));
      }
    } finally {
      button.disabled = false;
    }
  }

  async function save(event) {
    event.preventDefault();
    const button = document.getElementById("ex-save");
    button.disabled = true;
    show(exError, "");
    checkBox.hidden = false;
    checkBox.textContent = S.authoring_saving;
    delete checkBox.dataset.ok;
    const body = exerciseBody();
    const result = exState.version
      ? await send(base + "/exercises/" + encodeURIComponent(exState.id),
        { method: "PUT", json: Object.assign(body, { base_version: exState.version }) })
      : await send(base + "/exercises", { method: "POST", json: body });
    button.disabled = false;
    if (result.ok) {
      const url = new URL(window.location.href);
      url.searchParams.set("saved", result.body.exercise.id);
      url.searchParams.set("course", course);
      window.location.assign(url.toString());
      return;
    }
    if (result.body && result.body.check) renderCheck(result.body.check);
    else checkBox.hidden = true;
    show(exError, errorText(result));
  }

  async function editExercise(id) {
    const result = await send(base + "/exercises/" + encodeURIComponent(id));
    if (!result.ok) {
      show(document.getElementById("authoring-error"), errorText(result));
      return;
    }
    openExercise(result.body.exercise, result.body.version);
  }

  document.getElementById("ex-new").addEventListener("click", () => openExercise({}, null));
  document.getElementById("ex-cancel").addEventListener("click", () => { exForm.hidden = true; });
  document.getElementById("ex-check").addEventListener("click", runCheck);
  exForm.addEventListener("submit", save);
  for (const button of document.querySelectorAll("[data-edit-exercise]")) {
    button.addEventListener("click", () => editExercise(button.dataset.editExercise));
  }

  // --- the quiz editor ---------------------------------------------------------------------
  const items = readJson("authoring-quiz-items");
  const quizForm = document.getElementById("quiz-form");
  const quizError = document.getElementById("quiz-error");
  const quizState = { version: null, id: null };

  function quizField(name) {
    return quizForm.elements.namedItem(name);
  }

  function options() {
    return String(quizField("options").value).split("\n").map((s) => s.trim()).filter(Boolean);
  }

  function refreshAnswers(selected) {
    const select = quizField("answer_index");
    const keep = selected === undefined ? select.value : String(selected);
    select.replaceChildren(...options().map((text, i) => h("option", { value: String(i),
      text: (i + 1) + ". " + text })));
    if (keep !== "" && Number(keep) < options().length) select.value = keep;
  }

  function openQuiz(item) {
    quizState.version = item.version || null;
    quizState.id = item.version ? item.id : null;
    document.getElementById("quiz-form-title").textContent = item.version
      ? fmt("authoring_edit_question_title", { id: item.id })
      : S.authoring_new_question;
    quizField("id").value = item.id || "";
    quizField("id").readOnly = Boolean(item.version);
    quizField("lang").value = item.lang || "en";
    quizField("skills").value = (item.skills || []).join(", ");
    quizField("lesson_id").value = item.lesson_id || "";
    quizField("question").value = item.question || "";
    quizField("options").value = (item.options || []).join("\n");
    quizField("explanation").value = item.explanation || "";
    refreshAnswers(item.answer_index === undefined ? 0 : item.answer_index);
    show(quizError, "");
    quizForm.hidden = false;
    quizForm.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  async function saveQuiz(event) {
    event.preventDefault();
    const answer = quizField("answer_index").value;
    const body = {
      id: orNull(quizField("id").value.trim()),
      lang: quizField("lang").value,
      skills: names(quizField("skills").value),
      lesson_id: orNull(quizField("lesson_id").value.trim()),
      question: quizField("question").value,
      options: options(),
      answer_index: answer === "" ? null : Number(answer),
      explanation: quizField("explanation").value,
    };
    const result = quizState.version
      ? await send(base + "/quiz/" + encodeURIComponent(quizState.id),
        { method: "PUT", json: Object.assign(body, { base_version: quizState.version }) })
      : await send(base + "/quiz", { method: "POST", json: body });
    if (result.ok) window.location.reload();
    else show(quizError, errorText(result));
  }

  async function deleteQuiz(id) {
    const item = items.find((i) => i.id === id);
    if (!item || !window.confirm(fmt("authoring_delete_confirm", { id }))) return;
    const result = await send(base + "/quiz/" + encodeURIComponent(id) +
      "?version=" + encodeURIComponent(item.version), { method: "DELETE" });
    if (result.ok) window.location.reload();
    else show(document.getElementById("authoring-error"), errorText(result));
  }

  async function importQuiz(event) {
    const file = event.target.files && event.target.files[0];
    if (!file) return;
    const result = await send(base + "/quiz/import", { method: "POST", body: await file.text(),
      headers: { "Content-Type": "application/x-ndjson" } });
    event.target.value = "";
    const note = document.getElementById("quiz-import-result");
    if (result.ok) {
      window.sessionStorage.setItem(IMPORT_NOTE, fmt("authoring_imported", {
        added: result.body.added.length, updated: result.body.updated.length,
        unchanged: result.body.unchanged.length }));
      window.location.reload();
    } else {
      note.hidden = true;
      show(document.getElementById("authoring-error"), errorText(result));
    }
  }

  const pending = window.sessionStorage.getItem(IMPORT_NOTE);
  if (pending) {
    window.sessionStorage.removeItem(IMPORT_NOTE);
    show(document.getElementById("quiz-import-result"), pending);
  }
  quizField("options").addEventListener("input", () => refreshAnswers());
  document.getElementById("quiz-new").addEventListener("click", () => openQuiz({}));
  document.getElementById("quiz-cancel").addEventListener("click", () => { quizForm.hidden = true; });
  document.getElementById("quiz-import").addEventListener("change", importQuiz);
  quizForm.addEventListener("submit", saveQuiz);
  for (const button of document.querySelectorAll("[data-edit-quiz]")) {
    button.addEventListener("click", () => {
      const item = items.find((i) => i.id === button.dataset.editQuiz);
      if (item) openQuiz(item);
    });
  }
  for (const button of document.querySelectorAll("[data-delete-quiz]")) {
    button.addEventListener("click", () => deleteQuiz(button.dataset.deleteQuiz));
  }
  app.dataset.ready = "1";
})();
